"""Leaderboard metric names, broadcast values and the daily report's pure pieces."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.broadcasts import BroadcastLine, coin_value, is_level_99, notable_broadcasts
from domain.metrics import (
    MAX_CHOICES,
    UnknownMetricError,
    metric_choices,
    metric_label,
    resolve_metric,
)
from domain.report import (
    clan_day_start,
    counts_per_period,
    day_periods,
    period_label,
    week_heatmap,
)

KNOWN = ["overall", "attack", "chambers_of_xeric", "theatre_of_blood", "tombs_of_amascut"]
KNOWN += ["the_corrupted_gauntlet", "nex", "zulrah", "vorkath", "doom_of_mokhaiotl"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cox", "chambers_of_xeric"),
        ("CoX", "chambers_of_xeric"),
        ("tob", "theatre_of_blood"),
        ("toa", "tombs_of_amascut"),
        ("cg", "the_corrupted_gauntlet"),
        ("Corrupted Gauntlet", "the_corrupted_gauntlet"),
        ("nex", "nex"),
        ("zulrah", "zulrah"),
        ("vork", "vorkath"),
        ("Theatre of Blood", "theatre_of_blood"),
        ("xp", "xp"),
        ("Total XP", "xp"),
        ("overall", "xp"),
        ("EHP", "ehp"),
        ("chat", "chat"),
        ("wc", "woodcutting"),
        ("doom-of-mokhaiotl", "doom_of_mokhaiotl"),
        ("clues", "clue_scrolls_all"),
    ],
)
def test_resolve_metric_accepts_names_and_nicknames(typed: str, expected: str) -> None:
    assert resolve_metric(typed, KNOWN) == expected


def test_a_boss_wom_adds_later_resolves_once_snapshots_hold_it() -> None:
    with pytest.raises(UnknownMetricError, match="unknown metric 'brand new boss'"):
        resolve_metric("brand new boss", KNOWN)
    assert resolve_metric("Brand New Boss", [*KNOWN, "brand_new_boss"]) == "brand_new_boss"


@pytest.mark.parametrize("typed", ["", "   ", "not a boss"])
def test_resolve_metric_rejects_what_nobody_knows(typed: str) -> None:
    with pytest.raises(UnknownMetricError):
        resolve_metric(typed, KNOWN)


def test_metric_choices_put_prefix_matches_first_and_stay_within_discords_limit() -> None:
    assert metric_choices("", KNOWN)[:4] == ["xp", "ehp", "ehb", "chat"]
    assert len(metric_choices("", KNOWN)) == MAX_CHOICES
    assert metric_choices("th", KNOWN)[:3] == [
        "the_corrupted_gauntlet",
        "theatre_of_blood",
        "thieving",
    ]
    assert "chambers_of_xeric" in metric_choices("co", KNOWN)
    # a nickname leads to its metric
    assert "vorkath" in metric_choices("vork", KNOWN)
    assert metric_choices("zzz", KNOWN) == []


def test_metric_label_reads_well() -> None:
    assert metric_label("chambers_of_xeric") == "Chambers Of Xeric"
    assert metric_label("xp") == "XP"
    assert metric_label("chat") == "Chat lines"


@pytest.mark.parametrize(
    ("text", "coins"),
    [
        ("Zezima received a drop: Abyssal whip (1,456,814 coins).", 1_456_814),
        ("Zezima received a drop: 587 x Cannonball (111,530 coins).", 111_530),
        ("Med-iocore has opened a loot key worth 489,181 coins!", 489_181),
        ("Zezima received a drop: Twisted bow (1.2b coins)", 1_200_000_000),
        ("Zezima received a drop: Dragon bones (2,000 coins)", 2_000),
        ("Zezima has reached Attack level 99.", None),
    ],
)
def test_coin_value_reads_the_amount_of_a_drop(text: str, coins: int | None) -> None:
    assert coin_value(text) == coins


def test_level_99_is_only_a_level_broadcast_naming_99() -> None:
    assert is_level_99("level", "Iron Guy has reached Attack level 99.")
    assert not is_level_99("level", "Iron Guy has reached Attack level 98.")
    assert not is_level_99("chat", "level 99 soon")


def test_notable_broadcasts_rank_drops_by_value_and_keep_pets_and_99s() -> None:
    at = datetime(2025, 12, 23, 12, tzinfo=UTC)
    lines = [
        BroadcastLine(1, "A", "drop", "A received a drop: Whip (1,000,000 coins).", at),
        BroadcastLine(2, "B", "raid_drop", "B received a drop: Tbow (900,000,000 coins).", at),
        BroadcastLine(3, "C", "pet", "C has a funny feeling like he's being followed: Pet.", at),
        BroadcastLine(4, "D", "level", "D has reached Slayer level 99.", at),
        BroadcastLine(5, "E", "level", "E has reached Slayer level 80.", at),
    ]
    notable = notable_broadcasts(lines)
    assert [(line.display_name, coins) for line, coins in notable.drops] == [
        ("B", 900_000_000),
        ("A", 1_000_000),
    ]
    assert [p.display_name for p in notable.pets] == ["C"]
    assert [p.display_name for p in notable.level_99s] == ["D"]


def test_day_periods_are_clan_days_ending_at_as_of_labelled_by_local_date() -> None:
    tz = ZoneInfo("America/New_York")
    as_of = datetime(2025, 12, 24, 5, tzinfo=UTC)  # local midnight in New York
    periods = day_periods(as_of, 3, tz)
    assert periods[-1] == (as_of - timedelta(days=1), as_of)
    assert periods[0][0] == as_of - timedelta(days=3)
    assert [period_label(end, tz) for _, end in periods] == [
        date(2025, 12, 21),
        date(2025, 12, 22),
        date(2025, 12, 23),
    ]


def test_a_clan_day_across_a_daylight_saving_change_is_23_or_25_hours() -> None:
    tz = ZoneInfo("Europe/London")
    # Clocks went forward on 2025-03-30 and back on 2025-10-26 (01:00 UTC both times).
    spring = datetime(2025, 3, 31, 8, tzinfo=UTC)  # 09:00 local on the 31st
    autumn = datetime(2025, 10, 26, 9, tzinfo=UTC)  # 09:00 GMT on the 26th
    ((start, end),) = day_periods(spring, 1, tz)
    assert (end - start, start) == (timedelta(hours=24), datetime(2025, 3, 30, 8, tzinfo=UTC))
    ((start, end),) = day_periods(datetime(2025, 3, 30, 8, tzinfo=UTC), 1, tz)
    assert end - start == timedelta(hours=23)  # 09:00 GMT on the 29th to 09:00 BST
    ((start, end),) = day_periods(autumn, 1, tz)
    assert end - start == timedelta(hours=25)  # 09:00 BST on the 26th to 09:00 GMT


def test_week_heatmap_buckets_utc_hours_into_local_weekday_and_hour() -> None:
    tz = ZoneInfo("Europe/Amsterdam")  # UTC+1 in December
    counts = {datetime(2025, 12, 22, 23, tzinfo=UTC): 5, datetime(2025, 12, 22, 10, tzinfo=UTC): 2}
    grid = week_heatmap(counts, tz)
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert grid[1][0] == 5  # Tuesday 00:00 local
    assert grid[0][11] == 2  # Monday 11:00 local
    assert sum(map(sum, grid)) == 7


def _hour_counts(start: datetime, end: datetime, lines: list[datetime]) -> dict[datetime, int]:
    """Lines of ``[start, end)`` per UTC hour start, as the chat query gives them."""
    out: dict[datetime, int] = {}
    for at in lines:
        if start <= at < end:
            hour = at.replace(minute=0, second=0, microsecond=0)
            out[hour] = out.get(hour, 0) + 1
    return out


def test_counts_per_period_add_up_the_hours_of_each_clan_day() -> None:
    # The range starts mid-hour (as_of 20:30 minus 3 days): its first hour is cut.
    as_of = datetime(2025, 12, 24, 5, 30, tzinfo=UTC)
    start = as_of - timedelta(days=3)
    tz = ZoneInfo("America/New_York")  # clan days from 00:30 to 00:30 local (05:30 UTC)
    periods = day_periods(as_of, 2, tz)
    lines = [
        start,  # the range's first instant: before both days
        periods[0][0] - timedelta(microseconds=1),  # just before the first day
        periods[0][0],  # its first instant
        periods[0][1] - timedelta(microseconds=1),  # the first day's last instant
        periods[1][0],
        periods[1][0] + timedelta(hours=7, minutes=59),
        as_of - timedelta(microseconds=1),
    ]
    hours = _hour_counts(start, as_of, lines)
    # 05:30 is no whole hour: the days cannot be cut from whole hours, except the last
    # bound, which is the range's own.
    assert counts_per_period(hours, start, as_of, periods) is None
    aligned = datetime(2025, 12, 24, 5, tzinfo=UTC)
    periods = day_periods(aligned, 2, tz)  # 00:00 local: whole UTC hours
    lines = [t - timedelta(minutes=30) for t in lines]
    hours = _hour_counts(aligned - timedelta(days=3), aligned, lines)
    assert counts_per_period(hours, aligned - timedelta(days=3), aligned, periods) == [2, 3]
    # The last period may end mid-hour at the range's end.
    late = aligned + timedelta(minutes=20)
    periods = [(aligned - timedelta(days=1), late)]
    day_before = aligned - timedelta(days=1)
    hours = _hour_counts(aligned - timedelta(days=2), late, [aligned, late, day_before])
    assert counts_per_period(hours, aligned - timedelta(days=2), late, periods) == [2]


def test_counts_per_period_refuse_what_the_hours_cannot_say() -> None:
    end = datetime(2025, 12, 24, 5, tzinfo=UTC)
    start = end - timedelta(days=2)
    hours = {start: 1, end - timedelta(hours=1): 4}
    day = timedelta(days=1)
    assert counts_per_period(hours, start, end, [(start, start + day), (start + day, end)]) == [
        1,
        4,
    ]
    assert counts_per_period(hours, start, end, [(start - day, start)]) is None  # before
    assert counts_per_period(hours, start, end, [(end - day, end + day)]) is None  # after
    assert counts_per_period(hours, start, end, [(end, start)]) is None  # backwards
    overlapping = [(start, start + day), (start + day / 2, end)]
    assert counts_per_period(hours, start, end, overlapping) is None
    half_hour = [(start + timedelta(minutes=30), end)]  # Asia/Kolkata's days
    assert counts_per_period(hours, start, end, half_hour) is None
    assert counts_per_period(hours, start, end, [(start, end - timedelta(minutes=30))]) is None
    # A range starting mid-hour: its first (cut) hour belongs to a period starting with it.
    cut = start + timedelta(minutes=10)
    hours = {start: 3, end - timedelta(hours=1): 4}
    assert counts_per_period(hours, cut, end, [(cut, end - day), (end - day, end)]) == [3, 4]
    assert counts_per_period({}, cut, end, [(cut, end)]) == [0]
    assert counts_per_period(hours, cut, end, []) == []


# ---------------------------------------------------------------------------------------------
# Worked by hand (docs/testing.md: each of these was a mutant no test caught).


def test_resolve_metric_messages_in_full() -> None:
    with pytest.raises(UnknownMetricError) as empty:
        resolve_metric(" _ ", KNOWN)
    assert str(empty.value) == "no metric given: try xp, ehp, ehb, chat or a boss like cox"
    with pytest.raises(UnknownMetricError) as unknown:
        resolve_metric("abcdnex", KNOWN)  # "nex" after 4 characters that are not "the_"
    assert str(unknown.value) == (
        "unknown metric 'abcdnex': use xp, ehp, ehb, chat, a skill, an activity "
        "or a boss (e.g. cox, tob, toa, cg, vorkath)"
    )


@pytest.mark.parametrize(
    ("typed", "known", "expected"),
    [
        ("-cox-", [], "chambers_of_xeric"),  # separators at either end are dropped
        ("The Made Up", ["made_up"], "made_up"),  # a "the" too many
        ("Made Up", ["the_made_up"], "the_made_up"),  # a "the" left out
    ],
)
def test_resolve_metric_forgives_separators_and_the_article(
    typed: str, known: list[str], expected: str
) -> None:
    assert resolve_metric(typed, known) == expected


def test_metric_label_of_the_computed_metrics_is_upper_case() -> None:
    assert (metric_label("ehp"), metric_label("ehb")) == ("EHP", "EHB")


def test_metric_choices_popular_first_chat_first_of_its_letter_no_repeats() -> None:
    assert metric_choices("", KNOWN)[:7] == [
        "xp",
        "ehp",
        "ehb",
        "chat",
        "chambers_of_xeric",
        "theatre_of_blood",
        "tombs_of_amascut",
    ]
    c = metric_choices("c", KNOWN)
    assert c[:3] == ["chat", "chambers_of_xeric", "clue_scrolls_all"]
    assert len(set(c)) == len(c)
    # WOM's "overall" is offered as xp, never under its own name.
    assert "overall" not in metric_choices("o", KNOWN)


def test_a_clan_day_start_is_in_the_time_zone_of_its_end() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    end = datetime(2025, 12, 23, 9, 0, tzinfo=tokyo)
    start = clan_day_start(end, ZoneInfo("Europe/Amsterdam"))
    assert start == datetime(2025, 12, 22, 9, 0, tzinfo=tokyo)
    assert start.tzinfo is tokyo


def test_week_heatmap_adds_up_the_same_hour_of_different_weeks() -> None:
    monday_noon = datetime(2025, 12, 22, 12, tzinfo=UTC)
    grid = week_heatmap({monday_noon: 2, monday_noon + timedelta(days=7): 3}, UTC)
    assert grid[0][12] == 5
    assert sum(map(sum, grid)) == 5
