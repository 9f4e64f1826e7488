"""Checks shared by the cogs: every command answers from the clan of the interaction's
guild, and officers are that clan's officer roles or Manage Server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

from bot.usecases.clans import ClanWiring

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

#: The answer in a guild that has no clan (never set up, or the bot left and came back
#: before an admin set it up again).
NO_CLAN_HERE = "No clan is set up in this server yet: a server admin runs `/setup`."


class NotAnOfficer(app_commands.CheckFailure):
    """The invoking member has neither an officer role of this guild's clan nor Manage
    Server."""


class NoClanHere(app_commands.CheckFailure):
    """The interaction's guild has no clan set up (or none active)."""


def is_officer(
    member: discord.Member | discord.User, officer_role_ids: list[int] | tuple[int, ...]
) -> bool:
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    wanted = set(officer_role_ids)
    return any(role.id in wanted for role in member.roles)


def clan_of(interaction: discord.Interaction[ClanStatsBot]) -> ClanWiring:
    """The clan of the interaction's guild; :class:`NoClanHere` when it has none.

    Nothing crosses guilds: the clan is chosen by the guild the interaction came from,
    never by an option the user types.
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage("This command only works in a server.")
    wiring = interaction.client.clans.for_guild(interaction.guild_id)
    if wiring is None or wiring.clan_id is None:
        raise NoClanHere(NO_CLAN_HERE)
    return wiring


def clan_id_of(interaction: discord.Interaction[ClanStatsBot]) -> int:
    clan_id = clan_of(interaction).clan_id
    assert clan_id is not None  # clan_of refuses unsaved wirings
    return clan_id


T = TypeVar("T")


def officer_only() -> Callable[[T], T]:
    """An app-command check run on every invocation (never cached): the guild has a clan,
    and the member is one of its officers."""

    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage("This command only works in a server.")
        clan = clan_of(interaction)
        if not is_officer(interaction.user, clan.officer_role_ids):
            raise NotAnOfficer("Only clan officers can use this command.")
        return True

    return app_commands.check(predicate)


def clan_only() -> Callable[[T], T]:
    """An app-command check: the guild has a clan (member-facing commands)."""

    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        clan_of(interaction)
        return True

    return app_commands.check(predicate)
