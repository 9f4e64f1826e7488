"""One bot process serving two clans, each in its own guild, on the fakes: the relay of each
is stored for that clan only, each gets its own daily report in its own channel at its own
time, an officer sees only their own clan, a guild with no clan is told to run /setup, one
clan's WOM failure does not stop the other's sync, and leaving a guild stops that clan's
jobs and keeps its data (rejoining resumes them)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time

from sqlalchemy import func, select

from domain.clans import ClanWiring
from fakes.chat_script import chat
from fakes.discord import SentMessage
from fakes.wom import Fault
from fakes.world import (
    BARE_CHANNEL_ID,
    BARE_GUILD_ID,
    GUILD_ID,
    OFFICER_USER_ID,
    OTHER_ANNOUNCE_CHANNEL_ID,
    OTHER_CLAN_NAME,
    OTHER_GROUP_ID,
    OTHER_GUILD_ID,
    OTHER_OFFICER_ROLE_ID,
    OTHER_OFFICER_USER_ID,
    OTHER_RELAY_CHANNEL_ID,
    OTHER_RELAY_WEBHOOK_ID,
    OTHER_REPORT_CHANNEL_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
    build_other_clan,
)
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import Clan, JobRun, Member, RelayMessage
from storage.repositories.clans import save_wiring
from tests.e2e.harness import RunningBot, eventually, running_bot

OTHER_WIRING = ClanWiring(
    clan_id=None,
    guild_id=OTHER_GUILD_ID,
    wom_group_id=OTHER_GROUP_ID,
    name=OTHER_CLAN_NAME,
    relay_channel_ids=(OTHER_RELAY_CHANNEL_ID,),
    relay_author_ids=(OTHER_RELAY_WEBHOOK_ID,),
    report_channel_id=OTHER_REPORT_CHANNEL_ID,
    report_time=time(7, 30),
    announce_channel_id=OTHER_ANNOUNCE_CHANNEL_ID,
    officer_role_ids=(OTHER_OFFICER_ROLE_ID,),
    timezone="America/New_York",
)


async def _set_up_other_clan(world: ClanWorld, db_url: str) -> None:
    """The second guild's clan, as /setup stores it (the first comes from the environment)."""
    build_other_clan(world.discord, world.wom)
    db = Database.from_url(db_url)
    try:
        await upgrade(db)
        async with db.write() as s:
            await save_wiring(s, OTHER_WIRING, by=OTHER_OFFICER_USER_ID, now=datetime.now(UTC))
    finally:
        await db.dispose()


async def _runs(running: RunningBot, job: str) -> list[str]:
    async with running.bot.app.db.read() as s:
        rows = await s.execute(select(JobRun.outcome).where(JobRun.job == job).order_by(JobRun.id))
        return list(rows.scalars())


async def _ran_ok(running: RunningBot, job: str) -> None:
    async def ok() -> bool:
        return "ok" in await _runs(running, job)

    await eventually(ok, f"{job} ran", limit_s=60)


async def _answer(
    world: ClanWorld, guild: int, channel: int, user: int, *cmd: str, offered: bool = True
) -> SentMessage:
    """``offered=False``: as if the server's integration settings opened the command to
    everyone (Discord would not offer it otherwise): the bot's own check answers."""
    name, *sub = cmd
    asked = await world.discord.invoke_slash(
        guild,
        channel,
        user,
        name,
        subcommand=sub[0] if sub else None,
        check_permissions=offered,
    )
    return await asked.wait_answer(timeout=30)


def _status_fields(reply: SentMessage) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


async def test_two_clans_in_one_process_stay_apart(world: ClanWorld, db_url: str) -> None:
    await _set_up_other_clan(world, db_url)
    day = datetime.now(UTC).replace(microsecond=0)
    async with running_bot(world, db_url) as running:
        assert [w.guild_id for w in running.bot.clans.all()] == [OTHER_GUILD_ID, GUILD_ID]
        other, first = running.bot.clans.all()
        await _ran_ok(running, f"wom.sync:{first.label}")
        await _ran_ok(running, f"wom.sync:{other.label}")

        # Relay: three lines in the first clan's channel, five in the other's.
        for m in range(3):
            await world.discord.post_message(
                RELAY_CHANNEL_ID, **chat(m, "DocOfMed", f"first clan {m}").post_kwargs(day)
            )
        for m in range(5):
            await world.discord.post_message(
                OTHER_RELAY_CHANNEL_ID,
                **chat(
                    m, "DocOfMed", f"other clan {m}", webhook_id=OTHER_RELAY_WEBHOOK_ID
                ).post_kwargs(day),
            )

        async def stored() -> bool:
            async with running.bot.app.db.read() as s:
                return (await s.scalar(select(func.count(RelayMessage.id)))) == 8

        await eventually(stored, "both clans' relay lines stored")
        async with running.bot.app.db.read() as s:
            rows = (await s.execute(select(RelayMessage.clan_id, RelayMessage.text))).all()
        assert sorted(t for c, t in rows if c == first.clan_id) == [
            f"first clan {m}" for m in range(3)
        ]
        assert sorted(t for c, t in rows if c == other.clan_id) == [
            f"other clan {m}" for m in range(5)
        ]

        # Each officer sees their own clan only; the first clan's officer is nobody in the
        # other guild, and a guild with no clan is told how to get one.
        mine = await _answer(world, GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status")
        theirs = await _answer(
            world, OTHER_GUILD_ID, OTHER_RELAY_CHANNEL_ID, OTHER_OFFICER_USER_ID, "status"
        )
        assert _status_fields(mine)["Relay messages"].startswith("3 ")
        assert _status_fields(theirs)["Relay messages"].startswith("5 ")
        assert f"wom.sync:{first.label}" in _status_fields(mine)["Recent jobs"]
        assert other.label not in _status_fields(mine)["Recent jobs"]
        assert first.label not in _status_fields(theirs)["Recent jobs"]
        refused = await _answer(
            world,
            OTHER_GUILD_ID,
            OTHER_RELAY_CHANNEL_ID,
            OFFICER_USER_ID,
            "clan",
            "inactive",
            offered=False,
        )
        assert "Only clan officers" in refused.content
        bare = await _answer(
            world, BARE_GUILD_ID, BARE_CHANNEL_ID, OFFICER_USER_ID, "status", offered=False
        )
        assert "No clan is set up in this server yet: a server admin runs `/setup`." in (
            bare.content
        )

        # Each clan's daily report: its own job, time and time zone, its own channel.
        trigger = running.bot.scheduler.get_job(f"daily-report:{other.label}").trigger
        assert (str(trigger.timezone), str(trigger.fields[5]), str(trigger.fields[6])) == (
            "America/New_York",
            "7",
            "30",
        )
        posted = len(world.discord.sent_messages)
        running.bot.run_job_now(f"daily-report:{first.label}")
        running.bot.run_job_now(f"daily-report:{other.label}")
        await world.discord.wait_for(
            lambda: (
                {m.channel_id for m in world.discord.sent_messages[posted:]}
                >= {REPORT_CHANNEL_ID, OTHER_REPORT_CHANNEL_ID}
            ),
            timeout=30,
        )
        reports = {m.channel_id: m.embeds[0]["title"] for m in world.discord.sent_messages[posted:]}
        assert "Nevr Lucky" in reports[REPORT_CHANNEL_ID]
        assert OTHER_CLAN_NAME in reports[OTHER_REPORT_CHANNEL_ID]
        await _ran_ok(running, f"report.daily:{first.label}")
        await _ran_ok(running, f"report.daily:{other.label}")


async def test_one_clans_wom_failure_does_not_stop_the_others_sync(
    world: ClanWorld, db_url: str
) -> None:
    await _set_up_other_clan(world, db_url)
    # WOM answers 503 for the first clan's group, every time.
    world.wom.inject(Fault.unavailable(), path_prefix=f"/groups/{world.wom.group_id}", times=1000)
    async with running_bot(world, db_url) as running:
        other, first = running.bot.clans.all()
        await _ran_ok(running, f"wom.sync:{other.label}")
        # (Usually while the first one's is still retrying: syncs of two clans never wait
        # for each other.)
        assert "ok" not in await _runs(running, f"wom.sync:{first.label}")

        async def failed() -> bool:
            return await _runs(running, f"wom.sync:{first.label}") == ["failed"]

        await eventually(failed, "the first clan's sync failing", limit_s=60)
        async with running.bot.app.db.read() as s:
            members = dict(
                (
                    await s.execute(
                        select(Member.clan_id, func.count(Member.id)).group_by(Member.clan_id)
                    )
                ).all()
            )
        assert members == {other.clan_id: 303}


async def test_leaving_a_guild_stops_its_clan_and_keeps_its_data_and_rejoining_resumes(
    world: ClanWorld, db_url: str
) -> None:
    await _set_up_other_clan(world, db_url)
    async with running_bot(world, db_url) as running:
        other, first = running.bot.clans.all()
        await _ran_ok(running, f"wom.sync:{other.label}")
        jobs = [f"wom-sync:{other.label}", f"daily-report:{other.label}"]
        assert all(running.bot.scheduler.get_job(j) for j in jobs)

        await world.discord.remove_bot_from_guild(OTHER_GUILD_ID)
        await world.discord.wait_for(lambda: running.bot.clans.for_guild(OTHER_GUILD_ID) is None)
        assert not any(running.bot.scheduler.get_job(j) for j in jobs)
        assert running.bot.scheduler.get_job(f"wom-sync:{first.label}") is not None
        async with running.bot.app.db.read() as s:
            row = (await s.execute(select(Clan).where(Clan.id == other.clan_id))).scalar_one()
            kept = await s.scalar(
                select(func.count(Member.id)).where(Member.clan_id == other.clan_id)
            )
        assert row.active is False and kept == 303

        await world.discord.add_bot_to_guild(OTHER_GUILD_ID)
        await world.discord.wait_for(
            lambda: running.bot.clans.for_guild(OTHER_GUILD_ID) is not None
        )
        await eventually(
            lambda: asyncio.sleep(0, all(running.bot.scheduler.get_job(j) for j in jobs)),
            "the clan's jobs scheduled again",
        )
        async with running.bot.app.db.read() as s:
            active = await s.scalar(select(Clan.active).where(Clan.id == other.clan_id))
        assert active is True
