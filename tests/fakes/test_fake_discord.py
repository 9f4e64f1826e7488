"""The real discord.py client against the local fake Discord (REST + gateway over loopback)."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.discord_endpoint import point_discord_py_at
from fakes.discord import (
    FakeDiscord,
    Permission,
    datetime_from_snowflake,
    snowflake_from_datetime,
)
from fakes.discord.ratelimits import Limit, RateLimiter
from tests.fakes.toy_world import (
    BOT_CHANNEL_ID,
    GUILD_ID,
    MEMBER_ID,
    OFFICER_ID,
    OFFICER_ROLE_ID,
    RELAY_CHANNEL_ID,
    WEBHOOK_ID,
    build_world,
)

GUILD = discord.Object(id=GUILD_ID)
BOT_ROLE_ID = 1_100_000_000_000_000_050
PLAYERS = ["Zezima", "Zezima Jr", "Iron Guy", "Lynx Titan", "Woox"]


class PanelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)

    @discord.ui.button(label="Confirm", custom_id="panel:confirm")
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content=f"confirmed by {interaction.user.id}")


class ClanBot(commands.Bot):
    """A small bot exercising what ClanStats needs from Discord."""

    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True
        super().__init__(
            command_prefix="!", intents=intents, guild_ready_timeout=0.05, help_command=None
        )
        self.messages: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.resumed = asyncio.Event()
        self.seen: dict[str, Any] = {}
        self._add_commands()

    async def on_message(self, message: discord.Message) -> None:
        await self.messages.put(message)

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before re-identifying (Discord's identify rate limit); the fake
        # has no such limit, and this documented hook is the place to skip the wait.
        return None

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(name="whois", description="Look a player up", guild=GUILD)
        @app_commands.describe(player="In-game name")
        async def whois(interaction: discord.Interaction, player: str) -> None:
            assert isinstance(interaction.user, discord.Member)
            self.seen["whois"] = {
                "player": player,
                "roles": sorted(r.id for r in interaction.user.roles),
                "manage_messages": interaction.permissions.manage_messages,
            }
            await interaction.response.send_message(f"{player} is in the clan", ephemeral=True)
            await interaction.followup.send("details follow", ephemeral=True)

        @whois.autocomplete("player")
        async def whois_player(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=p, value=p)
                for p in PLAYERS
                if p.lower().startswith(current.lower())
            ]

        @tree.command(name="report", description="Build the daily report", guild=GUILD)
        async def report(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(0.05)
            await interaction.followup.send(embed=discord.Embed(title="Daily report"))

        @tree.command(name="twice", description="Answers twice (a bug)", guild=GUILD)
        async def twice(interaction: discord.Interaction) -> None:
            results = await asyncio.gather(
                interaction.response.send_message("first"),
                interaction.response.send_message("second"),
                return_exceptions=True,
            )
            self.seen["twice"] = [r for r in results if isinstance(r, Exception)]

        @tree.command(name="panel", description="Show a panel", guild=GUILD)
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Confirm?", view=PanelView())

        @tree.command(name="secret", description="A panel only the invoker sees", guild=GUILD)
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Confirm?", view=PanelView(), ephemeral=True)

        @tree.command(name="pick", description="Bounded options", guild=GUILD)
        @app_commands.choices(
            colour=[app_commands.Choice(name=c, value=c) for c in ("red", "blue")]
        )
        async def pick(
            interaction: discord.Interaction,
            days: app_commands.Range[int, 1, 30],
            note: app_commands.Range[str, 2, 10],
            colour: str = "red",
        ) -> None:
            await interaction.response.send_message(f"{days} {note} {colour}")

        @tree.command(name="many", description="Bad autocomplete", guild=GUILD)
        async def many(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(name)

        @many.autocomplete("name")
        async def many_name(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=f"n{i}", value=f"n{i}") for i in range(30)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        build_world(fake)
        with point_discord_py_at(fake.base_url):
            yield fake


async def start_bot(fake: FakeDiscord) -> tuple[ClanBot, asyncio.Task[None]]:
    bot = ClanBot()
    await bot.login(fake.token)
    task = asyncio.create_task(bot.connect())
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 5)
    except BaseException:
        await stop_bot(bot, task)
        raise
    return bot, task


async def stop_bot(bot: ClanBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(task, 5)


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[ClanBot]:
    bot, task = await start_bot(fake)
    await bot.tree.sync(guild=GUILD)
    yield bot
    await stop_bot(bot, task)


async def next_message(bot: ClanBot) -> discord.Message:
    return await asyncio.wait_for(bot.messages.get(), 5)


# --------------------------------------------------------------------------- login and ready


async def test_bot_logs_in_and_caches_the_guild_channels_and_roles(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    assert bot.user is not None and bot.user.id == fake.bot_user_id
    assert bot.application_id == fake.application_id
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "Iron Clan"
    assert {c.id for c in guild.text_channels} == {RELAY_CHANNEL_ID, BOT_CHANNEL_ID}
    officer = guild.get_role(OFFICER_ROLE_ID)
    assert officer is not None and officer.permissions.manage_messages
    assert guild.me is not None and guild.me.id == fake.bot_user_id
    assert fake.identify_count == 1
    assert fake.gateway_connects[0]["v"] == "10"
    assert fake.gateway_connects[0]["compress"] == "zlib-stream"
    assert fake.unknown_requests == []
    assert fake.violations == []


async def test_clean_shutdown_leaves_no_unclosed_session(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    bot, task = await start_bot(fake)
    await stop_bot(bot, task)
    gc.collect()
    await asyncio.sleep(0)
    assert bot.is_closed()
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]


# --------------------------------------------------------------------------- messages


async def test_webhook_message_arrives_with_webhook_id_and_embeds(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    sent = await fake.post_message(
        RELAY_CHANNEL_ID,
        webhook_id=WEBHOOK_ID,
        content=r"**Zezima**: gz\! 99 attack",
        embeds=[{"title": "Loot Drop", "author": {"name": "Zezima"}, "description": "Whip"}],
    )

    message = await next_message(bot)

    assert message.id == int(sent["id"])
    assert message.webhook_id == WEBHOOK_ID
    assert message.author.bot and message.author.discriminator == "0000"
    assert message.author.name == "Osrs clanchat"
    assert message.content == r"**Zezima**: gz\! 99 attack"
    assert message.embeds[0].title == "Loot Drop"
    assert message.embeds[0].author.name == "Zezima"


async def test_member_message_carries_the_member(fake: FakeDiscord, bot: ClanBot) -> None:
    await fake.post_message(BOT_CHANNEL_ID, author_id=OFFICER_ID, content="hello")

    message = await next_message(bot)

    assert message.webhook_id is None
    assert isinstance(message.author, discord.Member)
    assert [r.id for r in message.author.roles if not r.is_default()] == [OFFICER_ROLE_ID]


async def test_history_after_oldest_first_returns_exactly_the_seeded_messages(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    seeded = fake.seed_history(
        RELAY_CHANNEL_ID,
        [
            {
                "webhook_id": WEBHOOK_ID,
                "content": f"**P{i}**: line {i}",
                "timestamp": start + timedelta(seconds=i),
            }
            for i in range(250)
        ],
    )
    anchor = int(seeded[9]["id"])
    channel = bot.get_channel(RELAY_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    got = [
        m
        async for m in channel.history(limit=None, after=discord.Object(anchor), oldest_first=True)
    ]

    assert [m.id for m in got] == [int(m["id"]) for m in seeded[10:]]
    assert got[0].content == "**P10**: line 10"
    assert got[0].created_at == start + timedelta(seconds=10)
    assert all(m.webhook_id == WEBHOOK_ID for m in got)
    newest = [m async for m in channel.history(limit=3)]
    assert [m.content for m in newest] == [
        "**P249**: line 249",
        "**P248**: line 248",
        "**P247**: line 247",
    ]


async def test_rest_paging_matches_discord_and_unknown_routes_are_recorded(
    fake: FakeDiscord,
) -> None:
    seeded = fake.seed_history(
        RELAY_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": str(i)} for i in range(10)]
    )
    ids = [m["id"] for m in seeded]
    auth = {"Authorization": f"Bot {fake.token}"}
    url = f"{fake.base_url}/api/v10/channels/{RELAY_CHANNEL_ID}/messages"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, params={"after": ids[2], "limit": 3}, headers=auth) as resp:
            assert resp.headers["Content-Type"] == "application/json"
            after_page = [m["id"] for m in await resp.json()]
        async with http.get(url, params={"before": ids[5], "limit": 2}, headers=auth) as resp:
            before_page = [m["id"] for m in await resp.json()]
        async with http.get(url, params={"limit": 101}, headers=auth) as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == 50035
        async with http.get(url) as resp:
            assert resp.status == 401
        async with http.get(f"{fake.base_url}/api/v10/nope", headers=auth) as resp:
            assert resp.status == 404
            assert await resp.json() == {"message": "404: Not Found", "code": 0}

    assert after_page == [ids[5], ids[4], ids[3]]  # the 3 right after, newest first
    assert before_page == [ids[4], ids[3]]
    assert fake.unknown_requests == ["GET /api/v10/nope"]


def test_seeding_fifty_thousand_messages_keeps_them_ordered_and_pageable() -> None:
    # How fast seeding is belongs to the benchmarks, not to a timed test on a shared machine.
    fake = FakeDiscord()
    fake.add_guild(GUILD_ID, "Iron Clan").add_channel(RELAY_CHANNEL_ID, "clan-chat")
    seeded = fake.seed_history(
        RELAY_CHANNEL_ID,
        ({"webhook_id": WEBHOOK_ID, "content": f"line {i}"} for i in range(50_000)),
    )

    ids = [int(m["id"]) for m in seeded]
    assert ids == sorted(ids) and len(set(ids)) == 50_000
    page = fake.guilds[GUILD_ID].channels[RELAY_CHANNEL_ID].history.page(limit=100, after=ids[-5])
    assert [int(m["id"]) for m in page] == ids[-1:-5:-1]


def test_snowflakes_encode_their_time() -> None:
    moment = datetime(2025, 12, 23, 9, 1, tzinfo=UTC)
    snowflake = snowflake_from_datetime(moment)
    assert datetime_from_snowflake(snowflake) == moment
    assert discord.utils.snowflake_time(snowflake) == moment


async def test_message_over_2000_characters_is_rejected_and_recorded(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as raised:
        await channel.send("x" * 2001)

    assert raised.value.status == 400 and raised.value.code == 50035
    assert "content" in str(raised.value)
    assert any("content" in v and "2000" in v for v in fake.violations)
    assert fake.sent_messages == []


async def test_embeds_over_6000_characters_are_rejected(fake: FakeDiscord, bot: ClanBot) -> None:
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    embeds = [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]

    with pytest.raises(discord.HTTPException):
        await channel.send(embeds=embeds)

    assert any("6000" in v for v in fake.violations)


async def test_bot_channel_message_with_file_is_recorded(fake: FakeDiscord, bot: ClanBot) -> None:
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="Chart").set_image(url="attachment://chart.png")
    file = discord.File(io.BytesIO(b"\x89PNG fake"), filename="chart.png")

    message = await channel.send("today", embed=embed, file=file)

    sent = fake.sent_messages[-1]
    assert sent.kind == "message" and sent.message_id == message.id
    assert sent.content == "today" and sent.embeds[0]["title"] == "Chart"
    assert [(a.filename, a.data) for a in sent.attachments] == [("chart.png", b"\x89PNG fake")]
    assert await message.attachments[0].read() == b"\x89PNG fake"
    assert fake.violations == []


# --------------------------------------------------------------------------- slash commands


async def test_tree_sync_registers_guild_commands(fake: FakeDiscord, bot: ClanBot) -> None:
    names = {c["name"] for c in fake.registered_commands[GUILD_ID]}
    assert {"whois", "report", "twice", "panel", "many"} <= names
    whois = fake.find_command("whois", GUILD_ID)
    assert whois is not None and whois["options"][0]["name"] == "player"
    assert fake.registered_commands.get(None, []) == []


async def test_slash_command_reaches_callback_with_member_roles_and_answers_ephemerally(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    interaction = await fake.invoke_slash(
        GUILD_ID, BOT_CHANNEL_ID, OFFICER_ID, "whois", [{"name": "player", "value": "Zezima"}]
    )

    first = await interaction.wait_response()
    responses = await interaction.wait_responses(2)

    assert bot.seen["whois"] == {
        "player": "Zezima",
        "roles": sorted([GUILD_ID, OFFICER_ROLE_ID]),
        "manage_messages": True,
    }
    assert first.kind == "interaction_response"
    assert first.content == "Zezima is in the clan"
    assert first.flags == 64 and interaction.ephemeral
    assert responses[1].kind == "followup" and responses[1].content == "details follow"
    assert responses[1].ephemeral
    assert [s.kind for s in fake.sent_messages] == ["interaction_response", "followup"]
    assert fake.violations == []


async def test_defer_then_followup_completes_the_thinking_message(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    interaction = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "report")

    responses = await interaction.wait_responses(2)

    assert interaction.deferred
    assert [r.kind for r in responses] == ["deferred", "followup"]
    assert responses[1].message_id == interaction.original_message_id
    assert responses[1].embeds[0]["title"] == "Daily report"
    assert not responses[1].flags & 128  # no longer "thinking"
    assert [s.kind for s in fake.sent_messages] == ["followup"]
    assert fake.violations == []


async def test_answering_twice_is_a_violation_and_raises_in_the_bot(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    interaction = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "twice")

    await interaction.wait_response()
    await fake.wait_for(lambda: "twice" in bot.seen)

    errors = bot.seen["twice"]
    assert len(errors) == 1 and isinstance(errors[0], discord.HTTPException)
    assert errors[0].code == 40060
    assert len(interaction.responses) == 1
    assert any("already been acknowledged" in v for v in fake.violations)


async def test_late_acknowledgement_is_unknown_interaction(fake: FakeDiscord, bot: ClanBot) -> None:
    fake.ack_timeout = 0.0
    interaction = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "panel")

    await interaction.wait_settled()

    assert interaction.responses == []
    assert any("Unknown interaction" in v for v in fake.violations)


async def test_button_click_reaches_the_view_callback(fake: FakeDiscord, bot: ClanBot) -> None:
    command = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, OFFICER_ID, "panel")
    panel = await command.wait_response()
    assert panel.custom_ids() == ["panel:confirm"]

    click = await fake.click_button(panel, "panel:confirm", MEMBER_ID)
    update = await click.wait_response()

    assert update.kind == "interaction_update"
    assert update.message_id == panel.message_id
    assert update.content == f"confirmed by {MEMBER_ID}"
    assert fake.history(BOT_CHANNEL_ID)[-1]["content"] == f"confirmed by {MEMBER_ID}"
    assert fake.violations == []


async def test_an_ephemeral_panel_is_usable_only_by_whom_it_was_shown(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    command = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, OFFICER_ID, "secret")
    panel = await command.wait_response()
    assert panel.ephemeral

    with pytest.raises(PermissionError, match=f"shown only to user {OFFICER_ID}"):
        await fake.click_button(panel, "panel:confirm", MEMBER_ID)
    click = await fake.click_button(panel, "panel:confirm", OFFICER_ID)
    update = await click.wait_response()

    assert update.content == f"confirmed by {OFFICER_ID}"
    assert fake.violations == []


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"days": 0, "note": "ok"}, "option 'days': 0 is outside 1..30"),
        ({"days": 31, "note": "ok"}, "option 'days': 31 is outside 1..30"),
        ({"days": 5, "note": "x"}, "option 'note': 1 characters, outside 2..10"),
        ({"days": 5, "note": "x" * 11}, "option 'note': 11 characters, outside 2..10"),
        (
            {"days": 5, "note": "ok", "colour": "green"},
            "option 'colour': 'green' is not one of its choices",
        ),
    ],
)
async def test_the_client_sends_no_value_outside_an_options_bounds_or_choices(
    fake: FakeDiscord, bot: ClanBot, options: dict[str, Any], refusal: str
) -> None:
    given = [{"name": k, "value": v} for k, v in options.items()]
    with pytest.raises(ValueError, match=refusal):
        await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "pick", given)


async def test_values_at_an_options_bounds_reach_the_bot(fake: FakeDiscord, bot: ClanBot) -> None:
    for days, note, colour in ((1, "ab", "red"), (30, "x" * 10, "blue")):
        given = [
            {"name": "days", "value": days},
            {"name": "note", "value": note},
            {"name": "colour", "value": colour},
        ]
        interaction = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, MEMBER_ID, "pick", given)
        assert (await interaction.wait_response()).content == f"{days} {note} {colour}"
    assert fake.violations == []


async def test_autocomplete_returns_the_bot_choices(fake: FakeDiscord, bot: ClanBot) -> None:
    choices = await fake.invoke_autocomplete(
        GUILD_ID,
        BOT_CHANNEL_ID,
        MEMBER_ID,
        "whois",
        [{"name": "player", "value": "zez"}],
        focused="player",
    )

    assert choices == [
        {"name": "Zezima", "value": "Zezima"},
        {"name": "Zezima Jr", "value": "Zezima Jr"},
    ]
    assert fake.violations == []


async def test_autocomplete_with_more_than_25_choices_is_rejected(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    with pytest.raises(AssertionError, match="25"):
        await fake.invoke_autocomplete(
            GUILD_ID,
            BOT_CHANNEL_ID,
            MEMBER_ID,
            "many",
            [{"name": "name", "value": ""}],
            focused="name",
        )

    assert any("choices" in v and "25" in v for v in fake.violations)


# --------------------------------------------------------------------------- reconnects


async def test_dropped_gateway_resumes_and_replays_missed_messages(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    await fake.drop_gateway(resume=True)
    await fake.post_message(RELAY_CHANNEL_ID, webhook_id=WEBHOOK_ID, content="while away")

    await asyncio.wait_for(bot.resumed.wait(), 10)
    replayed = await next_message(bot)
    await fake.post_message(RELAY_CHANNEL_ID, webhook_id=WEBHOOK_ID, content="after resume")
    after = await next_message(bot)

    assert replayed.content == "while away"
    assert after.content == "after resume"
    assert fake.resume_count == 1 and fake.identify_count == 1


async def test_invalidated_session_makes_the_bot_identify_again(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    await fake.drop_gateway(resume=False, abrupt=True)

    await fake.wait_for(lambda: fake.identify_count == 2, timeout=10)
    await fake.wait_until_ready()
    await fake.post_message(RELAY_CHANNEL_ID, author_id=MEMBER_ID, content="new session")
    message = await next_message(bot)

    assert message.content == "new session"
    assert fake.resume_count == 0
    assert bot.get_guild(GUILD_ID) is not None


async def test_reconnect_opcode_makes_discord_py_resume(fake: FakeDiscord, bot: ClanBot) -> None:
    await fake.request_reconnect()
    await asyncio.wait_for(bot.resumed.wait(), 10)
    await fake.post_message(RELAY_CHANNEL_ID, webhook_id=WEBHOOK_ID, content="after op 7")
    assert (await next_message(bot)).content == "after op 7"
    assert (fake.resume_count, fake.identify_count) == (1, 1)
    assert fake.violations == []


async def test_invalid_session_resumable_resumes_and_not_resumable_identifies_again(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    await fake.invalidate_session(resumable=True)
    await asyncio.wait_for(bot.resumed.wait(), 10)
    assert (fake.resume_count, fake.identify_count) == (1, 1)
    await fake.invalidate_session(resumable=False)
    await fake.wait_for(lambda: fake.identify_count == 2, timeout=10)
    await fake.wait_until_ready()
    await fake.post_message(RELAY_CHANNEL_ID, author_id=MEMBER_ID, content="new session")
    assert (await next_message(bot)).content == "new session"
    assert fake.resume_count == 1
    assert fake.violations == []


async def test_a_refused_privileged_intent_stops_discord_py_with_its_error(
    fake: FakeDiscord,
) -> None:
    fake.privileged_intents = 0  # Message Content not enabled for the application
    bot = ClanBot()
    await bot.login(fake.token)
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.connect(reconnect=True), 10)
    finally:
        await bot.close()
    assert fake.violations == ["GATEWAY: closed with 4014 Disallowed intent(s)."]


# --------------------------------------------------------------------------- permissions


async def test_discord_py_sees_channel_overwrites_and_gets_discords_403s(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    me = channel.guild.me
    assert channel.permissions_for(me).send_messages
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.SEND_MESSAGES)
    await fake.wait_for(lambda: not channel.permissions_for(me).send_messages)
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("hello")
    assert (refused.value.status, refused.value.code) == (403, 50013)
    await fake.set_channel_permissions(
        BOT_CHANNEL_ID, GUILD_ID, deny=Permission.READ_MESSAGE_HISTORY
    )
    await fake.wait_for(lambda: not channel.permissions_for(me).read_message_history)
    fake.seed_history(BOT_CHANNEL_ID, [{"author_id": MEMBER_ID, "content": "unseen"}])
    assert [m async for m in channel.history(limit=10)] == []  # Discord's empty page
    await fake.set_channel_permissions(BOT_CHANNEL_ID, GUILD_ID, deny=Permission.VIEW_CHANNEL)
    await fake.wait_for(lambda: not channel.permissions_for(me).view_channel)
    with pytest.raises(discord.Forbidden) as hidden:
        await channel.fetch_message(1)
    assert hidden.value.code == 50001
    assert len(fake.violations) == 3


async def test_discord_py_cannot_give_a_role_above_its_own(fake: FakeDiscord, bot: ClanBot) -> None:
    fake_guild = fake.guilds[GUILD_ID]
    fake_guild.add_role(BOT_ROLE_ID, "Bot", Permission.MANAGE_ROLES, position=2)
    fake_guild.members[fake.bot_user_id].role_ids.append(BOT_ROLE_ID)
    fake_guild.roles[OFFICER_ROLE_ID].position = 3
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    member = await guild.fetch_member(MEMBER_ID)
    with pytest.raises(discord.Forbidden) as refused:
        await member.add_roles(discord.Object(OFFICER_ROLE_ID))
    assert refused.value.code == 50013
    assert "not below the bot's highest role" in fake.violations[0]


# --------------------------------------------------------------------------- rate limits


async def test_discord_py_paces_itself_by_the_rate_limit_headers(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    window = 0.6
    fake.rate_limits = RateLimiter(
        routes={("POST", "/channels/{channel_id}/messages"): Limit(3, window)}
    )
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    await asyncio.gather(*(channel.send(f"line {i}") for i in range(7)))
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [200] * 7
    assert fake.rate_limits.answered == []  # never a 429: discord.py waited before it ran dry
    # 7 messages at 3 per window: at least two windows passed between the first and last.
    assert posts[-1].at - posts[0].at >= 2 * window
    assert sorted(m.content for m in fake.sent_messages) == sorted(f"line {i}" for i in range(7))
    assert fake.violations == []


async def test_discord_py_waits_out_a_429_and_retries(fake: FakeDiscord, bot: ClanBot) -> None:
    fake.rate_limit_next("POST", "/channels/{channel_id}/messages", retry_after=0.4)
    channel = bot.get_channel(BOT_CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("after the wait")
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.4
    assert [m.message_id for m in fake.sent_messages] == [message.id]
    assert fake.violations == []  # a shared-scope 429 is Discord's doing


async def test_a_global_429_holds_discord_py_until_it_is_over(
    fake: FakeDiscord, bot: ClanBot
) -> None:
    fake.rate_limits = RateLimiter(global_limit=Limit(3, 0.5))
    channels = [await bot.fetch_channel(c) for c in (BOT_CHANNEL_ID, RELAY_CHANNEL_ID)]
    more = await asyncio.gather(
        *(bot.fetch_channel(c) for c in (BOT_CHANNEL_ID, RELAY_CHANNEL_ID) * 2)
    )
    assert {c.id for c in [*channels, *more]} == {BOT_CHANNEL_ID, RELAY_CHANNEL_ID}
    limited = [a for a in fake.rate_limits.answered if a.scope == "global"]
    assert limited  # the 4th request of the window was refused …
    gets = [r for r in fake.requests if r.method == "GET" and "/channels/" in r.path]
    assert [r.status for r in gets].count(200) == 6  # … and retried once it was over
    last_refused = max(a.at for a in limited)
    retried = [r for r in gets if r.status == 200 and r.at > last_refused]
    assert retried
    assert all("429 Too Many Requests (global)" in v for v in fake.violations)
