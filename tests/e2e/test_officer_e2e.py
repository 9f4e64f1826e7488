"""Officer commands, paging, autocomplete and the daily report, against the real bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cogs.reports import last_report_time
from fakes.chat_script import day_posts
from fakes.discord import FakeInteraction, SentMessage
from fakes.world import (
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import JobRun
from tests.e2e.harness import RunningBot, running_bot, wait_relay_rows

OFFICER_SUBCOMMANDS = ("report", "inactive", "audit", "alerts", "promotions", "unmatched")


async def _synced(running: RunningBot) -> None:
    async def done() -> bool:
        async with running.bot.app.db.read() as s:
            n = (
                await s.execute(
                    select(func.count(JobRun.id)).where(
                        JobRun.job == "wom.sync", JobRun.outcome == "ok"
                    )
                )
            ).scalar_one()
        return bool(n)

    for _ in range(300):
        if await done():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the startup sync did not finish")


async def _answer(interaction: FakeInteraction) -> SentMessage:
    responses = await interaction.wait_responses(2, timeout=30)  # defer, then the answer
    return responses[-1]


async def test_officer_commands_answer_officers_and_refuse_members(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        for _post, kwargs in day_posts(datetime.now(UTC) - timedelta(hours=3)):
            await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)
        await wait_relay_rows(db_url, 20)  # 18 posts; the TrackScape post carries 3 embeds
        for sub in OFFICER_SUBCOMMANDS:
            refused = await world.discord.invoke_slash(
                GUILD_ID, REPORT_CHANNEL_ID, MEMBER_USER_ID, "clan", subcommand=sub
            )
            reply = await refused.wait_response(timeout=10)
            assert "Only clan officers" in reply.content, sub
            assert reply.ephemeral

            asked = await world.discord.invoke_slash(
                GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand=sub
            )
            answer = await _answer(asked)
            assert answer.embeds, f"/clan {sub} gave no embed: {answer.content!r}"
            assert answer.ephemeral

        public = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            OFFICER_USER_ID,
            "clan",
            [{"name": "public", "value": True}],
            subcommand="audit",
        )
        assert not (await _answer(public)).ephemeral

        profile = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "player",
            [{"name": "name", "value": "DOCOFMED"}],
        )
        shown = await _answer(profile)
        assert shown.embeds[0]["title"] == "DocOfMed"

        board = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "leaderboard",
            [{"name": "metric", "value": "chat"}, {"name": "period", "value": "1d"}],
        )
        lines = (await _answer(board)).embeds[0]["description"]
        assert "DocOfMed" in lines or "vanvolter ii" in lines

        unknown = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "player",
            [{"name": "name", "value": "Nobody Here"}],
        )
        sorry = await _answer(unknown)
        assert "trace id" in sorry.content and sorry.ephemeral


async def test_paging_works_for_the_invoker_and_is_refused_to_others(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        asked = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand="inactive"
        )
        first = await _answer(asked)
        footer = first.embeds[0]["footer"]["text"]
        assert footer.startswith("page 1/") and not footer.startswith("page 1/1 ")
        assert {"pager:prev", "pager:next"} <= set(first.custom_ids())

        other = await world.discord.click_button(first, "pager:next", MEMBER_USER_ID)
        refusal = await other.wait_response(timeout=10)
        assert "Only the officer who ran this command" in refusal.content

        mine = await world.discord.click_button(first, "pager:next", OFFICER_USER_ID)
        page_two = await mine.wait_response(timeout=10)
        assert page_two.embeds[0]["footer"]["text"].startswith("page 2/")

        csv_click = await world.discord.click_button(
            first, next(c for c in first.custom_ids() if c.endswith(".csv")), OFFICER_USER_ID
        )
        attached = await csv_click.wait_response(timeout=10)
        assert attached.attachments and attached.attachments[0].data.startswith(b"member,rank")


async def test_autocomplete_answers_within_discord_limits(world: ClanWorld, db_url: str) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        names = await world.discord.invoke_autocomplete(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "player",
            [{"name": "name", "value": ""}],
            focused="name",
        )
        metrics = await world.discord.invoke_autocomplete(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "leaderboard",
            [{"name": "metric", "value": "zul"}],
            focused="metric",
        )
    assert 0 < len(names) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in names + metrics)
    assert any(c["value"] == "zulrah" for c in metrics)


def _reports(world: ClanWorld) -> list[SentMessage]:
    return [
        m
        for m in world.discord.sent_messages
        if m.channel_id == REPORT_CHANNEL_ID and m.kind == "message"
    ]


async def test_daily_report_posts_once_at_its_time_and_not_again_after_a_restart(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        assert running.bot.scheduler.get_job("daily-report-catch-up") is None  # fresh install
        running.bot.scheduler.modify_job("daily-report", next_run_time=datetime.now(UTC))
        await world.discord.wait_for(lambda: len(_reports(world)) == 1, timeout=30)
        # the same day's slot again (a second instance, a duplicate fire): nothing
        # discord.py loads extensions as fresh module objects: reach the cog by name.
        cog = running.bot.get_cog("ReportsCog")
        assert cog is not None
        due = last_report_time(datetime.now(UTC), running.settings)
        again = await cog.post_report(due)  # type: ignore[attr-defined]
        assert again.outcome == "skipped"
    async with running_bot(world, db_url) as restarted:
        # today's report exists: the restart schedules no catch-up
        assert restarted.bot.scheduler.get_job("daily-report-catch-up") is None
        assert restarted.bot.scheduler.get_job("daily-report") is not None
    posted = _reports(world)
    assert len(posted) == 1
    report = posted[0]
    assert "daily report" in report.embeds[0]["title"]
    assert report.attachments[0].filename == "clan-activity.png"
    assert report.attachments[0].data.startswith(b"\x89PNG")
    assert report.embeds[1]["image"]["url"] == "attachment://clan-activity.png"
    assert sum(len(str(e)) for e in report.embeds) < 12_000


async def test_a_report_missed_during_downtime_is_caught_up_once(
    world: ClanWorld, db_url: str
) -> None:
    db = Database.from_url(db_url)
    await upgrade(db)
    async with db.write() as s:  # the bot posted reports before it went down
        s.add(
            JobRun(
                job="report.daily",
                slot="2000-01-01",
                started_at=datetime(2000, 1, 1, tzinfo=UTC),
                finished_at=datetime(2000, 1, 1, tzinfo=UTC),
                outcome="ok",
                counts={},
            )
        )
    await db.dispose()
    async with running_bot(world, db_url):
        await world.discord.wait_for(lambda: len(_reports(world)) == 1, timeout=30)
    async with running_bot(world, db_url) as restarted:
        assert restarted.bot.scheduler.get_job("daily-report-catch-up") is None
    assert len(_reports(world)) == 1


async def test_paging_buttons_expire_and_are_greyed_out(
    world: ClanWorld, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cogs.officer._paging as paging

    monkeypatch.setattr(paging, "PAGER_TIMEOUT_S", 1.0)
    async with running_bot(world, db_url) as running:
        await _synced(running)
        asked = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand="inactive"
        )
        first = await _answer(asked)
        edited = await world.discord.wait_for_sent(
            lambda m: m.kind == "original_edit" and m.interaction_id == asked.id, timeout=15
        )
    buttons = [c for row in edited.components for c in row.get("components", [])]
    assert buttons and all(b.get("disabled") for b in buttons)
    assert first.custom_ids() == edited.custom_ids()
