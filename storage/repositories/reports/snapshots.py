"""Snapshot endpoints per window, the latest snapshot, XP at moments, metric names."""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    String,
    case,
    func,
    null,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import SnapshotPoint
from storage.models import (
    Member,
    Snapshot,
)
from storage.repositories.reports._common import from_text

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
