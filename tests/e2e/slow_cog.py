"""A cog whose command, listener and job keep using the database for a while after they start."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy import text

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

HOLD_S = 1.0
HOLD_CONTENT = "hold the database"
HOLDERS = frozenset({"job", "command", "listener"})


class SlowCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        self.holding: set[str] = set()
        self.finished: set[str] = set()
        self.all_holding = asyncio.Event()  # every one of HOLDERS is inside its session

    async def hold(self, who: str) -> None:
        """Keep a session (and its pooled connection) open for ``HOLD_S``."""
        async with self.bot.app.db.read() as session:
            await session.execute(text("SELECT 1"))
            self.holding.add(who)
            if self.holding >= HOLDERS:
                self.all_holding.set()
            await asyncio.sleep(HOLD_S)
            await session.execute(text("SELECT 1"))
        self.finished.add(who)

    async def job(self) -> None:
        await self.hold("job")

    @app_commands.command(name="hold", description="Answers, then keeps using the database")
    async def hold_command(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.send_message("holding", ephemeral=True)
        await self.hold("command")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.content == HOLD_CONTENT:
            await self.hold("listener")


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(SlowCog(bot))
