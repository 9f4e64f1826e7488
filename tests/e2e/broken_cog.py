"""A deliberately broken cog: proves the fake Discord catches what real Discord rejects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy import exc as sa_exc

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

    @app_commands.command(name="busydb", description="Finds no free database connection")
    async def busydb(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        # What an overloaded bot's command meets when every pooled connection stays busy.
        raise sa_exc.TimeoutError(
            "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"
        )


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(BrokenCog())
