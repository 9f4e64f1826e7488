"""Clans: a Discord guild linked to a Wise Old Man group."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_ignore
from storage.models import Clan, utcnow


async def ensure_clan(
    session: AsyncSession, *, wom_group_id: int, name: str, guild_id: int | None = None
) -> Clan:
    """Return the clan for ``wom_group_id``, creating it on first use."""
    await insert_ignore(
        session,
        Clan,
        [
            {
                "wom_group_id": wom_group_id,
                "name": name,
                "guild_id": guild_id,
                "role_order": [],
                "settings": {},
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        ],
        conflict_columns=["wom_group_id"],
    )
    clan = (
        await session.execute(select(Clan).where(Clan.wom_group_id == wom_group_id))
    ).scalar_one()
    if guild_id is not None and clan.guild_id != guild_id:
        clan.guild_id = guild_id
    return clan


async def get_clan_by_group(session: AsyncSession, wom_group_id: int) -> Clan | None:
    return (
        await session.execute(select(Clan).where(Clan.wom_group_id == wom_group_id))
    ).scalar_one_or_none()
