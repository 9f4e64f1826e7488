"""Shutdown lets a running job, command or listener finish before the database closes."""

from __future__ import annotations

import asyncio
import gc
import warnings
from datetime import UTC, datetime
from typing import Any

from bot.client import DEFAULT_EXTENSIONS, RESTARTING_MESSAGE
from fakes.world import (
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from tests.e2e.harness import running_bot
from tests.e2e.slow_cog import HOLD_CONTENT, HOLDERS

SLOW = (*DEFAULT_EXTENSIONS, "tests.e2e.slow_cog")


async def test_shutdown_waits_for_a_job_a_command_and_a_listener_using_the_database(
    world: ClanWorld, db_url: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # running_bot also fails if a pooled connection was checked out at engine disposal
        async with running_bot(world, db_url, extensions=SLOW) as running:
            # discord.py loads the extension as a module of its own: not our SlowCog class
            cog: Any = running.bot.get_cog("SlowCog")
            assert cog is not None
            running.bot.add_job(cog.job, "date", run_date=datetime.now(UTC), id="slow-hold")
            interaction = await world.discord.invoke_slash(
                GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "hold"
            )
            await interaction.wait_response(timeout=10)
            await world.discord.post_message(
                REPORT_CHANNEL_ID, content=HOLD_CONTENT, author_id=MEMBER_USER_ID
            )
            await asyncio.wait_for(cog.all_holding.wait(), 10)
            # each still holds its session for a second: stop now
            stopping = asyncio.create_task(running.shutdown())
            for _ in range(500):  # shutting_down is a flag, not an event: poll it
                if running.bot.shutting_down:
                    break
                await asyncio.sleep(0.01)
            assert running.bot.shutting_down
            # a command that arrives while the bot waits for them is told why nothing happens
            late = await world.discord.invoke_slash(
                GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "hold"
            )
            answer = await late.wait_response(timeout=5)
            assert answer.content == RESTARTING_MESSAGE
            assert answer.flags & 64  # ephemeral
            assert await stopping == 0
            assert cog.finished == HOLDERS  # the late command never started holding
        gc.collect()
        await asyncio.sleep(0)
    leaks = [str(w.message) for w in caught if "non-checked-in" in str(w.message)]
    assert leaks == []
