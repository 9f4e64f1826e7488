"""The ``/status`` use case: what the bot has stored and how its jobs last went."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.usecases.context import App
from domain.relay_stats import FormatTally
from storage.migrate import current_revision, head_revision
from storage.repositories.relay_formats import format_counts
from storage.repositories.status import StoreCounts, recent_job_runs, store_counts


@dataclass(frozen=True)
class JobLine:
    job: str
    slot: str
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusReport:
    database: str
    schema_revision: str | None
    schema_head: str | None
    counts: StoreCounts
    jobs: list[JobLine]
    progress: dict[str, str] = field(default_factory=dict)
    #: Relay messages read and not understood per format, with recent examples
    #: (:mod:`domain.relay_stats`), counted since ``formats_since``.
    relay_formats: FormatTally = field(default_factory=FormatTally)
    formats_since: datetime | None = None


async def build_status(
    app: App,
    progress: dict[str, str] | None = None,
    *,
    clan_id: int | None = None,
    job_suffix: str | None = None,
) -> StatusReport:
    """What is stored, the schema, recent jobs, the relay formats read, and ``progress``:
    of one clan (``clan_id``, its jobs those named ``…<job_suffix>``), or of everything."""
    async with app.db.read() as session:
        counts = await store_counts(session, clan_id)
        runs = await recent_job_runs(session, suffix=job_suffix)
        formats, since = await format_counts(session, clan_id)
    return StatusReport(
        database=f"{app.db.dialect} ({app.db.url})",
        schema_revision=await current_revision(app.db),
        schema_head=head_revision(),
        counts=counts,
        jobs=[
            JobLine(r.job, r.slot, r.outcome, r.started_at, r.finished_at, dict(r.counts))
            for r in runs
        ],
        progress=dict(progress or {}),
        relay_formats=formats,
        formats_since=since,
    )
