"""Members, aliases, member events and snapshots: the writes a WOM sync makes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NotRequired, TypedDict

from sqlalchemy import Table, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import (
    NO_TOTALS,
    SKILL_METRICS,
    RunningTotals,
    SnapshotPoint,
    snapshot_step,
)
from storage.bulk import chunks, dialect_insert, insert_ignore, upsert
from storage.models import Member, MemberAlias, MemberEvent, Snapshot, SnapshotGain


class MemberValues(TypedDict):
    """A member as a WOM sync writes it (inserted, or refreshed by WOM player id)."""

    clan_id: int
    wom_player_id: int
    rsn_key: str
    display_name: str
    role: str | None
    account_type: str | None
    build: str | None
    status: str | None
    joined_at: datetime | None
    left_at: datetime | None
    wom_updated_at: datetime | None
    last_changed_at: datetime | None
    updated_at: datetime
    created_at: NotRequired[datetime]


class AliasValues(TypedDict):
    """An earlier name of a member."""

    clan_id: int
    member_id: int
    rsn_key: str
    display_name: str
    changed_at: datetime | None
    source: str


class EventValues(TypedDict):
    """A roster event (joined, left, rank or name changed), stored once by ``dedupe_key``."""

    clan_id: int
    member_id: int | None
    kind: str
    occurred_at: datetime
    source: str
    old_value: str | None
    new_value: str | None
    dedupe_key: str
    announced_at: datetime | None


class SnapshotValues(TypedDict):
    """One measurement of a member's stats (every metric by name)."""

    clan_id: int
    member_id: int
    taken_at: datetime
    overall_xp: int
    ehp: float
    ehb: float
    metrics: dict[str, float]
    source: str
    # The step over the member's snapshot before it (docs/metrics.md, "Progress").
    previous_taken_at: datetime | None
    xp_gained: int
    ehp_gained: float
    ehb_gained: float
    boss_kills_gained: int
    clues_gained: int
    raid_kills_gained: int
    gained: dict[str, float]
    total_xp: int
    total_ehp: float
    total_ehb: float
    total_boss_kills: int
    total_clues: int
    total_raid_kills: int
    total_progress_steps: int
    progress: bool


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A stored snapshot with the member's running totals up to it."""

    point: SnapshotPoint
    totals: RunningTotals = NO_TOTALS


def snapshot_row(
    clan_id: int,
    member_id: int,
    point: SnapshotPoint,
    previous: StoredSnapshot | None,
    source: str = "wom",
) -> SnapshotValues:
    """A snapshot to store, with the step it makes over the member's ``previous`` snapshot
    (None: their first), as :func:`domain.activity.snapshot_step` defines it, and the
    member's running totals with that step added."""
    step = snapshot_step(previous.point if previous is not None else None, point)
    totals = (previous.totals if previous is not None else NO_TOTALS).after(step)
    return {
        "clan_id": clan_id,
        "member_id": member_id,
        "taken_at": point.taken_at,
        "overall_xp": point.overall_xp,
        "ehp": point.ehp,
        "ehb": point.ehb,
        "metrics": dict(point.metrics),
        "source": source,
        "previous_taken_at": step.previous_at,
        "xp_gained": step.gains.xp,
        "ehp_gained": step.gains.ehp,
        "ehb_gained": step.gains.ehb,
        "boss_kills_gained": step.gains.boss_kills,
        "clues_gained": step.gains.clues,
        "raid_kills_gained": step.gains.raid_kills,
        "gained": dict(step.gains.per_metric),
        "progress": step.progress,
        "total_xp": totals.xp,
        "total_ehp": totals.ehp,
        "total_ehb": totals.ehb,
        "total_boss_kills": totals.boss_kills,
        "total_clues": totals.clues,
        "total_raid_kills": totals.raid_kills,
        "total_progress_steps": totals.progress_steps,
    }


async def members_by_player(session: AsyncSession, clan_id: int) -> dict[int, Member]:
    """Every member the clan ever had, keyed by WOM player id."""
    rows = await session.execute(select(Member).where(Member.clan_id == clan_id))
    return {m.wom_player_id: m for m in rows.scalars()}


async def upsert_members(session: AsyncSession, rows: Sequence[MemberValues]) -> None:
    """Insert new members or refresh name, rank and WOM fields of known ones."""
    await upsert(
        session,
        Member,
        rows,
        conflict_columns=["clan_id", "wom_player_id"],
        update_columns=[
            "rsn_key",
            "display_name",
            "role",
            "account_type",
            "build",
            "status",
            "joined_at",
            "left_at",
            "wom_updated_at",
            "last_changed_at",
            "updated_at",
        ],
    )


async def mark_left(
    session: AsyncSession, clan_id: int, player_ids: Iterable[int], at: datetime
) -> None:
    ids = list(player_ids)
    if ids:
        await session.execute(
            update(Member)
            .where(Member.clan_id == clan_id, Member.wom_player_id.in_(ids))
            .values(left_at=at, updated_at=at)
        )


async def add_aliases(session: AsyncSession, rows: Sequence[AliasValues]) -> int:
    """Remember old names of members; returns how many were new or newly dated.

    WOM's name-change feed dates a rename exactly; a rename found by the roster diff is dated
    by the last sync that still saw the old name. When both report the same old name, WOM's
    date wins, whichever arrived first.
    """
    if not rows:
        return 0
    table: Table = MemberAlias.__table__  # type: ignore[assignment]
    written = 0
    for source in sorted({r["source"] for r in rows}):
        mine = [r for r in rows if r["source"] == source]
        stmt = dialect_insert(session, table)
        if source == "wom_name_change":
            excluded = stmt.excluded
            stmt = stmt.on_conflict_do_update(
                index_elements=["clan_id", "rsn_key", "member_id"],
                set_={"changed_at": excluded.changed_at, "source": excluded.source},
                where=table.c.source != "wom_name_change",
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["clan_id", "rsn_key", "member_id"])
        result = await session.execute(stmt.returning(table.c.id), mine)
        written += len(result.all())
    return written


async def record_events(session: AsyncSession, rows: Sequence[EventValues]) -> list[int]:
    """Store member events once each (by ``dedupe_key``); returns the ids of the new ones."""
    new = await insert_ignore(
        session, MemberEvent, rows, conflict_columns=["clan_id", "dedupe_key"], returning=["id"]
    )
    return [int(r[0]) for r in new]


async def unannounced_events(
    session: AsyncSession, clan_id: int
) -> list[tuple[MemberEvent, str | None]]:
    """Roster events not yet announced, oldest first, with the member's current name."""
    rows = await session.execute(
        select(MemberEvent, Member.display_name)
        .outerjoin(Member, Member.id == MemberEvent.member_id)
        .where(MemberEvent.clan_id == clan_id, MemberEvent.announced_at.is_(None))
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
    )
    return [(event, name) for event, name in rows.all()]


async def mark_announced(session: AsyncSession, event_ids: Sequence[int], at: datetime) -> None:
    if event_ids:
        await session.execute(
            update(MemberEvent).where(MemberEvent.id.in_(list(event_ids))).values(announced_at=at)
        )


async def latest_snapshots(session: AsyncSession, clan_id: int) -> dict[int, StoredSnapshot]:
    """Each member's newest snapshot."""
    newest = (
        select(Snapshot.member_id, func.max(Snapshot.taken_at).label("taken_at"))
        .where(Snapshot.clan_id == clan_id)
        .group_by(Snapshot.member_id)
        .subquery()
    )
    rows = await session.execute(
        select(Snapshot).join(
            newest,
            and_(Snapshot.member_id == newest.c.member_id, Snapshot.taken_at == newest.c.taken_at),
        )
    )
    return {s.member_id: _stored(s) for s in rows.scalars()}


def totals_of(row: SnapshotValues) -> RunningTotals:
    """The running totals a snapshot row to store carries."""
    return RunningTotals(
        row["total_xp"],
        row["total_ehp"],
        row["total_ehb"],
        row["total_boss_kills"],
        row["total_clues"],
        row["total_raid_kills"],
        row["total_progress_steps"],
    )


def _stored(s: Snapshot) -> StoredSnapshot:
    return StoredSnapshot(
        SnapshotPoint(s.taken_at, s.overall_xp, s.ehp, s.ehb, dict(s.metrics)),
        RunningTotals(
            s.total_xp,
            s.total_ehp,
            s.total_ehb,
            s.total_boss_kills,
            s.total_clues,
            s.total_raid_kills,
            s.total_progress_steps,
        ),
    )


async def snapshot_before(
    session: AsyncSession, member_id: int, moment: datetime
) -> StoredSnapshot | None:
    """A member's latest snapshot taken before ``moment``."""
    s = (
        await session.execute(
            select(Snapshot)
            .where(Snapshot.member_id == member_id, Snapshot.taken_at < moment)
            .order_by(Snapshot.taken_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return None if s is None else _stored(s)


#: Members per ``DELETE … IN (…)`` of :func:`store_snapshots`.
_DELETE_CHUNK = 500


async def store_snapshots(session: AsyncSession, rows: Sequence[SnapshotValues]) -> int:
    """Store snapshots; one measured at the same moment as a stored one replaces its values
    (and its step). Each step's boss and activity gains also go to ``snapshot_gains``."""
    if not rows:
        return 0
    written = await upsert(
        session,
        Snapshot,
        rows,
        conflict_columns=["member_id", "taken_at"],
        update_columns=[
            "overall_xp",
            "ehp",
            "ehb",
            "metrics",
            "source",
            "previous_taken_at",
            "xp_gained",
            "ehp_gained",
            "ehb_gained",
            "boss_kills_gained",
            "clues_gained",
            "raid_kills_gained",
            "gained",
            "progress",
            "total_xp",
            "total_ehp",
            "total_ehb",
            "total_boss_kills",
            "total_clues",
            "total_raid_kills",
            "total_progress_steps",
        ],
    )
    # A replaced snapshot's old gains go first: one statement per moment (a sync's rows share
    # one), in chunks well under either database's bound-parameter limit.
    by_moment: dict[datetime, list[int]] = {}
    for row in rows:
        by_moment.setdefault(row["taken_at"], []).append(row["member_id"])
    for moment, member_ids in by_moment.items():
        for chunk in chunks(member_ids, _DELETE_CHUNK):
            await session.execute(
                delete(SnapshotGain).where(
                    SnapshotGain.taken_at == moment, SnapshotGain.member_id.in_(chunk)
                )
            )
    side = [
        {
            "clan_id": row["clan_id"],
            "member_id": row["member_id"],
            "taken_at": row["taken_at"],
            "previous_taken_at": row["previous_taken_at"],
            "metric": name,
            "gained": value,
        }
        for row in rows
        if row["previous_taken_at"] is not None
        for name, value in row["gained"].items()
        if name not in SKILL_METRICS
    ]
    if side:
        await session.execute(insert(SnapshotGain), side)
    return len(written)
