"""Snapshot endpoints per window, the latest snapshot, XP at moments, metric names."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import NO_GAINS, SKILL_METRICS, Gains, RunningTotals, SnapshotPoint, Step
from storage.models import (
    Member,
    Snapshot,
    SnapshotGain,
)
from storage.repositories.relay import sqlite_datetime
from storage.repositories.reports._common import from_text

# ---------------------------------------------------------------------------------------------
# Steps: what each snapshot gained over the one before it (stored with the snapshot)


@dataclass(frozen=True, slots=True)
class StepTotals:
    """A member's steps taken in one window, added up as if every one of them counted.

    They do count when the member was in one membership period from ``first_previous_at``
    (the snapshot before the window's first step; None when the member's first snapshot is
    in the window: then from the window's start) to ``last_taken_at`` (the caller checks
    with the member's timeline); otherwise the caller adds up the member's steps one by one
    (:func:`steps_of`).
    """

    xp: int
    ehp: float
    ehb: float
    boss_kills: int
    clues: int
    raid_kills: int
    progress: bool
    first_previous_at: datetime | None
    last_taken_at: datetime


#: A snapshot's running totals: a ``total_`` column per field of
#: :class:`domain.activity.RunningTotals`, in its order (the order :class:`StepTotals` reads
#: their differences in).
_TOTAL_NAMES = tuple(f"total_{field.name}" for field in dataclasses.fields(RunningTotals))


def _seek_taken(*conditions: ColumnElement[bool], newest: bool) -> ColumnElement[Any]:
    """The ``taken_at`` of a member's snapshot matching ``conditions``: one index seek,
    correlated to the enclosing ``members`` row."""
    order = Snapshot.taken_at.desc() if newest else Snapshot.taken_at
    return (
        select(Snapshot.taken_at)
        .where(Snapshot.member_id == Member.id, *conditions)
        .order_by(order)
        .limit(1)
        .correlate(Member)
        .scalar_subquery()
    )


async def step_totals(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[tuple[datetime, datetime]],
    member_ids: Sequence[int] | None = None,
) -> list[dict[int, StepTotals]]:
    """Per window ``[start, end)``, each member's steps taken in it, added up (members
    with no snapshot in it left out).

    The steps of a window are the difference of the member's running totals at its end and
    at its start (:class:`domain.activity.RunningTotals`): per member, a seek for the latest
    snapshot before each bound and a lookup of its totals on the covering index, whatever
    the number of snapshots between. The database subtracts: rows come back as plain
    numbers, which costs less than reading both bounds' totals as text and subtracting here
    (on SQLite, rendering the totals as text cost more than the second index lookup).
    """
    if not windows:
        return []
    # Windows ending together (1d, 7d and 30d ending now) share the seek at their end: one
    # statement per distinct end, with each window's start joined and subtracted.
    by_end: dict[datetime, list[int]] = {}
    for index, (_, end) in enumerate(windows):
        by_end.setdefault(end, []).append(index)
    out: list[dict[int, StepTotals]] = [{} for _ in windows]
    for end, indexes in by_end.items():
        params: dict[str, Any] = {"clan_id": clan_id, "end": end}
        params.update({f"start_{k}": windows[index][0] for k, index in enumerate(indexes)})
        if member_ids is not None:
            params["member_ids"] = list(member_ids)
        statement = _step_totals_statement(len(indexes), member_ids is not None)
        rows: Sequence[Any] = (await session.execute(statement, params)).all()
        _add_step_totals(out, indexes, rows)
    return out


_SNAPSHOTS = Snapshot.__table__
_MEMBERS = Member.__table__


def _seek_snapshot(
    owner: Any, member: str, bound: ColumnElement[Any], *, name: str, before: bool = True
) -> tuple[Any, ColumnElement[bool]]:
    """A snapshots alias called ``name`` and its join condition: the snapshot of the member
    of ``owner``'s row (its column ``member``) last taken before ``bound``, or with
    ``before=False`` first taken at or after it. One index seek, correlated to ``owner``,
    then the row off the covering index."""
    seek = _SNAPSHOTS.alias()
    taken = seek.c.taken_at
    member_id = owner.c[member]
    moment = (
        select(taken)
        .where(seek.c.member_id == member_id, taken < bound if before else taken >= bound)
        .order_by(taken.desc() if before else taken)
        .limit(1)
        .correlate(owner)
        .scalar_subquery()
    )
    found = _SNAPSHOTS.alias(name)
    return found, and_(found.c.member_id == member_id, found.c.taken_at == moment)


@functools.lru_cache(maxsize=32)
def _step_totals_statement(windows: int, filtered: bool) -> Select[Any]:
    """The statement of :func:`step_totals` for ``windows`` windows sharing their end, with
    parameters ``clan_id``, ``end``, ``start_0``, ``start_1``, … and, when ``filtered``,
    ``member_ids``. Built once per shape: building it took longer than running it."""
    m = _MEMBERS
    last, on_last = _seek_snapshot(m, "id", bindparam("end"), name="last")
    joined = m.join(last, on_last)
    columns: list[Any] = [
        m.c.id,
        type_coerce(last.c.taken_at, String).label("last_at"),
        last.c.previous_taken_at.is_(None).label("first_ever"),
    ]
    for k in range(windows):
        start, on_start = _seek_snapshot(m, "id", bindparam(f"start_{k}"), name=f"start_{k}")
        joined = joined.outerjoin(start, on_start)
        columns.append(type_coerce(start.c.taken_at, String).label(f"before_{k}"))
        columns.extend(
            (last.c[name] - func.coalesce(start.c[name], 0)).label(f"{name}_{k}")
            for name in _TOTAL_NAMES
        )
    query = select(*columns).select_from(joined).where(m.c.clan_id == bindparam("clan_id"))
    if filtered:
        query = query.where(m.c.id.in_(bindparam("member_ids", expanding=True)))
    return query


#: One stretch of a member's membership period inside a window: (member id, the period's
#: start, the stretch's start, its end).
PeriodSpan = tuple[int, datetime, datetime, datetime]

_NO_STEPS = RunningTotals()


async def step_totals_in_spans(
    session: AsyncSession, spans: Sequence[PeriodSpan]
) -> list[RunningTotals]:
    """Per span, in order: the member's counted steps taken in ``[start, end)``, added up.

    A step counts when both its snapshots lie in one membership period (docs/metrics.md,
    "Progress"), so in a span of the period that began at ``since`` the steps that count are
    those taken in it whose snapshot before is at or after ``since``. From running totals,
    whatever the number of snapshots: the totals at the member's latest snapshot before the
    end, minus those at the latest snapshot before the start when it is in the period, else
    those at their first snapshot in the span (whose step began before the period: it does
    not count). Three index seeks per span, one statement for all of them.
    """
    if not spans:
        return []
    dialect = session.get_bind().dialect.name
    params: dict[str, Any]
    if dialect == "sqlite":
        params = {
            "spans": json.dumps(
                [
                    [m, sqlite_datetime(a), sqlite_datetime(b), sqlite_datetime(c)]
                    for m, a, b, c in spans
                ]
            )
        }
    else:
        params = {
            "members": [m for m, _, _, _ in spans],
            "sinces": [a for _, a, _, _ in spans],
            "starts": [b for _, _, b, _ in spans],
            "ends": [c for _, _, _, c in spans],
        }
    out = [_NO_STEPS] * len(spans)
    found: Sequence[Any] = (await session.execute(_span_totals_statement(dialect), params)).all()
    for row in found:
        if row[1]:  # a snapshot taken in the span
            out[int(row[0])] = RunningTotals(*row[2:])
    return out


@functools.lru_cache(maxsize=2)
def _span_totals_statement(dialect: str) -> Select[Any]:
    """The statement of :func:`step_totals_in_spans`: on SQLite the spans are one JSON
    parameter (``spans``), elsewhere four arrays (``members``, ``sinces``, ``starts``,
    ``ends``); each span's row is its index (from 0), whether a snapshot was taken in it,
    and the differences of the running totals."""
    if dialect == "sqlite":
        each = func.json_each(bindparam("spans", type_=String)).table_valued("key", "value")
        value = each.c.value
        spans = select(
            each.c.key.label("key"),
            func.json_extract(value, "$[0]").label("member_id"),
            func.json_extract(value, "$[1]").label("since"),
            func.json_extract(value, "$[2]").label("start"),
            func.json_extract(value, "$[3]").label("end"),
        ).subquery("spans")
    else:
        moments = ARRAY(DateTime(timezone=True))
        arrays = (
            func.unnest(
                bindparam("members", type_=ARRAY(BigInteger)),
                bindparam("sinces", type_=moments),
                bindparam("starts", type_=moments),
                bindparam("ends", type_=moments),
            )
            .table_valued("member_id", "since", "start", "end", with_ordinality="n")
            .render_derived()
        )
        spans = select(
            (arrays.c.n - 1).label("key"),
            arrays.c.member_id,
            arrays.c.since,
            arrays.c.start,
            arrays.c.end,
        ).subquery("spans")

    last, on_last = _seek_snapshot(spans, "member_id", spans.c.end, name="last")
    earlier, on_earlier = _seek_snapshot(spans, "member_id", spans.c.start, name="earlier")
    first, on_first = _seek_snapshot(spans, "member_id", spans.c.start, name="first", before=False)
    joined = (
        spans.outerjoin(last, on_last).outerjoin(earlier, on_earlier).outerjoin(first, on_first)
    )
    in_period = earlier.c.taken_at >= spans.c.since
    differences = [
        last.c[name] - case((in_period, earlier.c[name]), else_=first.c[name])
        for name in _TOTAL_NAMES
    ]
    return select(
        spans.c.key, func.coalesce(last.c.taken_at >= spans.c.start, False), *differences
    ).select_from(joined)


def _add_step_totals(
    out: list[dict[int, StepTotals]], indexes: Sequence[int], rows: Sequence[Any]
) -> None:
    """Rows of :func:`step_totals` (member, time of the latest snapshot before the end and
    whether it is their first, then per window: the snapshot before its start and the
    differences)
    into ``out``: members with no snapshot in a window, or only their first, left out."""
    for row in rows:
        member_id, last_text, first_ever = row[0], row[1], row[2]
        last: datetime | None = None
        for k, index in enumerate(indexes):
            first, xp, ehp, ehb, kills, clues, raids, steps = row[3 + 8 * k : 11 + 8 * k]
            if first is not None and first == last_text:
                continue  # no snapshot inside the window
            if first is None and first_ever:
                continue  # only their first snapshot, which is no step
            if last is None:
                last = _timestamp(last_text)
            out[index][member_id] = StepTotals(
                int(xp),
                float(ehp),
                float(ehb),
                int(kills),
                int(clues),
                int(raids),
                steps > 0,
                None if first is None else _timestamp(first),
                last,
            )


@dataclass(frozen=True, slots=True)
class MetricTotals:
    """A member's gains of some metrics in one window, added up as :class:`StepTotals` are
    (they count when one membership period holds ``first_previous_at`` to ``last_taken_at``)."""

    gained: dict[str, float]
    first_previous_at: datetime | None
    last_taken_at: datetime | None

    def plus(self, name: str, value: float, first: datetime | None, last: datetime | None) -> None:
        self.gained[name] = self.gained.get(name, 0.0) + value
        object.__setattr__(self, "first_previous_at", _earliest(self.first_previous_at, first))
        object.__setattr__(self, "last_taken_at", _latest(self.last_taken_at, last))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


async def metric_totals(
    session: AsyncSession,
    clan_id: int,
    start: datetime,
    end: datetime,
    metrics: Sequence[str],
    member_ids: Sequence[int] | None = None,
) -> dict[int, MetricTotals]:
    """Each member's gains of the named metrics in ``[start, end)``, added up as
    :func:`step_totals` does; members with nothing gained are left out.

    Bosses and activities are read from ``snapshot_gains`` (one index range a metric);
    skills, whose XP only ``snapshots.gained`` keeps, from that JSON.
    """
    out: dict[int, MetricTotals] = {}

    def add(mid: int, name: str, value: Any, first: Any, last: Any) -> None:
        if value:
            found = out.setdefault(mid, MetricTotals({}, None, None))
            found.plus(name, float(value), _moment(first), _moment(last))

    skills = [n for n in metrics if n in SKILL_METRICS]
    others = [n for n in metrics if n not in SKILL_METRICS]
    if others:
        g = SnapshotGain
        by_metric = (
            select(
                g.member_id,
                g.metric,
                func.sum(g.gained),
                type_coerce(func.min(g.previous_taken_at), String),
                type_coerce(func.max(g.taken_at), String),
            )
            .where(
                g.clan_id == clan_id,
                g.metric.in_(others),
                g.taken_at >= start,
                g.taken_at < end,
            )
            .group_by(g.member_id, g.metric)
        )
        if member_ids is not None:
            by_metric = by_metric.where(g.member_id.in_(list(member_ids)))
        for member_id, name, total, first, last in (await session.execute(by_metric)).all():
            add(int(member_id), name, total, first, last)
    if skills:
        s = Snapshot
        sums = [func.sum(func.coalesce(s.gained[name].as_float(), 0.0)) for name in skills]
        from_json = (
            select(
                s.member_id,
                type_coerce(func.min(s.previous_taken_at), String),
                type_coerce(func.max(s.taken_at), String),
                *sums,
            )
            .where(
                s.clan_id == clan_id,
                s.taken_at >= start,
                s.taken_at < end,
                s.previous_taken_at.is_not(None),
            )
            .group_by(s.member_id)
        )
        if member_ids is not None:
            from_json = from_json.where(s.member_id.in_(list(member_ids)))
        for row in (await session.execute(from_json)).all():
            for name, value in zip(skills, row[3:], strict=True):
                add(int(row[0]), name, value, row[1], row[2])
    return out


async def steps_of(
    session: AsyncSession,
    member_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    per_metric: bool = True,
) -> dict[int, list[Step]]:
    """Each member's steps taken in ``[start, end)``, oldest first, one by one (for members
    whose steps do not all count, and for per-metric detail)."""
    if not member_ids:
        return {}
    rows = (
        await session.execute(
            _steps_statement(per_metric),
            {"member_ids": list(member_ids), "start": start, "end": end},
        )
    ).all()
    out: dict[int, list[Step]] = {}
    mine: list[Step] = []
    last_id: Any = None
    last_text: Any = None
    last_at: datetime | None = None
    for row in rows:
        member_id, taken, previous, xp, ehp, ehb, kills, clues, raids, progress = row[:10]
        gained = MappingProxyType(_metrics_json(row[10])) if per_metric else _NO_METRICS
        gains = (
            Gains(int(xp), float(ehp), float(ehb), int(kills), int(clues), gained, int(raids))
            if xp or ehp or ehb or kills or gained
            else NO_GAINS
        )
        if member_id != last_id:
            last_id, mine = member_id, []
            out[int(member_id)] = mine
        # A step's previous snapshot is mostly the step before it: its time is parsed once.
        previous_at = last_at if previous == last_text else _moment(previous)
        last_text, last_at = taken, _timestamp(taken)
        mine.append(Step(last_at, previous_at, gains, bool(progress)))
    return out


@functools.lru_cache(maxsize=2)
def _steps_statement(per_metric: bool) -> Select[Any]:
    """The statement of :func:`steps_of` (parameters ``member_ids``, ``start``, ``end``)."""
    s = _SNAPSHOTS
    columns: list[Any] = [
        s.c.member_id,
        type_coerce(s.c.taken_at, String),
        type_coerce(s.c.previous_taken_at, String),
        s.c.xp_gained,
        s.c.ehp_gained,
        s.c.ehb_gained,
        s.c.boss_kills_gained,
        s.c.clues_gained,
        s.c.raid_kills_gained,
        s.c.progress,
    ]
    if per_metric:
        columns.append(type_coerce(s.c.gained, String))
    return (
        select(*columns)
        .where(
            s.c.member_id.in_(bindparam("member_ids", expanding=True)),
            s.c.taken_at >= bindparam("start"),
            s.c.taken_at < bindparam("end"),
        )
        .order_by(s.c.member_id, s.c.taken_at)
    )


async def latest_progress(
    session: AsyncSession, clan_id: int, before: datetime, member_ids: Sequence[int] | None = None
) -> dict[int, tuple[datetime, datetime | None]]:
    """Each member's latest snapshot before ``before`` that shows progress, as ``(taken at,
    the time of the snapshot before it)``: one index seek per member (snapshots are stored
    only on change, so few are passed over)."""
    s = Snapshot
    latest = _seek_taken(s.taken_at < before, s.progress.is_(True), newest=True)
    query = (
        select(
            Member.id,
            type_coerce(s.taken_at, String),
            type_coerce(s.previous_taken_at, String),
        )
        .select_from(Member)
        .join(s, and_(s.member_id == Member.id, s.taken_at == latest))
        .where(Member.clan_id == clan_id)
    )
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    rows = (await session.execute(query)).all()
    return {int(mid): (_timestamp(at), _moment(prev)) for mid, at, prev in rows}


async def latest_snapshot_before(
    session: AsyncSession, clan_id: int, moment: datetime
) -> dict[int, datetime]:
    """Each member's latest snapshot time before ``moment`` (one index seek per member;
    members with none left out)."""
    query = select(
        Member.id, type_coerce(_seek_taken(Snapshot.taken_at < moment, newest=True), String)
    ).where(Member.clan_id == clan_id)
    return {int(mid): _timestamp(at) for mid, at in (await session.execute(query)).all() if at}


async def xp_in_periods(
    session: AsyncSession,
    clan_id: int,
    periods: Sequence[tuple[datetime, datetime]],
    leave_out: Collection[int] = (),
) -> list[int]:
    """Per period ``[start, end)``, the XP of every step taken in it by the clan's members
    but ``leave_out``, added up by the database off the (clan, time) covering index."""
    if not periods:
        return []
    s = Snapshot
    skip = [s.member_id.not_in(list(leave_out))] if leave_out else []
    parts = [
        select(literal(i), func.sum(s.xp_gained)).where(
            s.clan_id == clan_id, s.taken_at >= start, s.taken_at < end, *skip
        )
        for i, (start, end) in enumerate(periods)
    ]
    out = [0] * len(periods)
    for index, xp in (await session.execute(union_all(*parts))).all():
        out[int(index)] = int(xp or 0)
    return out


async def first_snapshot_before(
    session: AsyncSession, clan_id: int, moments: Sequence[datetime]
) -> list[set[int]]:
    """For each moment, the members with a snapshot taken before it (one index seek for
    each member's first snapshot)."""
    rows = [
        (int(mid), _timestamp(at))
        for mid, at in (
            await session.execute(
                select(Member.id, type_coerce(_seek_taken(newest=False), String)).where(
                    Member.clan_id == clan_id
                )
            )
        ).all()
        if at is not None
    ]
    return [{mid for mid, at in rows if at < moment} for moment in moments]


def _moment(value: Any) -> datetime | None:
    return None if value is None else _timestamp(value)


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


def _timestamp(value: Any) -> datetime:
    """A ``taken_at`` read without SQLAlchemy's type processing: SQLite gives its stored text
    (parsed by the C ``fromisoformat``, ~3× cheaper), PostgreSQL a datetime."""
    if isinstance(value, str):
        return from_text(value)
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
