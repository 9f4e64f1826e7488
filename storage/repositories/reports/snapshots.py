"""Snapshot endpoints per window, the latest snapshot, XP at moments, metric names."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    func,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import NO_GAINS, Gains, SnapshotPoint, Step
from storage.models import (
    Member,
    Snapshot,
)
from storage.repositories.reports._common import from_text

# ---------------------------------------------------------------------------------------------
# Steps: what each snapshot gained over the one before it (stored with the snapshot)


@dataclass(frozen=True, slots=True)
class StepTotals:
    """A member's steps taken in one window, added up as if every one of them counted.

    They do count when the member was in one membership period from ``first_previous_at``
    to ``last_taken_at`` (the caller checks with the member's timeline); otherwise the caller
    adds up the member's steps one by one (:func:`steps_of`).
    """

    xp: int
    ehp: float
    ehb: float
    boss_kills: int
    clues: int
    progress: bool
    first_previous_at: datetime | None
    last_taken_at: datetime


async def step_totals(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[tuple[datetime, datetime]],
    member_ids: Sequence[int] | None = None,
) -> list[dict[int, StepTotals]]:
    """Per window ``[start, end)``, each member's steps taken in it, added up (members
    without a step left out). Steps of a member's first snapshot (nothing before it) are not
    read: they gain nothing. Every window in ONE index-only scan of the steps index over
    their union."""
    if not windows:
        return []
    s = Snapshot
    low = min(start for start, _ in windows)
    high = max(end for _, end in windows)
    columns: list[ColumnElement[Any]] = []
    for start, end in windows:
        inside = and_(s.taken_at >= start, s.taken_at < end)
        columns += [
            func.sum(case((inside, s.xp_gained), else_=0)),
            func.sum(case((inside, s.ehp_gained), else_=0.0)),
            func.sum(case((inside, s.ehb_gained), else_=0.0)),
            func.sum(case((inside, s.boss_kills_gained), else_=0)),
            func.sum(case((inside, s.clues_gained), else_=0)),
            func.max(case((and_(inside, s.progress), 1), else_=0)),
            type_coerce(func.min(case((inside, s.previous_taken_at))), String),
            type_coerce(func.max(case((inside, s.taken_at))), String),
        ]
    query = (
        select(s.member_id, *columns)
        .where(
            s.clan_id == clan_id,
            s.taken_at >= low,
            s.taken_at < high,
            s.previous_taken_at.is_not(None),
        )
        .group_by(s.member_id)
    )
    if member_ids is not None:
        query = query.where(s.member_id.in_(list(member_ids)))
    out: list[dict[int, StepTotals]] = [{} for _ in windows]
    for row in (await session.execute(query)).all():
        member_id = int(row[0])
        for i in range(len(windows)):
            xp, ehp, ehb, kills, clues, progress, first, last = row[1 + 8 * i : 9 + 8 * i]
            if last is None:
                continue  # no step of theirs in this window
            out[i][member_id] = StepTotals(
                int(xp or 0),
                float(ehp or 0.0),
                float(ehb or 0.0),
                int(kills or 0),
                int(clues or 0),
                bool(progress),
                _moment(first),
                _timestamp(last),
            )
    return out


async def metric_totals(
    session: AsyncSession,
    clan_id: int,
    start: datetime,
    end: datetime,
    metrics: Sequence[str],
    member_ids: Sequence[int] | None = None,
) -> dict[int, dict[str, float]]:
    """Each member's gains of the named metrics in ``[start, end)``, from their steps'
    ``gained`` (read in SQL, one name at a time), added up as :func:`step_totals` does;
    members and metrics with nothing gained are left out."""
    if not metrics:
        return {}
    s = Snapshot
    sums = [func.sum(func.coalesce(s.gained[name].as_float(), 0.0)) for name in metrics]
    query = (
        select(s.member_id, *sums)
        .where(
            s.clan_id == clan_id,
            s.taken_at >= start,
            s.taken_at < end,
            s.previous_taken_at.is_not(None),
        )
        .group_by(s.member_id)
    )
    if member_ids is not None:
        query = query.where(s.member_id.in_(list(member_ids)))
    out: dict[int, dict[str, float]] = {}
    for member_id, *values in (await session.execute(query)).all():
        found = {n: float(v) for n, v in zip(metrics, values, strict=True) if v}
        if found:
            out[int(member_id)] = found
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
    s = Snapshot
    columns: list[Any] = [
        s.member_id,
        type_coerce(s.taken_at, String),
        type_coerce(s.previous_taken_at, String),
        s.xp_gained,
        s.ehp_gained,
        s.ehb_gained,
        s.boss_kills_gained,
        s.clues_gained,
        s.progress,
    ]
    if per_metric:
        columns.append(type_coerce(s.gained, String))
    rows = (
        await session.execute(
            select(*columns)
            .where(s.member_id.in_(list(member_ids)), s.taken_at >= start, s.taken_at < end)
            .order_by(s.member_id, s.taken_at)
        )
    ).all()
    out: dict[int, list[Step]] = defaultdict(list)
    for member_id, taken, previous, xp, ehp, ehb, kills, clues, progress, *raw in rows:
        gained = MappingProxyType(_metrics_json(raw[0])) if raw else _NO_METRICS
        gains = (
            Gains(int(xp), float(ehp), float(ehb), int(kills), int(clues), gained)
            if xp or ehp or ehb or gained
            else NO_GAINS
        )
        out[int(member_id)].append(
            Step(_timestamp(taken), _moment(previous), gains, bool(progress))
        )
    return dict(out)


async def latest_progress(
    session: AsyncSession, clan_id: int, before: datetime, member_ids: Sequence[int] | None = None
) -> dict[int, datetime]:
    """Each member's latest snapshot before ``before`` that shows progress (one index seek
    per member; snapshots are stored only on change, so few are passed over)."""
    latest = (
        select(type_coerce(Snapshot.taken_at, String))
        .where(
            Snapshot.member_id == Member.id,
            Snapshot.taken_at < before,
            Snapshot.progress.is_(True),
        )
        .order_by(Snapshot.taken_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(Member.id, latest).where(Member.clan_id == clan_id)
    if member_ids is not None:
        query = query.where(Member.id.in_(list(member_ids)))
    rows = (await session.execute(query)).all()
    return {int(mid): _timestamp(at) for mid, at in rows if at is not None}


async def first_snapshot_before(
    session: AsyncSession, clan_id: int, moments: Sequence[datetime]
) -> list[set[int]]:
    """For each moment, the members with a snapshot taken before it."""
    first = (
        select(Snapshot.member_id, func.min(Snapshot.taken_at).label("first"))
        .where(Snapshot.clan_id == clan_id)
        .group_by(Snapshot.member_id)
    )
    rows = [(int(mid), at) for mid, at in (await session.execute(first)).all()]
    return [{mid for mid, at in rows if at is not None and at < moment} for moment in moments]


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
