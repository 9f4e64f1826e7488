"""Importing DiscordChatExporter exports through the same ingest as live and backfill.

Entries are read by :mod:`bot.adapters.dce` and go to the shared store path
(:func:`bot.usecases.harvest.store_parsed`) in batches, each stored in one short write
transaction. Importing the same export twice adds nothing; bad entries (over a limit of
:mod:`bot.adapters.dce`, a wrong type, an id or time out of range) are skipped and counted by
reason; a truncated file keeps every message before the break and makes the import fail; a
file that is not an export (no ``messages`` list) is refused with nothing stored. Large files
are read and parsed in a separate process while this one stores; that process ends with this
one, however this one ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import multiprocessing.queues
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from queue import Empty
from typing import TextIO

import structlog

from bot.adapters.dce import (
    BadEntry,
    BrokenExport,
    NotAnExport,
    channel_of,
    message_entries,
    message_from_dce,
)
from bot.core.config import env_name
from bot.core.lifetime import run_bound_to_parent
from bot.core.runtime import tune_gc
from bot.usecases.context import App
from bot.usecases.harvest import (
    IngestResult,
    ParsedBatch,
    clan_relay_config,
    ensure_clan_for,
    parse_batch,
    store_parsed,
    unmatched_names,
)
from domain.relay import RelayConfig, RelayMessageIn
from domain.relay_stats import FormatTally
from storage.repositories import relay as relay_repo
from storage.statistics import refresh_planner_statistics_quietly

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 20_000
# Files at least this big are read and parsed in a separate process while this one stores.
READER_PROCESS_MIN_BYTES = 8_000_000
# Chunks the reader process may run ahead of the store (bounds memory whatever the file size).
_QUEUE_DEPTH = 2
# The collector's thresholds while importing. The young generation's count is the number of
# tracked objects allocated and not yet freed, so a threshold far above what one chunk keeps
# alive (a few hundred thousand objects) means no collection walks the chunk being built or
# stored (each walk of it cost more than a third of the time the collector ran before); cyclic
# garbage, which nothing here builds in any amount, is still collected once that many
# objects pile up.
_BULK_GC = (2_000_000, 50, 100)
_MAX_EXAMPLES = 5
# Export bytes per stored row, on the low side (generated exports take about 570, real ones
# more): the indexes are built at the end of an import whose files could hold at least as
# many rows as the table has. Kept up row by row, the deferrable indexes cost about four
# times what building them over the whole table costs per row, so deferring pays while the
# table holds up to about three rows per row imported.
_BYTES_PER_STORED_ROW = 500


@dataclass
class ImportReport:
    """What an import did, for the summary and the exit code."""

    files: int = 0
    messages_read: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    bad_entries: int = 0
    bad_reasons: dict[str, int] = field(default_factory=dict)
    bad_examples: list[str] = field(default_factory=list)
    system_messages: int = 0
    files_skipped: list[str] = field(default_factory=list)
    #: Files that are not exports (nothing of them stored): bad input, exit 2.
    refused: list[str] = field(default_factory=list)
    #: Files that stopped part way (what came before was stored): exit 1.
    failures: list[str] = field(default_factory=list)
    unmatched_names: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def bad(self, where: str, chunk: ReadChunk) -> None:
        """Add up a chunk's skipped entries: counts by reason, the first few examples."""
        for reason, count in chunk.bad.items():
            self.bad_entries += count
            self.bad_reasons[reason] = self.bad_reasons.get(reason, 0) + count
        for index, detail in chunk.bad_examples:
            if len(self.bad_examples) < _MAX_EXAMPLES:
                self.bad_examples.append(f"{where}: message #{index}: {detail}")

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
            *(
                f"    {reason + ':':<25}{count:,}"
                for reason, count in sorted(self.bad_reasons.items(), key=lambda kv: -kv[1])
            ),
            f"  system messages:   {self.system_messages:,} (ignored)",
            f"  unmatched names:   {self.unmatched_names:,} (rows attach after a WOM sync "
            f"once a member or alias has the name; {got.unmatched:,} new rows)",
        ]
        if got.formats:
            shown = ", ".join(f"{fmt} {count:,}" for fmt, count in sorted(got.formats.items()))
            lines.append(f"  formats:           {shown}")
        lines.extend(format_lines(got.read))
        for skipped in self.files_skipped:
            lines.append(f"SKIPPED {skipped}")
        for example in self.bad_examples:
            lines.append(f"BAD ENTRY {example}")
        if self.bad_entries > len(self.bad_examples):
            lines.append(
                f"  ... and {self.bad_entries - len(self.bad_examples):,} more bad entries"
            )
        for refused in self.refused:
            lines.append(f"REFUSED {refused}")
        for failure in self.failures:
            lines.append(f"FAILED {failure}")
        return "\n".join(lines)


def format_lines(read: FormatTally) -> list[str]:
    """The summary's per-format part: relay messages read and not understood, with up to five
    recent examples of what was not understood (a new relay format shows up here)."""
    if not read:
        return []
    lines = [
        f"  relay messages read per format ({read.messages:,} read, "
        f"{read.not_understood:,} not understood):"
    ]
    for fmt, count in read.ordered():
        lines.append(
            f"    {fmt:<16} {count.messages:>10,} read {count.not_understood:>8,} not understood"
        )
        for example in count.examples:
            lines.append(f"      {example.posted_at:%Y-%m-%d %H:%M} {example.text}")
    return lines


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
    cross a process boundary. ``bad`` counts skipped entries by reason, ``bad_examples``
    holds the first few (index in the file, what was wrong). ``error`` is set on the last
    chunk of a file that could not be read to its end (``kind``, message); the chunk still
    holds what was read before it.
    """

    parsed: ParsedBatch
    messages_read: int = 0
    system_messages: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    bad_examples: list[tuple[int, str]] = field(default_factory=list)
    error: tuple[str, str] | None = None

    def skip(self, index: int, entry: BadEntry) -> None:
        self.bad[entry.reason] = self.bad.get(entry.reason, 0) + 1
        if len(self.bad_examples) < _MAX_EXAMPLES:
            self.bad_examples.append((index, entry.detail))


def read_export(
    path: Path, channel_id: int, config: RelayConfig, batch_size: int
) -> Iterator[ReadChunk]:
    """Stream one export: read, convert and parse ``batch_size`` messages at a time.

    Pure apart from reading the file (no database, no clock): the same generator runs in the
    importing process for small files and in a reader process for large ones. Never raises
    for a bad entry or a file cut short: the last chunk says what happened. A chunk ends
    every ``batch_size`` entries (good, bad or system), so memory is bounded whatever the
    file holds.
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
            for index, raw in enumerate(message_entries(handle)):
                chunk.messages_read += 1
                try:
                    message = message_from_dce(raw, channel_id)
                except BadEntry as exc:
                    chunk.skip(index, exc)
                else:
                    if message is None:
                        chunk.system_messages += 1
                    else:
                        messages.append(message)
                if chunk.messages_read >= batch_size:
                    yield done()
    except NotAnExport as exc:
        yield done(("format", str(exc)))
        return
    except BrokenExport as exc:
        yield done(("cut", f"after message #{index + 1}: {exc}"))
        return
    except OSError as exc:
        yield done(("read", str(exc)))
        return
    yield done()


#: What the reader process runs, by name: its module is imported once the process is bound.
_READER = f"{__name__}:read_into_queue"


def read_into_queue(
    path: str,
    channel_id: int,
    config: RelayConfig,
    batch_size: int,
    out: multiprocessing.queues.Queue[ReadChunk | None],
) -> None:
    """The reader process (started by :func:`bot.core.lifetime.run_bound_to_parent`, which
    ends it with the importing process, SIGKILL included: else it would wait forever on a
    full queue, holding its memory): :func:`read_export` into a bounded queue, then
    ``None``."""
    tune_gc()  # the modules imported to unpickle the arguments are never walked again
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
) -> AsyncGenerator[ReadChunk, None]:
    """:func:`read_export` run in a reader process, one chunk ahead of the caller.

    The queue is bounded (``_QUEUE_DEPTH`` chunks), so memory stays bounded whatever the
    file size; chunks arrive in file order. The next chunk is received (unpickled) in a
    thread while the caller stores the current one. The process is started from the event
    loop's thread (the kernel's parent-death signal follows the thread that started it) and
    stopped when this generator closes, cancelled or not.
    """
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.queues.Queue[ReadChunk | None] = ctx.Queue(maxsize=_QUEUE_DEPTH)
    proc = ctx.Process(
        target=run_bound_to_parent,
        args=(os.getpid(), _READER, str(path), channel_id, config, batch_size, queue),
        name="clanstats-import-reader",
        daemon=True,
    )
    proc.start()
    loop = asyncio.get_running_loop()
    # One thread receives chunks; it is waited for before the queue is closed (else a
    # receive still under way fails with "Queue is closed" and is logged as an error).
    receiver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-receiver")
    pending: asyncio.Future[ReadChunk | None] | None = None
    try:
        pending = loop.run_in_executor(receiver, _next_chunk, queue, proc)
        while True:
            chunk = await pending
            if chunk is None:
                break
            pending = loop.run_in_executor(receiver, _next_chunk, queue, proc)
            yield chunk
            if chunk.error is not None and chunk.error[0] == "crash":
                break
    finally:
        if proc.is_alive():
            proc.terminate()
        await loop.run_in_executor(None, proc.join)
        # The receiver returns within a second of the process ending.
        await loop.run_in_executor(None, receiver.shutdown)
        if pending is not None and not pending.cancelled():
            with contextlib.suppress(Exception):  # a chunk no one will store
                await pending
        queue.close()


async def _chunks_in_process(
    path: Path, channel_id: int, config: RelayConfig, batch_size: int
) -> AsyncGenerator[ReadChunk, None]:
    for chunk in read_export(path, channel_id, config, batch_size):
        yield chunk


async def import_exports(
    app: App,
    paths: list[Path],
    *,
    group_id: int,
    config: RelayConfig,
    channel_ids: Collection[int],
    guild_id: int | None = None,
    any_channel: bool = False,
    batch_size: int = DEFAULT_BATCH,
    progress: TextIO | None = None,
    reader_process: bool | None = None,
    defer_indexes: bool | None = None,
) -> ImportReport:
    """Import DCE exports into the clan of WOM group ``group_id``; never raises for a bad
    file or entry.

    ``config`` is the parser configuration (relay authors, custom formats; the clan's name is
    added here). Exports of channels outside ``channel_ids`` are skipped unless
    ``any_channel``. ``reader_process``: read and parse in a separate process while this one
    stores (the default for files of at least ``READER_PROCESS_MIN_BYTES``); False reads in
    this process. ``defer_indexes``: build some of the relay table's indexes once at the end
    instead of row by row (SQLite; the default for an import big for the table, see
    :func:`defers_indexes`); False never does.
    """
    started = time.monotonic()
    report = ImportReport()
    clan_id = await ensure_clan_for(app, group_id, guild_id)
    config = await clan_relay_config(app, clan_id, config)
    bar = _Progress(progress) if progress is not None else None
    # Millions of short-lived objects make the cyclic GC run constantly for nothing (nothing
    # here builds cycles): collect far less often while importing, then restore.
    thresholds = gc.get_threshold()
    gc.set_threshold(*_BULK_GC)
    deferred: list[str] = []
    cancelled = False
    try:
        deferred = await _defer_indexes(app, paths, defer_indexes)
        await _import_paths(
            app,
            clan_id,
            config,
            paths,
            None if any_channel else frozenset(channel_ids),
            batch_size,
            report,
            bar,
            reader_process,
        )
    except asyncio.CancelledError:
        # Stopping must be quick: building the indexes again is left to the next start's
        # schema check (storage.migrate.upgrade), which creates any that are missing.
        cancelled = True
        raise
    finally:
        gc.set_threshold(*thresholds)
        if deferred and not cancelled:
            await _build_indexes(app, deferred, progress)
    # What was imported may be most of the table: the query planner's statistics with it.
    await refresh_planner_statistics_quietly(app.db)
    if bar is not None:
        bar.done()
    report.unmatched_names = len(await unmatched_names(app, clan_id))
    report.elapsed_s = time.monotonic() - started
    return report


def defers_indexes(export_bytes: int, stored_rows: int) -> bool:
    """Whether an import of ``export_bytes`` of exports into a table of ``stored_rows`` rows
    builds the deferrable indexes at its end rather than row by row: a big import (big enough
    to be read in a separate process) whose files could hold at least as many rows as the
    table has."""
    return (
        export_bytes >= READER_PROCESS_MIN_BYTES
        and stored_rows <= export_bytes // _BYTES_PER_STORED_ROW
    )


async def _defer_indexes(app: App, paths: list[Path], defer: bool | None) -> list[str]:
    """Drop the indexes an import builds faster at its end, when the import is big for the
    table (:data:`~storage.repositories.relay.DEFERRABLE_INDEXES`); the names dropped."""
    if defer is False:
        return []
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # said when the file is read
            total += path.stat().st_size
    if defer is None and total < READER_PROCESS_MIN_BYTES:
        return []  # small: no write lock taken to decide
    async with app.db.write() as session:
        if defer is None and not defers_indexes(
            total, await relay_repo.relay_row_estimate(session)
        ):
            return []
        return await relay_repo.drop_deferrable_indexes(session)


async def _build_indexes(app: App, names: list[str], progress: TextIO | None) -> None:
    started = time.monotonic()
    if progress is not None:
        progress.write(f"building {len(names)} indexes of the relay messages...\n")
        progress.flush()
    try:
        async with app.db.write() as session:
            await relay_repo.create_missing_indexes(session)
    except Exception as exc:  # the rows are stored: only the indexes wait
        log.warning("import.indexes_not_built", indexes=names, error=type(exc).__name__)
        if progress is not None:
            progress.write(
                f"could not build the indexes now ({type(exc).__name__}); the next start of "
                "any clanstats command builds them\n"
            )
            progress.flush()
        return
    took = time.monotonic() - started
    log.info("import.indexes_built", indexes=names, seconds=round(took, 1))
    if progress is not None:
        progress.write(f"built the indexes in {took:.1f} s\n")
        progress.flush()


async def _import_paths(
    app: App,
    clan_id: int,
    config: RelayConfig,
    paths: list[Path],
    channels: frozenset[int] | None,
    batch_size: int,
    report: ImportReport,
    bar: _Progress | None,
    reader_process: bool | None,
) -> None:
    """Import each file; ``channels`` None imports exports of any channel."""
    for path in paths:
        name = str(path)
        try:
            channel_id = channel_of(path)
            size = path.stat().st_size
        except OSError as exc:
            report.refused.append(f"{name}: cannot read it: {exc.strerror or exc}")
            continue
        except (NotAnExport, BrokenExport, BadEntry) as exc:
            report.refused.append(f"{name}: not a DiscordChatExporter export: {exc}")
            continue
        if channels is not None and channel_id not in channels:
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
        async with aclosing(chunks):
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
        report.bad(name, chunk)
        if chunk.parsed.received:
            report.ingest.add(
                await store_parsed(app, clan_id, chunk.parsed, source="import", bulk=True)
            )
        if bar is not None:
            bar.update(name, report.messages_read, report.ingest.new)
        if chunk.error is None:
            continue
        kind, detail = chunk.error
        if kind == "format":
            report.refused.append(f"{name}: not a DiscordChatExporter export: {detail}")
        elif kind == "cut":
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
