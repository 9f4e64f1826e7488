"""A deliberately broken bot makes the end-to-end checks fail, saying why."""

from __future__ import annotations

import pytest

from bot.client import DEFAULT_EXTENSIONS
from fakes.world import GUILD_ID, OFFICER_USER_ID, RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.checks import assert_discord_accepted_everything
from tests.e2e.harness import running_bot

BROKEN = (*DEFAULT_EXTENSIONS, "tests.e2e.broken_cog")


async def test_a_2001_character_message_fails_the_checks_with_the_reason(
    world: ClanWorld, sqlite_url: str
) -> None:
    async with running_bot(world, sqlite_url, extensions=BROKEN):
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "toolong"
        )
        await interaction.wait_settled(timeout=10)
    with pytest.raises(AssertionError) as failure:
        assert_discord_accepted_everything(world)
    assert "2000" in str(failure.value)


async def test_answering_an_interaction_twice_fails_the_checks_with_the_reason(
    world: ClanWorld, sqlite_url: str
) -> None:
    async with running_bot(world, sqlite_url, extensions=BROKEN):
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "twice"
        )
        await interaction.wait_settled(timeout=10)
        await world.discord.wait_for(lambda: bool(world.discord.violations), timeout=10)
    with pytest.raises(AssertionError) as failure:
        assert_discord_accepted_everything(world)
    assert "already been acknowledged" in str(failure.value)


async def test_a_cog_that_fails_to_load_stops_startup(world: ClanWorld, sqlite_url: str) -> None:
    with pytest.raises(Exception, match="this cog cannot load"):
        async with running_bot(
            world, sqlite_url, extensions=(*DEFAULT_EXTENSIONS, "tests.e2e.failing_cog")
        ):
            pass
