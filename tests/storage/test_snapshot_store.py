"""A snapshot stored again at the same moment replaces its step's boss and activity gains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeAlias

from sqlalchemy import select

from domain.activity import SnapshotPoint
from storage.engine import Database
from storage.models import SnapshotGain
from storage.repositories.clans import ensure_clan
from storage.repositories.roster import (
    SnapshotValues,
    StoredSnapshot,
    members_by_player,
    snapshot_row,
    store_snapshots,
    totals_of,
    upsert_members,
)

T0 = datetime(2025, 12, 23, 9, 1, tzinfo=UTC)
T1 = T0 + timedelta(hours=10)
T2 = T1 + timedelta(hours=10)
#: More members than one delete statement takes (storage.repositories.roster._DELETE_CHUNK).
MEMBERS = 620
Step: TypeAlias = tuple[list[SnapshotValues], dict[int, StoredSnapshot]]


def _point(at: datetime, vorkath: int, clues: int) -> SnapshotPoint:
    return SnapshotPoint(
        at,
        1_000_000,
        10.0,
        1.0,
        {"overall": 1_000_000, "vorkath": vorkath, "clue_scrolls_all": clues},
    )


async def test_a_moment_stored_again_replaces_its_gains_for_every_member_and_keeps_other_moments(
    db: Database,
) -> None:
    async with db.write() as s:
        clan = await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky")
        await upsert_members(
            s,
            [
                {
                    "clan_id": clan.id,
                    "wom_player_id": 1000 + i,
                    "rsn_key": f"m{i}",
                    "display_name": f"M{i}",
                    "role": "recruit",
                    "account_type": None,
                    "build": None,
                    "status": None,
                    "joined_at": T0,
                    "left_at": None,
                    "wom_updated_at": None,
                    "last_changed_at": None,
                    "updated_at": T0,
                }
                for i in range(MEMBERS)
            ],
        )
        ids = sorted(m.id for m in (await members_by_player(s, clan.id)).values())

    def step(at: datetime, vorkath: int, clues: int, before: dict[int, StoredSnapshot]) -> Step:
        point = _point(at, vorkath, clues)
        made = [snapshot_row(clan.id, mid, point, before.get(mid)) for mid in ids]
        return made, {r["member_id"]: StoredSnapshot(point, totals_of(r)) for r in made}

    at_t0, after_t0 = step(T0, 10, 5, {})
    at_t1, after_t1 = step(T1, 13, 5, after_t0)  # +3 kills
    at_t2, _ = step(T2, 13, 6, after_t1)  # +1 clue
    again_t2, _ = step(T2, 15, 5, after_t1)  # the same moment measured again: +2 kills
    async with db.write() as s:
        for made in (at_t0, at_t1, at_t2):
            await store_snapshots(s, made)
    async with db.write() as s:
        assert await store_snapshots(s, again_t2) == MEMBERS

    async with db.read() as s:
        gains = (
            await s.execute(
                select(
                    SnapshotGain.member_id,
                    SnapshotGain.taken_at,
                    SnapshotGain.metric,
                    SnapshotGain.gained,
                )
            )
        ).all()
    stored = {(mid, _utc(at), metric, gained) for mid, at, metric, gained in gains}
    assert len(gains) == len(stored)
    assert stored == {(mid, T1, "vorkath", 3) for mid in ids} | {
        (mid, T2, "vorkath", 2) for mid in ids
    }


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
