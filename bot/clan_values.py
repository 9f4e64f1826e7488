"""The per-clan values the link and role features need, from ONE place.

Today one process serves one clan, configured by ``bot.settings``; when clans become
per-guild this is the only function the link and role cogs need changed: they never read
``bot.settings`` for a clan's values themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.usecases.reports import configured_clan_id

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


@dataclass(frozen=True, slots=True)
class ClanValues:
    """One clan as the link and role features see it."""

    clan_id: int
    guild_id: int | None
    officer_role_ids: frozenset[int]
    announce_channel_id: int | None
    relay_author_ids: frozenset[int]


async def clan_values(bot: ClanStatsBot, guild_id: int | None) -> ClanValues:
    """The values of the clan served in ``guild_id``.

    Raises :class:`~bot.usecases.reports.ClanNotSyncedError` (a message for the user) when
    the clan was never synced, and LookupError for a guild this process does not serve.
    """
    settings = bot.settings
    if guild_id is not None and settings.guild_id is not None and guild_id != settings.guild_id:
        raise LookupError(f"guild {guild_id} is not served by this process")
    return ClanValues(
        clan_id=await configured_clan_id(bot.app, settings.wom_group_id),
        guild_id=settings.guild_id,
        officer_role_ids=frozenset(settings.officer_role_ids),
        announce_channel_id=settings.announce_channel_id,
        relay_author_ids=frozenset(settings.relay_author_ids),
    )
