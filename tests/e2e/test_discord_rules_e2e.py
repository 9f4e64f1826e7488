"""The bot under Discord's rules: channels it may not use, rate limits, and nothing lost.

The bot checks its permissions before it posts or reads history (a 403 counts against it),
says once (a log line, /status) which configured channel it cannot use and why, keeps the
work for later, and does it when Discord reports the channel fixed. discord.py waits out a
429 and retries.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cogs.reports import REPORT_JOB
from fakes.chat_script import chat
from fakes.discord import Permission, SentMessage
from fakes.world import (
    GUILD_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from storage.models import JobRun
from tests.e2e.harness import (
    RunningBot,
    captured_logs,
    eventually,
    running_bot,
    stored_relay_rows,
    wait_relay_rows,
)


async def _status_fields(world: ClanWorld) -> dict[str, str]:
    asked = await world.discord.invoke_slash(GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status")
    reply = await asked.wait_answer(timeout=10)
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


async def _report_runs(running: RunningBot) -> list[str]:
    async with running.bot.app.db.read() as s:
        runs = await s.execute(select(JobRun.outcome).where(JobRun.job == f"{REPORT_JOB}:clan-1"))
        return [r[0] for r in runs]


def _reports(world: ClanWorld) -> list[SentMessage]:
    return [m for m in world.discord.sent_messages if m.channel_id == REPORT_CHANNEL_ID]


async def test_a_report_channel_without_attach_files_is_said_once_and_the_report_waits(
    world: ClanWorld, db_url: str
) -> None:
    bot_id = world.discord.bot_user_id
    await world.discord.set_channel_permissions(
        REPORT_CHANNEL_ID, bot_id, deny=Permission.ATTACH_FILES
    )
    label = f"report channel {REPORT_CHANNEL_ID}"
    with captured_logs() as logs:
        async with running_bot(world, db_url) as running:
            await world.discord.wait_for(lambda: label in running.bot.progress)
            shown = (await _status_fields(world))[label]
            assert shown.startswith("#officer-reports: the bot lacks Attach Files")
            assert "the daily report waits" in shown

            # Report time: the run fails with the reason, and nothing is sent to Discord.
            running.bot.scheduler.modify_job("daily-report:clan-1", next_run_time=datetime.now(UTC))
            await eventually(lambda: _has(running, ["failed"]), "the report run failing")
            cog = running.bot.get_cog("ReportsCog")
            assert cog is not None
            again = await cog.post_report(GUILD_ID, _due(running))  # type: ignore[attr-defined]
            assert again.outcome == "failed"
            assert _reports(world) == []

            # Fixed by an admin: Discord says so (CHANNEL_UPDATE), and the day's report is
            # posted, though Discord first answers 429 (a busy channel): discord.py waits.
            world.discord.rate_limit_next(
                "POST", "/channels/{channel_id}/messages", retry_after=0.3
            )
            await world.discord.set_channel_permissions(REPORT_CHANNEL_ID, bot_id)
            await world.discord.wait_for(lambda: len(_reports(world)) == 1, timeout=20)
            await eventually(lambda: _has(running, ["ok"]), "the report run recorded as ok")
            assert label not in await _status_fields(world)
    unusable = logs.events("channel.unusable", purpose="report")
    assert len(unusable) == 1, unusable  # two failed runs, one line
    assert "lacks Attach Files" in str(unusable[0]["problem"])
    assert len(logs.events("channel.usable_again", purpose="report")) == 1
    assert len(logs.events("report.retry")) == 1
    report = _reports(world)[0]
    assert report.attachments[0].filename == "clan-activity.png"
    posts = [
        r
        for r in world.discord.requests
        if r.method == "POST" and r.path.endswith(f"/channels/{REPORT_CHANNEL_ID}/messages")
    ]
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.3


def _due(running: RunningBot) -> datetime:
    from cogs.reports import last_report_time

    return last_report_time(running.bot.app.now(), running.settings)


async def _has(running: RunningBot, outcomes: list[str]) -> bool:
    return await _report_runs(running) == outcomes


async def test_a_relay_channel_the_bot_cannot_read_is_read_in_full_once_it_can(
    world: ClanWorld, db_url: str
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    bot_id = world.discord.bot_user_id
    world.discord.seed_history(
        RELAY_CHANNEL_ID,
        [chat(m, "DocOfMed", f"while down {m}").post_kwargs(start) for m in range(150)],
    )
    await world.discord.set_channel_permissions(
        RELAY_CHANNEL_ID, bot_id, deny=Permission.READ_MESSAGE_HISTORY
    )
    label = f"relay channel {RELAY_CHANNEL_ID}"
    with captured_logs() as logs:
        async with running_bot(world, db_url) as running:
            await world.discord.wait_for(lambda: label in running.bot.progress)
            assert "lacks Read Message History" in (await _status_fields(world))[label]
            # Hidden from the bot altogether: Discord sends it none of the channel's messages.
            await world.discord.set_channel_permissions(
                RELAY_CHANNEL_ID, bot_id, deny=Permission.VIEW_CHANNEL
            )
            await world.discord.wait_for(
                lambda: "View Channel" in running.bot.progress.get(label, "")
            )
            for m in range(150, 160):
                await world.discord.post_message(
                    RELAY_CHANNEL_ID, **chat(m, "DocOfMed", f"hidden {m}").post_kwargs(start)
                )
            assert await stored_relay_rows(db_url) == []
            # Fixed: the backfill reads everything it could not, once.
            await world.discord.set_channel_permissions(RELAY_CHANNEL_ID, bot_id)
            rows = await wait_relay_rows(db_url, 160)
            assert label not in running.bot.progress
    source = {int(m["id"]) for m in world.discord.history(RELAY_CHANNEL_ID)}
    assert sorted(r.message_id for r in rows) == sorted(source)
    assert len(rows) == 160
    assert [e["problem"] for e in logs.events("channel.unusable", purpose="relay")] == [
        "#clan-chat: the bot lacks Read Message History",
        "#clan-chat: the bot lacks View Channel, Read Message History",
    ]
    assert len(logs.events("channel.usable_again", purpose="relay")) == 1
    # The bot never asked Discord for what it could not have: no 403, no empty page.
    assert not any(r.status == 403 for r in world.discord.requests)
