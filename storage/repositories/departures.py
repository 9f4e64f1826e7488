"""Held departures: what a sync found but did not apply, and the officers' confirmations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HeldDeparture, Member


async def pending_holds(session: AsyncSession, clan_id: int) -> list[HeldDeparture]:
    """The clan's departures held and not resolved yet, oldest first."""
    rows = await session.execute(
        select(HeldDeparture)
        .where(HeldDeparture.clan_id == clan_id, HeldDeparture.resolved_at.is_(None))
        .order_by(HeldDeparture.id)
    )
    return list(rows.scalars())


async def hold(
    session: AsyncSession, clan_id: int, member_ids: Iterable[int], reason: str, at: datetime
) -> int:
    """Hold the departures of ``member_ids``; those held already keep their row (with the
    latest reason). Returns how many were newly held."""
    pending = {h.member_id: h for h in await pending_holds(session, clan_id)}
    new = 0
    for member_id in member_ids:
        held = pending.get(member_id)
        if held is not None:
            held.reason = reason[:300]
            continue
        session.add(
            HeldDeparture(clan_id=clan_id, member_id=member_id, held_at=at, reason=reason[:300])
        )
        new += 1
    await session.flush()
    return new


async def resolve(
    session: AsyncSession, hold_ids: Sequence[int], outcome: str, at: datetime
) -> None:
    """Close held departures: ``applied`` (the member is marked left) or ``returned``."""
    if hold_ids:
        await session.execute(
            update(HeldDeparture)
            .where(HeldDeparture.id.in_(list(hold_ids)))
            .values(resolved_at=at, outcome=outcome)
        )


async def confirm(session: AsyncSession, clan_id: int, at: datetime, by: str) -> int:
    """Confirm every pending, unconfirmed held departure of the clan; returns how many."""
    result = await session.execute(
        update(HeldDeparture)
        .where(
            HeldDeparture.clan_id == clan_id,
            HeldDeparture.resolved_at.is_(None),
            HeldDeparture.confirmed_at.is_(None),
        )
        .values(confirmed_at=at, confirmed_by=by[:64])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_announced(session: AsyncSession, hold_ids: Sequence[int], at: datetime) -> None:
    if hold_ids:
        await session.execute(
            update(HeldDeparture)
            .where(HeldDeparture.id.in_(list(hold_ids)))
            .values(announced_at=at)
        )


async def unconfirmed_departures_since(session: AsyncSession, clan_id: int, since: datetime) -> int:
    """Members marked left at or after ``since`` and still out, whose departure no officer
    confirmed: what counts against the rolling departure limit."""
    confirmed = exists().where(
        and_(
            HeldDeparture.member_id == Member.id,
            HeldDeparture.outcome == "applied",
            HeldDeparture.confirmed_at.is_not(None),
            HeldDeparture.resolved_at >= since,
        )
    )
    return int(
        (
            await session.execute(
                select(func.count(Member.id)).where(
                    Member.clan_id == clan_id, Member.left_at >= since, ~confirmed
                )
            )
        ).scalar_one()
    )


async def member_names(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, str]:
    """Display names of members by id."""
    if not member_ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(list(member_ids)))
    )
    return {int(member_id): str(name) for member_id, name in rows.all()}
