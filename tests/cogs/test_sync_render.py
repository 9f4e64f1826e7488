"""Roster announcements say when each change happened, in each reader's own time zone, and
stay one embed inside Discord's limit with whole lines only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.usecases.announce import RosterChangeLine
from cogs.sync import MAX_LINES, render_changes
from domain.timestamps import MARKUP
from tests.e2e.checks import time_text_problems

AT = datetime(2025, 12, 23, 19, 10, tzinfo=UTC)


def _line(i: int, kind: str = "left", name: str = "Zezima") -> RosterChangeLine:
    return RosterChangeLine(i, kind, name, "old rank", "new rank", AT - timedelta(minutes=i))


def test_each_change_ends_with_when_it_happened() -> None:
    embed = render_changes([_line(0), _line(1, "role_changed"), _line(2, "joined")])
    stamp = int(AT.timestamp())
    assert (embed.description or "").splitlines() == [
        f"👋 **Zezima** left the clan <t:{stamp}:R>",
        f"🔁 **Zezima**: old rank → new rank <t:{stamp - 60}:R>",
        f"🎉 **Zezima** joined the clan <t:{stamp - 120}:R>",
    ]
    assert embed.footer.text == "3 change(s) from Wise Old Man"
    assert time_text_problems("", [embed.to_dict()]) == []


def test_many_long_changes_keep_whole_lines_and_say_how_many_were_left_out() -> None:
    long = "N" * 100  # longer than any in-game name or rank, to fill the embed
    lines = [
        RosterChangeLine(i, "role_changed", long, long, long, AT - timedelta(minutes=i))
        for i in range(60)
    ]
    embed = render_changes(lines)
    text = embed.description or ""
    assert len(text) <= 4096
    *shown, more = text.splitlines()
    assert len(shown) < MAX_LINES  # the limit, not the count, cut these
    assert all(MARKUP.search(line) and line.endswith(":R>") for line in shown)
    assert more == f"… and {60 - len(shown)} more"
    assert time_text_problems("", [embed.to_dict()]) == []
    few = render_changes([_line(i) for i in range(45)])
    assert (few.description or "").splitlines()[-1] == "… and 5 more"
