"""The real-life cases that once gave wrong numbers, each with its figures (SQLite and
PostgreSQL): rejoins, activity-only players, reused names, the daily report's XP, bosses
first ranked inside a window, and the smaller ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.reports import (
    daily_report,
    findings,
    leaderboard,
    member_rows,
    player_profile,
    unmatched,
)
from domain.rules import RuleSettings
from storage.engine import Database
from tests.model.histories import ROLES, write
from tests.model.reference import Account, History, Line, Snap

AS_OF = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)
UTC_TZ = UTC


def ago(days: float) -> datetime:
    return AS_OF - days * DAY


def metrics(**values: int) -> dict[str, int]:
    base = {"zulrah": -1, "vorkath": -1, "chambers_of_xeric": -1, "last_man_standing": -1}
    return base | {"clue_scrolls_all": 0} | values


def snap(days: float, xp: int, **values: int) -> Snap:
    return Snap(ago(days), xp, max(xp, 0) / 1000, 0.0, metrics(**values))


def account(member_id: int, name: str, events: list[Any], rank: str, **kw: Any) -> Account:
    return Account(
        member_id,
        events,
        kw.pop("first_name", name),
        kw.pop("renames", []),
        rank,
        kw.pop("snapshots", []),
        kw.pop("last_changed_at", None),
    )


def chat(days: float, name: str, number: int) -> Line:
    return Line(ago(days), name, "chat", None, number)


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    application = App(db=db, wom=HttpWomClient("http://127.0.0.1:9"))
    try:
        yield application
    finally:
        await application.wom.close()


async def store(app: App, accounts: list[Account], lines: list[Line] = ()) -> int:  # type: ignore[assignment]
    return await write(app, History(accounts, list(lines), AS_OF, list(ROLES)), "relay-first")


# A steady member who keeps the clan's medians and lists from being empty.
def steady(member_id: int = 99) -> Account:
    return account(
        member_id,
        "Steady Sam",
        [("joined", ago(400), "corporal")],
        "corporal",
        snapshots=[snap(40, 1_000_000), snap(20, 1_100_000), snap(1, 1_200_000)],
    )


async def test_a_rejoined_members_rank_clock_starts_at_the_rejoin(app: App) -> None:
    """Joined 200 days ago, sergeant 100 days ago, left, back 5 days ago as prospector:
    5 days at rank, so prospector → recruit (14 days) is not due. Before: "100 days"."""
    vet = account(
        1,
        "Back Again",
        [
            ("joined", ago(200), "recruit"),
            ("role_changed", ago(100), "sergeant"),
            ("left", ago(30), None),
            ("rejoined", ago(5), "prospector"),
        ],
        "prospector",
        snapshots=[snap(4, 10_000_000), snap(1, 12_000_000)],
    )
    clan = await store(app, [vet, steady()], [chat(2, "Back Again", n) for n in range(60)])
    promoted = await findings(app, clan, "promotions", AS_OF)
    assert "Back Again" not in {f.display_name for f in promoted}
    profile = await player_profile(app, clan, "Back Again", AS_OF)
    assert (profile.rank, profile.joined_at) == ("Prospector", ago(5))
    assert round(profile.days_in_clan) == 170 + 5
    # Nine days later the rung's 14 days are met: due, with 14 days at rank.
    later = AS_OF + 9 * DAY
    due = {f.display_name: f for f in await findings(app, clan, "promotions", later)}
    assert due["Back Again"].numbers["days_in_rank"] == 14


async def test_an_activity_only_player_is_not_a_purge_candidate(app: App) -> None:
    """Only Last Man Standing score moved in 60 days; WOM's lastChangedAt is after the
    as-of time. Not inactive, and the export's last progress is the same LMS snapshot.
    Before: listed with "last progress never"."""
    lms = account(
        1,
        "Lms Larry",
        [("joined", ago(300), "recruit")],
        "recruit",
        snapshots=[
            snap(90, 5_000_000, last_man_standing=500),
            snap(20, 5_000_000, last_man_standing=530),
        ],
        last_changed_at=AS_OF + DAY,
    )
    clan = await store(app, [lms, steady()])
    purge = {f.display_name for f in await findings(app, clan, "inactive", AS_OF)}
    assert "Lms Larry" not in purge
    [row] = [r for r in await member_rows(app, clan, ["60d"], AS_OF) if r.rsn == "lms larry"]
    assert row.last_progress_at == ago(20)
    # The same question 30 days earlier (a past --as-of): LMS moved 20 days before → still
    # not inactive.
    earlier = AS_OF - 10 * DAY
    assert "Lms Larry" not in {
        f.display_name for f in await findings(app, clan, "inactive", earlier)
    }


async def test_a_reused_name_keeps_its_earlier_lines_with_the_earlier_account(app: App) -> None:
    """ "Quitter" said 30 lines and left; weeks later another account named Quitter joined
    and said 1 line: the recruit has 1 line and no churn-risk alert. Before: 31 lines and a
    bogus alert. A member who renamed away from "Zezima" keeps his Zezima lines."""
    old = account(
        1, "Quitter", [("joined", ago(200), "recruit"), ("left", ago(40), None)], "recruit"
    )
    new = account(2, "Quitter", [("joined", ago(2), "prospector")], "prospector")
    zezima = account(
        3,
        "Zezima",
        [("joined", ago(300), "corporal")],
        "corporal",
        first_name="Zezima",
        renames=[("Zezima Two", ago(30))],
    )
    taker = account(4, "Zezima", [("joined", ago(10), "prospector")], "prospector")
    lines = [chat(45 + n / 10, "Quitter", n) for n in range(30)]
    lines.append(chat(1, "Quitter", 100))
    lines += [chat(40 + n / 10, "Zezima", 200 + n) for n in range(5)]
    lines.append(chat(3, "Zezima", 300))
    clan = await store(app, [old, new, zezima, taker, steady()], lines)
    rows = {r.member_id: r for r in await member_rows(app, clan, ["30d", "60d"], AS_OF)}
    assert rows[2].messages == {"30d": 1, "60d": 1}
    alerts = await findings(app, clan, "alerts", AS_OF)
    assert not [f for f in alerts if f.member_id == 2]
    assert rows[3].messages["60d"] == 5  # his old-name lines stay his
    assert rows[4].messages["60d"] == 1  # the taker's one line since taking the name
    profile = await player_profile(app, clan, "Quitter", ago(45))
    assert profile.member_id == 1 and profile.chat_lines["30d"] == 29


async def test_the_daily_reports_pulse_and_trend_agree_on_xp(app: App) -> None:
    """A member who left that day, one who joined that day, an unranked → 1,200,000 XP jump
    and XP earned while out of the clan: the pulse and the trend's day both count only the
    members as of the day's end, from joining on, ranked to ranked. Before: 6,972,000 in the
    pulse against 9,872,000 in the trend."""
    stays = account(
        1,
        "Stays",
        [("joined", ago(100), "corporal")],
        "corporal",
        snapshots=[snap(1.5, 10_000_000), snap(0.5, 16_972_000)],
    )
    leaves = account(
        2,
        "Leaves",
        [("joined", ago(100), "corporal"), ("left", ago(0.3), None)],
        "corporal",
        snapshots=[snap(1.5, 1_000_000), snap(0.5, 2_000_000)],
    )
    joins = account(
        3,
        "Joins",
        [("joined", ago(0.6), "prospector")],
        "prospector",
        snapshots=[snap(0.8, 500_000), snap(0.4, 600_000), snap(0.2, 700_000)],
    )
    unranked = account(
        4,
        "Low Lvl",
        [("joined", ago(100), "prospector")],
        "prospector",
        snapshots=[snap(1.5, -1), snap(0.5, 1_200_000)],
    )
    away = account(
        5,
        "Away",
        [
            ("joined", ago(100), "corporal"),
            ("left", ago(0.9), None),
            ("rejoined", ago(0.1), "corporal"),
        ],
        "corporal",
        snapshots=[snap(1.5, 3_000_000), snap(0.5, 4_000_000), snap(0.05, 4_100_000)],
    )
    clan = await store(app, [stays, leaves, joins, unranked, away])
    report = await daily_report(app, clan, AS_OF, UTC_TZ)
    assert report.pulse.xp_gained == 6_972_000 + 100_000
    assert report.trend[-1].xp_gained == report.pulse.xp_gained
    assert report.pulse.members == 4


async def test_kills_after_unranked_to_ranked_do_not_depend_on_the_windows_asked(app: App) -> None:
    """A boss going -1 → 52 → 60 → 80 within 30 days: 28 kills whatever windows are asked,
    and the leaderboard shows them. Before: 28, 20 or 0 depending on the windows, and an
    empty leaderboard."""
    farmer = account(
        1,
        "Farmer",
        [("joined", ago(100), "corporal")],
        "corporal",
        snapshots=[
            snap(40, 1_000, zulrah=-1),
            snap(25, 2_000, zulrah=52),
            snap(10, 3_000, zulrah=60),
            snap(0.5, 4_000, zulrah=80),
        ],
    )
    clan = await store(app, [farmer])
    alone = await member_rows(app, clan, ["30d"], AS_OF)
    together = await member_rows(app, clan, ["1d", "7d", "30d"], AS_OF)
    assert alone[0].boss_kills_gained["30d"] == together[0].boss_kills_gained["30d"] == 28
    assert alone[0].xp_gained["30d"] == together[0].xp_gained["30d"] == 3_000
    board = await leaderboard(app, clan, "zulrah", "30d", AS_OF)
    assert [(e.display_name, e.value) for e in board.entries] == [("Farmer", 28)]


async def test_the_smaller_cases(app: App) -> None:
    """A departed member's lines of the day are not in "N of M chatted" (and are counted as
    guests' and departed members'); a rollback is not last progress; a past --as-of export
    keeps a member who was in the clan then and left and came back since; unmatched names
    count chat lines and broadcasts apart."""
    gone = account(
        1, "Gone Today", [("joined", ago(100), "corporal"), ("left", ago(0.2), None)], "corporal"
    )
    rolled = account(
        2,
        "Rolled",
        [("joined", ago(100), "corporal")],
        "corporal",
        snapshots=[snap(80, 5_000), snap(70, 6_000), snap(3, 5_500)],
    )
    back = account(
        3,
        "Back",
        [
            ("joined", ago(100), "corporal"),
            ("left", ago(20), None),
            ("rejoined", ago(5), "corporal"),
        ],
        "corporal",
    )
    lines = [chat(0.5, "Gone Today", 1), chat(0.4, "Steady Sam", 2)]
    lines += [Line(ago(0.3), "Guest Gary", "broadcast", "drop", 3), chat(0.3, "Guest Gary", 4)]
    clan = await store(app, [gone, rolled, back, steady()], lines)
    report = await daily_report(app, clan, AS_OF, UTC_TZ)
    assert (report.pulse.active_chatters, report.pulse.members) == (1, 3)
    assert report.pulse.chat_lines == 3 and report.pulse.guest_lines == 2
    rows = {r.member_id: r for r in await member_rows(app, clan, ["7d"], AS_OF)}
    assert rows[2].last_progress_at == ago(70)  # the rollback 3 days ago is not progress
    past = {r.member_id for r in await member_rows(app, clan, ["7d"], ago(30))}
    assert 3 in past and 1 in past
    names = {u.rsn_key: (u.lines, u.broadcasts) for u in await unmatched(app, clan)}
    assert names == {"guest gary": (1, 1)}
    audit_rules = RuleSettings()
    assert await findings(app, clan, "audit", AS_OF, audit_rules) == []
