"""Relayed lines per member and per window: chat lines, broadcasts, last line, hours."""

from __future__ import annotations

import functools
import itertools
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.broadcasts import BroadcastLine
from storage.models import (
    Member,
    RelayMessage,
)
from storage.repositories.relay import sqlite_datetime
from storage.repositories.reports._common import BROADCAST, CHAT, counted, utc

# ---------------------------------------------------------------------------------------------
# Relayed chat and broadcasts


async def chat_lines_per_member(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[tuple[datetime, datetime]],
    member_ids: Sequence[int] | None = None,
) -> dict[int, list[int]]:
    """In-game chat lines per member in each ``[start, end)`` window.

    Returns ``{member_id: [count per window, in order]}`` for the clan's members (or
    ``member_ids``), zeros included. Broadcasts, Discord chatter, repeat relays and deleted
    lines are not counted. One index range count per member and window on the counted-chat
    partial index: a grouped scan of the same rows needs a sort and is ~4× slower on SQLite.
    """
    if not windows:
        return {}
    # Overlapping windows (7d and 30d ending now) are counted as the disjoint pieces their
    # bounds cut time into, each line once, then added up per window.
    bounds = sorted({t for window in windows for t in window})
    pieces = [
        (start, end)
        for start, end in itertools.pairwise(bounds)
        if any(a <= start and end <= b for a, b in windows)
    ]
    params: dict[str, Any] = {"clan_id": clan_id}
    for i, (start, end) in enumerate(pieces):
        params[f"start_{i}"], params[f"end_{i}"] = start, end
    if member_ids is not None:
        params["member_ids"] = list(member_ids)
    query = _chat_lines_statement(len(pieces), member_ids is not None)
    inside = [
        [i for i, (start, end) in enumerate(pieces) if a <= start and end <= b] for a, b in windows
    ]
    out: dict[int, list[int]] = {}
    for member_id, *found in (await session.execute(query, params)).all():
        per_piece = [int(v or 0) for v in found]
        out[int(member_id)] = [sum(per_piece[i] for i in mine) for mine in inside]
    return out


@functools.lru_cache(maxsize=16)
def _chat_lines_statement(pieces: int, filtered: bool) -> Select[Any]:
    """The statement of :func:`chat_lines_per_member` for ``pieces`` pieces of time
    (parameters ``clan_id``, ``start_0``, ``end_0``, … and, when ``filtered``,
    ``member_ids``), built once per shape."""
    member = Member.__table__
    counts = [
        select(func.count())
        .where(
            RelayMessage.clan_id == member.c.clan_id,
            RelayMessage.member_id == member.c.id,
            counted(CHAT),
            RelayMessage.posted_at >= bindparam(f"start_{i}"),
            RelayMessage.posted_at < bindparam(f"end_{i}"),
        )
        .correlate(member)
        .scalar_subquery()
        for i in range(pieces)
    ]
    query = select(member.c.id, *counts).where(member.c.clan_id == bindparam("clan_id"))
    if filtered:
        query = query.where(member.c.id.in_(bindparam("member_ids", expanding=True)))
    return query


async def broadcasts_per_member(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[tuple[datetime, datetime]],
    *,
    member_ids: Sequence[int] | None = None,
) -> list[dict[int, dict[str, int]]]:
    """Counted broadcasts about each member in each ``[start, end)`` window, by type:
    ``[{member_id: {broadcast_type: count}} per window]`` (one index-only grouped scan each;
    with ``member_ids``, a seek per member on ``(clan_id, member_id, posted_at)``)."""
    out: list[dict[int, dict[str, int]]] = []
    for start, end in windows:
        query = (
            select(RelayMessage.member_id, RelayMessage.broadcast_type, func.count())
            .where(
                RelayMessage.clan_id == clan_id,
                counted(BROADCAST),
                RelayMessage.member_id.is_not(None),
                RelayMessage.posted_at >= start,
                RelayMessage.posted_at < end,
            )
            .group_by(RelayMessage.member_id, RelayMessage.broadcast_type)
        )
        if member_ids is not None:
            query = query.where(RelayMessage.member_id.in_(list(member_ids)))
        found: dict[int, dict[str, int]] = defaultdict(dict)
        for member_id, kind, count in (await session.execute(query)).all():
            if member_id is not None:
                found[int(member_id)][kind or "unknown"] = int(count)
        out.append(dict(found))
    return out


async def broadcast_counts_per_member(
    session: AsyncSession, clan_id: int, windows: Sequence[tuple[datetime, datetime]]
) -> dict[int, list[int]]:
    """Counted broadcasts about each member in each ``[start, end)`` window, all types
    together: ``{member_id: [count per window, in order]}`` (members with none left out).

    Overlapping windows (e.g. 7d and 30d ending now) are counted in ONE grouped scan of their
    union: one sort by member instead of one per window and type.
    """
    out: dict[int, list[int]] = {}
    order = sorted(range(len(windows)), key=lambda i: windows[i][0])
    groups: list[list[int]] = []
    group_end: datetime | None = None
    for i in order:
        start, end = windows[i]
        if groups and group_end is not None and start <= group_end:
            groups[-1].append(i)
            group_end = max(group_end, end)
        else:
            groups.append([i])
            group_end = end
    for group in groups:
        low = min(windows[i][0] for i in group)
        high = max(windows[i][1] for i in group)
        sums = [
            func.sum(
                case(
                    (
                        and_(
                            RelayMessage.posted_at >= windows[i][0],
                            RelayMessage.posted_at < windows[i][1],
                        ),
                        1,
                    ),
                    else_=0,
                )
            )
            for i in group
        ]
        rows = await session.execute(
            select(RelayMessage.member_id, *sums)
            .where(
                RelayMessage.clan_id == clan_id,
                counted(BROADCAST),
                RelayMessage.member_id.is_not(None),
                RelayMessage.posted_at >= low,
                RelayMessage.posted_at < high,
            )
            .group_by(RelayMessage.member_id)
        )
        for member_id, *counts in rows:
            mine = out.setdefault(int(member_id), [0] * len(windows))
            for i, count in zip(group, counts, strict=True):
                mine[i] = int(count or 0)
    return out


async def chat_lines_in_windows(
    session: AsyncSession, clan_id: int, windows: Sequence[tuple[datetime, datetime]]
) -> list[int]:
    """The clan's counted chat lines in each ``[start, end)`` window, e.g. the days of a trend
    (one index-only range count each). Lines of unattributed names count: the clan had them."""
    if not windows:
        return []
    counts = [
        select(func.count())
        .where(
            RelayMessage.clan_id == clan_id,
            counted(CHAT),
            RelayMessage.posted_at >= start,
            RelayMessage.posted_at < end,
        )
        .scalar_subquery()
        for start, end in windows
    ]
    row = (await session.execute(select(*counts))).one()
    return [int(v or 0) for v in row]


async def last_chat_per_member(
    session: AsyncSession, clan_id: int, before: datetime, member_ids: Sequence[int] | None = None
) -> dict[int, datetime]:
    """Each member's latest counted chat line before ``before`` (one index seek per member)."""
    latest = (
        select(RelayMessage.posted_at)
        .where(
            RelayMessage.clan_id == Member.clan_id,
            RelayMessage.member_id == Member.id,
            counted(CHAT),
            RelayMessage.posted_at < before,
        )
        .order_by(RelayMessage.posted_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(Member.id, latest).where(Member.clan_id == clan_id)
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    rows = (await session.execute(query)).all()
    return {int(mid): t for mid, raw in rows if (t := utc(raw)) is not None}


async def chat_lines_per_hour(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime
) -> dict[datetime, int]:
    """Counted chat lines of the clan in ``[start, end)`` per UTC hour (keyed by its start).

    Buckets whole UTC hours in SQL (``substr`` of SQLite's stored text, epoch hours on
    PostgreSQL); the caller maps hours to local days and weekdays, exact for every time zone
    whose offset is a whole number of hours.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return await _chat_lines_per_hour_sqlite(session, clan_id, start, end)
    bucket = cast(func.floor(func.extract("epoch", RelayMessage.posted_at) / 3600), Integer)
    rows = await session.execute(
        select(bucket.label("hour"), func.count())
        .where(
            RelayMessage.clan_id == clan_id,
            counted(CHAT),
            RelayMessage.posted_at >= start,
            RelayMessage.posted_at < end,
        )
        .group_by(bucket)
    )
    out: dict[datetime, int] = {}
    for hour, count in rows:
        when = datetime.fromtimestamp(int(hour) * 3600, UTC)
        out[when] = out.get(when, 0) + int(count)
    return out


async def _chat_lines_per_hour_sqlite(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime
) -> dict[datetime, int]:
    """:func:`chat_lines_per_hour` on SQLite: one index range count per hour.

    A ``GROUP BY`` of the hour sorts every line of the range in a temporary B-tree (~4x
    slower for four weeks of chat); counting each hour's slice of the counted-chat index
    reads the same entries in index order and needs no sort. The hours' bounds go in as one
    JSON parameter (``json_each``).
    """
    hours: list[datetime] = []
    bounds: list[tuple[str, str]] = []
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        following = hour + timedelta(hours=1)
        hours.append(hour)
        bounds.append((sqlite_datetime(max(hour, start)), sqlite_datetime(min(following, end))))
        hour = following
    if not hours:
        return {}
    slices = func.json_each(json.dumps(bounds)).table_valued("key", "value").alias("hours")
    count = (
        select(func.count())
        .where(
            RelayMessage.clan_id == clan_id,
            counted(CHAT),
            RelayMessage.posted_at >= func.json_extract(slices.c.value, "$[0]"),
            RelayMessage.posted_at < func.json_extract(slices.c.value, "$[1]"),
        )
        .scalar_subquery()
    )
    rows = (await session.execute(select(slices.c.key, count))).all()
    return {hours[int(index)]: int(n) for index, n in rows if n}


async def broadcast_lines(
    session: AsyncSession,
    clan_id: int,
    start: datetime,
    end: datetime,
    types: Sequence[str],
) -> list[BroadcastLine]:
    """Counted broadcasts of the given types in ``[start, end)``, oldest first, with the
    member's current name when the broadcast is attributed."""
    rows = await session.execute(
        select(
            RelayMessage.member_id,
            func.coalesce(Member.display_name, RelayMessage.display_name),
            RelayMessage.broadcast_type,
            RelayMessage.text,
            RelayMessage.posted_at,
        )
        .outerjoin(Member, Member.id == RelayMessage.member_id)
        .where(
            RelayMessage.clan_id == clan_id,
            counted(BROADCAST),
            RelayMessage.broadcast_type.in_(list(types)),
            RelayMessage.posted_at >= start,
            RelayMessage.posted_at < end,
        )
        .order_by(RelayMessage.posted_at)
    )
    return [BroadcastLine(mid, name, kind, text, at) for mid, name, kind, text, at in rows]


# ---------------------------------------------------------------------------------------------
# Counting inside membership periods


#: ``(member id, start, end)``: a stretch ``[start, end)`` of one member's time in the clan.
Span = tuple[int, datetime, datetime]


_SPANS_PER_STATEMENT = 200


async def chat_lines_in_spans(
    session: AsyncSession, clan_id: int, spans: Sequence[Span]
) -> list[int]:
    """Counted chat lines credited to each span's member inside the span, in order (for
    members whose windows only partly fall in their membership periods): one statement of
    index range counts for up to 200 spans."""
    if not spans:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return await _chat_lines_in_spans_sqlite(session, clan_id, spans)
    out: list[int] = []
    for first in range(0, len(spans), _SPANS_PER_STATEMENT):
        chunk = spans[first : first + _SPANS_PER_STATEMENT]
        counts = [
            select(func.count())
            .where(
                RelayMessage.clan_id == clan_id,
                RelayMessage.member_id == member_id,
                counted(CHAT),
                RelayMessage.posted_at >= start,
                RelayMessage.posted_at < end,
            )
            .scalar_subquery()
            for member_id, start, end in chunk
        ]
        row = (await session.execute(select(*counts))).one()
        out.extend(int(v or 0) for v in row)
    return out


async def _chat_lines_in_spans_sqlite(
    session: AsyncSession, clan_id: int, spans: Sequence[Span]
) -> list[int]:
    """:func:`chat_lines_in_spans` on SQLite: the spans go in as one JSON parameter
    (``json_each``), so the statement is the same whatever their number. Building and
    compiling one scalar subquery per span cost more than counting their lines."""
    out = [0] * len(spans)
    rows = await session.execute(
        _chat_lines_in_spans_statement(), {"clan_id": clan_id, "spans": _spans_json(spans)}
    )
    for index, n in rows.all():
        out[int(index)] = int(n or 0)
    return out


def _spans_json(spans: Sequence[Span]) -> str:
    """Spans as the one JSON parameter of the SQLite span statements:
    ``[[member id, start, end], …]``, times as SQLite stores them."""
    return json.dumps(
        [[mid, sqlite_datetime(start), sqlite_datetime(end)] for mid, start, end in spans]
    )


def _json_spans() -> Any:
    """The rows of the ``spans`` JSON parameter (``key``: its index, ``value``: the span)."""
    return func.json_each(bindparam("spans", type_=String)).table_valued("key", "value")


def _in_span(each: Any) -> list[ColumnElement[bool]]:
    """Relay rows of the clan's span member inside the span (``[start, end)``)."""
    value = each.c.value
    return [
        RelayMessage.clan_id == bindparam("clan_id"),
        RelayMessage.member_id == func.json_extract(value, "$[0]"),
        RelayMessage.posted_at >= func.json_extract(value, "$[1]"),
        RelayMessage.posted_at < func.json_extract(value, "$[2]"),
    ]


@functools.cache
def _chat_lines_in_spans_statement() -> Select[Any]:
    each = _json_spans().alias("spans")
    count = select(func.count()).where(*_in_span(each), counted(CHAT)).scalar_subquery()
    return select(each.c.key, count)


@functools.cache
def _broadcasts_in_spans_sqlite() -> Select[Any]:
    """Per span (its index) and broadcast type, the counted broadcasts inside it: one
    statement whatever the number of spans, as for the chat lines."""
    each = _json_spans().alias("spans")
    kind = RelayMessage.broadcast_type
    return (
        select(each.c.key, kind, func.count())
        .select_from(each)
        .join(RelayMessage, and_(*_in_span(each), counted(BROADCAST)))
        .group_by(each.c.key, kind)
    )


async def broadcasts_in_spans(
    session: AsyncSession, clan_id: int, spans: Sequence[Span]
) -> list[dict[str, int]]:
    """Counted broadcasts about each span's member inside the span, by type, in order (one
    statement for up to 200 spans)."""
    out: list[dict[str, int]] = [{} for _ in spans]
    if spans and session.get_bind().dialect.name == "sqlite":
        rows = await session.execute(
            _broadcasts_in_spans_sqlite(), {"clan_id": clan_id, "spans": _spans_json(spans)}
        )
        for index, kind, count in rows.all():
            out[int(index)][kind or "unknown"] = int(count)
        return out
    for first in range(0, len(spans), _SPANS_PER_STATEMENT):
        parts = [
            select(
                literal(index).label("span"),
                RelayMessage.broadcast_type.label("kind"),
                func.count().label("n"),
            )
            .where(
                RelayMessage.clan_id == clan_id,
                RelayMessage.member_id == member_id,
                counted(BROADCAST),
                RelayMessage.posted_at >= start,
                RelayMessage.posted_at < end,
            )
            .group_by(RelayMessage.broadcast_type)
            for index, (member_id, start, end) in enumerate(
                spans[first : first + _SPANS_PER_STATEMENT], start=first
            )
        ]
        if not parts:
            continue
        for index, kind, count in (await session.execute(union_all(*parts))).all():
            out[int(index)][kind or "unknown"] = int(count)
    return out


async def last_chat_in_spans(
    session: AsyncSession, clan_id: int, member_id: int, spans: Sequence[tuple[datetime, datetime]]
) -> datetime | None:
    """A member's latest counted chat line inside any of ``spans`` (their time in the clan)."""
    latest: datetime | None = None
    for start, end in spans:
        found = await session.scalar(
            select(type_coerce(func.max(RelayMessage.posted_at), String)).where(
                RelayMessage.clan_id == clan_id,
                RelayMessage.member_id == member_id,
                counted(CHAT),
                RelayMessage.posted_at >= start,
                RelayMessage.posted_at < end,
            )
        )
        moment = utc(found)
        if moment is not None and (latest is None or moment > latest):
            latest = moment
    return latest
