"""A new scheduler leader frees the claim a dead leader left "running", and only that one,
so the missed slot runs once more, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.jobs import release_abandoned, run_job, slot_done
from storage.engine import Database
from storage.repositories import job_runs

T0 = datetime(2025, 12, 23, 9, 0, tzinfo=UTC)
JOB, SLOT = "report.daily", "2025-12-23"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    wom = HttpWomClient("http://127.0.0.1:9", None, "tests", timeout_s=1.0)
    application = App(db=db, wom=wom, clock=Clock())
    try:
        yield application
    finally:
        await wom.close()


async def _claim(app: App, at: datetime) -> None:
    async with app.db.write() as s:
        assert await job_runs.claim(s, job=JOB, slot=SLOT, now=at) is not None


async def test_the_dead_leaders_running_claim_is_freed_and_the_slot_runs_once(app: App) -> None:
    await _claim(app, T0)  # the leader claimed the day's report, then was killed
    assert await slot_done(app, JOB, SLOT)  # it still looks as if it were running
    took_over = T0 + timedelta(seconds=20)
    clock = app.clock
    assert isinstance(clock, Clock)
    clock.now = took_over
    await release_abandoned(app, JOB, SLOT, started_before=took_over)
    assert not await slot_done(app, JOB, SLOT)

    runs: list[str] = []

    async def work() -> tuple[dict[str, Any], None]:
        runs.append(SLOT)
        return {}, None

    assert (await run_job(app, JOB, SLOT, work)).outcome == "ok"
    # a second takeover, or the other follower, finds it done: it never runs twice
    await release_abandoned(app, JOB, SLOT, started_before=took_over + timedelta(minutes=1))
    assert (await run_job(app, JOB, SLOT, work)).outcome == "skipped"
    assert runs == [SLOT]


async def test_a_claim_made_after_the_takeover_is_left_alone(app: App) -> None:
    took_over = T0
    await _claim(app, T0 + timedelta(seconds=5))  # this leader's own run, in progress
    await release_abandoned(app, JOB, SLOT, started_before=took_over)
    assert await slot_done(app, JOB, SLOT)
