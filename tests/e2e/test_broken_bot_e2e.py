"""A deliberately broken bot fails the end-to-end verdict, saying why; a test that means to
break a rule must say which, and then the rule must really have been broken.
"""

from __future__ import annotations

import pytest

from bot.client import DEFAULT_EXTENSIONS
from fakes.world import GUILD_ID, OFFICER_USER_ID, RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.checks import verdict_problems
from tests.e2e.harness import running_bot

BROKEN = (*DEFAULT_EXTENSIONS, "tests.e2e.broken_cog")


@pytest.mark.expect_violations(r"data\.content: Must be 2000 or fewer in length")
async def test_a_2001_character_message_fails_the_verdict_with_the_reason(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url, extensions=BROKEN):
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "toolong"
        )
        await interaction.wait_settled(timeout=10)
    # Without the marker, the shared fixture's verdict would fail this test, saying why:
    (problem,) = verdict_problems(world)
    assert "Discord would have rejected" in problem and "2000" in problem


@pytest.mark.expect_violations("Interaction has already been acknowledged")
async def test_answering_an_interaction_twice_fails_the_verdict_with_the_reason(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url, extensions=BROKEN):
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "twice"
        )
        await interaction.wait_settled(timeout=10)
        await world.discord.wait_for(lambda: bool(world.discord.violations), timeout=10)
    (problem,) = verdict_problems(world)
    assert "already been acknowledged" in problem


async def test_a_cog_that_fails_to_load_stops_startup(world: ClanWorld, db_url: str) -> None:
    with pytest.raises(Exception, match="this cog cannot load"):
        async with running_bot(
            world, db_url, extensions=(*DEFAULT_EXTENSIONS, "tests.e2e.failing_cog")
        ):
            pass
