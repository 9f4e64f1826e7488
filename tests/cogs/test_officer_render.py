"""The daily report and paged lists stay inside Discord's embed limits, however big the clan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import discord

from bot.usecases.reports import Attention, DailyReport, Pulse, Ranked, TrendDay
from cogs.officer._render import (
    EMBEDS_TOTAL_MAX,
    daily_report_embeds,
    finding_line,
    page_embed,
    safe,
)
from domain.broadcasts import BroadcastLine, Notable
from domain.rules import Finding, UnmatchedFinding
from storage.repositories.reports import RosterEvent

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
