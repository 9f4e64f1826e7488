"""Taking the scheduler lead over: all of a leader's jobs or none (see ``ClanStatsBot._take_over``).

A follower that finds the lock free runs every cog's leader hook (schedule its jobs, catch
up). When one of them fails, half the jobs scheduled is worse than none: the process gives
the lead back (jobs unscheduled, lock released, so another instance or its own next round can
take it) and says why in one line: a warning for a database outage, an error with its
traceback for anything else.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from bot.app import build_app
from bot.client import ClanStatsBot
from bot.core.config import Settings
from storage.engine import Database
from storage.leader import SchedulerLease


async def _noop() -> None:
    return None


def _locked() -> Exception:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


@pytest.mark.parametrize(
    ("failure", "level"),
    [(_locked, "warning"), (lambda: ValueError("a bug in a cog's hook"), "error")],
    ids=["outage", "bug"],
)
async def test_a_take_over_cut_short_gives_the_lead_back_with_no_job_left(
    db_url: str, failure: object, level: str
) -> None:
    settings = Settings(database_url=db_url)
    app = await build_app(settings, migrate=False)
    other = Database.from_url(db_url)
    bot = ClanStatsBot(settings, app=app, extensions=())
    try:
        lease = SchedulerLease(app.db)
        assert await lease.acquire()
        bot._lease = lease
        ran: list[bool] = []

        async def schedules(takeover: bool) -> None:
            ran.append(takeover)
            bot.add_job(_noop, "interval", id="sync", minutes=1)

        async def fails(takeover: bool) -> None:
            assert callable(failure)
            raise failure()

        async def never(takeover: bool) -> None:  # after the failing hook: not reached
            raise AssertionError("a hook after the failing one ran")

        bot._leader_hooks = [schedules, fails, never]
        with capture_logs() as logs:
            await bot._take_over()

        assert ran == [True]
        assert not bot.is_scheduler_leader and bot.leader_since is None
        assert bot.scheduler.get_jobs() == []  # the job the first hook added is gone
        assert not lease.held
        # The lock is free again: another instance (on PostgreSQL, another connection) gets it.
        taken = SchedulerLease(other)
        assert await taken.acquire()
        await taken.release()
        failed = [e for e in logs if e["event"] == "scheduler.take_over_failed"]
        assert [e["log_level"] for e in failed] == [level]
        if level == "warning":
            assert failed[0]["reason"] and "exc_info" not in failed[0]
        else:
            assert "a bug in a cog's hook" in failed[0]["error"] and failed[0]["exc_info"]
        stepped = [e for e in logs if e["event"] == "scheduler.stepped_down"]
        assert [e["reason"] for e in stepped] == ["taking over failed"]
    finally:
        await bot.close()
        await other.dispose()
        await app.db.dispose()
