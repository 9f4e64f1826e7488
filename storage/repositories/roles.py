"""Rank → role mappings, the first-apply confirmation, and the record of role changes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RoleChange, RoleMapping, RoleSyncState, RsnLink


@dataclass(frozen=True, slots=True)
class MappingRow:
    rank_key: str
    discord_role_id: int


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A role change to record: who, which role, add or remove, applied or failed, why."""

    discord_user_id: int
    member_id: int | None
    discord_role_id: int
    action: str
    outcome: str
    reason: str


async def mappings(session: AsyncSession, clan_id: int) -> list[MappingRow]:
    rows = await session.execute(
        select(RoleMapping.rank_key, RoleMapping.discord_role_id)
        .where(RoleMapping.clan_id == clan_id)
        .order_by(RoleMapping.rank_key, RoleMapping.discord_role_id)
    )
    return [MappingRow(k, r) for k, r in rows]


async def add_mapping(
    session: AsyncSession, clan_id: int, rank_key: str, role_id: int, *, by: int, at: datetime
) -> bool:
    """Add a mapping; False when it was there already."""
    found = await session.scalar(
        select(RoleMapping.id).where(
            RoleMapping.clan_id == clan_id,
            RoleMapping.rank_key == rank_key,
            RoleMapping.discord_role_id == role_id,
        )
    )
    if found is not None:
        return False
    session.add(
        RoleMapping(
            clan_id=clan_id,
            rank_key=rank_key,
            discord_role_id=role_id,
            created_at=at,
            created_by=by,
        )
    )
    await session.flush()
    return True


async def remove_mappings(
    session: AsyncSession, clan_id: int, rank_key: str, role_id: int | None
) -> int:
    """Remove the mappings of ``rank_key`` (to one role, or all); returns how many."""
    query = delete(RoleMapping).where(
        RoleMapping.clan_id == clan_id, RoleMapping.rank_key == rank_key
    )
    if role_id is not None:
        query = query.where(RoleMapping.discord_role_id == role_id)
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def confirmed(session: AsyncSession, clan_id: int) -> bool:
    state = await session.get(RoleSyncState, clan_id)
    return state is not None and state.confirmed_at is not None


async def confirm(session: AsyncSession, clan_id: int, *, by: int, at: datetime) -> None:
    state = await session.get(RoleSyncState, clan_id)
    if state is None:
        session.add(RoleSyncState(clan_id=clan_id, confirmed_at=at, confirmed_by=by))
    elif state.confirmed_at is None:
        state.confirmed_at, state.confirmed_by = at, by
    await session.flush()


async def formerly_linked(session: AsyncSession, clan_id: int) -> set[int]:
    """Discord members who had a link at some time (ended or not): their mapped roles are
    the sync's to keep right, and go when no link is left."""
    rows = await session.scalars(
        select(RsnLink.discord_user_id).where(RsnLink.clan_id == clan_id).distinct()
    )
    return set(rows)


async def record_changes(
    session: AsyncSession, clan_id: int, changes: Sequence[ChangeRow], at: datetime
) -> None:
    for change in changes:
        session.add(
            RoleChange(
                clan_id=clan_id,
                discord_user_id=change.discord_user_id,
                member_id=change.member_id,
                discord_role_id=change.discord_role_id,
                action=change.action,
                outcome=change.outcome,
                reason=change.reason[:200],
                at=at,
            )
        )
    await session.flush()


async def unannounced(session: AsyncSession, clan_id: int) -> list[RoleChange]:
    rows = await session.scalars(
        select(RoleChange)
        .where(RoleChange.clan_id == clan_id, RoleChange.announced_at.is_(None))
        .order_by(RoleChange.id)
    )
    return list(rows)


async def mark_announced(session: AsyncSession, ids: Iterable[int], at: datetime) -> None:
    wanted = list(ids)
    if wanted:
        await session.execute(
            update(RoleChange).where(RoleChange.id.in_(wanted)).values(announced_at=at)
        )


__all__ = [
    "ChangeRow",
    "MappingRow",
    "add_mapping",
    "confirm",
    "confirmed",
    "formerly_linked",
    "mappings",
    "mark_announced",
    "record_changes",
    "remove_mappings",
    "unannounced",
]
