"""A deliberately broken cog: proves the fake Discord catches what real Discord rejects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


class BrokenCog(commands.Cog):
    @app_commands.command(name="toolong", description="Sends 2001 characters")
    async def toolong(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.send_message("x" * 2001)

    @app_commands.command(name="twice", description="Answers the same interaction twice")
    async def twice(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.send_message("first")
        # Bypass discord.py's own guard to send a second initial response, as a buggy
        # hand-rolled HTTP call would.
        adapter = discord.webhook.async_.async_context.get()
        await adapter.create_interaction_response(
            interaction.id,
            interaction.token,
            session=interaction._session,
            proxy=None,
            proxy_auth=None,
            params=discord.webhook.async_.interaction_response_params(4, {"content": "second"}),
        )


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(BrokenCog())
