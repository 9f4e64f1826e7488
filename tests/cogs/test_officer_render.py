"""The daily report and paged lists stay inside Discord's embed limits, however big the clan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import discord

from bot.usecases.reports import Attention, DailyReport, Pulse, Ranked, TrendDay
from bot.usecases.reports.leaderboard import Leaderboard, LeaderboardEntry
from bot.usecases.reports.profile import PlayerProfile
from cogs.officer._render import (
    EMBEDS_TOTAL_MAX,
    clip,
    daily_report_embeds,
    finding_line,
    leaderboard_embed,
    page_embed,
    profile_embed,
    safe,
)
from domain.activity import Window
from domain.broadcasts import BroadcastLine, Notable
from domain.ranks import RankTier
from domain.rules import Finding, UnmatchedFinding
from storage.repositories.reports import RosterEvent
from tests.e2e.checks import time_text_problems

AS_OF = datetime(2025, 12, 23, 19, 30, tzinfo=UTC)
LONG = "x" * 12


def _finding(i: int) -> Finding:
    return Finding(
        kind="inactive",
        member_id=i,
        display_name=f"@everyone {i}",
        role="short_green_guy",
        reason="no chat and no progress in the last 60d: " + "very long reason " * 30,
        numbers={"days": i},
    )


def _huge_report() -> DailyReport:
    ranked = tuple(Ranked(i, f"{LONG}{i}", 10_000_000 - i, "detail " * 20) for i in range(1000))
    line = BroadcastLine(1, LONG, "drop", "Zezima received a drop: " + "Item " * 60, AS_OF)
    return DailyReport(
        clan_name="Nevr Lucky",
        as_of=AS_OF,
        start=AS_OF - timedelta(days=1),
        timezone="Europe/London",
        pulse=Pulse(12_345, 9_876.5, 999, 1_234_567_890, 1000),
        top_chatters=ranked,
        top_xp=ranked,
        top_bosses=ranked,
        notable=Notable(drops=((line, 10**9),) * 50, pets=(line,) * 50, level_99s=(line,) * 50),
        roster_changes=tuple(
            RosterEvent("renamed", i, f"{LONG}{i}", "old " * 10, "new " * 10, AS_OF)
            for i in range(500)
        ),
        attention=Attention(
            inactive=tuple(_finding(i) for i in range(1000)),
            alerts=tuple(_finding(i) for i in range(1000)),
            promotions=tuple(_finding(i) for i in range(1000)),
            unmatched=tuple(
                UnmatchedFinding(f"k{i}", f"{LONG}{i}", i, i, AS_OF) for i in range(500)
            ),
        ),
        heatmap=tuple(tuple(0 for _ in range(24)) for _ in range(7)),
        heatmap_days=28,
        trend=tuple(TrendDay(date(2025, 12, 10), AS_OF, AS_OF, 1, 1) for _ in range(14)),
    )


def test_daily_report_of_a_huge_clan_fits_one_message() -> None:
    embeds = daily_report_embeds(_huge_report(), UTC, chart="clan-activity.png")
    assert len(embeds) <= 10
    assert sum(len(e) for e in embeds) <= EMBEDS_TOTAL_MAX
    for embed in embeds:
        assert len(embed.title or "") <= 256
        assert len(embed.description or "") <= 4096
        assert len(embed.fields) <= 25
        assert all(len(f.value or "") <= 1024 and len(f.name or "") <= 256 for f in embed.fields)
    assert embeds[1].image.url == "attachment://clan-activity.png"


def test_names_that_try_to_ping_or_format_are_shown_as_text() -> None:
    assert "@\u200beveryone" in safe("@everyone")
    assert safe("**bold**") == "\\*\\*bold\\*\\*"
    assert "@\u200beveryone" in finding_line(_finding(1))


def test_every_page_of_a_long_list_fits() -> None:
    lines = [finding_line(_finding(i)) for i in range(1000)]
    for page in (0, 41, 83):
        embed = page_embed("Inactive", lines, page, empty="none")
        assert len(embed) <= EMBEDS_TOTAL_MAX and len(embed.description or "") <= 4096
    assert page_embed("Inactive", [], 0, empty="Nobody").description == "Nobody"
    assert isinstance(page_embed("t", lines, 0, empty="-"), discord.Embed)


def test_linked_members_are_named_by_discord_display_name_beside_the_rsn() -> None:
    report = _huge_report()
    names = {i: f"@everyone <@{123456789012345678 + i}> **Disc{i}**" for i in range(1000)}
    embeds = daily_report_embeds(report, UTC, chart=None, discord_names=names)
    assert sum(len(e) for e in embeds) <= 6000
    tops = {f.name: f.value for f in embeds[0].fields}
    first = str(tops["Top chatters"]).splitlines()[0]
    assert "✅" in first and "@\u200beveryone" in first and "<@123456789012345678>" not in first
    plain = daily_report_embeds(report, UTC, chart=None)
    assert "✅" not in str({f.name: f.value for f in plain[0].fields}["Top chatters"])


# -- times: Discord timestamp markup, read in each reader's own time zone --------------------


def _problems(embeds: list[discord.Embed], content: str = "") -> list[str]:
    return time_text_problems(content, [e.to_dict() for e in embeds])


def test_the_daily_report_shows_its_span_as_markup_and_names_the_clans_day() -> None:
    report = _huge_report()
    main, attention = daily_report_embeds(report, ZoneInfo("Australia/Sydney"), chart=None)
    start, end = int(report.start.timestamp()), int(report.as_of.timestamp())
    # the title names the clan's day (its zone decides where days begin) ...
    assert main.title == "Nevr Lucky: daily report, Wed 24 Dec 2025"
    # ... every moment is markup, and the footer's moment is the embed's own timestamp
    assert (main.description or "").startswith(f"<t:{start}:f> – <t:{end}:f>\n**12,345**")
    assert attention.timestamp == report.as_of
    assert attention.footer.text == "days and chart hours in Europe/London, the clan's time zone"
    assert _problems([main, attention]) == []


def test_a_cut_never_leaves_half_a_timestamp() -> None:
    stamp = f"<t:{int(AS_OF.timestamp())}:R>"
    text = "x" * 10 + stamp
    for limit in range(11, len(text)):
        cut = clip(text, limit)
        assert len(cut) <= limit and "<t:" not in cut, (limit, cut)
    assert clip(text, len(text)) == text
    # the report's fields are halved to fit: what is left of each line is whole markup
    embeds = daily_report_embeds(_huge_report(), UTC, chart=None)
    assert _problems(embeds) == []


def test_the_leaderboard_shows_its_window_as_markup_not_utc_text() -> None:
    window = Window("7d", AS_OF - timedelta(days=7), AS_OF)
    board = Leaderboard("xp", "XP", window, (LeaderboardEntry(1, 1, "Zezima", 1_234_567.0),))
    embed = leaderboard_embed(board)
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    assert (embed.description or "").splitlines() == [
        f"<t:{start}:f> – <t:{end}:f>",
        "🥇 **Zezima**: 1.23M",
    ]
    assert embed.footer.text is None
    assert _problems([embed]) == []


def test_a_paged_list_heads_every_page_with_its_header() -> None:
    lines = [f"line {i}" for i in range(30)]
    header = f"<t:{int(AS_OF.timestamp())}:f>"
    for page in (0, 1, 2):
        embed = page_embed("Drops", lines, page, empty="-", header=header, footer="f")
        assert (embed.description or "").startswith(header + "\nline ")
        assert embed.footer.text == f"page {page + 1}/3 · 30 in all · f"
    assert page_embed("Drops", [], 0, empty="none", header=header).description == (
        f"{header}\nnone"
    )


def test_a_profile_shows_every_moment_as_markup() -> None:
    profile = PlayerProfile(
        member_id=1,
        rsn="zezima",
        display_name="Zezima",
        matched_old_name=False,
        role="general",
        rank="general",
        tier=RankTier.MEMBER,
        joined_at=AS_OF - timedelta(days=400),
        left_at=None,
        days_in_clan=400.0,
        stats_at=AS_OF - timedelta(hours=1),
        overall_xp=200_000_000,
        ehp=1000.0,
        ehb=100.0,
        top_bosses=(),
        gains={},
        chat_lines={},
        broadcasts={},
        last_chat_at=None,
        last_progress_at=AS_OF - timedelta(hours=2),
        name_history=(),
    )
    fields = {f.name: f.value or "" for f in profile_embed(profile, UTC).fields}
    joined = int((AS_OF - timedelta(days=400)).timestamp())
    assert fields["Joined"].startswith(f"<t:{joined}:D>\n")
    assert fields["Last seen"] == f"<t:{int((AS_OF - timedelta(hours=2)).timestamp())}:R>"
    assert fields["Last chat"] == "never"
    assert fields["Stats"].endswith(f"as of <t:{int((AS_OF - timedelta(hours=1)).timestamp())}:R>")


def test_the_time_check_catches_what_discord_would_show_wrongly() -> None:
    good = discord.Embed(title="t", description=f"<t:{int(AS_OF.timestamp())}:R>")
    assert _problems([good]) == []
    in_title = discord.Embed(title="since <t:1:d>")
    in_footer = discord.Embed().set_footer(text="<t:1:f>")
    in_name = discord.Embed().add_field(name="<t:1:d>", value="v")
    for embed in (in_title, in_footer, in_name):
        assert any("shows as raw text" in p for p in _problems([embed])), embed.to_dict()
    assert any("cut short" in p for p in _problems([], "last <t:17665"))
    for text in ("at 2025-12-23 20:00", "23 Dec 20:00 – 24 Dec 20:00", "at 20:00 UTC"):
        assert any("as text" in p for p in _problems([], text)), text
    assert _problems([], "daily report, Tue 23 Dec 2025 · report time 09:00") == []
