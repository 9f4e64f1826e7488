"""The sync as a job: the same run from the scheduler, ``/sync`` and ``clanstats sync``."""

from __future__ import annotations

from typing import Any

from bot.app import App
from bot.harvest import resolve_unmatched
from bot.jobs import SYNC_JOB, JobResult, interval_slot, run_job
from bot.sync import SyncReport, sync_clan


async def run_sync(app: App, *, slot: str | None = None) -> JobResult:
    """Sync the configured clan once, claimed in ``job_runs``.

    ``slot`` defaults to the current interval slot (scheduled runs); manual runs pass their own.
    """
    group_id = app.settings.wom_group_id
    if group_id is None:
        raise ValueError("CLANSTATS_WOM_GROUP_ID is not set")
    now = app.now()
    chosen = slot or interval_slot(now, app.settings.sync_interval_minutes)

    async def work() -> tuple[dict[str, Any], SyncReport]:
        report = await sync_clan(app, app.wom, group_id)
        counts = report.counts()
        # New members and aliases may own names relayed chat used before: attach those rows.
        counts["relay_rows_attached"] = await resolve_unmatched(app, report.clan_id)
        return counts, report

    return await run_job(app, SYNC_JOB, chosen, work)
