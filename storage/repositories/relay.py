"""Relay messages and unmatched names: the reads and writes relay harvesting makes.

Every function takes the caller's session; :func:`bot.usecases.harvest.ingest` runs them inside one
write transaction per batch. Inserts go through ``executemany`` (SQLAlchemy's
"insertmanyvalues" batches them into multi-row statements) with ``ON CONFLICT DO NOTHING
RETURNING``, so "what was new" comes from the statement that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple, TypedDict

from sqlalchemy import Table, bindparam, case, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import chunks, dialect_insert
from storage.engine import SQLITE_CACHE_KIB
from storage.models import RelayMessage, UnmatchedName

RELAY_TABLE: Table = RelayMessage.__table__  # type: ignore[assignment]
UNMATCHED_TABLE: Table = UnmatchedName.__table__  # type: ignore[assignment]

# Kinds a duplicate relay can be: Discord chatter is never relayed twice by a plugin.
DEDUPE_KINDS = ("chat", "broadcast")
# Keys per IN (...) list: far below both databases' bound-parameter limits.
_IN_CHUNK = 5_000
# An arbitrary constant namespacing ClanStats' advisory locks on PostgreSQL.
_RELAY_LOCK_NAMESPACE = 0x52454C


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def lock_clan_relay(session: AsyncSession, clan_id: int) -> None:
    """Serialise relay writes for one clan until the transaction ends.

    SQLite's ``BEGIN IMMEDIATE`` already serialises every writer; on PostgreSQL a transaction
    advisory lock does the same for relay ingest, so live, backfill and import batches of one
    clan never interleave and duplicate-relay detection sees every earlier row.
    """
    if _dialect(session) == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :clan)"),
            {"ns": _RELAY_LOCK_NAMESPACE, "clan": clan_id},
        )


class RelayRow(NamedTuple):
    """One new relay row. ``clan_id``, ``source`` and ``ingested_at`` are the same for a whole
    batch (arguments of :func:`insert_relay_rows`); ``duplicate_of``, ``edited_at`` and
    ``deleted_at`` start NULL. A tuple, so the SQLite path flattens it without lookups."""

    message_id: int
    part: int
    channel_id: int
    author_id: int | None
    posted_at: datetime  # tz-aware
    kind: str
    broadcast_type: str | None
    member_id: int | None
    rsn_key: str | None
    display_name: str | None
    rank_title: str | None
    account_type: str | None
    text: str


#: The columns of a :class:`RelayRow`, in its order.
RELAY_VALUE_COLUMNS: tuple[str, ...] = RelayRow._fields
_POSTED_AT: Final = RelayRow._fields.index("posted_at")
_SQLITE_COLUMNS = ("clan_id", *RELAY_VALUE_COLUMNS, "source", "ingested_at")
# Rows per multi-row INSERT on SQLite: 16 parameters each, under its default limit of 32,766.
# Smaller pieces are powers of two, so only a dozen statement shapes ever reach the driver's
# statement cache (a cached 2,000-row statement is large; one per batch size would add up).
_SQLITE_MAX_ROWS_PER_INSERT = 2_000
# The page cache of a connection doing a bulk import (KiB, as SQLite's negative cache_size):
# room for the hot index pages of large batches; the default 2 MB makes every batch re-read
# and re-write most of the pages its random-order index entries touch.
_BULK_CACHE_KIB = 65_536
_INDEX_BUILD_CACHE_KIB = 16_384


def sqlite_datetime(value: datetime) -> str:
    """A UTC datetime exactly as :class:`~storage.models.UtcDateTime` stores it in SQLite.

    SQLAlchemy's SQLite ``DateTime`` writes naive UTC as ``YYYY-MM-DD HH:MM:SS.ffffff``;
    reads parse that form back, so rows written here read back identical.
    """
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_chunks(count: int) -> Iterable[tuple[int, int]]:
    """``(start, size)`` pieces of ``count`` rows, each size a power of two (largest first)."""
    start = 0
    while start < count:
        size = min(_SQLITE_MAX_ROWS_PER_INSERT, 1 << ((count - start).bit_length() - 1))
        yield start, size
        start += size


async def tune_for_bulk_writes(session: AsyncSession) -> None:
    """Give the session's SQLite connection a large page cache.

    For bulk imports. Durability is unchanged (the journal and ``synchronous`` settings stay
    as the engine set them). The settings stay on that pooled connection, which matters only
    for memory: the cache fills only as pages are read. No-op on PostgreSQL.
    """
    if _dialect(session) != "sqlite":
        return
    await session.execute(text(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}"))


# Indexes a big import into a small table builds once at its end instead of row by row
# (SQLite only). Each is keyed by member or name, so every new row lands somewhere in its
# middle: kept up row by row they were about half of a 1,000,000-message import's time,
# where building them afterwards costs about a sixth of it. The table's other indexes grow
# at their end (time, message id) and stay: the import's duplicate check reads by time.
DEFERRABLE_INDEXES: Final = (
    "ix_relay_messages_clan_member_posted",
    "ix_relay_messages_chat_member_posted",
    "ix_relay_messages_clan_rsn_key",
)


async def relay_row_estimate(session: AsyncSession) -> int:
    """About how many relay rows are stored (the highest id: one index seek, no count)."""
    found = await session.scalar(select(func.max(RELAY_TABLE.c.id)))
    return int(found or 0)


async def drop_deferrable_indexes(session: AsyncSession) -> list[str]:
    """Drop :data:`DEFERRABLE_INDEXES` (SQLite; no-op on PostgreSQL); the names dropped.

    The caller puts them back with :func:`create_missing_indexes` when it is done; a process
    killed before that leaves them to the next start's schema check (:func:`storage.migrate.
    upgrade`), which creates any that are missing.
    """
    if _dialect(session) != "sqlite":
        return []
    present = set(await _sqlite_index_names(session))
    dropped: list[str] = [name for name in DEFERRABLE_INDEXES if name in present]
    for name in dropped:
        await session.execute(text(f'DROP INDEX IF EXISTS "{name}"'))
    return dropped


async def _sqlite_index_names(session: AsyncSession) -> list[str]:
    rows = await session.execute(
        text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :table"),
        {"table": RELAY_TABLE.name},
    )
    return [str(row[0]) for row in rows]


async def missing_indexes(session: AsyncSession) -> list[str]:
    """The relay table's indexes the schema has and the database lacks (SQLite; else [])."""
    if _dialect(session) != "sqlite":
        return []
    present = set(await _sqlite_index_names(session))
    return sorted(str(ix.name) for ix in RELAY_TABLE.indexes if ix.name not in present)


async def create_missing_indexes(session: AsyncSession) -> list[str]:
    """Create the relay table's missing indexes, as the schema defines them; their names."""
    missing = await missing_indexes(session)
    if not missing:
        return []
    conn = await session.connection()
    if _dialect(session) == "sqlite":
        # The page cache a bulk import filled is given back first, and kept small while
        # building: SQLite sorts an index's keys in memory up to about the cache's size
        # (more spills to a temporary file), and the two would add up.
        await session.execute(text(f"PRAGMA cache_size = -{_INDEX_BUILD_CACHE_KIB}"))
        await session.execute(text("PRAGMA shrink_memory"))

    def create(sync_conn: Connection) -> None:
        for index in RELAY_TABLE.indexes:
            if index.name in missing:
                index.create(sync_conn, checkfirst=True)

    await conn.run_sync(create)
    if _dialect(session) == "sqlite":  # the pooled connection's usual cache again
        await session.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    return missing


async def insert_relay_rows(
    session: AsyncSession,
    *,
    clan_id: int,
    source: str,
    ingested_at: datetime,
    rows: Sequence[RelayRow],
) -> list[tuple[int, int, int]]:
    """Insert relay rows, ignoring any ``(message_id, part)`` already stored.

    Returns
    ``(id, message_id, part)`` for each row that was new.
    """
    if not rows:
        return []
    if _dialect(session) == "sqlite":
        return await _insert_relay_rows_sqlite(session, clan_id, source, ingested_at, rows)
    table = RELAY_TABLE
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["message_id", "part"])
        .returning(table.c.id, table.c.message_id, table.c.part)
    )
    params = [
        {
            "clan_id": clan_id,
            **row._asdict(),
            "duplicate_of": None,
            "edited_at": None,
            "deleted_at": None,
            "source": source,
            "ingested_at": ingested_at,
        }
        for row in rows
    ]
    result = await session.execute(stmt, params)
    return [(int(r[0]), int(r[1]), int(r[2])) for r in result.all()]


async def _insert_relay_rows_sqlite(
    session: AsyncSession,
    clan_id: int,
    source: str,
    ingested_at: datetime,
    rows: Sequence[RelayRow],
) -> list[tuple[int, int, int]]:
    """The SQLite path: multi-row ``INSERT … RETURNING`` straight through the driver.

    Bulk import is bound by per-value work in Python: the driver gets flat parameter tuples
    (datetimes formatted exactly as :class:`~storage.models.UtcDateTime` stores them) and
    hands back plain tuples, with no SQLAlchemy processing per value or per result row. It
    runs on the session's connection, inside the caller's transaction.
    """
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # aiosqlite.Connection
    now = sqlite_datetime(ingested_at)
    head = f"INSERT INTO relay_messages ({', '.join(_SQLITE_COLUMNS)}) VALUES "
    one = "(" + ", ".join("?" * len(_SQLITE_COLUMNS)) + ")"
    tail = " ON CONFLICT (message_id, part) DO NOTHING RETURNING id, message_id, part"
    params: list[Any] = []
    last_posted: datetime | None = None
    last_text = ""
    for row in rows:
        posted = row.posted_at
        if posted is not last_posted:  # the parts of one message share it
            last_posted = posted
            # sqlite_datetime's work, inline for the UTC datetimes every reader gives.
            last_text = (
                posted.replace(tzinfo=None).isoformat(" ", "microseconds")
                if posted.tzinfo is UTC
                else sqlite_datetime(posted)
            )
        params.append(clan_id)
        params.extend(row[:_POSTED_AT])
        params.append(last_text)
        params.extend(row[_POSTED_AT + 1 :])
        params.append(source)
        params.append(now)
    width = len(_SQLITE_COLUMNS)
    new: list[tuple[int, int, int]] = []
    for start, size in _sqlite_chunks(len(rows)):
        sql = head + ", ".join([one] * size) + tail
        chunk = params[start * width : (start + size) * width]
        new.extend(await driver.execute_fetchall(sql, chunk))
    return new


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A stored relay row as duplicate detection needs it."""

    id: int
    message_id: int
    part: int
    posted_at: datetime
    kind: str
    rsn_key: str | None
    text: str
    duplicate_of: int | None


def _line_columns() -> tuple[Any, ...]:
    t = RELAY_TABLE
    return (
        t.c.id,
        t.c.message_id,
        t.c.part,
        t.c.posted_at,
        t.c.kind,
        t.c.rsn_key,
        t.c.text,
        t.c.duplicate_of,
    )


async def lines_between(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime
) -> list[StoredLine]:
    """Stored chat and broadcast rows of a clan posted in ``[start, end]``."""
    t = RELAY_TABLE
    rows = await session.execute(
        select(*_line_columns()).where(
            t.c.clan_id == clan_id,
            t.c.posted_at >= start,
            t.c.posted_at <= end,
            t.c.kind.in_(DEDUPE_KINDS),
        )
    )
    return [StoredLine(*row) for row in rows]


async def identical_lines_after(
    session: AsyncSession,
    clan_id: int,
    *,
    kind: str,
    rsn_key: str | None,
    text_: str,
    after: datetime,
    limit: int = 200,
) -> list[StoredLine]:
    """The first ``limit`` rows of one line group posted strictly after ``after``, in order."""
    t = RELAY_TABLE
    key_clause = t.c.rsn_key.is_(None) if rsn_key is None else t.c.rsn_key == rsn_key
    rows = await session.execute(
        select(*_line_columns())
        .where(
            t.c.clan_id == clan_id,
            t.c.kind == kind,
            key_clause,
            t.c.text == text_,
            t.c.posted_at > after,
        )
        .order_by(t.c.posted_at, t.c.message_id, t.c.part)
        .limit(limit)
    )
    return [StoredLine(*row) for row in rows]


async def set_duplicate_of(session: AsyncSession, changes: Mapping[int, int | None]) -> None:
    """Point rows at their canonical row (or clear the pointer): ``row id → duplicate_of``."""
    if not changes:
        return
    t = RELAY_TABLE
    stmt = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(duplicate_of=bindparam("b_duplicate_of"))
    )
    params = [{"b_id": row_id, "b_duplicate_of": dup} for row_id, dup in changes.items()]
    await session.execute(stmt.execution_options(synchronize_session=False), params)


class UnmatchedSighting(TypedDict):
    """Sightings of one name that no member held, from one batch (or recounted)."""

    clan_id: int
    rsn_key: str
    display_name: str
    lines: int
    broadcasts: int
    first_seen: datetime
    last_seen: datetime


async def record_unmatched(session: AsyncSession, rows: Sequence[UnmatchedSighting]) -> None:
    """Add sightings of unmatched names: lines and broadcasts added, first/last seen widened;
    the display name follows the latest sighting."""
    await record_unmatched_rows(session, rows)


async def record_unmatched_rows(
    session: AsyncSession, rows: Sequence[UnmatchedSighting], *, replace: bool = False
) -> None:
    """:func:`record_unmatched`; with ``replace`` the rows are the names' whole counts (the
    caller deleted the old entries first)."""
    if not rows:
        return
    t = UNMATCHED_TABLE
    stmt = dialect_insert(session, t)
    if not replace:
        ex = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["clan_id", "rsn_key"],
            set_={
                "lines": t.c.lines + ex.lines,
                "broadcasts": t.c.broadcasts + ex.broadcasts,
                "first_seen": case(
                    (ex.first_seen < t.c.first_seen, ex.first_seen), else_=t.c.first_seen
                ),
                "last_seen": case(
                    (ex.last_seen > t.c.last_seen, ex.last_seen), else_=t.c.last_seen
                ),
                "display_name": case(
                    (ex.last_seen >= t.c.last_seen, ex.display_name), else_=t.c.display_name
                ),
            },
        )
    await session.execute(stmt, list(rows))


async def unmatched_counts(session: AsyncSession, clan_id: int) -> dict[str, int]:
    """``rsn_key → lines + broadcasts`` of every unmatched name of a clan."""
    rows = await session.execute(
        select(UnmatchedName.rsn_key, UnmatchedName.lines + UnmatchedName.broadcasts).where(
            UnmatchedName.clan_id == clan_id
        )
    )
    return {key: int(count) for key, count in rows}


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One stored part of a Discord message, as an edit needs it."""

    id: int
    clan_id: int
    part: int
    channel_id: int
    author_id: int | None
    posted_at: datetime
    kind: str


async def parts_of_message(session: AsyncSession, message_id: int) -> list[StoredPart]:
    t = RELAY_TABLE
    rows = await session.execute(
        select(
            t.c.id, t.c.clan_id, t.c.part, t.c.channel_id, t.c.author_id, t.c.posted_at, t.c.kind
        )
        .where(t.c.message_id == message_id)
        .order_by(t.c.part)
    )
    return [StoredPart(*row) for row in rows]


async def apply_edit(
    session: AsyncSession, message_id: int, texts: Mapping[int, str], edited_at: datetime
) -> int:
    """Replace the text of the given parts and stamp every part as edited; returns rows hit."""
    t = RELAY_TABLE
    for part, new_text in texts.items():
        await session.execute(
            update(t)
            .where(t.c.message_id == message_id, t.c.part == part)
            .values(text=new_text, edited_at=edited_at)
        )
    result = await session.execute(
        update(t).where(t.c.message_id == message_id).values(edited_at=edited_at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_deleted(
    session: AsyncSession, message_ids: Iterable[int], deleted_at: datetime
) -> int:
    """Stamp the rows of deleted Discord messages (never erased); returns rows newly marked."""
    ids = sorted(set(message_ids))
    t = RELAY_TABLE
    marked = 0
    for chunk in chunks(ids, _IN_CHUNK):
        result = await session.execute(
            update(t)
            .where(t.c.message_id.in_(chunk), t.c.deleted_at.is_(None))
            .values(deleted_at=deleted_at)
        )
        marked += int(result.rowcount)  # type: ignore[attr-defined]
    return marked
