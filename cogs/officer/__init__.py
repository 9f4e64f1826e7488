"""Officer answers (/clan report, inactive, audit, alerts, promotions, unmatched,
drops) and more.

Also the member-facing /player and /leaderboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.officer._cog import OfficerCog

if TYPE_CHECKING:
    from bot.client import ClanStatsBot


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(OfficerCog(bot))
