"""The fake Discord serves several guilds to one bot, and models the bot being removed from
a guild and added back: GUILD_DELETE without ``unavailable``, then Missing Access for what
it asks of that guild's channels, then GUILD_CREATE."""

from __future__ import annotations

import aiohttp
import discord
import pytest

from fakes.discord import FakeDiscord
from tests.fakes.test_fake_discord import ClanBot, bot, fake  # noqa: F401 - fixtures
from tests.fakes.toy_world import GUILD_ID, RELAY_CHANNEL_ID

OTHER_GUILD_ID = 1_200_000_000_000_000_001
OTHER_CHANNEL_ID = 1_200_000_000_000_000_010


@pytest.fixture
def second_guild(fake: FakeDiscord) -> None:  # noqa: F811 - the fixture above
    guild = fake.add_guild(OTHER_GUILD_ID, "Other Clan")
    guild.add_channel(OTHER_CHANNEL_ID, "clan-chat")


async def _rest(
    fake: FakeDiscord,  # noqa: F811 - not the fixture
    method: str,
    path: str,
    body: object = None,
) -> int:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{fake.base_url}/api/v10{path}", json=body, headers=headers) as r,
    ):
        return r.status


@pytest.mark.usefixtures("second_guild")
async def test_the_bot_sees_every_guild_and_loses_and_regains_one(
    fake: FakeDiscord,  # noqa: F811
    bot: ClanBot,  # noqa: F811
) -> None:
    removed: list[int] = []
    joined: list[int] = []

    async def on_remove(guild: discord.Guild) -> None:
        removed.append(guild.id)

    async def on_join(guild: discord.Guild) -> None:
        joined.append(guild.id)

    bot.add_listener(on_remove, "on_guild_remove")
    bot.add_listener(on_join, "on_guild_join")
    assert {g.id for g in bot.guilds} == {GUILD_ID, OTHER_GUILD_ID}
    assert isinstance(bot.get_channel(OTHER_CHANNEL_ID), discord.TextChannel)

    await fake.remove_bot_from_guild(OTHER_GUILD_ID)
    await fake.wait_for(lambda: removed == [OTHER_GUILD_ID])
    assert bot.get_guild(OTHER_GUILD_ID) is None and bot.get_channel(OTHER_CHANNEL_ID) is None
    assert bot.get_guild(GUILD_ID) is not None  # the other guild is untouched

    # Its channels are out of reach: Missing Access, each one a violation of the bot's.
    assert (
        await _rest(fake, "POST", f"/channels/{OTHER_CHANNEL_ID}/messages", {"content": "x"}) == 403
    )
    assert await _rest(fake, "GET", f"/channels/{OTHER_CHANNEL_ID}/messages?limit=10") == 403
    assert len(fake.violations) == 2
    assert all("Missing Access (50001)" in v for v in fake.violations)
    assert "removed from" in fake.violations[0]
    # A guild command registration there is refused too.
    app_id = fake.application_id
    assert (
        await _rest(fake, "PUT", f"/applications/{app_id}/guilds/{OTHER_GUILD_ID}/commands", [])
        == 403
    )
    # The guild it is still in works as before.
    assert (
        await _rest(fake, "POST", f"/channels/{RELAY_CHANNEL_ID}/messages", {"content": "y"}) == 200
    )
    fake.violations.clear()

    await fake.add_bot_to_guild(OTHER_GUILD_ID)
    await fake.wait_for(lambda: joined == [OTHER_GUILD_ID])
    assert isinstance(bot.get_channel(OTHER_CHANNEL_ID), discord.TextChannel)
    assert (
        await _rest(fake, "POST", f"/channels/{OTHER_CHANNEL_ID}/messages", {"content": "z"}) == 200
    )
    assert fake.violations == []
