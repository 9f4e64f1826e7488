"""Three instances on one PostgreSQL database: the leader is killed, a follower takes over.

The leader is a real ``clanstats run`` process killed with SIGKILL; the two followers are the
real bot in this process, on a clock the test moves, so the daily report's time can pass
while no instance leads (a slot the dead leader missed). One follower must take the jobs
over within 30 s and run the missed report and the due sync exactly once; the other follower
must run neither.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from bot.client import ClanStatsBot
from fakes.world import REPORT_CHANNEL_ID, ClanWorld
from storage.engine import Database
from storage.leader import SCHEDULER_LOCK_KEY
from storage.models import JobRun
from tests.e2e.harness import eventually, running_bot
from tests.faults.processes import start_bot_process, subprocess_env

TAKEOVER_LIMIT_S = 30.0


async def lease_holder(db: Database) -> int | None:
    """The PostgreSQL backend pid holding the scheduler lock, if any."""
    key = SCHEDULER_LOCK_KEY
    async with db.read() as s:
        return (
            await s.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :hi AND objid = :lo AND objsubid = 1"
                    # Advisory locks are per database: other tests' bots hold the same key
                    # in their own databases at the same time.
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            )
        ).scalar_one_or_none()


async def runs(db: Database, job: str) -> list[JobRun]:
    async with db.read() as s:
        return list(
            (await s.execute(select(JobRun).where(JobRun.job == job).order_by(JobRun.id))).scalars()
        )


async def test_a_killed_leader_is_replaced_and_its_missed_slot_runs_exactly_once(
    world: ClanWorld, pg_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "leader.log"
    db = Database.from_url(pg_url)
    leader = await start_bot_process(subprocess_env(world, pg_url, leader_retry_s=1), log)
    try:
        # The first instance migrates the fresh database, leads, and runs its first sync.
        async def first_sync_done() -> bool:
            assert leader.returncode is None, log.read_text()[-3000:]
            try:
                return any(r.outcome == "ok" for r in await runs(db, "wom.sync:clan-1"))
            except Exception:  # not migrated yet
                return False

        await eventually(first_sync_done, "the leader's first sync", limit_s=40)
        leader_pid = await lease_holder(db)
        assert leader_pid is not None

        # Tomorrow, ten seconds before the report time (09:00 in the clan's Europe/London).
        day = (datetime.now(UTC) + timedelta(days=1)).date()
        tz = ZoneInfo(world.settings(pg_url)["timezone"])
        before = datetime(day.year, day.month, day.day, 8, 59, 50, tzinfo=tz)
        now = [before]
        async with (
            running_bot(world, pg_url, clock=lambda: now[0], leader_retry_s=1) as b,
            running_bot(world, pg_url, clock=lambda: now[0], leader_retry_s=1) as c,
        ):
            followers: list[ClanStatsBot] = [b.bot, c.bot]
            assert not any(f.is_scheduler_leader for f in followers)
            reports_before = report_posts(world)

            leader.send_signal(signal.SIGKILL)
            await leader.wait()
            killed = asyncio.get_running_loop().time()
            now[0] = before + timedelta(seconds=20)  # the report time passes with no leader

            async def taken_over() -> bool:
                return any(f.is_scheduler_leader for f in followers)

            await eventually(taken_over, "a follower taking over", limit_s=TAKEOVER_LIMIT_S)
            takeover_s = asyncio.get_running_loop().time() - killed
            assert takeover_s < TAKEOVER_LIMIT_S
            assert [f.is_scheduler_leader for f in followers].count(True) == 1
            assert await lease_holder(db) not in (None, leader_pid)

            slot = day.isoformat()

            async def report_posted() -> bool:
                return any(r.outcome == "ok" for r in await runs(db, "report.daily:clan-1"))

            await eventually(report_posted, "the missed daily report", limit_s=30)
            await asyncio.sleep(2.5)  # two more leadership rounds: nothing runs twice
            reports = await runs(db, "report.daily:clan-1")
            assert [(r.slot, r.outcome) for r in reports] == [(slot, "ok")]
            assert report_posts(world) == reports_before + 1
            # the sync due at takeover ran once (after the leader's first one), not per follower
            syncs = await runs(db, "wom.sync:clan-1")
            assert [r.outcome for r in syncs] == ["ok", "ok"]
            assert await b.shutdown() == 0
            assert await c.shutdown() == 0
    finally:
        if leader.returncode is None:
            leader.kill()
            await leader.wait()
        await db.dispose()
    print(f"takeover after SIGKILL: {takeover_s:.1f} s")


def report_posts(world: ClanWorld) -> int:
    return sum(
        1
        for m in world.discord.sent_messages
        if m.channel_id == REPORT_CHANNEL_ID and m.kind == "message"
    )
