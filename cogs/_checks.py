"""Permission checks shared by the cogs: officers are a configured role or Manage Server."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


class NotAnOfficer(app_commands.CheckFailure):
    """The invoking member has neither an officer role nor Manage Server."""


def is_officer(member: discord.Member | discord.User, officer_role_ids: list[int]) -> bool:
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    wanted = set(officer_role_ids)
    return any(role.id in wanted for role in member.roles)


T = TypeVar("T")


def officer_only() -> Callable[[T], T]:
    """An app-command check run on every invocation (never cached)."""

    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage("This command only works in a server.")
        if not is_officer(interaction.user, interaction.client.settings.officer_role_ids):
            raise NotAnOfficer("Only clan officers can use this command.")
        return True

    return app_commands.check(predicate)
