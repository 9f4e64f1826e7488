"""Counts for the ``/status`` command and ``clanstats`` summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun, Member, RelayMessage, Snapshot


@dataclass(frozen=True)
class StoreCounts:
    members: int
    members_left: int
    snapshots: int
    relay_messages: int
    newest_message_at: datetime | None


_Scoped = TypeVar("_Scoped", bound=Select[Any])


async def store_counts(session: AsyncSession, clan_id: int | None = None) -> StoreCounts:
    def scoped(stmt: _Scoped, model: type[Member | Snapshot | RelayMessage]) -> _Scoped:
        return stmt if clan_id is None else stmt.where(model.clan_id == clan_id)

    members = (await session.execute(scoped(select(func.count(Member.id)), Member))).scalar_one()
    left = (
        await session.execute(
            scoped(select(func.count(Member.id)).where(Member.left_at.is_not(None)), Member)
        )
    ).scalar_one()
    snaps = (await session.execute(scoped(select(func.count(Snapshot.id)), Snapshot))).scalar_one()
    msgs = (
        await session.execute(scoped(select(func.count(RelayMessage.id)), RelayMessage))
    ).scalar_one()
    newest = (
        await session.execute(scoped(select(func.max(RelayMessage.posted_at)), RelayMessage))
    ).scalar_one()
    return StoreCounts(
        members=int(members),
        members_left=int(left),
        snapshots=int(snaps),
        relay_messages=int(msgs),
        newest_message_at=newest,
    )


async def recent_job_runs(
    session: AsyncSession, limit: int = 5, *, suffix: str | None = None
) -> list[JobRun]:
    """The newest runs; with ``suffix``, only the jobs whose name ends with it (one clan's
    ``…:clan-<id>``)."""
    query = select(JobRun)
    if suffix is not None:
        query = query.where(JobRun.job.endswith(suffix, autoescape=True))
    return list(
        (await session.execute(query.order_by(JobRun.started_at.desc()).limit(limit))).scalars()
    )
