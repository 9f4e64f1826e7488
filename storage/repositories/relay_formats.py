"""Relay formats read and not understood (``/status``), and relay messages nothing was read from.

Every function takes the caller's session; ingest runs the writes inside its one write
transaction per batch (which holds the clan's relay lock), so the read-then-write of the
examples never races another batch of the same clan.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.relay_stats import Example, FormatTally, Unread
from storage.bulk import dialect_insert
from storage.models import RelayFormatCount, RelayUnread

UNREAD_TABLE: Table = RelayUnread.__table__  # type: ignore[assignment]
COUNTS_TABLE: Table = RelayFormatCount.__table__  # type: ignore[assignment]
_FORMAT_CHARS = 64


async def insert_unread(
    session: AsyncSession,
    *,
    clan_id: int,
    source: str,
    ingested_at: datetime,
    rows: Sequence[Unread],
) -> list[int]:
    """Store relay messages nothing was read from, ignoring any already stored; returns the
    message ids that were new."""
    if not rows:
        return []
    t = UNREAD_TABLE
    stmt = (
        dialect_insert(session, t)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(t.c.message_id)
    )
    params = [
        {
            "clan_id": clan_id,
            "message_id": row.message_id,
            "channel_id": row.channel_id,
            "author_id": row.author_id,
            "posted_at": row.posted_at,
            "text": row.text.replace("\x00", ""),
            "source": source,
            "ingested_at": ingested_at,
        }
        for row in rows
    ]
    result = await session.execute(stmt, params)
    return [int(r[0]) for r in result.all()]


def _examples_json(examples: Sequence[Example]) -> list[dict[str, str]]:
    return [{"posted_at": e.posted_at.isoformat(), "text": e.text} for e in examples]


def _examples_of(raw: Any) -> list[Example]:
    out: list[Example] = []
    for item in raw or ():
        try:
            out.append(Example(datetime.fromisoformat(item["posted_at"]), str(item["text"])))
        except (KeyError, TypeError, ValueError):
            continue  # an entry this version cannot read is only an example: skip it
    return out


async def add_format_counts(
    session: AsyncSession, clan_id: int, counted: FormatTally, now: datetime
) -> None:
    """Add a batch's new relay messages to the clan's per-format counts (examples merged,
    the most recent kept)."""
    if not counted:
        return
    t = COUNTS_TABLE
    formats = {fmt[:_FORMAT_CHARS]: count for fmt, count in counted.counts.items()}
    stored = {
        fmt: (row_id, messages, not_understood, examples)
        for row_id, fmt, messages, not_understood, examples in await session.execute(
            select(t.c.id, t.c.format, t.c.messages, t.c.not_understood, t.c.examples).where(
                t.c.clan_id == clan_id, t.c.format.in_(list(formats))
            )
        )
    }
    new: list[dict[str, Any]] = []
    for fmt, count in formats.items():
        if fmt not in stored:
            new.append(
                {
                    "clan_id": clan_id,
                    "format": fmt,
                    "messages": count.messages,
                    "not_understood": count.not_understood,
                    "examples": _examples_json(count.examples),
                    "since": now,
                    "updated_at": now,
                }
            )
            continue
        row_id, messages, not_understood, examples = stored[fmt]
        values: dict[str, Any] = {
            "messages": int(messages) + count.messages,
            "not_understood": int(not_understood) + count.not_understood,
            "updated_at": now,
        }
        if count.examples:
            merged = FormatTally()
            kept = merged.count(fmt)
            for example in [*_examples_of(examples), *count.examples]:
                kept.add_example(example)
            values["examples"] = _examples_json(kept.examples)
        await session.execute(t.update().where(t.c.id == row_id).values(**values))
    if new:
        await session.execute(t.insert(), new)


async def format_counts(
    session: AsyncSession, clan_id: int | None = None
) -> tuple[FormatTally, datetime | None]:
    """The per-format counts (of one clan, or of every clan added up) and since when they
    are kept (None when nothing was counted yet)."""
    t = COUNTS_TABLE
    query = select(t.c.format, t.c.messages, t.c.not_understood, t.c.examples, t.c.since)
    if clan_id is not None:
        query = query.where(t.c.clan_id == clan_id)
    out = FormatTally()
    since: datetime | None = None
    for fmt, messages, not_understood, examples, first in await session.execute(query):
        count = out.count(fmt)
        count.messages += int(messages)
        count.not_understood += int(not_understood)
        for example in _examples_of(examples):
            count.add_example(example)
        since = first if since is None or first < since else since
    return out, since
