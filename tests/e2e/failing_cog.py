"""An extension whose setup fails: the bot must refuse to start, not run half-loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


async def setup(bot: ClanStatsBot) -> None:
    raise RuntimeError("this cog cannot load")
