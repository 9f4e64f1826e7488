"""Window queries behind reports, officer commands and exports: one question per function.

Written for a clan of ~1,000 members with millions of relayed lines and a year of snapshots:

* counted chat is ``kind = 'chat'`` with ``duplicate_of IS NULL AND deleted_at IS NULL``; the
  partial indexes of migration 0002 hold exactly those rows, so the counts are index-only
  scans. The ``'chat'`` literal is inlined on purpose: SQLite (and a generic PostgreSQL plan)
  only uses a partial index whose predicate the query states literally, not a bound parameter;
* several windows ending at the same moment are counted in ONE scan of the longest one;
* gains need snapshot *endpoints* only, so :func:`snapshot_endpoints` fetches per member the
  few snapshots a window needs (by correlated ``ORDER BY taken_at LIMIT 1`` seeks on the
  ``(member_id, taken_at)`` unique index), never a year of them.

Time ranges are half-open ``[start, end)`` for relayed lines and roster events; snapshots
follow :func:`domain.activity.compute_gains` (baseline ``≤ start``, end ``≤ end``).
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import MemberInfo, SnapshotPoint
from domain.broadcasts import BroadcastLine
from domain.rules import UnmatchedFinding
from storage.models import (
    Clan,
    Member,
    MemberAlias,
    MemberEvent,
    RelayMessage,
    Snapshot,
    UnmatchedName,
)

_CHAT: ColumnElement[str] = literal_column("'chat'")
_BROADCAST: ColumnElement[str] = literal_column("'broadcast'")


def _counted(kind: ColumnElement[Any]) -> ColumnElement[bool]:
    """Rows that count: of ``kind``, not a repeat relay, not deleted (see module doc)."""
    return and_(
        RelayMessage.kind == kind,
        RelayMessage.duplicate_of.is_(None),
        RelayMessage.deleted_at.is_(None),
    )


# ---------------------------------------------------------------------------------------------
# Clan and members


@dataclass(frozen=True, slots=True)
class ClanFacts:
    """What a report needs from the clan row."""

    id: int
    name: str
    role_order: tuple[str, ...]
    settings: Mapping[str, Any]


async def clan_facts(session: AsyncSession, clan_id: int) -> ClanFacts | None:
    """The clan's name, rank order and settings, or None when it does not exist."""
    clan = await session.get(Clan, clan_id)
    if clan is None:
        return None
    return ClanFacts(clan.id, clan.name, tuple(clan.role_order or ()), dict(clan.settings or {}))


async def members_as_of(
    session: AsyncSession,
    clan_id: int,
    as_of: datetime,
    *,
    member_ids: Sequence[int] | None = None,
) -> list[MemberInfo]:
    """Members in the clan at ``as_of`` (joined by then, not left), with first snapshot time
    (only for members without a join date: the only ones whose tenure needs it) and when they
    got their current rank (latest role change up to ``as_of``); only those of ``member_ids``
    when given. Ordered by id."""
    first_snapshot = (
        select(Snapshot.taken_at)
        .where(Snapshot.member_id == Member.id)
        .order_by(Snapshot.taken_at)
        .limit(1)
        .scalar_subquery()
    )
    since_query = (
        select(MemberEvent.member_id, type_coerce(func.max(MemberEvent.occurred_at), String))
        .where(
            MemberEvent.clan_id == clan_id,
            MemberEvent.kind == "role_changed",
            MemberEvent.occurred_at <= as_of,
            MemberEvent.member_id.is_not(None),
        )
        .group_by(MemberEvent.member_id)
    )
    query = (
        select(
            Member.id,
            Member.rsn_key,
            Member.display_name,
            Member.role,
            type_coerce(Member.joined_at, String),
            type_coerce(Member.left_at, String),
            # Only read where it is used: MemberInfo.member_since() without a join date.
            type_coerce(case((Member.joined_at.is_(None), first_snapshot)), String),
            type_coerce(Member.last_changed_at, String),
        )
        .where(Member.clan_id == clan_id)
        .where((Member.joined_at.is_(None)) | (Member.joined_at <= as_of))
        .order_by(Member.id)
    )
    if member_ids is not None:
        wanted = list(member_ids)
        since_query = since_query.where(MemberEvent.member_id.in_(wanted))
        query = query.where(Member.id.in_(wanted))
    since_rows = (await session.execute(since_query)).all()
    role_since = {int(mid): _utc(at) for mid, at in since_rows if mid is not None}
    out: list[MemberInfo] = []
    for mid, rsn_key, display_name, role, joined, left, first, changed in (
        await session.execute(query)
    ).all():
        info = MemberInfo(
            member_id=mid,
            rsn_key=rsn_key,
            display_name=display_name,
            role=role,
            joined_at=_utc(joined),
            left_at=_utc(left),
            first_tracked_at=_utc(first),
            last_changed_at=_utc(changed),
            role_since=role_since.get(mid),
        )
        if not info.has_left(as_of):
            out.append(info)
    return out


def _utc(value: Any) -> datetime | None:
    """A timestamp from a scalar subquery (typed by SQLAlchemy on PostgreSQL, a string on
    SQLite when the subquery loses the column type)."""
    if value is None:
        return None
    if isinstance(value, str):
        return _from_text(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _from_text(value: str) -> datetime:
    """SQLite's stored text of a UTC timestamp as an aware datetime. Appending the offset
    and parsing is ~10x cheaper than ``.replace(tzinfo=UTC)`` after parsing (which matters
    at thousands of rows per report)."""
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # already carries an offset, or is not a full timestamp
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def member_info(session: AsyncSession, member_id: int) -> MemberInfo:
    """One member as stored, whether or not in the clan now (a profile of someone who left)."""
    m = await session.get(Member, member_id)
    if m is None:
        raise LookupError(f"no member {member_id}")
    return MemberInfo(
        member_id=m.id,
        rsn_key=m.rsn_key,
        display_name=m.display_name,
        role=m.role,
        joined_at=m.joined_at,
        left_at=m.left_at,
        first_tracked_at=None,
        last_changed_at=m.last_changed_at,
    )


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member found by name, with whether the name is their current one."""

    member_id: int
    display_name: str
    matched_old_name: bool


async def find_member_by_key(session: AsyncSession, clan_id: int, key: str) -> MemberRef | None:
    """The member whose current name, else an earlier name, has ``key``.

    Current members win over members who left; among old names the most recent change wins.
    """
    current = (
        await session.execute(
            select(Member.id, Member.display_name)
            .where(Member.clan_id == clan_id, Member.rsn_key == key)
            .order_by(Member.left_at.is_not(None), Member.id.desc())
            .limit(1)
        )
    ).first()
    if current is not None:
        return MemberRef(current.id, current.display_name, False)
    old = (
        await session.execute(
            select(Member.id, Member.display_name)
            .join(MemberAlias, MemberAlias.member_id == Member.id)
            .where(MemberAlias.clan_id == clan_id, MemberAlias.rsn_key == key)
            .order_by(Member.left_at.is_not(None), MemberAlias.changed_at.desc(), Member.id.desc())
            .limit(1)
        )
    ).first()
    return None if old is None else MemberRef(old.id, old.display_name, True)


@dataclass(frozen=True, slots=True)
class NameChange:
    """One earlier name of a member."""

    old_name: str
    new_name: str | None
    changed_at: datetime | None


async def name_history(session: AsyncSession, clan_id: int, member_id: int) -> list[NameChange]:
    """A member's earlier names, oldest first: rename events, plus aliases no event explains."""
    events = (
        await session.execute(
            select(MemberEvent.old_value, MemberEvent.new_value, MemberEvent.occurred_at)
            .where(
                MemberEvent.clan_id == clan_id,
                MemberEvent.member_id == member_id,
                MemberEvent.kind == "renamed",
            )
            .order_by(MemberEvent.occurred_at)
        )
    ).all()
    aliases = (
        await session.execute(
            select(MemberAlias.display_name, MemberAlias.changed_at)
            .where(MemberAlias.clan_id == clan_id, MemberAlias.member_id == member_id)
            .order_by(MemberAlias.changed_at)
        )
    ).all()
    out = [NameChange(e.old_value or "?", e.new_value, e.occurred_at) for e in events]
    seen = {c.old_name.casefold() for c in out}
    out.extend(
        NameChange(a.display_name, None, a.changed_at)
        for a in aliases
        if a.display_name.casefold() not in seen
    )
    out.sort(key=lambda c: (c.changed_at is None, c.changed_at or datetime.min.replace(tzinfo=UTC)))
    return out


async def names_starting_with(
    session: AsyncSession, clan_id: int, prefix_key: str, limit: int
) -> list[str]:
    """Display names of current members whose name key starts with ``prefix_key``."""
    escaped = prefix_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await session.execute(
        select(Member.display_name)
        .where(
            Member.clan_id == clan_id,
            Member.left_at.is_(None),
            Member.rsn_key.like(f"{escaped}%", escape="\\"),
        )
        .order_by(Member.rsn_key)
        .limit(limit)
    )
    return list(rows.scalars())


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
    counts = [
        select(func.count())
        .where(
            RelayMessage.clan_id == Member.clan_id,
            RelayMessage.member_id == Member.id,
            _counted(_CHAT),
            RelayMessage.posted_at >= start,
            RelayMessage.posted_at < end,
        )
        .scalar_subquery()
        for start, end in windows
    ]
    query = select(Member.id, *counts).where(Member.clan_id == clan_id)
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    rows = (await session.execute(query)).all()
    return {int(row[0]): [int(v or 0) for v in row[1:]] for row in rows}


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
                _counted(_BROADCAST),
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
                _counted(_BROADCAST),
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
            _counted(_CHAT),
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
            _counted(_CHAT),
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
    return {int(mid): t for mid, raw in rows if (t := _utc(raw)) is not None}


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
            _counted(_CHAT),
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


def _sqlite_text(moment: datetime) -> str:
    """``moment`` as SQLAlchemy stores a UTC timestamp in SQLite (sorts like the instant)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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
        bounds.append((_sqlite_text(max(hour, start)), _sqlite_text(min(following, end))))
        hour = following
    if not hours:
        return {}
    slices = func.json_each(json.dumps(bounds)).table_valued("key", "value").alias("hours")
    count = (
        select(func.count())
        .where(
            RelayMessage.clan_id == clan_id,
            _counted(_CHAT),
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
            _counted(_BROADCAST),
            RelayMessage.broadcast_type.in_(list(types)),
            RelayMessage.posted_at >= start,
            RelayMessage.posted_at < end,
        )
        .order_by(RelayMessage.posted_at)
    )
    return [BroadcastLine(mid, name, kind, text, at) for mid, name, kind, text, at in rows]


# ---------------------------------------------------------------------------------------------
# Snapshots


@dataclass(frozen=True, slots=True)
class SnapshotWindow:
    """A window as :func:`snapshot_endpoints` needs it."""

    start: datetime
    end: datetime


#: ``metrics`` argument of :func:`snapshot_endpoints`: load every metric.
ALL_METRICS = "*"
#: What :func:`snapshot_endpoints` loads besides XP/EHP/EHB: every metric, some by name
#: (extracted in SQL), or none.
MetricsSpec = str | Sequence[str] | None


def _seek(*conditions: ColumnElement[bool], newest: bool, skip: int = 0) -> ColumnElement[Any]:
    """The id of a member's snapshot matching ``conditions``: one ``(member_id, taken_at)``
    index seek, correlated to the enclosing ``members`` row."""
    order = Snapshot.taken_at.desc() if newest else Snapshot.taken_at
    query = select(Snapshot.id).where(Snapshot.member_id == Member.id, *conditions)
    return query.order_by(order).offset(skip).limit(1).scalar_subquery()


async def snapshot_endpoints(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[SnapshotWindow],
    member_ids: Sequence[int] | None = None,
    *,
    metrics: MetricsSpec = ALL_METRICS,
) -> dict[int, list[SnapshotPoint]]:
    """Per member, just the snapshots gains and last progress need for ``windows``, oldest first.

    For each window its baseline as :func:`domain.activity.compute_gains` picks it (the first
    snapshot at or after joining for a member who joined inside the window, else the latest
    ``≤ start``, else the first one after ``start``); for each window end the latest snapshot
    ``≤ end``, and the one before it with XP/EHP/EHB only (whether the latest one was
    progress). Each is one index seek: at most ``windows + 2`` snapshots per member are read.

    ``metrics``: :data:`ALL_METRICS` loads every metric (JSON parsing is most of the cost),
    a sequence of names only those (extracted in SQL), None none.
    """
    picks: list[ColumnElement[Any]] = []
    for w in windows:
        joined_inside = Member.joined_at > w.start
        picks.append(
            case(
                (
                    joined_inside,
                    _seek(
                        Snapshot.taken_at > w.start,
                        Snapshot.taken_at >= Member.joined_at,
                        newest=False,
                    ),
                ),
                else_=func.coalesce(
                    _seek(Snapshot.taken_at <= w.start, newest=True),
                    _seek(Snapshot.taken_at > w.start, newest=False),
                ),
            )
        )
    ends = sorted({w.end for w in windows})
    picks.extend(_seek(Snapshot.taken_at <= end, newest=True) for end in ends)
    n_full = len(picks)
    picks.extend(_seek(Snapshot.taken_at <= end, newest=True, skip=1) for end in ends)
    members = select(*(pick.label(f"p{i}") for i, pick in enumerate(picks))).where(
        Member.clan_id == clan_id
    )
    if member_ids is not None:
        members = members.where(Member.id.in_(list(member_ids)))
    # One statement: every member's picked ids (seeks run once), unpivoted, then their rows.
    picked = members.cte("picked")
    # NULL picks (no such snapshot) are left out: ``NOT IN`` a set holding NULL is never true.
    full_ids = union(
        *(select(picked.c[f"p{i}"]).where(picked.c[f"p{i}"].is_not(None)) for i in range(n_full))
    )
    light_ids = union(*(select(picked.c[f"p{i}"]) for i in range(n_full, len(picks))))
    extra, names = _metric_columns(metrics)
    light_extra = [null() for _ in extra]
    base = (
        Snapshot.member_id,
        type_coerce(Snapshot.taken_at, String),
        Snapshot.overall_xp,
        Snapshot.ehp,
        Snapshot.ehb,
    )
    full_ids_cte = full_ids.cte("full_ids")
    query: CompoundSelect[Any] = union_all(
        select(*base, *extra).where(Snapshot.id.in_(select(full_ids_cte.c[0]))),
        select(*base, *light_extra).where(
            Snapshot.id.in_(light_ids), Snapshot.id.not_in(select(full_ids_cte.c[0]))
        ),
    )
    out: dict[int, list[SnapshotPoint]] = defaultdict(list)
    rows = (await session.execute(query)).all()  # one fetch: iterating costs a call per row
    if metrics == ALL_METRICS:
        for member_id, taken_at, xp, ehp, ehb, raw in rows:
            # A view of a dict nobody else holds: SnapshotPoint keeps it without a copy.
            full = MappingProxyType(_metrics_json(raw))
            out[member_id].append(SnapshotPoint(_timestamp(taken_at), xp, ehp, ehb, full))
    elif names:
        for member_id, taken_at, xp, ehp, ehb, *values in rows:
            some = {n: v for n, v in zip(names, values, strict=True) if v is not None}
            out[member_id].append(
                SnapshotPoint(_timestamp(taken_at), xp, ehp, ehb, MappingProxyType(some))
            )
    else:
        for member_id, taken_at, xp, ehp, ehb in rows:
            out[member_id].append(SnapshotPoint(_timestamp(taken_at), xp, ehp, ehb, _NO_METRICS))
    for points in out.values():
        if len(points) > 1:
            points.sort(key=_TAKEN_AT)
    return dict(out)


_TAKEN_AT = operator.attrgetter("taken_at")


def _metrics_json(raw: Any) -> dict[str, Any]:
    """A snapshot's ``metrics`` as read raw: JSON text on SQLite (parsed with orjson, ~3×
    faster than :mod:`json`, which stays the fallback for what orjson refuses, like NaN), a
    mapping or NULL otherwise."""
    if isinstance(raw, str):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
    return dict(raw or {})


_NO_METRICS: Mapping[str, Any] = {}


def _metric_columns(metrics: MetricsSpec) -> tuple[list[ColumnElement[Any]], tuple[str, ...]]:
    """The columns :func:`snapshot_endpoints` reads for ``metrics`` besides XP/EHP/EHB."""
    if metrics == ALL_METRICS:
        return [type_coerce(Snapshot.metrics, String)], ()
    if metrics is None:
        return [], ()
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    return [Snapshot.metrics[name].as_float() for name in names], names


def _timestamp(value: Any) -> datetime:
    """A ``taken_at`` read without SQLAlchemy's type processing: SQLite gives its stored text
    (parsed by the C ``fromisoformat``, ~3× cheaper), PostgreSQL a datetime."""
    if isinstance(value, str):
        return _from_text(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def latest_snapshot(
    session: AsyncSession, member_id: int, at_or_before: datetime
) -> SnapshotPoint | None:
    """A member's latest snapshot taken at or before ``at_or_before``."""
    row = (
        await session.execute(
            select(
                Snapshot.taken_at, Snapshot.overall_xp, Snapshot.ehp, Snapshot.ehb, Snapshot.metrics
            )
            .where(Snapshot.member_id == member_id, Snapshot.taken_at <= at_or_before)
            .order_by(Snapshot.taken_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else SnapshotPoint(row[0], row[1], row[2], row[3], row[4] or {})


async def xp_at(
    session: AsyncSession, clan_id: int, moments: Sequence[datetime]
) -> dict[int, list[int | None]]:
    """Per member, total XP of their latest snapshot before each moment (None before their
    first snapshot): one index seek per member and moment, integers only."""
    seeks = [
        select(Snapshot.overall_xp)
        .where(Snapshot.member_id == Member.id, Snapshot.taken_at < moment)
        .order_by(Snapshot.taken_at.desc())
        .limit(1)
        .scalar_subquery()
        for moment in moments
    ]
    rows = (await session.execute(select(Member.id, *seeks).where(Member.clan_id == clan_id))).all()
    return {int(row[0]): [None if v is None else int(v) for v in row[1:]] for row in rows}


async def metric_names(session: AsyncSession, clan_id: int) -> list[str]:
    """Metric names of the clan's most recent snapshot (what leaderboards can rank)."""
    metrics = (
        await session.execute(
            select(Snapshot.metrics)
            .where(Snapshot.clan_id == clan_id)
            .order_by(Snapshot.taken_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return sorted(metrics or {})


# ---------------------------------------------------------------------------------------------
# Roster events and unmatched names


@dataclass(frozen=True, slots=True)
class RosterEvent:
    """A joined / left / role_changed / renamed event with the member's current name."""

    kind: str
    member_id: int | None
    display_name: str | None
    old_value: str | None
    new_value: str | None
    occurred_at: datetime


async def roster_events(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime
) -> list[RosterEvent]:
    """Roster events that happened in ``[start, end)``, oldest first."""
    rows = await session.execute(
        select(
            MemberEvent.kind,
            MemberEvent.member_id,
            Member.display_name,
            MemberEvent.old_value,
            MemberEvent.new_value,
            MemberEvent.occurred_at,
        )
        .outerjoin(Member, Member.id == MemberEvent.member_id)
        .where(
            MemberEvent.clan_id == clan_id,
            MemberEvent.occurred_at >= start,
            MemberEvent.occurred_at < end,
        )
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
    )
    return [RosterEvent(*row) for row in rows]


async def unmatched_names(session: AsyncSession, clan_id: int) -> list[UnmatchedFinding]:
    """Names seen in relayed chat that match no member or alias, most seen first."""
    rows = await session.execute(
        select(
            UnmatchedName.rsn_key,
            UnmatchedName.display_name,
            UnmatchedName.count,
            UnmatchedName.last_seen,
        )
        .where(UnmatchedName.clan_id == clan_id)
        .order_by(UnmatchedName.count.desc(), UnmatchedName.rsn_key)
    )
    return [UnmatchedFinding(key, name, int(count), last) for key, name, count, last in rows]
