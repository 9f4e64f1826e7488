"""Permission checks shared by the cogs: officers are a configured role or Manage Server.

Officer commands are guarded twice. Discord hides them from members by default: each is
registered with ``default_member_permissions`` = Manage Server
(:data:`OFFICER_DEFAULT_PERMISSIONS`), and a server admin opens them to the officer roles in
*Server Settings → Integrations*. And the bot checks at run time (:func:`officer_only`),
since those integration settings can open a command to anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


class NotAnOfficer(app_commands.CheckFailure):
    """The invoking member has neither an officer role nor Manage Server."""


#: What Discord asks of a member before it shows them an officer command (until the server's
#: integration settings say otherwise): Manage Server, which always counts as officer.
OFFICER_DEFAULT_PERMISSIONS = discord.Permissions(manage_guild=True)

_OFFICER_CHECK = "__clanstats_officer_check__"


def is_officer(member: discord.Member | discord.User, officer_role_ids: list[int]) -> bool:
    if not isinstance(member, discord.Member):
        return False
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    wanted = set(officer_role_ids)
    return any(role.id in wanted for role in member.roles)


def invoker_is_officer(interaction: discord.Interaction[ClanStatsBot]) -> bool:
    """Whether the member behind ``interaction`` counts as an officer in its server."""
    return is_officer(interaction.user, interaction.client.settings.officer_role_ids)


T = TypeVar("T")


def officer_only() -> Callable[[T], T]:
    """An app-command check run on every invocation (never cached)."""

    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage("This command only works in a server.")
        if not invoker_is_officer(interaction):
            raise NotAnOfficer("Only clan officers can use this command.")
        return True

    setattr(predicate, _OFFICER_CHECK, True)
    return app_commands.check(predicate)


def _root(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> Any:
    node: Any = command
    while node.parent is not None:
        node = node.parent
    return node


def has_officer_check(command: app_commands.Command[Any, ..., Any]) -> bool:
    """The command runs :func:`officer_only` (on itself or a group above it)."""
    node: Any = command
    while node is not None:
        if any(getattr(check, _OFFICER_CHECK, False) for check in getattr(node, "checks", [])):
            return True
        node = node.parent
    return False


def hidden_by_default(command: app_commands.Command[Any, ..., Any]) -> bool:
    """Discord hides the command from members by default (its top-level command or group
    carries ``default_member_permissions``; Discord reads it only there)."""
    return _root(command).default_permissions is not None


def is_officer_command(command: app_commands.Command[Any, ..., Any]) -> bool:
    """An officer command: checked for officers at run time, or hidden from members."""
    return has_officer_check(command) or hidden_by_default(command)
