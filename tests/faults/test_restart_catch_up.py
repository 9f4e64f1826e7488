"""A bot killed in the middle of a job leaves its claim "running"; restarted, it runs the
job again at once (found by the chaos suite: a SIGKILL during the daily report lost that
day's report, and one during a sync put the next off by an interval).

The restarted process holds the scheduler lock, so no other instance can be running the
slot: a claim older than its start is the dead process's.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from bot.usecases.jobs import interval_slot
from fakes.world import REPORT_CHANNEL_ID, ClanWorld
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import JobRun
from storage.repositories import job_runs
from tests.e2e.harness import eventually, running_bot

# Jobs run per clan; the environment's clan is the first one a fresh database stores.
REPORT_JOB, SYNC_JOB = "report.daily:clan-1", "wom.sync:clan-1"


async def _runs(db: Database, job: str) -> list[tuple[str, str]]:
    async with db.read() as s:
        rows = (
            await s.execute(select(JobRun).where(JobRun.job == job).order_by(JobRun.id))
        ).scalars()
        return [(r.slot, r.outcome) for r in rows]


async def _record(db: Database, job: str, slot: str, at: datetime, outcome: str | None) -> None:
    async with db.write() as s:
        run_id = await job_runs.claim(s, job=job, slot=slot, now=at)
        assert run_id is not None
        if outcome is not None:
            await job_runs.finish(s, run_id, outcome=outcome, now=at, counts={})


def _report_posts(world: ClanWorld) -> int:
    return sum(
        1
        for m in world.discord.sent_messages
        if m.channel_id == REPORT_CHANNEL_ID and m.kind == "message"
    )


async def test_a_report_and_a_sync_left_running_by_a_killed_bot_run_once_after_restart(
    world: ClanWorld, db_url: str
) -> None:
    now = datetime.now(UTC)
    today, yesterday = now.strftime("%Y-%m-%d"), (now - timedelta(days=1)).strftime("%Y-%m-%d")
    sync_slot = interval_slot(now, 60)
    db = Database.from_url(db_url)
    try:
        await upgrade(db)
        # Yesterday all went well; today the process was killed while posting the report
        # and while syncing: both claims stayed "running".
        await _record(db, REPORT_JOB, yesterday, now - timedelta(days=1), "ok")
        await _record(db, SYNC_JOB, "earlier", now - timedelta(hours=2), "ok")
        await _record(db, REPORT_JOB, today, now - timedelta(minutes=2), None)
        await _record(db, SYNC_JOB, sync_slot, now - timedelta(minutes=2), None)

        async with running_bot(world, db_url, report_time=time(0, 0), timezone="UTC"):

            async def both_done() -> bool:
                return (today, "ok") in await _runs(db, REPORT_JOB) and (
                    sync_slot,
                    "ok",
                ) in await _runs(db, SYNC_JOB)

            await eventually(both_done, "the killed report and sync run again", limit_s=30)
            await asyncio.sleep(1.0)  # nothing runs twice
            assert await _runs(db, REPORT_JOB) == [(yesterday, "ok"), (today, "ok")]
            assert _report_posts(world) == 1
            assert await _runs(db, SYNC_JOB) == [("earlier", "ok"), (sync_slot, "ok")]
    finally:
        await db.dispose()
