"""Relay harvesting: the one ingest use case behind the live listener, backfill and import.

Every path hands :func:`ingest` a batch of :class:`~domain.relay.RelayMessageIn`. The batch is
parsed first (pure, outside any transaction), then stored in ONE short write transaction that
awaits nothing but the database:

1. name keys are attributed to members (current names, then aliases) with one query per batch;
2. rows are inserted with ``ON CONFLICT (message_id, part) DO NOTHING RETURNING``: a message
   seen by the live listener, then by backfill, then by an import is stored exactly once, and
   what was already stored is reported as such;
3. duplicate relays (:mod:`domain.relay_duplicates`) are marked against the rows stored around
   the batch's time span and within the batch, recomputing forward from the earliest new row
   so the outcome does not depend on arrival order;
4. keys that match nobody are counted in ``unmatched_names``; their rows keep ``rsn_key`` and
   attach later through :func:`resolve_unmatched` (run after each WOM sync).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.config import ConfigError, env_name
from bot.usecases.context import App
from bot.usecases.dedupe import DEDUPE_KINDS, mark_duplicates
from bot.usecases.links import LINKING_SOURCES, LinkLine, claim_links
from domain.holders import Holding, attribute
from domain.relay import (
    CustomFormat,
    EmbedIn,
    RelayConfig,
    RelayMessageIn,
    parse_relay,
)
from domain.relay_duplicates import DUPLICATE_WINDOW
from domain.relay_stats import FormatTally, Unread, message_text, tally
from storage.models import Clan
from storage.repositories import names, relay_formats
from storage.repositories import relay as repo
from storage.repositories.clans import ensure_clan
from storage.repositories.cursors import advance_cursor

log = structlog.get_logger(__name__)

SOURCES = frozenset({"live", "backfill", "import"})


@dataclass
class IngestResult:
    """What one :func:`ingest` call (or several, added up) did.

    ``new`` counts rows stored by this call (duplicate relays included; ``duplicate_relays``
    says how many were marked as repeats); ``chat``/``broadcast``/``discord``/``formats``
    break the new rows down; ``duplicates_of_known`` counts rows already stored before.
    ``read`` counts the relay messages read per format, new or not
    (:mod:`domain.relay_stats`); ``unread`` the relay messages nothing was read from.
    """

    received: int = 0
    events: int = 0
    new: int = 0
    duplicates_of_known: int = 0
    duplicate_relays: int = 0
    chat: int = 0
    broadcast: int = 0
    discord: int = 0
    unmatched: int = 0
    unread: int = 0
    links: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    read: FormatTally = field(default_factory=FormatTally)

    def add(self, other: IngestResult) -> None:
        """Add another result's counts into this one."""
        for name in (
            "received",
            "events",
            "new",
            "duplicates_of_known",
            "duplicate_relays",
            "chat",
            "broadcast",
            "discord",
            "unmatched",
            "unread",
            "links",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for fmt, count in other.formats.items():
            self.formats[fmt] = self.formats.get(fmt, 0) + count
        self.read.add(other.read)

    def counts(self) -> dict[str, Any]:
        """The counts as plain values (the per-format reading is left out)."""
        out = asdict(dataclasses.replace(self, read=FormatTally()))
        del out["read"]
        return out


def compile_relay_config(
    author_ids: Iterable[int],
    custom_formats: Mapping[str, str],
    *,
    clan_name: str | None = None,
) -> RelayConfig:
    """The parser's configuration: trusted relay authors and the clan's custom formats.

    Raises :class:`~bot.core.config.ConfigError` naming ``CLANSTATS_RELAY_CUSTOM_FORMATS`` and
    every bad format at once.
    """
    formats: list[CustomFormat] = []
    problems: list[str] = []
    for name, regex in custom_formats.items():
        try:
            formats.append(CustomFormat.compile(name, regex))
        except ValueError as exc:
            problems.append(f"{env_name('relay_custom_formats')}[{name}]: {exc}")
    if problems:
        raise ConfigError(problems)
    return RelayConfig(
        relay_author_ids=frozenset(author_ids),
        clan_name=clan_name,
        custom_formats=tuple(formats),
    )


async def ensure_clan_for(app: App, group_id: int, guild_id: int | None = None) -> int:
    """The id of the clan of WOM group ``group_id``, created (with no name yet) on first use."""
    async with app.db.write() as session:
        clan = await ensure_clan(
            session,
            wom_group_id=group_id,
            # The name arrives with the first WOM sync; until then it is unknown ("").
            name="",
            guild_id=guild_id,
        )
        return clan.id


async def clan_relay_config(app: App, clan_id: int, base: RelayConfig) -> RelayConfig:
    """``base`` with the clan's identity: its in-game name (TrackScape authors the clan's
    broadcasts with it) and, while that is unknown, the names its members hold."""
    async with app.db.read() as session:
        return await _with_clan_identity(session, clan_id, base)


async def _with_clan_identity(
    session: AsyncSession, clan_id: int, base: RelayConfig
) -> RelayConfig:
    name = base.clan_name or await _clan_name(session, clan_id)
    if name is not None:
        return dataclasses.replace(base, clan_name=name, member_keys=frozenset())
    return dataclasses.replace(base, member_keys=await names.held_keys(session, clan_id))


async def _clan_name(session: AsyncSession, clan_id: int) -> str | None:
    """The in-game clan name: WOM's clanChat, else the group's name; None before any sync.

    (A name set in ``CLANSTATS_CLAN_CHAT_NAME`` comes in the base configuration and wins.)
    """
    clan = await session.get(Clan, clan_id)
    if clan is None:
        return None
    return clan.clan_chat or clan.name or None


# ---------------------------------------------------------------------------------------------
# Ingest


class ParsedRow(NamedTuple):
    """One event ready to store (a tuple, so a batch of them pickles cheaply)."""

    message_id: int
    part: int
    channel_id: int
    author_id: int
    posted_at: datetime
    kind: str
    broadcast_type: str | None
    rsn_key: str | None
    display_name: str | None
    rank_title: str | None
    account_type: str | None
    text: str
    format: str


@dataclass(slots=True)
class ParsedBatch:
    """A batch of messages parsed and ready to store: plain values only, so it pickles cheaply
    (the importer parses in a worker process and stores in the main one).

    ``rows`` holds each ``(message_id, part)`` once, in the order the events came;
    ``repeats`` counts events dropped because their ``(message_id, part)`` came earlier in
    the batch (the same message twice). ``unread`` holds the relay messages the parser read
    nothing from; ``read`` counts the batch's relay messages per format.
    """

    received: int = 0
    events: int = 0
    repeats: int = 0
    rows: list[ParsedRow] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    read: FormatTally = field(default_factory=FormatTally)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The rows go column by column: pickling a list of 20,000 named tuples was most of
        # what the importer's reader process spent sending a batch (about 4× slower).
        columns = tuple(zip(*self.rows, strict=True))
        return _unpickle_batch, (
            self.received,
            self.events,
            self.repeats,
            columns,
            self.unread,
            self.read,
        )


def _unpickle_batch(
    received: int,
    events: int,
    repeats: int,
    columns: tuple[tuple[Any, ...], ...],
    unread: list[Unread],
    read: FormatTally,
) -> ParsedBatch:
    rows = list(map(ParsedRow._make, zip(*columns, strict=True)))
    return ParsedBatch(received, events, repeats, rows, unread, read)


def parse_batch(messages: Iterable[RelayMessageIn], config: RelayConfig) -> ParsedBatch:
    """Parse relay-channel messages into rows to store (pure: no I/O, no clock)."""
    batch = ParsedBatch()
    rows = batch.rows
    seen: set[tuple[int, int]] = set()
    received = events_seen = 0
    for message in messages:
        received += 1
        message_id = message.message_id
        events = parse_relay(message, config)
        if not events and (message_id, -1) not in seen:
            # Only a relay message gives no event (anything else is Discord chatter).
            seen.add((message_id, -1))
            batch.unread.append(
                Unread(
                    message_id,
                    message.channel_id,
                    message.author_id,
                    message.posted_at,
                    message_text(message),
                )
            )
        for event in events:
            events_seen += 1
            key = (message_id, event.part)
            if key in seen:  # the same message twice in one batch
                batch.repeats += 1
                continue
            seen.add(key)
            text_ = event.text
            broadcast_type = event.broadcast_type
            # The columns' lengths, cut inline (three calls per row add up on an import).
            name = event.player_name
            rank = event.rank_title
            account = event.account_type
            rows.append(
                ParsedRow(
                    message_id,
                    event.part,
                    message.channel_id,
                    message.author_id,
                    message.posted_at,
                    event.kind,
                    broadcast_type.value if broadcast_type is not None else None,
                    event.player_key,
                    name if name is None or len(name) <= 64 else name[:64],
                    rank if rank is None or len(rank) <= 64 else rank[:64],
                    account if account is None or len(account) <= 32 else account[:32],
                    # PostgreSQL text cannot hold NUL.
                    text_.replace("\x00", "") if "\x00" in text_ else text_,
                    event.format,
                )
            )
    batch.received = received
    batch.events = events_seen
    batch.read = tally(rows, batch.unread)
    return batch


async def ingest(
    app: App,
    clan_id: int,
    messages: Sequence[RelayMessageIn],
    *,
    source: str,
    config: RelayConfig,
    cursor: tuple[int, int] | None = None,
) -> IngestResult:
    """Parse and store a batch of relay-channel messages exactly once each.

    ``source`` is ``live``, ``backfill`` or ``import``; ``config`` is the clan's parser
    configuration (:func:`clan_relay_config`).
    ``cursor`` — ``(channel id, message id)`` — moves that channel's backfill cursor in the
    same transaction, so a page and "this page is stored" commit together.
    Equivalent to :func:`parse_batch` then :func:`store_parsed`.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown ingest source {source!r}")
    if not messages and cursor is None:
        return IngestResult()
    return await store_parsed(
        app, clan_id, parse_batch(messages, config), source=source, cursor=cursor
    )


async def store_parsed(
    app: App,
    clan_id: int,
    parsed: ParsedBatch,
    *,
    source: str,
    bulk: bool = False,
    cursor: tuple[int, int] | None = None,
) -> IngestResult:
    """Store a parsed batch in ONE write transaction (the only one ingest makes).

    The transaction awaits nothing but the database: attribution, insert-ignore, duplicate
    relay marking and the unmatched-name counts all happen inside it, so a crash at any point
    leaves the batch either fully stored or not at all. ``bulk`` (imports) gives the SQLite
    connection a larger page cache first.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown ingest source {source!r}")
    result = IngestResult(
        received=parsed.received,
        events=parsed.events,
        duplicates_of_known=parsed.repeats,
        read=parsed.read,
    )
    if not parsed.rows and not parsed.unread and cursor is None:
        return result
    now = app.now()
    async with app.db.write() as session:
        if bulk:
            await repo.tune_for_bulk_writes(session)
        if parsed.rows or parsed.unread:
            await _store(session, clan_id, parsed, source, now, result)
        if cursor is not None:
            channel_id, message_id = cursor
            await advance_cursor(
                session, clan_id=clan_id, channel_id=channel_id, message_id=message_id, now=now
            )
    log.debug("relay.ingested", source=source, **_loggable(result))
    return result


def _loggable(result: IngestResult) -> dict[str, int]:
    return {k: v for k, v in result.counts().items() if isinstance(v, int)}


async def _store(
    session: AsyncSession,
    clan_id: int,
    parsed: ParsedBatch,
    source: str,
    now: datetime,
    result: IngestResult,
) -> None:
    await repo.lock_clan_relay(session, clan_id)
    rows = parsed.rows
    new_unread: list[Unread] = []
    if parsed.unread:
        fresh = set(
            await relay_formats.insert_unread(
                session, clan_id=clan_id, source=source, ingested_at=now, rows=parsed.unread
            )
        )
        new_unread = [u for u in parsed.unread if u.message_id in fresh]
        result.unread += len(new_unread)
    if not rows:
        await relay_formats.add_format_counts(session, clan_id, tally((), new_unread), now)
        return

    # Who held each name when each line was posted (docs/metrics.md, "Names").
    held = await names.holders_of(session, clan_id, {r.rsn_key for r in rows if r.rsn_key})
    members = _credit(held, rows)

    # Rows stored before this batch around its time span: read before inserting, so the
    # batch's own rows are not read back.
    window: tuple[datetime, datetime] | None = None
    stored: list[repo.StoredLine] = []
    dedupe_posted = [row.posted_at for row in rows if row.kind in DEDUPE_KINDS]
    if dedupe_posted:
        window = (min(dedupe_posted) - DUPLICATE_WINDOW, max(dedupe_posted) + DUPLICATE_WINDOW)
        stored = await repo.lines_between(session, clan_id, *window)

    values = [
        repo.RelayRow(
            row.message_id,
            row.part,
            row.channel_id,
            row.author_id,
            row.posted_at,
            row.kind,
            row.broadcast_type,
            member_id,
            row.rsn_key,
            row.display_name,
            row.rank_title,
            row.account_type,
            row.text,
        )
        for row, member_id in zip(rows, members, strict=True)
    ]
    inserted = await repo.insert_relay_rows(
        session, clan_id=clan_id, source=source, ingested_at=now, rows=values
    )
    # The new rows, in batch order, with their ids, and who each was credited to.
    new_rows, new_members = _new_rows(rows, members, inserted)
    result.duplicates_of_known += len(rows) - len(new_rows)
    result.new += len(new_rows)
    if not new_rows:
        await relay_formats.add_format_counts(session, clan_id, tally((), new_unread), now)
        return

    # What the new rows add to the per-format counts (/status): each stored message once.
    # When everything in the batch was new that is the batch's own reading (a fresh import).
    if len(new_rows) == len(rows) and len(new_unread) == len(parsed.unread):
        counted = parsed.read
    else:
        counted = tally((row for _, row in new_rows), new_unread)
    await relay_formats.add_format_counts(session, clan_id, counted, now)

    # A `!link CODE` line is stored like any other line; the links it proves are made in
    # this same transaction, only from rows new here (never twice for one message), and
    # never from an import (history is no proof: nothing to look for there).
    link_lines = (
        [
            LinkLine(row.message_id, row.kind, row.text, member, row.posted_at)
            for (_, row), member in zip(new_rows, new_members, strict=True)
            if "link" in row.text.lower()
        ]
        if source in LINKING_SOURCES
        else []
    )
    if link_lines:
        result.links += await claim_links(session, clan_id, link_lines, source=source, now=now)

    duplicate_of: dict[int, int | None] = {}
    if window is not None:
        duplicate_of = await mark_duplicates(session, clan_id, new_rows, stored, window)
    result.duplicate_relays += sum(1 for dup in duplicate_of.values() if dup is not None)

    # Unmatched sightings, aggregated per name for the batch (one upsert row per name):
    # chat lines and broadcasts apart.
    unmatched: dict[str, list[Any]] = {}
    kinds: Counter[str] = Counter()
    fmts: Counter[str] = Counter()
    for (row_id, row), member_id in zip(new_rows, new_members, strict=True):
        kinds[row.kind] += 1
        fmts[row.format] += 1
        key = row.rsn_key
        if key is None or row.kind not in DEDUPE_KINDS:
            continue
        if member_id is not None:
            continue
        if duplicate_of and duplicate_of.get(row_id) is not None:
            continue  # a repeat relay is not another sighting
        result.unmatched += 1
        posted = row.posted_at
        display = row.display_name or key
        chat = 1 if row.kind == "chat" else 0
        seen = unmatched.get(key)
        if seen is None:
            unmatched[key] = [chat, 1 - chat, posted, posted, display]
            continue
        seen[0] += chat
        seen[1] += 1 - chat
        if posted < seen[2]:
            seen[2] = posted
        if posted >= seen[3]:
            seen[3] = posted
            seen[4] = display
    await repo.record_unmatched(
        session,
        [
            repo.UnmatchedSighting(
                clan_id=clan_id,
                rsn_key=key,
                display_name=display,
                lines=lines,
                broadcasts=broadcasts,
                first_seen=first,
                last_seen=last,
            )
            for key, (lines, broadcasts, first, last, display) in unmatched.items()
        ],
    )

    result.chat += kinds["chat"]
    result.broadcast += kinds["broadcast"]
    result.discord += kinds["discord"]
    for fmt, count in fmts.items():
        result.formats[fmt] = result.formats.get(fmt, 0) + count


def _credit(held: Mapping[str, Sequence[Holding]], rows: Sequence[ParsedRow]) -> list[int | None]:
    """The member each row is credited to: :func:`~domain.holders.attribute` per row, with
    the answer of a name one member has always held (nearly every name) looked up once."""
    always: dict[str, int] = {
        key: found[0].member_id
        for key, found in held.items()
        if len(found) == 1 and found[0].start is None and found[0].end is None
    }
    out: list[int | None] = []
    for row in rows:
        key = row.rsn_key
        member = always.get(key) if key is not None else None
        out.append(member if member is not None else attribute(held, key, row.posted_at))
    return out


def _new_rows(
    rows: Sequence[ParsedRow],
    members: Sequence[int | None],
    inserted: Sequence[tuple[int, int, int]],
) -> tuple[list[tuple[int, ParsedRow]], list[int | None]]:
    """The rows the insert stored, in batch order, with their ids, and their members.

    ``inserted`` is ``(id, message_id, part)`` per new row in no promised order; when it
    lists every row in batch order (a fresh import, in practice) it is taken as it is.
    """
    if len(inserted) == len(rows) and all(
        new[1] == row.message_id and new[2] == row.part
        for new, row in zip(inserted, rows, strict=True)
    ):
        return [(new[0], row) for new, row in zip(inserted, rows, strict=True)], list(members)
    new_ids = {(message_id, part): row_id for row_id, message_id, part in inserted}
    new_rows: list[tuple[int, ParsedRow]] = []
    new_members: list[int | None] = []
    for row, member in zip(rows, members, strict=True):
        row_id = new_ids.get((row.message_id, row.part))
        if row_id is not None:
            new_rows.append((row_id, row))
            new_members.append(member)
    return new_rows, new_members


# ---------------------------------------------------------------------------------------------
# Edits, deletes, re-resolution


async def apply_edit(
    app: App,
    message_id: int,
    *,
    config: RelayConfig,
    content: str,
    embeds: Sequence[EmbedIn] = (),
    edited_at: datetime,
) -> int:
    """Re-read an edited message and update the text of its stored parts; returns rows hit.

    The message is parsed again with the author it was stored with, so an edited relay line
    stays a relay line and edited chatter stays chatter. Who a row is attributed to and its
    duplicate status are not changed by an edit. Unknown messages are ignored (0).
    """
    async with app.db.read() as session:
        parts = await repo.parts_of_message(session, message_id)
        if not parts:
            return 0
        config = await _with_clan_identity(session, parts[0].clan_id, config)
    first = parts[0]
    author = first.author_id or 0
    message = RelayMessageIn(
        message_id=message_id,
        channel_id=first.channel_id,
        author_id=author,
        author_name="",
        is_bot=False,
        # Stored author ids of webhook posts are the webhook ids: trust follows the id.
        webhook_id=author if author in config.relay_author_ids else None,
        content=content,
        embeds=tuple(embeds),
        posted_at=first.posted_at,
    )
    known = {p.part for p in parts}
    texts = {
        event.part: event.text.replace("\x00", "")
        for event in parse_relay(message, config)
        if event.part in known
    }
    async with app.db.write() as session:
        changed = await repo.apply_edit(session, message_id, texts, edited_at)
    log.info("relay.edited", message_id=message_id, rows=changed)
    return changed


async def apply_delete(app: App, message_ids: Iterable[int], deleted_at: datetime) -> int:
    """Mark the rows of deleted Discord messages as deleted (kept, never erased)."""
    async with app.db.write() as session:
        marked = await repo.mark_deleted(session, message_ids, deleted_at)
    log.info("relay.deleted", rows=marked)
    return marked


async def reattribute(app: App, clan_id: int, touched: Iterable[str] = ()) -> int:
    """Credit relay rows again to whoever held their name when they were posted, for the
    names whose holders may have changed: ``touched`` (new, rejoined and renamed members'
    names), every earlier name, every unmatched name and every name several members had.
    The outcome depends only on what is stored, never on the order it arrived in. Returns
    the rows whose member changed."""
    async with app.db.write() as session:
        await repo.lock_clan_relay(session, clan_id)
        keys = await names.keys_to_recheck(session, clan_id)
        keys.update(k for k in touched if k)
        done = await names.reattribute(session, clan_id, keys)
    log.info(
        "relay.reattributed",
        names=done.keys,
        rows_changed=done.rows_changed,
        unmatched_names=done.unmatched_names,
    )
    return done.rows_changed


async def unmatched_names(app: App, clan_id: int) -> dict[str, int]:
    """``rsn_key → times seen`` of the names relayed chat used that match no member yet."""
    async with app.db.read() as session:
        return await repo.unmatched_counts(session, clan_id)


__all__ = [
    "IngestResult",
    "ParsedBatch",
    "apply_delete",
    "apply_edit",
    "clan_relay_config",
    "compile_relay_config",
    "ensure_clan_for",
    "ingest",
    "parse_batch",
    "reattribute",
    "store_parsed",
    "unmatched_names",
]
