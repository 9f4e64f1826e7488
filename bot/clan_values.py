"""The per-clan values the link and role features need, from ONE place: the clan of the
guild, as the clan directory holds it (``/setup`` or the environment's single clan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.usecases.reports import ClanNotSyncedError

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
    the guild has no clan set up, and LookupError for no guild at all.
    """
    if guild_id is None:
        raise LookupError("no guild: clans are per Discord server")
    wiring = bot.clans.for_guild(guild_id)
    if wiring is None or wiring.clan_id is None:
        raise ClanNotSyncedError(
            "No clan is set up in this server yet: a server admin runs `/setup`."
        )
    return ClanValues(
        clan_id=wiring.clan_id,
        guild_id=wiring.guild_id,
        officer_role_ids=frozenset(wiring.officer_role_ids),
        announce_channel_id=wiring.announce_channel_id,
        relay_author_ids=frozenset(wiring.relay_author_ids),
    )


async def clan_values_of(bot: ClanStatsBot, clan_id: int) -> ClanValues:
    """The values of clan ``clan_id`` (a job's, a listener's): LookupError when this process
    does not serve it (stopped, or the bot left its guild)."""
    wiring = bot.clans.for_clan(clan_id)
    if wiring is None:
        raise LookupError(f"clan {clan_id} is not served by this process")
    return await clan_values(bot, wiring.guild_id)
