"""``/help``: the commands this member may use in this server, one line each.

Built from the registered command tree, never from a list kept by hand, so it cannot drift
from the commands Discord shows. Officer commands (checked for officers at run time, and
hidden from members by default: :mod:`cogs._checks`) are marked, and left out for a member
who is not an officer here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs._checks import invoker_is_officer, is_officer_command

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

OFFICER_MARK = "🛡️"
_DESCRIPTION_MAX = 4096


@dataclass(frozen=True)
class HelpLine:
    """One slash command as a member types it (``/clan inactive``), and what it does."""

    name: str
    description: str
    officer: bool


def command_lines(tree_commands: Iterable[Any]) -> list[HelpLine]:
    """Every slash command under ``tree_commands`` (groups walked to their subcommands),
    once each, sorted by name. Context menus are not typed, so they are not listed."""
    found: dict[str, HelpLine] = {}
    stack = list(tree_commands)
    while stack:
        item = stack.pop()
        if isinstance(item, app_commands.Group):
            stack.extend(item.commands)
        elif isinstance(item, app_commands.Command):
            name = f"/{item.qualified_name}"
            found[name] = HelpLine(name, item.description, is_officer_command(item))
    return sorted(found.values(), key=lambda line: line.name)


def lines_for(lines: Iterable[HelpLine], *, officer: bool) -> list[HelpLine]:
    """What this member may use: everything for an officer, the rest for anyone else."""
    return [line for line in lines if officer or not line.officer]


def render_help(lines: list[HelpLine], *, officer: bool) -> discord.Embed:
    """One line per command; officer ones marked. Within Discord's description limit."""
    texts = [
        f"`{line.name}`{f' {OFFICER_MARK}' if line.officer else ''}: {line.description}"
        for line in lines
    ]
    kept: list[str] = []
    used = 0
    for index, text in enumerate(texts):
        note = len(f"\n… and {len(texts) - index - 1} more") if index < len(texts) - 1 else 0
        if used + len(text) + note > _DESCRIPTION_MAX:
            kept.append(f"… and {len(texts) - index} more")
            break
        kept.append(text)
        used += len(text) + 1
    embed = discord.Embed(
        title="ClanStats commands you can use here",
        description="\n".join(kept) or "No command is available to you here.",
        colour=discord.Colour.blurple(),
    )
    embed.set_footer(
        text=f"{OFFICER_MARK} officers only (an officer role or Manage Server)"
        if officer
        else "Officer commands are not listed: you are not an officer in this server."
    )
    return embed


class HelpCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    def registered_lines(self, guild_id: int | None) -> list[HelpLine]:
        """The tree's commands: global ones and this guild's (copies of the same, once)."""
        tree = self.bot.tree
        registered: list[Any] = list(tree.get_commands(type=discord.AppCommandType.chat_input))
        if guild_id is not None:
            registered += tree.get_commands(
                guild=discord.Object(guild_id), type=discord.AppCommandType.chat_input
            )
        return command_lines(registered)

    @app_commands.command(name="help", description="The ClanStats commands you can use here")
    @app_commands.guild_only()
    async def show_help(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        officer = invoker_is_officer(interaction)
        lines = lines_for(self.registered_lines(interaction.guild_id), officer=officer)
        await interaction.response.send_message(
            embed=render_help(lines, officer=officer),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(HelpCog(bot))
