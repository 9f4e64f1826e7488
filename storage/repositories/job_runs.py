"""Job runs: claim a ``(job, slot)`` first so a duplicate run is a no-op."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_ignore
from storage.models import JobRun


async def claim(
    session: AsyncSession, *, job: str, slot: str, now: datetime, trace_id: str | None = None
) -> int | None:
    """Claim ``(job, slot)``; return the run id, or ``None`` when another run already has it."""
    new = await insert_ignore(
        session,
        JobRun,
        [
            {
                "job": job,
                "slot": slot,
                "started_at": now,
                "outcome": "running",
                "counts": {},
                "trace_id": trace_id,
            }
        ],
        conflict_columns=["job", "slot"],
        returning=["id"],
    )
    return int(new[0][0]) if new else None


async def finish(
    session: AsyncSession,
    run_id: int,
    *,
    outcome: str,
    now: datetime,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    await session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(outcome=outcome, finished_at=now, counts=counts or {}, error=error)
    )


async def get(session: AsyncSession, *, job: str, slot: str) -> JobRun | None:
    return (
        await session.execute(select(JobRun).where(JobRun.job == job, JobRun.slot == slot))
    ).scalar_one_or_none()


async def release_failed(
    session: AsyncSession, *, job: str, slot: str, stale_before: datetime | None = None
) -> None:
    """Delete a failed claim so the same slot may be retried (the next catch-up, a re-run).

    A claim still ``running`` but started before ``stale_before`` belonged to a process that
    died mid-run: it is released too.
    """
    abandoned = JobRun.outcome == "failed"
    if stale_before is not None:
        abandoned = or_(
            abandoned, and_(JobRun.outcome == "running", JobRun.started_at < stale_before)
        )
    await session.execute(delete(JobRun).where(JobRun.job == job, JobRun.slot == slot, abandoned))


async def last_success(session: AsyncSession, job: str) -> JobRun | None:
    """The newest run of ``job`` that finished successfully."""
    return (
        await session.execute(
            select(JobRun)
            .where(JobRun.job == job, JobRun.outcome == "ok")
            .order_by(JobRun.finished_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def latest(session: AsyncSession, job: str) -> JobRun | None:
    return (
        await session.execute(
            select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc()).limit(1)
        )
    ).scalar_one_or_none()
