"""The real bot against fake Discord and fake WOM, over real sockets, with a real database."""

from __future__ import annotations

import asyncio
import gc
import warnings

from sqlalchemy import func, select

from fakes.world import (
    ADMIN_USER_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    ClanWorld,
)
from storage.models import JobRun
from tests.e2e.harness import running_bot


async def test_bot_logs_in_registers_commands_answers_and_shuts_down_cleanly(
    world: ClanWorld, db_url: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with running_bot(world, db_url) as running:
            assert running.bot.user is not None
            assert running.bot.user.id == world.discord.bot_user_id
            names = {c["name"] for c in world.discord.registered_commands.get(GUILD_ID, [])}
            assert {"status", "sync"} <= names

            interaction = await world.discord.invoke_slash(
                GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status"
            )
            reply = await interaction.wait_answer(timeout=10)
            assert reply.ephemeral
            assert reply.embeds and reply.embeds[0]["title"] == "ClanStats status"

            # every task the bot started is ours to stop: nothing leaks past shutdown
            assert await running.shutdown() == 0
        gc.collect()
        await asyncio.sleep(0)
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert unclosed == []


async def test_a_member_without_the_officer_role_is_refused_with_a_trace_id(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        # Discord hides /status from members; a server that opens it to everyone still
        # gets the bot's own refusal.
        world.discord.set_command_permissions(
            GUILD_ID, [{"id": GUILD_ID, "type": 1, "permission": True}], command="status"
        )
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, MEMBER_USER_ID, "status"
        )
        reply = await interaction.wait_response(timeout=10)
        await running.shutdown()
    assert reply.ephemeral
    assert "Only clan officers" in reply.content
    assert "trace id" in reply.content
    assert reply.allowed_mentions == {"parse": []}


async def test_startup_catches_up_a_missed_sync_and_sync_command_reports(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        # no successful sync yet → one is run shortly after startup
        async def synced() -> None:
            while True:
                async with running.bot.app.db.read() as s:
                    n = (
                        await s.execute(
                            select(func.count(JobRun.id)).where(
                                JobRun.job == "wom.sync:clan-1", JobRun.outcome == "ok"
                            )
                        )
                    ).scalar_one()
                if n:
                    return
                await asyncio.sleep(0.1)

        await asyncio.wait_for(synced(), 30)
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "sync", subcommand="now"
        )
        responses = await interaction.wait_responses(2, timeout=20)
        await running.shutdown()
    assert interaction.deferred
    assert "Synced Nevr Lucky: 303 members" in responses[-1].content


async def test_configured_ids_missing_from_the_server_are_reported_in_status(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url, report_channel_id=424242, officer_role_ids=[1, 2]):
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status"
        )
        # the officer role is unknown now: Manage Server is what lets an admin in
        reply = await interaction.wait_response(timeout=10)
        admin = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, ADMIN_USER_ID, "status"
        )
        status = await admin.wait_answer(timeout=10)
    assert "Only clan officers" in reply.content
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert "CLANSTATS_REPORT_CHANNEL_ID: no channel 424242" in fields["configuration"]
    assert "CLANSTATS_OFFICER_ROLE_IDS: no role 1" in fields["configuration"]


async def test_roster_changes_are_announced_once_even_when_the_channel_was_shut_meanwhile(
    world: ClanWorld, db_url: str
) -> None:
    from datetime import UTC, datetime

    from fakes.discord import Permission
    from fakes.world import ANNOUNCE_CHANNEL_ID

    def announcements() -> list[str]:
        return [
            e.get("description", "")
            for m in world.discord.sent_messages
            if m.channel_id == ANNOUNCE_CHANNEL_ID
            for e in m.embeds
        ]

    bot_id = world.discord.bot_user_id
    label = f"announce channel {ANNOUNCE_CHANNEL_ID}"
    async with running_bot(world, db_url) as running:
        # The startup sync first: a /sync beside it could apply WOM's answer from before the
        # rename below after a later one (two syncs of different slots are not serialised).
        await asyncio.wait_for(running.bot.startup_sync_done.wait(), 30)
        first = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "sync", subcommand="now"
        )
        await first.wait_responses(2, timeout=30)
        assert announcements() == []  # the first roster is an import, not 303 joins
        # An admin takes Send Messages away: the bot says so, and changes wait.
        await world.discord.set_channel_permissions(
            ANNOUNCE_CHANNEL_ID, bot_id, deny=Permission.SEND_MESSAGES
        )
        await world.discord.wait_for(lambda: label in running.bot.progress)
        assert "lacks Send Messages" in running.bot.progress[label]
        world.wom.rename_player(1714811, "Party Marty", datetime.now(UTC))
        world.wom.keep_only_members(301)
        second = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "sync", subcommand="now"
        )
        await second.wait_responses(2, timeout=30)
        assert announcements() == []
        # Given back: what waited is announced, without another sync.
        await world.discord.set_channel_permissions(ANNOUNCE_CHANNEL_ID, bot_id)
        await world.discord.wait_for(lambda: bool(announcements()), timeout=10)
        assert label not in running.bot.progress
        third = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "sync", subcommand="now"
        )
        await third.wait_responses(2, timeout=30)
    posted = announcements()
    assert len(posted) == 1
    assert "**partymarty94** is now **Party Marty**" in posted[0]
    assert posted[0].count("left the clan") == 2
    # WOM's feed shows old joins once the roster shrinks: history, not news
    assert "joined" not in posted[0]
    # The bot never tried to post where it could not: no 403 from Discord.
    assert not any(r.status == 403 for r in world.discord.requests)
