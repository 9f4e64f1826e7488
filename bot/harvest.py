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

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.config import ConfigError, Settings, env_name
from domain.relay import (
    CustomFormat,
    EmbedIn,
    RelayConfig,
    RelayEvent,
    RelayMessageIn,
    parse_relay,
)
from domain.relay_duplicates import DUPLICATE_WINDOW, LineRow, SortKey, assign_duplicates
from storage.models import Clan
from storage.repositories import relay as repo
from storage.repositories.clans import ensure_clan

log = structlog.get_logger(__name__)

SOURCES = frozenset({"live", "backfill", "import"})
_EXTEND_PAGE = 200

GroupKey = tuple[str, str | None, str]


@dataclass
class IngestResult:
    """What one :func:`ingest` call (or several, added up) did.

    ``new`` counts rows stored by this call (duplicate relays included; ``duplicate_relays``
    says how many were marked as repeats); ``chat``/``broadcast``/``discord``/``formats``
    break the new rows down; ``duplicates_of_known`` counts rows already stored before.
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
    formats: dict[str, int] = field(default_factory=dict)

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
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for fmt, count in other.formats.items():
            self.formats[fmt] = self.formats.get(fmt, 0) + count

    def counts(self) -> dict[str, Any]:
        return asdict(self)


def relay_config(settings: Settings, *, clan_name: str | None = None) -> RelayConfig:
    """Build the parser's configuration from settings, compiling the custom formats.

    Raises :class:`~bot.config.ConfigError` naming ``CLANSTATS_RELAY_CUSTOM_FORMATS`` and
    every bad format at once.
    """
    formats: list[CustomFormat] = []
    problems: list[str] = []
    for name, regex in settings.relay_custom_formats.items():
        try:
            formats.append(CustomFormat.compile(name, regex))
        except ValueError as exc:
            problems.append(f"{env_name('relay_custom_formats')}[{name}]: {exc}")
    if problems:
        raise ConfigError(problems)
    return RelayConfig(
        relay_author_ids=frozenset(settings.relay_author_ids),
        clan_name=clan_name,
        custom_formats=tuple(formats),
    )


async def ensure_clan_for_settings(app: App) -> int:
    """The id of the configured clan, created (with a placeholder name) on first use."""
    group_id = app.settings.wom_group_id
    if group_id is None:
        raise ConfigError([f"{env_name('wom_group_id')}: not set (the clan relay data belongs to)"])
    async with app.db.write() as session:
        clan = await ensure_clan(
            session,
            wom_group_id=group_id,
            # The name arrives with the first WOM sync; until then it is unknown ("").
            name="",
            guild_id=app.settings.guild_id,
        )
        return clan.id


async def clan_relay_config(app: App, clan_id: int) -> RelayConfig:
    """:func:`relay_config` with the clan's name as stored (TrackScape broadcasts need it)."""
    async with app.db.read() as session:
        name = await _clan_name(session, clan_id)
    return relay_config(app.settings, clan_name=name)


async def _clan_name(session: AsyncSession, clan_id: int) -> str | None:
    clan = await session.get(Clan, clan_id)
    # "" until the first WOM sync names the clan: the parser then recognises TrackScape
    # broadcasts by their sentence instead of by a clan name it does not know yet.
    return clan.name if clan is not None and clan.name else None


# ---------------------------------------------------------------------------------------------
# Ingest


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value is not None else None


def _row(
    clan_id: int, message: RelayMessageIn, event: RelayEvent, source: str, now: datetime
) -> dict[str, Any]:
    return {
        "clan_id": clan_id,
        "message_id": message.message_id,
        "part": event.part,
        "channel_id": message.channel_id,
        "author_id": message.author_id,
        "posted_at": message.posted_at,
        "kind": event.kind,
        "broadcast_type": event.broadcast_type.value if event.broadcast_type else None,
        "member_id": None,
        "rsn_key": event.player_key,
        "display_name": _cut(event.player_name, 64),
        "rank_title": _cut(event.rank_title, 64),
        "account_type": _cut(event.account_type, 32),
        # PostgreSQL text cannot hold NUL.
        "text": event.text.replace("\x00", ""),
        "duplicate_of": None,
        "edited_at": None,
        "deleted_at": None,
        "source": source,
        "ingested_at": now,
    }


async def ingest(
    app: App,
    clan_id: int,
    messages: Sequence[RelayMessageIn],
    *,
    source: str,
    config: RelayConfig | None = None,
) -> IngestResult:
    """Parse and store a batch of relay-channel messages exactly once each.

    ``source`` is ``live``, ``backfill`` or ``import``. ``config`` defaults to
    :func:`clan_relay_config` (pass it to avoid one read per call in bulk paths).
    """
    if source not in SOURCES:
        raise ValueError(f"unknown ingest source {source!r}")
    result = IngestResult(received=len(messages))
    if not messages:
        return result
    if config is None:
        config = await clan_relay_config(app, clan_id)
    now = app.now()
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    formats: dict[tuple[int, int], str] = {}
    for message in messages:
        for event in parse_relay(message, config):
            result.events += 1
            key = (message.message_id, event.part)
            if key in rows:  # the same message twice in one batch
                result.duplicates_of_known += 1
                continue
            rows[key] = _row(clan_id, message, event, source, now)
            formats[key] = event.format
    if not rows:
        return result
    async with app.db.write() as session:
        await _store(session, clan_id, rows, formats, result)
    log.debug("relay.ingested", source=source, **_loggable(result))
    return result


def _loggable(result: IngestResult) -> dict[str, int]:
    return {k: v for k, v in result.counts().items() if isinstance(v, int)}


async def _store(
    session: AsyncSession,
    clan_id: int,
    rows: dict[tuple[int, int], dict[str, Any]],
    formats: dict[tuple[int, int], str],
    result: IngestResult,
) -> None:
    await repo.lock_clan_relay(session, clan_id)

    keys = {row["rsn_key"] for row in rows.values() if row["rsn_key"] is not None}
    members = await repo.member_ids_by_key(session, clan_id, keys)
    for row in rows.values():
        if row["rsn_key"] is not None:
            row["member_id"] = members.get(row["rsn_key"])

    # Rows stored before this batch around its time span: read before inserting, so the
    # batch's own rows are not read back.
    dedupe = [row for row in rows.values() if row["kind"] in repo.DEDUPE_KINDS]
    window: tuple[datetime, datetime] | None = None
    stored: list[repo.StoredLine] = []
    if dedupe:
        window = (
            min(row["posted_at"] for row in dedupe) - DUPLICATE_WINDOW,
            max(row["posted_at"] for row in dedupe) + DUPLICATE_WINDOW,
        )
        stored = await repo.lines_between(session, clan_id, *window)

    inserted = await repo.insert_relay_rows(session, list(rows.values()))
    new_ids = {(message_id, part): row_id for row_id, message_id, part in inserted}
    result.duplicates_of_known += len(rows) - len(new_ids)
    result.new += len(new_ids)

    duplicate_of: dict[int, int | None] = {}
    if window is not None and new_ids:
        duplicate_of = await _mark_duplicates(session, clan_id, rows, new_ids, stored, window)
    result.duplicate_relays += sum(1 for row_id, dup in duplicate_of.items() if dup is not None)

    unmatched: dict[str, dict[str, Any]] = {}
    kinds: Counter[str] = Counter()
    fmts: Counter[str] = Counter()
    for key, row_id in new_ids.items():
        row = rows[key]
        kinds[row["kind"]] += 1
        fmts[formats[key]] += 1
        if row["rsn_key"] is None or row["member_id"] is not None:
            continue
        if duplicate_of.get(row_id) is not None:
            continue  # a repeat relay is not another sighting
        result.unmatched += 1
        seen = unmatched.get(row["rsn_key"])
        posted = row["posted_at"]
        if seen is None:
            unmatched[row["rsn_key"]] = {
                "clan_id": clan_id,
                "rsn_key": row["rsn_key"],
                "display_name": row["display_name"] or row["rsn_key"],
                "count": 1,
                "first_seen": posted,
                "last_seen": posted,
            }
            continue
        seen["count"] += 1
        seen["first_seen"] = min(seen["first_seen"], posted)
        if posted >= seen["last_seen"]:
            seen["last_seen"] = posted
            seen["display_name"] = row["display_name"] or row["rsn_key"]
    await repo.record_unmatched(session, list(unmatched.values()))

    result.chat += kinds["chat"]
    result.broadcast += kinds["broadcast"]
    result.discord += kinds["discord"]
    for fmt, count in fmts.items():
        result.formats[fmt] = result.formats.get(fmt, 0) + count


async def _mark_duplicates(
    session: AsyncSession,
    clan_id: int,
    rows: dict[tuple[int, int], dict[str, Any]],
    new_ids: dict[tuple[int, int], int],
    stored: Iterable[repo.StoredLine],
    window: tuple[datetime, datetime],
) -> dict[int, int | None]:
    """Apply the duplicate rule to every line group the new rows belong to.

    Returns the ``duplicate_of`` value of every row it changed (new rows start as canonical).
    """
    groups: dict[GroupKey, dict[int, LineRow]] = {}
    starts: dict[GroupKey, SortKey] = {}
    for (message_id, part), row_id in new_ids.items():
        row = rows[(message_id, part)]
        if row["kind"] not in repo.DEDUPE_KINDS:
            continue
        group: GroupKey = (row["kind"], row["rsn_key"], row["text"])
        line = LineRow(row_id, message_id, part, row["posted_at"], None)
        groups.setdefault(group, {})[row_id] = line
        if group not in starts or line.sort_key < starts[group]:
            starts[group] = line.sort_key
    for old in stored:
        members = groups.get((old.kind, old.rsn_key, old.text))
        if members is not None:
            members[old.id] = LineRow(
                old.id, old.message_id, old.part, old.posted_at, old.duplicate_of
            )

    changes: dict[int, int | None] = {}
    for group, lines in groups.items():
        if len(lines) == 1:
            continue  # a lone new row is canonical, as inserted
        await _extend_forward(session, clan_id, group, lines, window[1])
        changes.update(assign_duplicates(lines.values(), starts[group]))
    await repo.set_duplicate_of(session, changes)
    return changes


async def _extend_forward(
    session: AsyncSession,
    clan_id: int,
    group: GroupKey,
    lines: dict[int, LineRow],
    boundary: datetime,
) -> None:
    """Load later rows of a group whose status may chain from the rows already loaded.

    A row after ``boundary`` can only be a duplicate of a row at most the window earlier, so
    more rows are needed only while a loaded row is that close to the boundary (only rows
    stored after the batch can be: the batch ends a full window before ``boundary``).
    """
    kind, rsn_key, text_ = group
    while max(line.posted_at for line in lines.values()) > boundary - DUPLICATE_WINDOW:
        more = await repo.identical_lines_after(
            session,
            clan_id,
            kind=kind,
            rsn_key=rsn_key,
            text_=text_,
            after=boundary,
            limit=_EXTEND_PAGE,
        )
        fresh = [m for m in more if m.id not in lines]
        for m in fresh:
            lines[m.id] = LineRow(m.id, m.message_id, m.part, m.posted_at, m.duplicate_of)
        if len(more) < _EXTEND_PAGE or not fresh:
            return
        boundary = max(m.posted_at for m in more)


# ---------------------------------------------------------------------------------------------
# Edits, deletes, re-resolution


async def apply_edit(
    app: App,
    message_id: int,
    *,
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
        clan_name = await _clan_name(session, parts[0].clan_id)
    first = parts[0]
    config = relay_config(app.settings, clan_name=clan_name)
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


async def resolve_unmatched(app: App, clan_id: int) -> int:
    """Attach rows of names that now match a member or alias; returns rows attached."""
    async with app.db.write() as session:
        await repo.lock_clan_relay(session, clan_id)
        done = await repo.reresolve_unmatched(session, clan_id)
    log.info(
        "relay.unmatched_resolved",
        rows_attached=done.rows_attached,
        names_resolved=done.names_resolved,
    )
    return done.rows_attached


async def newest_message_ids(app: App, channel_ids: Iterable[int]) -> dict[int, int]:
    """The newest stored message id per channel, where a backfill resumes."""
    async with app.db.read() as session:
        return await repo.latest_message_ids(session, channel_ids)


async def unmatched_names(app: App, clan_id: int) -> dict[str, int]:
    """``rsn_key → times seen`` of the names relayed chat used that match no member yet."""
    async with app.db.read() as session:
        return await repo.unmatched_counts(session, clan_id)


__all__ = [
    "IngestResult",
    "apply_delete",
    "apply_edit",
    "clan_relay_config",
    "ensure_clan_for_settings",
    "ingest",
    "newest_message_ids",
    "relay_config",
    "resolve_unmatched",
    "unmatched_names",
]
