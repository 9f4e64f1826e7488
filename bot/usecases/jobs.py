"""Scheduled jobs: registered in one place, each run traced and claimed in ``job_runs``.

A run first claims its ``(job, slot)`` row, so a duplicate run (a second instance, a
restart inside the same slot) is a no-op; it then records its outcome and counts. A failed
run never propagates into the scheduler: the next slot retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

import structlog

from bot.core.runtime import collect_after_job
from bot.core.tracing import current_trace_id, traced
from bot.usecases.context import App
from storage.errors import unavailable_reason
from storage.repositories import job_runs
from storage.statistics import refresh_planner_statistics_quietly

log = structlog.get_logger(__name__)
#: How a run that never started because the database was unavailable begins its error.
NOT_STARTED_UNAVAILABLE = "database unavailable: "

SYNC_JOB = "wom.sync"
# How long a finished run keeps trying to record its success through a database outage.
RECORD_RETRY_S = 60.0
# A run still marked running after this long died with its process; its slot may run again.
STALE_RUN = timedelta(hours=1)

Outcome = Literal["ok", "failed", "skipped"]


T = TypeVar("T")


@dataclass(frozen=True)
class JobResult(Generic[T]):
    """How one run of a job went; ``value`` is what the work returned (None unless ``ok``)."""

    job: str
    slot: str
    outcome: Outcome
    counts: dict[str, Any]
    error: str | None = None
    value: T | None = None


def interval_slot(now: datetime, minutes: int) -> str:
    """The slot a time falls in for a job that runs every ``minutes``: its start, in UTC."""
    epoch_minutes = int(now.timestamp() // 60)
    start = epoch_minutes - epoch_minutes % minutes
    return datetime.fromtimestamp(start * 60, now.tzinfo).strftime("%Y-%m-%dT%H:%MZ")


async def run_job(
    app: App,
    job: str,
    slot: str,
    work: Callable[[], Awaitable[tuple[dict[str, Any], T]]],
) -> JobResult[T]:
    """Claim ``(job, slot)``, run ``work`` traced, record how it went.

    The run keeps the caller's trace id (a scheduled job's own, a ``/sync`` interaction's)
    or gets a fresh one (the CLI). ``work`` returns ``(counts, value)``; counts are stored in
    ``job_runs``.
    """
    with traced(current_trace_id(), job=job):
        try:
            async with app.db.write() as session:
                # A failed run of this slot may be retried; a running or finished one may not.
                await job_runs.release_failed(
                    session, job=job, slot=slot, stale_before=app.now() - STALE_RUN
                )
                run_id = await job_runs.claim(
                    session, job=job, slot=slot, now=app.now(), trace_id=current_trace_id()
                )
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                raise
            # The database is down: nothing claimed, nothing done; a later run does it.
            log.warning("job.not_started", slot=slot, reason=reason)
            return JobResult(job, slot, "failed", {}, f"{NOT_STARTED_UNAVAILABLE}{reason}")
        if run_id is None:
            log.info("job.skipped", slot=slot, reason="slot already claimed")
            return JobResult(job, slot, "skipped", {})
        log.info("job.started", slot=slot)
        try:
            result = await _run_claimed(app, job, slot, run_id, work)
        finally:
            collect_after_job()
        # A job may have grown the tables (a sync, a backfill): the planner's statistics too.
        await refresh_planner_statistics_quietly(app.db)
        return result


async def _run_claimed(
    app: App,
    job: str,
    slot: str,
    run_id: int,
    work: Callable[[], Awaitable[tuple[dict[str, Any], T]]],
) -> JobResult[T]:
    """Run a claimed ``(job, slot)`` and record how it went."""
    try:
        counts, value = await work()
    except Exception as exc:  # a failed run must never kill the scheduler
        message = f"{type(exc).__name__}: {exc}"
        reason = unavailable_reason(exc)
        if reason is None:
            log.error("job.failed", slot=slot, error=message, exc_info=exc)
        else:  # an outage, not a bug: one line, no traceback
            log.warning("job.failed", slot=slot, reason=reason, error=message[:300])
        await _record_failure(app, run_id, slot, message)
        return JobResult(job, slot, "failed", {}, message)
    await _record_success(app, run_id, slot, counts)
    log.info("job.finished", slot=slot, **{k: v for k, v in counts.items() if _loggable(v)})
    return JobResult(job, slot, "ok", counts, None, value)


async def _record_success(app: App, run_id: int, slot: str, counts: dict[str, Any]) -> None:
    """Mark the run done. The work is done: an outage now only delays saying so (a run left
    "running" could be run again by a new leader), so the write is retried for a while."""
    delay = 0.5
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECORD_RETRY_S
    while True:
        try:
            async with app.db.write() as session:
                await job_runs.finish(session, run_id, outcome="ok", now=app.now(), counts=counts)
            return
        except Exception as exc:
            reason = unavailable_reason(exc)
            if reason is None or loop.time() + delay > deadline:
                raise
            log.info("job.recording_retried", slot=slot, reason=reason)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _record_failure(app: App, run_id: int, slot: str, message: str) -> None:
    try:
        async with app.db.write() as session:
            await job_runs.finish(
                session, run_id, outcome="failed", now=app.now(), error=message[:2000]
            )
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        # The claim stays "running": a new leader frees it at takeover, or it goes stale.
        log.info("job.failure_not_recorded", slot=slot, reason=reason)


def _loggable(value: Any) -> bool:
    return isinstance(value, int | float | str | bool) or value is None


async def slot_done(app: App, job: str, slot: str) -> bool:
    """True when ``(job, slot)`` already ran successfully (or is running now)."""
    async with app.db.read() as session:
        run = await job_runs.get(session, job=job, slot=slot)
    if run is None or run.outcome == "failed":
        return False
    return run.outcome == "ok" or run.started_at >= app.now() - STALE_RUN


async def slot_failed(app: App, job: str, slot: str) -> bool:
    """True when the last run of ``(job, slot)`` failed (so it may be run again)."""
    async with app.db.read() as session:
        run = await job_runs.get(session, job=job, slot=slot)
    return run is not None and run.outcome == "failed"


async def ever_ran(app: App, job: str) -> bool:
    async with app.db.read() as session:
        return await job_runs.latest(session, job) is not None


async def sync_due(app: App, now: datetime, interval_minutes: int, *, job: str = SYNC_JOB) -> bool:
    """True when the last successful sync is older than the interval (or there is none)."""
    return await until_sync_due(app, now, interval_minutes, job=job) <= timedelta(0)


async def until_sync_due(
    app: App, now: datetime, interval_minutes: int, *, job: str = SYNC_JOB
) -> timedelta:
    """How long until the next sync (``job``: one clan's) is due: zero or less when it is
    due now (or never ran)."""
    async with app.db.read() as session:
        last = await job_runs.last_success(session, job)
    if last is None or last.finished_at is None:
        return timedelta(0)
    return last.finished_at + timedelta(minutes=interval_minutes) - now


async def release_abandoned(app: App, job: str, slot: str, *, started_before: datetime) -> None:
    """Free ``(job, slot)`` if a run of it is still marked running from before ``started_before``.

    A new scheduler leader calls it for the slots it is about to catch up: scheduled slots are
    only ever claimed by the leader, and a run begun before this process took the lead was
    the previous leader's, which died (or lost the lock and cancelled it).
    """
    async with app.db.write() as session:
        await job_runs.release_failed(session, job=job, slot=slot, stale_before=started_before)
