"""Officer commands, paging, autocomplete and the daily report, against the real bot."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from tests.e2e.harness import RunningBot, eventually, running_bot, wait_relay_rows

OFFICER_SUBCOMMANDS = ("report", "inactive", "audit", "alerts", "promotions", "unmatched")


async def _synced(running: RunningBot) -> None:
    async def done() -> bool:
        async with running.bot.app.db.read() as s:
            n = (
                await s.execute(
                    select(func.count(JobRun.id)).where(
                        JobRun.job == "wom.sync:clan-1", JobRun.outcome == "ok"
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


# The officer answers are checked against what the data says, worked out by hand from the
# recorded WOM group (fakes/data/wom/group-11114-2025-12-23T1935Z.json) and the scripted day
# (fakes/chat_script.py), on a clock pinned just after the recording.
AS_OF = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
# The day ends 200 minutes after it starts: all of it lies before AS_OF.
DAY_START = AS_OF - timedelta(hours=4)
# Members who chatted that day (Victor Locke chatted too, but is not in the WOM group) …
CHATTED = {
    "partymarty94",
    "docofmed",
    "vanvolter ii",
    "hai ku",
    "hi ku",
    "jbwell",
    "theforgegod",
    "ll05",
    "llo6",
}
# … and those a broadcast showed progressing (a drop, a 99, a log slot, a pet, a level).
BROADCAST = {"docofmed", "jbwell", "sir gowi", "psilocyn", "ll05", "mtndck"}


def _wom_members() -> dict[str, datetime | None]:
    """Every member's name key and WOM's lastChangedAt (their last progress), from the file."""
    path = Path(__file__).resolve().parents[2] / "fakes/data/wom/group-11114-2025-12-23T1935Z.json"
    group = json.loads(path.read_text())
    out: dict[str, datetime | None] = {}
    for membership in group["memberships"]:
        player = membership["player"]
        changed = player["lastChangedAt"]
        out[player["username"]] = datetime.fromisoformat(changed) if changed else None
    return out


def _idle_for(days: int) -> set[str]:
    """Members with no chat, no broadcast and no WOM progress in the ``days`` before AS_OF."""
    since = AS_OF - timedelta(days=days)
    return {
        name
        for name, changed in _wom_members().items()
        if name not in CHATTED | BROADCAST and (changed is None or changed < since)
    }


async def _csv_rows(world: ClanWorld, answer: SentMessage) -> list[dict[str, str]]:
    """The full list behind a paged answer, from its CSV button."""
    button = next(c for c in answer.custom_ids() if c.endswith(".csv"))
    click = await world.discord.click_button(answer, button, OFFICER_USER_ID)
    attached = (await click.wait_response(timeout=10)).attachments[0]
    return list(csv.DictReader(io.StringIO(attached.data.decode())))


def _key(name: str) -> str:
    return name.lower()


async def test_officer_commands_answer_officers_and_refuse_members(
    world: ClanWorld, db_url: str
) -> None:
    answers: dict[str, SentMessage] = {}
    rows: dict[str, list[dict[str, str]]] = {}
    async with running_bot(world, db_url, clock=lambda: AS_OF) as running:
        await _synced(running)
        for _post, kwargs in day_posts(DAY_START):
            await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)
        await wait_relay_rows(db_url, 20)  # 18 posts; the TrackScape post carries 3 embeds
        # Discord hides /clan from members; opened to everyone, the bot still refuses them.
        world.discord.set_command_permissions(
            GUILD_ID, [{"id": GUILD_ID, "type": 1, "permission": True}], command="clan"
        )
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
            answers[sub] = answer
            if sub != "report":
                rows[sub] = await _csv_rows(world, answer)

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

    # /clan report: the day in numbers. 11 chat lines (the whip relayed twice counts once),
    # from the 9 members above and Victor Locke; one WOM sync, so no XP gained yet.
    pulse, attention = answers["report"].embeds
    assert pulse["title"] == "Nevr Lucky: daily report, Tue 23 Dec 2025"
    # the day's span as timestamps each reader sees in their own time zone: the clan's day
    # (Europe/London) up to the report's moment
    span, numbers = pulse["description"].split("\n", 1)
    assert span == "<t:1766433600:f> – <t:1766520000:f>"  # 2025-12-22 20:00 – 12-23 20:00 UTC
    assert numbers.startswith("**11** chat lines")
    assert "**9** of 303 members chatted · **0** XP gained" in pulse["description"]
    fields = {f["name"]: f["value"] for f in pulse["fields"]}
    assert fields["Top chatters"].splitlines()[0] == "1. **vanvolter ii** 2 lines"
    for drop in ("Abyssal whip (1,456,814 coins)", "Butch at 194 kills", "Attack level 99"):
        assert drop in fields["Notable"]
    # /clan unmatched: the one name in the relay that is no member, with his chat line and
    # the broadcast of his invitation: counted together in "lines", or (the report rework on
    # main) apart in "chat_lines" and "broadcasts".
    (victor,) = rows["unmatched"]
    assert victor["name"] == "Victor Locke"
    if "chat_lines" in victor:
        assert (victor["chat_lines"], victor["broadcasts"]) == ("1", "1")
    else:
        assert victor["lines"] == "2"
    assert "Unmatched relay names: 1" in {f["name"] for f in attention["fields"]}
    # /clan inactive: no chat and no progress in 60 days: the two members WOM never saw
    # progress from, and nobody else.
    assert {_key(r["member"]) for r in rows["inactive"]} == _idle_for(60)
    assert _idle_for(60) == {"sulkypeen", "cervixthumpr"}
    assert answers["inactive"].embeds[0]["footer"]["text"].startswith("page 1/1 · 2 in all")
    # /clan audit: every staff member; AWOL exactly when idle for the audit's 30 days.
    staff = {_key(r["member"]): r for r in rows["audit"]}
    awol = {name for name, r in staff.items() if r["finding"] == "officer_awol"}
    assert awol == set(staff) & _idle_for(30)
    assert "llo6" in staff and "llo6" not in awol  # a deputy owner who said good night
    # /clan alerts: the leadership idle for 7 days (a slump), and no one else.
    leadership = {name for name, r in staff.items() if r["tier"] == "leadership"}
    slumps = {_key(r["member"]) for r in rows["alerts"] if r["finding"] == "leadership_slump"}
    assert slumps == leadership & _idle_for(7)
    assert {r["finding"] for r in rows["alerts"]} <= {"leadership_slump"}
    # /clan promotions: promotions need activity over 30 days, and one sync holds no gains.
    assert rows["promotions"] == []
    assert answers["promotions"].embeds[0]["description"] == "Nobody is due a promotion yet."


async def test_paging_works_for_the_invoker_and_is_refused_to_others(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        # Posted for everyone: another member sees the buttons (an ephemeral answer's buttons
        # only its invoker can see, let alone press).
        asked = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            OFFICER_USER_ID,
            "clan",
            [{"name": "public", "value": True}],
            subcommand="inactive",
        )
        first = await _answer(asked)
        assert not first.ephemeral
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
        assert (
            running.bot.scheduler.get_job("daily-report-catch-up:clan-1") is None
        )  # fresh install
        running.bot.scheduler.modify_job("daily-report:clan-1", next_run_time=datetime.now(UTC))
        await world.discord.wait_for(lambda: len(_reports(world)) == 1, timeout=30)
        # the same day's slot again (a second instance, a duplicate fire): nothing
        # discord.py loads extensions as fresh module objects: reach the cog by name.
        cog = running.bot.get_cog("ReportsCog")
        assert cog is not None
        due = last_report_time(datetime.now(UTC), running.settings)
        again = await cog.post_report(GUILD_ID, due)  # type: ignore[attr-defined]
        assert again.outcome == "skipped"
    async with running_bot(world, db_url) as restarted:
        # today's report exists: the restart schedules no catch-up
        assert restarted.bot.scheduler.get_job("daily-report-catch-up:clan-1") is None
        assert restarted.bot.scheduler.get_job("daily-report:clan-1") is not None
    posted = _reports(world)
    assert len(posted) == 1
    report = posted[0]
    assert "daily report" in report.embeds[0]["title"]
    assert report.attachments[0].filename == "clan-activity.png"
    assert report.attachments[0].data.startswith(b"\x89PNG")
    assert report.embeds[1]["image"]["url"] == "attachment://clan-activity.png"
    assert sum(len(str(e)) for e in report.embeds) < 12_000


async def test_a_report_posted_by_a_run_killed_before_recording_it_is_not_posted_again(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        running.bot.scheduler.modify_job("daily-report:clan-1", next_run_time=datetime.now(UTC))
        await world.discord.wait_for(lambda: len(_reports(world)) == 1, timeout=30)

        async def recorded() -> bool:
            async with running.bot.app.db.read() as s:
                outcome = await s.scalar(
                    select(JobRun.outcome).where(JobRun.job == "report.daily:clan-1")
                )
            return outcome == "ok"

        await eventually(recorded, "the report's run recorded", limit_s=30)
        # As if the process died between Discord's answer and the database write: the run is
        # still "running" from over an hour ago, so the next run of that day may take it over.
        async with running.bot.app.db.write() as s:
            run = (
                await s.execute(select(JobRun).where(JobRun.job == "report.daily:clan-1"))
            ).scalar_one()
            run.outcome, run.finished_at = "running", None
            run.started_at = datetime.now(UTC) - timedelta(hours=2)
        cog = running.bot.get_cog("ReportsCog")
        assert cog is not None
        due = last_report_time(datetime.now(UTC), running.settings)
        again = await cog.post_report(GUILD_ID, due)  # type: ignore[attr-defined]
        assert again.outcome == "ok"
        assert again.counts == {"already_posted": _reports(world)[0].message_id}
        # …and the day is recorded: a later run of it is a no-op
        assert (await cog.post_report(GUILD_ID, due)).outcome == "skipped"  # type: ignore[attr-defined]
    assert len(_reports(world)) == 1


async def test_an_officers_public_clan_report_is_not_taken_for_the_days_post(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        due = datetime.now(UTC) - timedelta(minutes=1)
        asked = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            OFFICER_USER_ID,
            "clan",
            subcommand="report",
            options=[{"name": "public", "value": True}],
        )
        shown = await asked.wait_answer(timeout=30)
        assert "daily report" in shown.embeds[0]["title"]
        cog = running.bot.get_cog("ReportsCog")
        assert cog is not None
        posted = await cog.post_report(GUILD_ID, due)  # type: ignore[attr-defined]
    assert posted.outcome == "ok"
    assert "already_posted" not in posted.counts
    assert len(_reports(world)) == 1


async def test_a_report_missed_during_downtime_is_caught_up_once(
    world: ClanWorld, db_url: str
) -> None:
    db = Database.from_url(db_url)
    await upgrade(db)
    async with db.write() as s:  # the bot posted reports before it went down
        s.add(
            JobRun(
                job="report.daily:clan-1",
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
        assert restarted.bot.scheduler.get_job("daily-report-catch-up:clan-1") is None
    assert len(_reports(world)) == 1


async def test_opening_more_pagers_than_the_cap_closes_the_oldest_greyed_out(
    world: ClanWorld, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each open pager holds its whole list until it expires: their number is capped, so a
    # busy clan's officers cannot make the bot's memory grow with the commands they run.
    import cogs.officer._paging as paging

    monkeypatch.setattr(paging, "MAX_OPEN_PAGERS", 2)
    async with running_bot(world, db_url) as running:
        await _synced(running)
        asked = []
        for sub in ("inactive", "audit", "promotions"):
            interaction = await world.discord.invoke_slash(
                GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand=sub
            )
            await _answer(interaction)
            asked.append(interaction)
        closed = await world.discord.wait_for_sent(
            lambda m: m.kind == "original_edit" and m.interaction_id == asked[0].id, timeout=15
        )
        await asyncio.sleep(0.5)
        edited = {
            m.interaction_id for m in world.discord.sent_messages if m.kind == "original_edit"
        }
        assert len(paging._open_pagers() or {}) == 2
    buttons = [c for row in closed.components for c in row.get("components", [])]
    assert buttons and all(b.get("disabled") for b in buttons)
    # the two newest stay open
    assert asked[1].id not in edited and asked[2].id not in edited


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
