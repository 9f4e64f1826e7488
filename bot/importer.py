"""``clanstats import``: DiscordChatExporter JSON exports through the same ingest as live.

Exports are streamed with ijson (the yajl2 C backend when present), so memory stays flat
whatever the file size; messages go to :func:`bot.harvest.ingest` in batches, each stored in
one short write transaction. Importing the same export twice adds nothing. Entries that
cannot be read (no id, a bad timestamp, wrong types) are skipped, counted and reported; a
truncated file keeps every message before the break and makes the command fail.

In DCE exports a webhook post has ``author.isBot`` true and discriminator ``"0000"``, and its
``author.id`` is the webhook id: so a configured relay id matches it either way.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import multiprocessing.queues
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from queue import Empty
from typing import Any, TextIO

import ijson

from bot.app import App, open_app
from bot.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, _settings_or_exit, _setup_logging
from bot.config import ConfigError, Settings, env_name
from bot.harvest import (
    IngestResult,
    ParsedBatch,
    clan_relay_config,
    ensure_clan_for_settings,
    parse_batch,
    store_parsed,
    unmatched_names,
)
from domain.relay import EmbedIn, RelayConfig, RelayMessageIn

try:  # the C backend is several times faster; ijson falls back to Python without it
    import ijson.backends.yajl2_c as _ijson_backend

    _items: Callable[..., Iterator[Any]] = _ijson_backend.items
except ImportError:  # pragma: no cover - depends on how ijson was built
    _items = ijson.items

DEFAULT_BATCH = 20_000
# Files at least this big are read and parsed in a separate process while this one stores.
READER_PROCESS_MIN_BYTES = 8_000_000
# Chunks the reader process may run ahead of the store (bounds memory whatever the file size).
_QUEUE_DEPTH = 2
_BULK_GC = (50_000, 50, 100)
# Message types that carry what a person or relay wrote; the rest are Discord system notices.
_TEXT_TYPES = frozenset({"Default", "Reply"})
_MAX_EXAMPLES = 5


class BadEntry(ValueError):
    """A message entry that cannot be read; the message says why."""


@dataclass
class ImportReport:
    """What an import did, for the summary and the exit code."""

    files: int = 0
    messages_read: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    bad_entries: int = 0
    bad_examples: list[str] = field(default_factory=list)
    system_messages: int = 0
    files_skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    unmatched_names: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def bad(self, where: str, index: int, reason: str) -> None:
        self.bad_entries += 1
        if len(self.bad_examples) < _MAX_EXAMPLES:
            self.bad_examples.append(f"{where}: message #{index}: {reason}")

    def summary(self) -> str:
        got = self.ingest
        lines = [
            f"Imported {self.files} file(s): {self.messages_read:,} messages read in "
            f"{self.elapsed_s:.1f} s ({self.rate:,.0f} messages/s).",
            f"  stored new:        {got.new:,} (chat {got.chat:,}, broadcasts "
            f"{got.broadcast:,}, Discord chatter {got.discord:,})",
            f"  already stored:    {got.duplicates_of_known:,}",
            f"  duplicate relays:  {got.duplicate_relays:,} (stored, counted once)",
            f"  skipped bad:       {self.bad_entries:,}",
            f"  system messages:   {self.system_messages:,} (ignored)",
            f"  unmatched names:   {self.unmatched_names:,} (rows attach after a WOM sync "
            f"once a member or alias has the name; {got.unmatched:,} new rows)",
        ]
        if got.formats:
            shown = ", ".join(f"{fmt} {count:,}" for fmt, count in sorted(got.formats.items()))
            lines.append(f"  formats:           {shown}")
        for skipped in self.files_skipped:
            lines.append(f"SKIPPED {skipped}")
        for example in self.bad_examples:
            lines.append(f"BAD ENTRY {example}")
        if self.bad_entries > len(self.bad_examples):
            lines.append(
                f"  ... and {self.bad_entries - len(self.bad_examples):,} more bad entries"
            )
        for failure in self.failures:
            lines.append(f"FAILED {failure}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# DCE entries → RelayMessageIn


def _snowflake(value: Any, what: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if value is None:
        raise BadEntry(f"missing {what}")
    raise BadEntry(f"{what} is not a Discord id: {value!r}"[:120])


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadEntry("missing timestamp" if value is None else "timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadEntry(f"bad timestamp {value!r}"[:120]) from None
    # DCE always writes an offset; a bare time can only be UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadEntry(f"{what} is not a string")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise BadEntry(f"{what} is not an object")


def _embed(raw: Any) -> EmbedIn:
    if not isinstance(raw, dict):
        raise BadEntry("embed is not an object")
    fields_raw = raw.get("fields") or []
    if not isinstance(fields_raw, list):
        raise BadEntry("embed fields is not a list")
    fields: list[tuple[str, str]] = []
    for item in fields_raw:
        entry = _mapping(item, "embed field")
        fields.append(
            (_text(entry.get("name"), "field name") or "", _text(entry.get("value"), "field") or "")
        )
    return EmbedIn(
        title=_text(raw.get("title"), "embed title"),
        description=_text(raw.get("description"), "embed description"),
        author_name=_text(_mapping(raw.get("author"), "embed author").get("name"), "author name"),
        footer=_text(_mapping(raw.get("footer"), "embed footer").get("text"), "footer text"),
        url=_text(raw.get("url"), "embed url"),
        fields=tuple(fields),
    )


def message_from_dce(raw: Any, channel_id: int) -> RelayMessageIn | None:
    """Read one DCE message entry; None for a system message. Raises :class:`BadEntry`."""
    if not isinstance(raw, dict):
        raise BadEntry("entry is not an object")
    kind = raw.get("type", "Default")
    if kind not in _TEXT_TYPES:
        if isinstance(kind, str):
            return None
        raise BadEntry("type is not a string")
    message_id = _snowflake(raw.get("id"), "id")
    posted_at = _timestamp(raw.get("timestamp"))
    author = raw.get("author")
    if not isinstance(author, dict):
        raise BadEntry("missing author" if author is None else "author is not an object")
    author_id = _snowflake(author.get("id"), "author id")
    embeds_raw = raw.get("embeds") or []
    if not isinstance(embeds_raw, list):
        raise BadEntry("embeds is not a list")
    is_bot = author.get("isBot") is True
    return RelayMessageIn(
        message_id=message_id,
        channel_id=channel_id,
        author_id=author_id,
        author_name=_text(author.get("nickname") or author.get("name"), "author name") or "",
        is_bot=is_bot,
        webhook_id=author_id if is_bot and author.get("discriminator") == "0000" else None,
        content=_text(raw.get("content"), "content") or "",
        embeds=tuple(_embed(e) for e in embeds_raw),
        posted_at=posted_at,
    )


def channel_of(path: Path) -> int:
    """The channel id in an export's header (read without reading the messages)."""
    with path.open("rb") as handle:
        for channel in _items(handle, "channel"):
            return _snowflake(_mapping(channel, "channel").get("id"), "channel id")
    raise BadEntry("no channel in the export")


# ---------------------------------------------------------------------------------------------
# The import


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, one line per 5 s otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = 0.5 if self.tty else 5.0
        self.started = time.monotonic()
        self.last = self.started

    def update(self, name: str, read: int, stored: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        line = (
            f"{name}: {read:,} messages read, {stored:,} stored, {read / elapsed:,.0f} messages/s"
        )
        if self.tty:
            self.stream.write("\r" + line + "\033[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass(slots=True)
class ReadChunk:
    """What reading one stretch of an export gave: a parsed batch and the entry counts.

    Plain values only: the reader runs in a worker process for large files and the chunks
    cross a process boundary. ``error`` is set on the last chunk of a file that could not
    be read to its end (``kind``, message); the chunk still holds what was read before it.
    """

    parsed: ParsedBatch
    messages_read: int = 0
    system_messages: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    error: tuple[str, str] | None = None


def read_export(
    path: Path, channel_id: int, config: RelayConfig, batch_size: int
) -> Iterator[ReadChunk]:
    """Stream one export: read, convert and parse ``batch_size`` messages at a time.

    Pure apart from reading the file (no database, no clock): the same generator runs in the
    importing process for small files and in a reader process for large ones. Never raises
    for a bad entry or a file cut short: the last chunk says what happened.
    """
    messages: list[RelayMessageIn] = []
    chunk = ReadChunk(parsed=ParsedBatch())

    def done(error: tuple[str, str] | None = None) -> ReadChunk:
        nonlocal chunk
        finished = chunk
        finished.parsed = parse_batch(messages, config)
        finished.error = error
        messages.clear()
        chunk = ReadChunk(parsed=ParsedBatch())
        return finished

    index = -1
    try:
        with path.open("rb") as handle:
            for index, raw in enumerate(_items(handle, "messages.item", use_float=True)):
                chunk.messages_read += 1
                try:
                    message = message_from_dce(raw, channel_id)
                except BadEntry as exc:
                    chunk.bad.append((index, str(exc)))
                    continue
                if message is None:
                    chunk.system_messages += 1
                    continue
                messages.append(message)
                if len(messages) >= batch_size:
                    yield done()
    except ijson.JSONError as exc:
        yield done(("cut", f"after message #{index + 1}: {exc}"))
        return
    except OSError as exc:
        yield done(("read", str(exc)))
        return
    yield done()


def _reader_process(
    path: str,
    channel_id: int,
    config: RelayConfig,
    batch_size: int,
    out: multiprocessing.queues.Queue[ReadChunk | None],
) -> None:
    """The reader process: :func:`read_export` into a bounded queue, then ``None``."""
    gc.set_threshold(*_BULK_GC)
    try:
        for chunk in read_export(Path(path), channel_id, config, batch_size):
            out.put(chunk)
    except BaseException as exc:  # reported by the importing process, never lost
        out.put(ReadChunk(parsed=ParsedBatch(), error=("crash", repr(exc))))
    out.put(None)


def _next_chunk(
    queue: multiprocessing.queues.Queue[ReadChunk | None], proc: BaseProcess
) -> ReadChunk | None:
    """The reader's next chunk (blocking; run in a thread), or a crash report if it died."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not proc.is_alive():
                try:
                    return queue.get(timeout=1.0)  # anything it managed to send first
                except Empty:
                    return ReadChunk(
                        parsed=ParsedBatch(),
                        error=("crash", f"the reader process exited with {proc.exitcode}"),
                    )


async def _chunks_from_process(
    path: Path, channel_id: int, config: RelayConfig, batch_size: int
) -> AsyncIterator[ReadChunk]:
    """:func:`read_export` run in a reader process, one chunk ahead of the caller.

    The queue is bounded (``_QUEUE_DEPTH`` chunks), so memory stays bounded whatever the
    file size; chunks arrive in file order. The next chunk is received (unpickled) in a
    thread while the caller stores the current one.
    """
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[ReadChunk | None] = ctx.Queue(maxsize=_QUEUE_DEPTH)
    proc = ctx.Process(
        target=_reader_process,
        args=(str(path), channel_id, config, batch_size, queue),
        name="clanstats-import-reader",
        daemon=True,
    )
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        pending = loop.run_in_executor(None, _next_chunk, queue, proc)
        while True:
            chunk = await pending
            if chunk is None:
                break
            pending = loop.run_in_executor(None, _next_chunk, queue, proc)
            yield chunk
            if chunk.error is not None and chunk.error[0] == "crash":
                break
    finally:
        if proc.is_alive():
            proc.terminate()
        await loop.run_in_executor(None, proc.join)
        queue.close()


async def _chunks_in_process(
    path: Path, channel_id: int, config: RelayConfig, batch_size: int
) -> AsyncIterator[ReadChunk]:
    for chunk in read_export(path, channel_id, config, batch_size):
        yield chunk


async def import_exports(
    app: App,
    paths: list[Path],
    *,
    any_channel: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: TextIO | None = None,
    reader_process: bool | None = None,
) -> ImportReport:
    """Import DCE exports into the configured clan; never raises for a bad file or entry.

    ``reader_process``: read and parse in a separate process while this one stores (the
    default for files of at least ``READER_PROCESS_MIN_BYTES``); False reads in this process.
    """
    started = time.monotonic()
    report = ImportReport()
    clan_id = await ensure_clan_for_settings(app)
    config = await clan_relay_config(app, clan_id)
    bar = _Progress(progress) if progress is not None else None
    # Millions of short-lived objects make the cyclic GC run constantly for nothing (nothing
    # here builds cycles): collect far less often while importing, then restore.
    thresholds = gc.get_threshold()
    gc.set_threshold(*_BULK_GC)
    try:
        await _import_paths(
            app, clan_id, config, paths, any_channel, batch_size, report, bar, reader_process
        )
    finally:
        gc.set_threshold(*thresholds)
    if bar is not None:
        bar.done()
    report.unmatched_names = len(await unmatched_names(app, clan_id))
    report.elapsed_s = time.monotonic() - started
    return report


async def _import_paths(
    app: App,
    clan_id: int,
    config: RelayConfig,
    paths: list[Path],
    any_channel: bool,
    batch_size: int,
    report: ImportReport,
    bar: _Progress | None,
    reader_process: bool | None,
) -> None:
    channels = set(app.settings.relay_channel_ids)
    for path in paths:
        name = str(path)
        try:
            channel_id = channel_of(path)
            size = path.stat().st_size
        except (OSError, ijson.JSONError, BadEntry) as exc:
            report.failures.append(f"{name}: cannot read the export header: {exc}")
            continue
        if not any_channel and channel_id not in channels:
            report.files_skipped.append(
                f"{name}: channel {channel_id} is not in {env_name('relay_channel_ids')} "
                "(pass --any-channel to import it anyway)"
            )
            continue
        report.files += 1
        separate = (
            reader_process if reader_process is not None else size >= READER_PROCESS_MIN_BYTES
        )
        chunks = (_chunks_from_process if separate else _chunks_in_process)(
            path, channel_id, config, batch_size
        )
        await _import_chunks(app, clan_id, name, chunks, report, bar)
        if bar is not None:
            bar.update(name, report.messages_read, report.ingest.new, force=True)


async def _import_chunks(
    app: App,
    clan_id: int,
    name: str,
    chunks: AsyncIterator[ReadChunk],
    report: ImportReport,
    bar: _Progress | None,
) -> None:
    """Store each chunk through the shared ingest store path, adding up the report."""
    async for chunk in chunks:
        base = report.messages_read
        report.messages_read += chunk.messages_read
        report.system_messages += chunk.system_messages
        for index, reason in chunk.bad:
            report.bad(name, index, reason)
        if chunk.parsed.received:
            report.ingest.add(
                await store_parsed(app, clan_id, chunk.parsed, source="import", bulk=True)
            )
        if bar is not None:
            bar.update(name, report.messages_read, report.ingest.new)
        if chunk.error is None:
            continue
        kind, detail = chunk.error
        if kind == "cut":
            report.failures.append(
                f"{name}: the file is cut short or not valid JSON {detail}; everything "
                "before it was imported"
            )
        elif kind == "read":
            report.failures.append(f"{name}: read error: {detail}")
        else:
            report.failures.append(
                f"{name}: reading stopped after message #{base + chunk.messages_read} "
                f"({detail}); everything before it was imported"
            )
        return


# ---------------------------------------------------------------------------------------------
# CLI


def _config_problems(settings: Settings, any_channel: bool) -> list[str]:
    problems: list[str] = []
    if settings.wom_group_id is None:
        problems.append(f"{env_name('wom_group_id')}: not set (the clan the messages belong to)")
    if not settings.relay_author_ids:
        problems.append(
            f"{env_name('relay_author_ids')}: not set (the webhook or bot ids that relay game "
            "chat; without them every message would be read as Discord chatter)"
        )
    if not settings.relay_channel_ids and not any_channel:
        problems.append(
            f"{env_name('relay_channel_ids')}: not set (or pass --any-channel to import every "
            "export given)"
        )
    return problems


def cmd_import(args: argparse.Namespace) -> int:
    """``clanstats import PATH...``: import DiscordChatExporter JSON exports."""
    settings = _settings_or_exit(args)
    problems = _config_problems(settings, args.any_channel)
    if problems:
        print(str(ConfigError(problems)), file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(settings)

    async def go() -> int:
        async with open_app(settings) as app:
            report = await import_exports(
                app,
                list(args.paths),
                any_channel=args.any_channel,
                batch_size=args.batch_size,
                progress=sys.stderr,
            )
        print(report.summary())
        return EXIT_FAILED if report.failures else EXIT_OK

    try:
        return asyncio.run(go())
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


def add_import(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="import DiscordChatExporter JSON exports of the relay channels"
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DCE JSON export file")
    p.add_argument(
        "--any-channel",
        action="store_true",
        help="import exports of channels not in CLANSTATS_RELAY_CHANNEL_IDS too",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH,
        help=f"messages per write transaction (default {DEFAULT_BATCH})",
    )
    p.set_defaults(handler=cmd_import)
