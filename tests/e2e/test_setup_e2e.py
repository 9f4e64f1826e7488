"""``/setup`` against the real bot and the fakes: a server with no configuration sets its clan
up from Discord; only Manage Server may; bad input at any step is answered and changes
nothing. (The e2e verdict, no violation seen by the fake Discord, closes every test.)"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import make_url, select

from cogs.reports import report_job_id
from cogs.setup import ADMIN_ONLY, EXPIRED
from domain.clans import ClanWiring
from fakes.chat_script import day_posts
from fakes.discord import Permission
from fakes.world import (
    ADMIN_USER_ID,
    ANNOUNCE_CHANNEL_ID,
    CLAN_NAME,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_ROLE_ID,
    MEMBER_USER_ID,
    OFFICER_ROLE_ID,
    OFFICER_USER_ID,
    OTHER_CLAN_NAME,
    OTHER_OFFICER_USER_ID,
    OTHER_RELAY_CHANNEL_ID,
    OTHER_RELAY_WEBHOOK_ID,
    OTHER_REPORT_CHANNEL_ID,
    RELAY_CHANNEL_ID,
    RELAY_WEBHOOK_ID,
    REPORT_CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    ClanWorld,
    build_other_clan,
)
from fakes.world import OTHER_GROUP_ID as WORLD_OTHER_GROUP_ID
from fakes.world import OTHER_GUILD_ID as WORLD_OTHER_GUILD_ID
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import JobRun
from storage.repositories.clans import save_wiring, wiring_for_guild
from tests.e2e.harness import eventually, running_bot, wait_relay_rows
from tests.e2e.setup_driver import SetupRun

#: A bot whose environment names no clan: everything comes from /setup.
UNCONFIGURED: dict[str, Any] = {
    "guild_id": None,
    "wom_group_id": None,
    "relay_channel_ids": [],
    "relay_author_ids": [],
    "report_channel_id": None,
    "announce_channel_id": None,
    "officer_role_ids": [],
    "timezone": "UTC",
}
#: Only what /setup's refusals need: no clan's jobs run beside them.
SETUP_ONLY = ("cogs.admin", "cogs.setup")
AS_OF = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
DAY_START = AS_OF - timedelta(hours=4)


def _seed_relay_channel(world: ClanWorld) -> None:
    world.discord.seed_history(RELAY_CHANNEL_ID, [kw for _, kw in day_posts(DAY_START)])


async def _stored(url: str, guild_id: int = GUILD_ID) -> Any:
    db = Database.from_url(url)
    try:
        async with db.read() as session:
            return await wiring_for_guild(session, guild_id)
    finally:
        await db.dispose()


async def test_a_server_with_no_configuration_sets_its_clan_up(
    world: ClanWorld, db_url: str
) -> None:
    _seed_relay_channel(world)
    async with running_bot(world, db_url, clock=lambda: AS_OF, **UNCONFIGURED) as running:
        assert running.bot.clans.for_guild(GUILD_ID) is None
        registered = world.discord.find_command("setup", GUILD_ID)
        assert registered is not None
        assert int(registered["default_member_permissions"]) == Permission.MANAGE_GUILD

        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)
        assert "This server has no clan yet." in run.text
        assert run.labels() == ["Enter the group id", "Cancel"]

        # 1. The WOM group, fetched and shown back.
        await run.fill("Enter the group id", {"Group id": f" #{world.wom.group_id} "})
        assert run.field("Group") == f"{CLAN_NAME} ({world.wom.group_id})"
        assert run.field("In-game clan chat") == CLAN_NAME
        assert run.field("Members") == "303"
        assert run.field("Ranks") == "27"
        await run.click("Confirm")

        # 2. The relay channel: its webhooks and bots, each with a sample and its format.
        assert run.component("Read the chosen channels").get("disabled") is True
        await run.choose("Relay channels", [RELAY_CHANNEL_ID])
        await run.click("Read the chosen channels")
        assert "2/4 · Relay authors" in run.title
        webhook = run.field("Osrs clanchat · webhook")
        assert "read as game chat" in webhook and "format: `" in webhook
        assert "\n> " in webhook  # a sample line
        trackscape = run.field("TrackScape · bot")
        assert "format: `trackscape`" in trackscape
        assert "Member Mo" not in run.text  # people are never offered as relays
        options = run.component("The relays")["options"]
        assert {o["value"] for o in options} == {str(RELAY_WEBHOOK_ID), str(TRACKSCAPE_BOT_ID)}
        # Both were recognised, so both come pre-selected; the admin keeps both.
        assert all(o["default"] for o in options)
        await run.click("Confirm the relays")

        # 3. Report and announcement channels, officer roles, report time and time zone.
        await run.choose("Report channel", [REPORT_CHANNEL_ID])
        await run.choose("Announcement channel", [ANNOUNCE_CHANNEL_ID])
        await run.choose("Officer roles", [OFFICER_ROLE_ID])
        await run.fill(
            "Report time & time zone…",
            {"Report time": "21:30", "Clan time zone": "Europe/London"},
        )
        assert run.field("Daily report") == f"<#{REPORT_CHANNEL_ID}> at 21:30"
        assert run.field("Time zone") == "Europe/London"
        assert run.field("Officer roles") == f"<@&{OFFICER_ROLE_ID}>"
        await run.click("Confirm")

        # 4. The summary, with the ladder proposed from WOM's rank order; nothing stored yet.
        assert "4/4 · Summary" in run.title
        ladder = run.field("Proposed promotion ladder (from WOM's rank order)")
        chain, staff, how = ladder.split("\n")
        assert chain.startswith("prospector → ")
        assert staff.startswith("Staff ranks (never auto-promoted): owner, deputy\\_owner, ")
        staff_ranks = staff.split(": ", 1)[1].split(", ")
        assert not set(chain.split(" → ")) & set(staff_ranks)  # staff is never climbed into
        assert "`/config ladder-propose` saves it" in how
        assert await _stored(db_url) is None
        await run.click("Save")
        assert run.title == "ClanStats is set up"

        live = running.bot.clans.for_guild(GUILD_ID)
        assert live is not None and live.clan_id is not None
        assert live == await _stored(db_url)
        assert (live.wom_group_id, live.name) == (world.wom.group_id, CLAN_NAME)
        assert live.relay_channel_ids == (RELAY_CHANNEL_ID,)
        assert set(live.relay_author_ids) == {RELAY_WEBHOOK_ID, TRACKSCAPE_BOT_ID}
        assert (live.report_channel_id, live.report_time) == (REPORT_CHANNEL_ID, time(21, 30))
        assert (live.announce_channel_id, live.officer_role_ids) == (
            ANNOUNCE_CHANNEL_ID,
            (OFFICER_ROLE_ID,),
        )
        assert live.timezone == "Europe/London"
        assert running.bot.clans.for_relay_channel(RELAY_CHANNEL_ID) == live

        # A working clan, without a restart: its first sync runs, the relay channel's
        # history and new lines are stored, and its daily report posts.
        await eventually(lambda: _sync_ok(db_url, live.clan_id), "the first WOM sync")
        history = await wait_relay_rows(db_url, 20)
        assert {r.clan_id for r in history} == {live.clan_id}
        await world.discord.post_message(
            RELAY_CHANNEL_ID, webhook_id=RELAY_WEBHOOK_ID, content="**Docofmed**: set up at last"
        )
        rows = await wait_relay_rows(db_url, len(history) + 1)
        assert any("set up at last" in (r.text or "") for r in rows)
        start = len(world.discord.sent_messages)
        running.bot.run_job_now(report_job_id(live))
        report = await world.discord.wait_for_sent(
            lambda m: m.channel_id == REPORT_CHANNEL_ID and bool(m.embeds), start=start, timeout=30
        )
        assert CLAN_NAME in str(report.embeds[0].get("title"))

        # Run again: what is stored is the starting point.
        again = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)
        assert f"Now: **{CLAN_NAME}** (WOM group {world.wom.group_id})." in again.text
        await again.click(f"Keep group {world.wom.group_id}")
        await again.click("Confirm")
        (relay_select,) = [
            c for r in again.message.components for c in r["components"] if c["type"] == 8
        ]
        assert relay_select["default_values"] == [{"id": RELAY_CHANNEL_ID, "type": "channel"}]


async def _sync_ok(url: str, clan_id: int | None) -> bool:
    db = Database.from_url(url)
    try:
        async with db.read() as session:
            found = await session.execute(
                select(JobRun.id).where(
                    JobRun.job == f"wom.sync:clan-{clan_id}", JobRun.outcome == "ok"
                )
            )
            return found.first() is not None
    finally:
        await db.dispose()


MANAGER_ROLE_ID = 1_100_000_000_000_000_023
MANAGER_USER_ID = 1_100_000_000_000_000_043


async def test_only_manage_server_may_run_setup(world: ClanWorld, sqlite_url: str) -> None:
    world.guild.add_role(MANAGER_ROLE_ID, "Manager", Permission.MANAGE_GUILD)
    world.guild.add_member(MANAGER_USER_ID, "Manager Max", [MANAGER_ROLE_ID])
    async with running_bot(world, sqlite_url, extensions=SETUP_ONLY, **UNCONFIGURED):
        # Discord hides the command from members without Manage Server by default …
        with pytest.raises(PermissionError, match="does not offer /setup"):
            await world.discord.invoke_slash(GUILD_ID, GENERAL_CHANNEL_ID, MEMBER_USER_ID, "setup")
        # … but a server may show it to them anyway (Integrations settings: the world opens
        # every command to its officers, and here /setup to its members): the bot refuses.
        world.discord.set_command_permissions(
            GUILD_ID, [{"id": MEMBER_ROLE_ID, "type": 1, "permission": True}], command="setup"
        )
        for user_id in (MEMBER_USER_ID, OFFICER_USER_ID):
            asked = await world.discord.invoke_slash(GUILD_ID, GENERAL_CHANNEL_ID, user_id, "setup")
            answer = await asked.wait_response(timeout=10)
            assert answer.ephemeral
            assert "Only members with the Manage Server permission can run /setup." in (
                answer.content
            )
            assert not answer.components
        # A manager who loses Manage Server halfway cannot click on: checked at every step.
        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, MANAGER_USER_ID)
        await world.discord.set_role_permissions(GUILD_ID, MANAGER_ROLE_ID, 0)
        clicked = await world.discord.click_button(
            run.message_id, run.component("Enter the group id")["custom_id"], MANAGER_USER_ID
        )
        refused = await clicked.wait_response(timeout=10)
        assert refused.content == ADMIN_ONLY and refused.ephemeral
        assert clicked.modal is None
    assert await _stored(sqlite_url) is None


OTHER_GUILD_ID = 1_200_000_000_000_000_001
OTHER_GROUP_ID = 4242


async def _store(url: str, *wirings: ClanWiring) -> list[ClanWiring]:
    """Save wirings as an earlier /setup would have (the database migrated first)."""
    db = Database.from_url(url)
    try:
        await upgrade(db)
        async with db.write() as session:
            return [await save_wiring(session, w, by=ADMIN_USER_ID, now=AS_OF) for w in wirings]
    finally:
        await db.dispose()


async def test_bad_input_at_each_step_is_answered_and_changes_nothing(
    world: ClanWorld, db_url: str
) -> None:
    _seed_relay_channel(world)
    ours, theirs = await _store(
        db_url,
        ClanWiring(
            clan_id=None,
            guild_id=GUILD_ID,
            wom_group_id=world.wom.group_id,
            name=CLAN_NAME,
            report_channel_id=REPORT_CHANNEL_ID,
            timezone="Europe/London",
        ),
        # A clan elsewhere whose wiring names our relay channel (an old .env's mistake).
        ClanWiring(
            clan_id=None,
            guild_id=OTHER_GUILD_ID,
            wom_group_id=OTHER_GROUP_ID,
            name="Elsewhere",
            relay_channel_ids=(RELAY_CHANNEL_ID,),
            relay_author_ids=(RELAY_WEBHOOK_ID,),
        ),
    )
    bot_id = world.discord.bot_user.id
    async with running_bot(world, db_url, extensions=SETUP_ONLY, **UNCONFIGURED) as running:
        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)

        # 1. Not a number, then a group WOM does not have: answered, still on step 1.
        await run.fill("Enter the group id", {"Group id": "nevr lucky"})
        assert "`nevr lucky` is not a WOM group id" in run.field("⚠️ Not taken")
        await run.fill("Enter the group id", {"Group id": "999999"})
        assert run.field("⚠️ Not taken").startswith("Wise Old Man has no group 999999.")
        assert "1/4" in run.title and "Enter the group id" in run.labels()
        await run.fill("Enter the group id", {"Group id": str(world.wom.group_id)})
        assert "⚠️ Not taken" not in run.text
        await run.click("Confirm")

        # 2a. A relay channel another clan owns.
        await run.choose("Relay channels", [RELAY_CHANNEL_ID])
        await run.click("Read the chosen channels")
        assert run.field("⚠️ Not taken") == (
            "#clan-chat is already the relay channel of another clan "
            f"(WOM group {OTHER_GROUP_ID}): a relay channel belongs to one clan."
        )
        assert "2/4 · Relay channels" in run.title

        # 2b. A channel the bot cannot read: it says which permission is missing, and reads
        # nothing (the fake would have recorded a history read without the permission).
        await world.discord.set_channel_permissions(
            GENERAL_CHANNEL_ID, bot_id, deny=Permission.READ_MESSAGE_HISTORY
        )
        await run.choose("Relay channels", [GENERAL_CHANNEL_ID])
        await run.click("Read the chosen channels")
        assert run.field("⚠️ Not taken").startswith(
            "The bot cannot read its history: in #general it lacks Read Message History."
        )
        # 2c. A channel with no webhook or bot in it.
        await world.discord.set_channel_permissions(GENERAL_CHANNEL_ID, bot_id)
        await run.click("Read the chosen channels")
        assert run.field("⚠️ Not taken").startswith("No webhook or bot posted in the last 200")
        await run.click("No relay channel")

        # 3. A report channel the bot cannot post its chart in; a bad time; a bad time zone.
        await world.discord.set_channel_permissions(
            ANNOUNCE_CHANNEL_ID, bot_id, deny=Permission.ATTACH_FILES
        )
        await run.choose("Report channel", [ANNOUNCE_CHANNEL_ID])
        assert "it lacks Attach Files" in run.field("⚠️ Not taken")
        assert run.field("Daily report") == f"<#{REPORT_CHANNEL_ID}> at 09:00"
        times = "Report time & time zone…"
        await run.fill(times, {"Report time": "25:00", "Clan time zone": "UTC"})
        assert run.field("⚠️ Not taken").startswith("`25:00` is not a time of day")
        await run.fill(times, {"Report time": "21:30", "Clan time zone": "Europe/Londn"})
        assert run.field("⚠️ Not taken").startswith("`Europe/Londn` is not a time zone name.")
        await run.fill(times, {"Report time": "21:30", "Clan time zone": "europe/london"})
        assert run.field("⚠️ Not taken") == (
            "Time zone `europe/london` is spelt `Europe/London`: enter it that way."
        )
        assert run.field("Daily report") == f"<#{REPORT_CHANNEL_ID}> at 09:00"
        assert run.field("Time zone") == "Europe/London"

        # Leaving changes nothing either.
        await run.click("Cancel")
        assert run.message.content == "Setup cancelled: nothing was changed."
        assert not run.message.components
        assert running.bot.clans.for_guild(GUILD_ID) == ours
    assert await _stored(db_url) == ours
    assert await _stored(db_url, OTHER_GUILD_ID) == theirs


async def test_a_second_server_sets_its_clan_up_beside_the_first(
    world: ClanWorld, db_url: str
) -> None:
    """The first clan comes from the environment (imported on start); the second server's
    admin runs /setup in the same process: both clans live, neither touched by the other."""
    other = build_other_clan(world.discord, world.wom)
    other.add_member(ADMIN_USER_ID, "Admin Ada")  # its owner
    world.discord.seed_history(
        OTHER_RELAY_CHANNEL_ID,
        [
            {"webhook_id": OTHER_RELAY_WEBHOOK_ID, "content": "**Zezima**: hello other clan"},
            {"author_id": OTHER_OFFICER_USER_ID, "content": "a person"},
        ],
    )
    async with running_bot(world, db_url) as running:
        first = running.bot.clans.for_guild(GUILD_ID)
        assert first is not None
        # This install names its guild: the other server gets the commands once ready.
        await world.discord.wait_for(
            lambda: world.discord.find_command("setup", WORLD_OTHER_GUILD_ID) is not None, 10
        )
        run = await SetupRun.start(
            world, WORLD_OTHER_GUILD_ID, OTHER_RELAY_CHANNEL_ID, ADMIN_USER_ID
        )
        # The first clan's group is the first server's: refused.
        await run.fill("Enter the group id", {"Group id": str(world.wom.group_id)})
        assert run.field("⚠️ Not taken") == (
            f"WOM group {world.wom.group_id} is already the clan of another Discord server: "
            "a group is one server's clan."
        )
        await run.fill("Enter the group id", {"Group id": str(WORLD_OTHER_GROUP_ID)})
        assert run.field("Group") == f"{OTHER_CLAN_NAME} ({WORLD_OTHER_GROUP_ID})"
        await run.click("Confirm")
        # The first clan's relay channel is not this server's: Discord offers only its own.
        with pytest.raises(ValueError, match="is not offered"):
            await run.choose("Relay channels", [RELAY_CHANNEL_ID])
        await run.choose("Relay channels", [OTHER_RELAY_CHANNEL_ID])
        await run.click("Read the chosen channels")
        assert run.component("The relays")["options"] == [
            {
                "label": "Osrs clanchat (webhook)",
                "value": str(OTHER_RELAY_WEBHOOK_ID),
                "description": "1 messages · clanchat_net",
                "default": True,
            }
        ]
        await run.click("Confirm the relays")
        await run.choose("Report channel", [OTHER_REPORT_CHANNEL_ID])
        await run.click("Confirm")
        await run.click("Save")
        assert run.title == "ClanStats is set up"

        second = running.bot.clans.for_guild(WORLD_OTHER_GUILD_ID)
        assert second is not None and second.clan_id != first.clan_id
        assert second.relay_author_ids == (OTHER_RELAY_WEBHOOK_ID,)
        # The first clan is untouched (its name is learnt by its own first sync meanwhile).
        assert _unnamed(running.bot.clans.for_guild(GUILD_ID)) == _unnamed(first)
        assert [w.guild_id for w in running.bot.clans.all()] == [GUILD_ID, WORLD_OTHER_GUILD_ID]
        rows = await wait_relay_rows(db_url, 1)
        assert any(r.clan_id == second.clan_id for r in rows)
    assert _unnamed(await _stored(db_url)) == _unnamed(first)
    assert await _stored(db_url, WORLD_OTHER_GUILD_ID) == second


def _unnamed(wiring: ClanWiring | None) -> ClanWiring | None:
    return None if wiring is None else replace(wiring, name="")


QUIET_RELAY_ID = 1_100_000_000_000_000_032


async def test_a_run_again_keeps_a_relay_that_was_quiet_lately(
    world: ClanWorld, sqlite_url: str
) -> None:
    _seed_relay_channel(world)
    (before,) = await _store(
        sqlite_url,
        ClanWiring(
            clan_id=None,
            guild_id=GUILD_ID,
            wom_group_id=world.wom.group_id,
            name=CLAN_NAME,
            relay_channel_ids=(RELAY_CHANNEL_ID,),
            relay_author_ids=(RELAY_WEBHOOK_ID, QUIET_RELAY_ID),
        ),
    )
    async with running_bot(world, sqlite_url, extensions=SETUP_ONLY, **UNCONFIGURED) as running:
        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)
        await run.click(f"Keep group {world.wom.group_id}")
        await run.click("Confirm")
        await run.click("Read the chosen channels")  # the stored channel, pre-selected
        options = {o["value"]: o for o in run.component("The relays")["options"]}
        assert options[str(QUIET_RELAY_ID)]["label"] == f"Relay {QUIET_RELAY_ID} (not seen lately)"
        assert options[str(QUIET_RELAY_ID)]["default"] is True
        assert options[str(RELAY_WEBHOOK_ID)]["default"] is True
        assert options[str(TRACKSCAPE_BOT_ID)]["default"] is False  # not a relay before
        assert run.field("Relays set before, not seen lately") == f"`{QUIET_RELAY_ID}`"
        assert run.field("Relays picked") == f"Osrs clanchat, `{QUIET_RELAY_ID}`"
        await run.click("Confirm the relays")
        await run.click("Confirm")
        await run.click("Save")
        after = running.bot.clans.for_guild(GUILD_ID)
    assert after is not None and after == await _stored(sqlite_url)
    assert after.relay_author_ids == (RELAY_WEBHOOK_ID, QUIET_RELAY_ID)
    assert after == before  # nothing else changed either


async def test_a_setup_left_unanswered_expires_and_says_so(
    world: ClanWorld, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(world, sqlite_url, extensions=SETUP_ONLY, **UNCONFIGURED):
        # discord.py loads an extension as a module object of its own: patch that one.
        monkeypatch.setattr(sys.modules["cogs.setup"], "VIEW_TIMEOUT_S", 1.0)
        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)
        await run.fill("Enter the group id", {"Group id": str(world.wom.group_id)})
        expired = await world.discord.wait_for_sent(
            lambda m: m.message_id == run.message_id and m.content == EXPIRED,
            timeout=10,
        )
        assert not expired.embeds and not expired.components
    assert await _stored(sqlite_url) is None


async def test_a_save_while_the_database_is_locked_saves_nothing_and_can_be_pressed_again(
    world: ClanWorld, sqlite_url: str
) -> None:
    async with running_bot(
        world, sqlite_url, extensions=SETUP_ONLY, db_busy_timeout_s=0.2, **UNCONFIGURED
    ) as running:
        run = await SetupRun.start(world, GUILD_ID, GENERAL_CHANNEL_ID, ADMIN_USER_ID)
        await run.fill("Enter the group id", {"Group id": str(world.wom.group_id)})
        await run.click("Confirm")
        await run.click("No relay channel")
        await run.click("Confirm")
        # Another writer holds SQLite's write lock past the bot's busy timeout.
        path = make_url(sqlite_url).database
        assert path is not None
        holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            await run.click("Save")
            assert run.field("⚠️ Not taken") == (
                "The database cannot be written right now: nothing was saved. Press Save "
                "again in a minute."
            )
            assert "4/4 · Summary" in run.title
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert running.bot.clans.for_guild(GUILD_ID) is None
        await run.click("Save")
        assert run.title == "ClanStats is set up"
        assert running.bot.clans.for_guild(GUILD_ID) == await _stored(sqlite_url)
