"""Activity model: windows, steps and gains, unranked values, rollbacks, progress times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.activity import (
    ACTIVITY_METRICS,
    COMPUTED_METRICS,
    NO_GAINS,
    NO_TOTALS,
    SKILL_METRICS,
    ChatStats,
    Gains,
    MemberInfo,
    RunningTotals,
    SnapshotPoint,
    Step,
    Window,
    add_gains,
    build_activity,
    is_boss_metric,
    last_progress_at,
    median,
    metric_kind,
    parse_window,
    snapshot_step,
    snapshot_steps,
    top_n,
    whole_days,
    window_gains,
    window_progress,
)
from domain.membership import RosterEventIn, build_timeline

AS_OF = datetime(2025, 12, 23, 12, 0, tzinfo=UTC)
PLAYER_FIXTURE = (
    Path(__file__).parents[2]
    / "fakes"
    / "data"
    / "wom"
    / "player-party_marty-2025-12-23T1935Z.json"
)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def snap(
    days_ago: float,
    xp: int = 0,
    *,
    ehp: float = 0.0,
    ehb: float = 0.0,
    **metrics: float,
) -> SnapshotPoint:
    return SnapshotPoint(ago(days_ago), xp, ehp, ehb, metrics)


def member(
    *,
    joined_days_ago: float | None = 200,
    left_days_ago: float | None = None,
    rejoined_days_ago: float | None = None,
    last_changed_days_ago: float | None = None,
    role_since_days_ago: float | None = None,
    name: str = "Zezima",
) -> MemberInfo:
    """A prospector who joined (and maybe left, and rejoined) so many days ago."""
    events = []
    if joined_days_ago is not None:
        role = "prospector" if role_since_days_ago is None else "recruit"
        events.append(RosterEventIn("joined", ago(joined_days_ago), role, 1))
    if role_since_days_ago is not None:
        events.append(RosterEventIn("role_changed", ago(role_since_days_ago), "prospector", 2))
    if left_days_ago is not None:
        events.append(RosterEventIn("left", ago(left_days_ago), None, 3))
    if rejoined_days_ago is not None:
        events.append(RosterEventIn("rejoined", ago(rejoined_days_ago), "prospector", 4))
    changed = None if last_changed_days_ago is None else ago(last_changed_days_ago)
    timeline = build_timeline(events, current_rank="prospector")
    return MemberInfo(1, name.lower(), name, "prospector", timeline, changed)


def gains(points: list[SnapshotPoint], window: Window, info: MemberInfo | None = None) -> Gains:
    """Gains in ``window`` from a member's snapshots, as stored steps add up."""
    return window_gains(snapshot_steps(points), window, (info or member()).timeline)


WEEK = parse_window("7d", AS_OF)


# ---------------------------------------------------------------------------------------------
# Windows


@pytest.mark.parametrize(
    ("label", "length"),
    [
        ("7d", timedelta(days=7)),
        ("30d", timedelta(days=30)),
        ("90d", timedelta(days=90)),
        ("1d", timedelta(days=1)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_relative_window_ends_at_as_of_and_spans_the_length(label: str, length: timedelta) -> None:
    window = parse_window(label, AS_OF)
    assert window.end == AS_OF
    assert window.start == AS_OF - length
    assert window.label == label.strip().lower()


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        (
            "2025-12-01..2025-12-07",
            datetime(2025, 12, 1, tzinfo=UTC),
            datetime(2025, 12, 8, tzinfo=UTC),
        ),
        (
            "2025-12-20..2025-12-20",
            datetime(2025, 12, 20, tzinfo=UTC),
            datetime(2025, 12, 21, tzinfo=UTC),
        ),
        # A range reaching into the future is cut at as_of.
        ("2025-12-20..2026-01-10", datetime(2025, 12, 20, tzinfo=UTC), AS_OF),
    ],
)
def test_custom_window_covers_both_dates_whole_in_utc(
    label: str, start: datetime, end: datetime
) -> None:
    window = parse_window(label, AS_OF)
    assert (window.start, window.end) == (start, end)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "not understood"),
        ("7", "not understood"),
        ("d", "not understood"),
        ("7 d", "not understood"),
        ("-7d", "not understood"),
        ("7y", "not understood"),
        ("last week", "not understood"),
        ("0d", "between 1 hour"),
        ("99999d", "between 1 hour"),
        ("2025-12-07..2025-12-01", "first date is after"),
        ("2025-13-01..2025-12-02", "not a calendar date"),
        ("2025-12-01..2025-02-30", "not a calendar date"),
        ("2026-01-01..2026-01-02", "future"),
    ],
)
def test_bad_window_label_raises_a_clear_error(label: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_window(label, AS_OF)


def test_window_refuses_a_naive_as_of() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_window("7d", datetime(2025, 12, 23))


def test_window_refuses_an_empty_range() -> None:
    with pytest.raises(ValueError, match="start must be before end"):
        Window("x", AS_OF, AS_OF)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [(ago(7), True), (ago(7.01), False), (ago(0.01), True), (AS_OF, False), (None, False)],
)
def test_window_includes_its_start_and_excludes_its_end(
    moment: datetime | None, inside: bool
) -> None:
    assert WEEK.contains(moment) is inside
    assert WEEK.days == 7


# ---------------------------------------------------------------------------------------------
# Metric classification


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("overall", "skill"),
        ("sailing", "skill"),
        ("clue_scrolls_all", "activity"),
        ("collections_logged", "activity"),
        ("league_points", "activity"),
        ("ehp", "computed"),
        ("ehb", "computed"),
        ("vorkath", "boss"),
        ("tombs_of_amascut_expert", "boss"),
        ("a_boss_added_next_year", "boss"),
    ],
)
def test_metric_kind_treats_every_unknown_name_as_a_boss(name: str, kind: str) -> None:
    assert metric_kind(name) == kind
    assert is_boss_metric(name) is (kind == "boss")


def test_metric_sets_classify_every_metric_of_a_real_wom_snapshot() -> None:
    data = json.loads(PLAYER_FIXTURE.read_text(encoding="utf-8"))["latestSnapshot"]["data"]
    assert len(SKILL_METRICS) == 25
    assert set(data["skills"]) == SKILL_METRICS
    assert set(data["activities"]) == ACTIVITY_METRICS
    assert set(data["computed"]) == COMPUTED_METRICS
    assert all(is_boss_metric(boss) for boss in data["bosses"])


# ---------------------------------------------------------------------------------------------
# Steps and gains


@pytest.mark.parametrize(
    ("snapshots", "info", "xp"),
    [
        pytest.param([snap(10, 1_000), snap(1, 1_500)], member(), 500, id="plain"),
        pytest.param(
            [snap(30, 100), snap(8, 1_000), snap(1, 1_500)], member(), 500, id="steps-in-window"
        ),
        pytest.param(
            [snap(8, 1_000), snap(7, 1_200), snap(1, 1_500)],
            member(),
            500,
            id="snapshot-at-start-is-inside",
        ),
        pytest.param(
            [snap(8, 1_000), snap(1, 1_500), snap(0, 9_000)], member(), 500, id="at-end-outside"
        ),
        pytest.param([snap(1, 1_500), snap(10, 1_000)], member(), 500, id="unsorted-input"),
        pytest.param(
            [snap(400, 10_000_000), snap(3, 10_500_000), snap(1, 11_000_000)],
            member(joined_days_ago=4),
            500_000,
            id="joined-mid-window-step-across-the-join-does-not-count",
        ),
        pytest.param(
            [snap(5, 5_000_000), snap(1, 5_200_000)], member(), 200_000, id="first-tracked"
        ),
        pytest.param([snap(2, 5_000_000)], member(), 0, id="one-snapshot-is-not-a-gain"),
        pytest.param(
            [snap(10, 5_000_000), snap(1, 6_000_000)],
            member(joined_days_ago=-1),
            0,
            id="joins-after-window",
        ),
        pytest.param([], member(), 0, id="no-snapshots"),
        pytest.param([snap(10, 2_000), snap(1, 1_000)], member(), 0, id="rollback-is-no-gain"),
        pytest.param(
            [snap(10, 2_000), snap(5, 1_000), snap(1, 1_300)],
            member(),
            300,
            id="gains-after-a-rollback-count-from-the-lowered-value",
        ),
        pytest.param([snap(10, -1), snap(1, 3_000)], member(), 0, id="unranked-overall"),
        pytest.param([snap(10, -1), snap(1, -1)], member(), 0, id="unranked-both"),
        pytest.param(
            [snap(10, -1), snap(5, 2_000), snap(1, 3_000)], member(), 1_000, id="ranked-later"
        ),
        pytest.param(
            [snap(20, 1_000), snap(6, 2_000), snap(4, 2_500), snap(1, 4_000)],
            member(joined_days_ago=200, left_days_ago=5, rejoined_days_ago=3),
            1_000,  # the 6-day step counts; the 4-day one is out, the 1-day one starts out
            id="xp-earned-while-out-of-the-clan-never-counts",
        ),
    ],
)
def test_xp_gain_adds_up_the_counted_steps_of_the_window(
    snapshots: list[SnapshotPoint], info: MemberInfo, xp: int
) -> None:
    assert gains(snapshots, WEEK, info).xp == xp


@pytest.mark.parametrize(
    ("values", "gained"),
    [
        pytest.param([-1, 55], 0, id="unranked-to-ranked-is-not-56-nor-55"),
        pytest.param([-1, 10, 55], 45, id="counted-from-first-ranked-value"),
        pytest.param([-1, 52, 60, 80], 28, id="issue-example-28-kills"),
        pytest.param([10, -1, 55], 0, id="hiscores-hiccup-in-between-observes-nothing"),
        pytest.param([40, -1], 0, id="ranked-to-unranked"),
        pytest.param([-1, -1], 0, id="stays-unranked"),
        pytest.param([None, 30], 0, id="metric-new-to-wom"),
        pytest.param([60, 20], 0, id="rollback"),
        pytest.param([50, 65], 15, id="ranked-both-ends"),
    ],
)
def test_boss_gain_never_counts_what_hiscores_did_not_show(
    values: list[int | None], gained: int
) -> None:
    days = [6, 5, 3, 1][-len(values) :]
    snapshots = [
        snap(day, 1_000, **({} if value is None else {"vorkath": value}))
        for day, value in zip(days, values, strict=True)
    ]
    got = gains(snapshots, WEEK)
    assert got.per_metric.get("vorkath", 0) == gained
    assert got.boss_kills == gained


def test_a_boss_first_ranked_inside_the_window_gives_one_answer_whatever_the_windows() -> None:
    """-1 → 52 → 60 → 80 in 30 days: 28 kills asked alone or beside other windows."""
    points = [snap(40, 1, zulrah=-1), snap(20, 1, zulrah=52), snap(10, 1, zulrah=60)]
    points.append(snap(1, 1, zulrah=80))
    month = parse_window("30d", AS_OF)
    assert gains(points, month).per_metric["zulrah"] == 28
    day = parse_window("1d", AS_OF)
    # The windows that split the month add up to it.
    parts = [
        gains(points, Window(w, s, e)).per_metric.get("zulrah", 0)
        for w, s, e in (
            ("a", month.start, WEEK.start),
            ("b", WEEK.start, day.start),
            ("c", day.start, AS_OF),
        )
    ]
    assert sum(parts) == 28


def test_gains_split_bosses_clues_and_skills() -> None:
    before = snap(
        10,
        1_000_000,
        ehp=10.0,
        ehb=2.0,
        overall=1_000_000,
        attack=500_000,
        vorkath=100,
        brand_new_boss=3,
        clue_scrolls_all=20,
        clue_scrolls_hard=5,
        ehp_unused=0,
    )
    after = snap(
        1,
        1_250_000,
        ehp=12.5,
        ehb=3.0,
        overall=1_250_000,
        attack=600_000,
        vorkath=130,
        brand_new_boss=8,
        clue_scrolls_all=26,
        clue_scrolls_hard=8,
        ehp_unused=0,
    )
    got = gains([before, after], WEEK)
    assert got.xp == 250_000
    assert (got.ehp, got.ehb) == (2.5, 1.0)
    assert got.boss_kills == 35  # vorkath + the boss no list knew about; clues are not bosses
    assert got.clues == 6
    assert got.per_metric == {
        "attack": 100_000,
        "brand_new_boss": 5,
        "clue_scrolls_all": 6,
        "clue_scrolls_hard": 3,
        "overall": 250_000,
        "vorkath": 30,
    }
    assert got.any


@pytest.mark.parametrize(
    ("before", "after", "progress"),
    [
        pytest.param(snap(2, 100), snap(1, 200), True, id="xp-up"),
        pytest.param(snap(2, 100), snap(1, 100, last_man_standing=501), False, id="new-metric"),
        pytest.param(
            snap(2, 100, last_man_standing=500),
            snap(1, 100, last_man_standing=520),
            True,
            id="lms-score-is-progress",
        ),
        pytest.param(snap(2, 100, zulrah=-1), snap(1, 100, zulrah=50), True, id="ranked-now"),
        pytest.param(snap(2, 100, ehb=1.0), snap(1, 100, ehb=1.5), True, id="ehb-only"),
        pytest.param(snap(2, 300), snap(1, 200), False, id="rollback-is-not-progress"),
        pytest.param(snap(2, 100), snap(1, 100), False, id="nothing-changed"),
    ],
)
def test_a_step_shows_progress_when_any_metric_went_up_or_became_ranked(
    before: SnapshotPoint, after: SnapshotPoint, progress: bool
) -> None:
    step = snapshot_step(before, after)
    assert step.progress is progress
    assert step.previous_at == before.taken_at
    assert snapshot_step(None, after).previous_at is None


def test_no_gains_means_nothing_went_up() -> None:
    assert not Gains().any
    assert Gains(ehb=0.5).any
    assert Gains(per_metric={"vorkath": 1}).sum_of(["vorkath", "zulrah"]) == 1


def test_snapshot_metrics_cannot_be_changed_afterwards() -> None:
    source = {"vorkath": 1}
    point = SnapshotPoint(AS_OF, 0, 0.0, 0.0, source)
    source["vorkath"] = 99
    assert point.metrics["vorkath"] == 1
    with pytest.raises(TypeError):
        point.metrics["vorkath"] = 5  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# Progress times


@pytest.mark.parametrize(
    ("latest", "last_changed_days_ago", "expected_days_ago"),
    [
        pytest.param(9, None, 9, id="latest-progress-snapshot"),
        pytest.param(9, 2, 2, id="wom-last-changed-later"),
        pytest.param(9, -3, 9, id="last-changed-after-as-of-ignored"),
        pytest.param(None, -3, None, id="only-a-future-last-changed"),
        pytest.param(-1, None, None, id="snapshot-after-as-of"),
        pytest.param(None, None, None, id="no-data"),
    ],
)
def test_last_progress_is_the_latest_progress_snapshot_or_an_earlier_wom_change(
    latest: float | None, last_changed_days_ago: float | None, expected_days_ago: float | None
) -> None:
    changed = None if last_changed_days_ago is None else ago(last_changed_days_ago)
    expected = None if expected_days_ago is None else ago(expected_days_ago)
    found = None if latest is None else ago(latest)
    assert last_progress_at(found, changed, AS_OF) == expected


# ---------------------------------------------------------------------------------------------
# Members and activity


@pytest.mark.parametrize(
    ("info", "has_left"),
    [
        (member(), False),
        (member(left_days_ago=3), True),
        (member(left_days_ago=-3), False),  # leaves after as_of
        (member(left_days_ago=5, rejoined_days_ago=2), False),  # rejoined
        (member(joined_days_ago=None), True),  # never joined: not a member
        (member(joined_days_ago=-1), True),  # joins after as_of
    ],
)
def test_member_as_of_is_inside_a_membership_period(info: MemberInfo, has_left: bool) -> None:
    assert info.has_left(AS_OF) is has_left
    assert info.is_member(AS_OF) is not has_left


@pytest.mark.parametrize(
    ("info", "tenure", "in_rank"),
    [
        (member(joined_days_ago=40), 40, 40),
        (member(joined_days_ago=40, role_since_days_ago=5), 40, 5),
        (
            member(
                joined_days_ago=200, role_since_days_ago=100, left_days_ago=50, rejoined_days_ago=5
            ),
            5,
            5,
        ),
        (member(joined_days_ago=None), None, None),
    ],
)
def test_tenure_and_days_at_rank_count_within_the_current_period(
    info: MemberInfo, tenure: float | None, in_rank: float | None
) -> None:
    assert info.tenure_days(AS_OF) == tenure
    assert info.days_in_rank(AS_OF) == in_rank


@pytest.mark.parametrize(
    ("chat", "last_changed_days_ago", "snapshots", "chatted", "progressed"),
    [
        pytest.param(ChatStats(), None, [], False, False, id="nothing"),
        pytest.param(ChatStats(lines=3), None, [], True, False, id="chat"),
        pytest.param(ChatStats(broadcasts_by_type={"drop": 1}), None, [], True, False, id="drop"),
        pytest.param(
            ChatStats(broadcasts_by_type={"invite": 1, "left": 1}),
            None,
            [],
            False,
            False,
            id="invite-is-not-presence",
        ),
        pytest.param(ChatStats(), 2, [], False, True, id="wom-saw-a-change"),
        pytest.param(ChatStats(), 20, [], False, False, id="wom-change-before-window"),
        pytest.param(ChatStats(), None, [snap(9, 1), snap(2, 5)], False, True, id="gains"),
        pytest.param(
            ChatStats(),
            None,
            [snap(9, 1, soul_wars_zeal=10), snap(2, 1, soul_wars_zeal=12)],
            False,
            True,
            id="activity-only-progress",
        ),
        pytest.param(
            ChatStats(),
            None,
            [snap(9, 1, zulrah=-1), snap(2, 1, zulrah=50)],
            False,
            True,
            id="became-ranked",
        ),
    ],
)
def test_activity_counts_chat_presence_and_progress(
    chat: ChatStats,
    last_changed_days_ago: float | None,
    snapshots: list[SnapshotPoint],
    chatted: bool,
    progressed: bool,
) -> None:
    activity = build_activity(
        member(last_changed_days_ago=last_changed_days_ago), WEEK, chat, snapshot_steps(snapshots)
    )
    assert activity.chatted is chatted
    assert activity.progressed is progressed
    assert activity.active is (chatted or progressed)


def test_last_seen_is_the_later_of_last_chat_and_last_progress() -> None:
    activity = build_activity(
        member(last_changed_days_ago=30), WEEK, ChatStats(last_chat_at=ago(12)), []
    )
    assert activity.last_seen_at == ago(12)
    assert build_activity(member(), WEEK, ChatStats(), []).last_seen_at is None


def test_renamed_member_keeps_history_because_identity_is_the_member_id() -> None:
    renamed = member(name="New Name")
    steps = snapshot_steps([snap(20, 1_000), snap(1, 4_000)])
    chat = ChatStats(lines=7, broadcasts_by_type={"drop": 2}, last_chat_at=ago(1))
    activity = build_activity(renamed, WEEK, chat, steps)
    assert activity.display_name == "New Name"
    assert activity.member_id == 1
    assert activity.role == "prospector"
    assert activity.gains.xp == 3_000
    assert activity.chat.lines == 7
    assert activity.chat.broadcasts == 2


def test_member_without_chat_or_snapshots_gets_an_empty_activity() -> None:
    activity = build_activity(member(), WEEK, ChatStats(), [])
    assert activity.chat == ChatStats()
    assert activity.gains == Gains()
    assert not activity.active


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], None), ([4], 4.0), ([1, 2], 1.5), ([3, 1, 2], 2.0), ([0, 0, 9], 0.0)],
)
def test_median_handles_nothing_and_even_counts(
    values: list[float], expected: float | None
) -> None:
    assert median(values) == expected


@pytest.mark.parametrize(
    ("n", "include_zero", "expected"),
    [
        (0, False, []),
        (2, False, ["alice", "Bob"]),
        (5, False, ["alice", "Bob", "carl"]),
        (5, True, ["alice", "Bob", "carl", "dave"]),
    ],
)
def test_top_n_largest_first_ties_by_name_zeros_left_out(
    n: int, include_zero: bool, expected: list[str]
) -> None:
    scores = {"carl": 1, "Bob": 5, "alice": 5, "dave": 0}
    got = top_n(scores, n, scores.__getitem__, include_zero=include_zero)
    assert got == expected


@pytest.mark.parametrize(("value", "shown"), [(None, "never"), (0.2, 0), (12.9, 12)])
def test_whole_days_floors_and_says_never(value: float | None, shown: int | str) -> None:
    assert whole_days(value) == shown


# ---------------------------------------------------------------------------------------------
# Every boundary and message, worked by hand (docs/testing.md: each of these was a mutant no
# test caught).

NAIVE = datetime(2025, 12, 23, 12, 0)


def test_a_window_names_the_naive_end_it_refuses() -> None:
    with pytest.raises(ValueError) as start:
        Window("x", NAIVE - timedelta(days=1), AS_OF)
    assert str(start.value).startswith("window start must be timezone-aware (UTC), got ")
    with pytest.raises(ValueError) as end:
        Window("x", AS_OF - timedelta(days=1), NAIVE)
    assert str(end.value).startswith("window end must be timezone-aware (UTC), got ")
    with pytest.raises(ValueError) as as_of:
        parse_window("7d", NAIVE)
    assert str(as_of.value) == (
        "as_of must be timezone-aware (UTC), got datetime.datetime(2025, 12, 23, 12, 0)"
    )


@pytest.mark.parametrize(
    ("label", "accepted"),
    [
        ("3660d", True),
        ("87840h", True),  # 3,660 days in hours: the longest window
        ("87841h", False),
        ("3661d", False),
        ("523w", False),  # 523 × 7 = 3,661 days
    ],
)
def test_the_longest_window_is_3660_days(label: str, accepted: bool) -> None:
    if accepted:
        assert parse_window(label, AS_OF).days == 3660
    else:
        with pytest.raises(ValueError) as error:
            parse_window(label, AS_OF)
        assert str(error.value) == (
            f"window {label!r}: the length must be between 1 hour and 3660 days"
        )


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (
            "2025-02-30..2025-03-01",
            "window '2025-02-30..2025-03-01': 2025-02-30 is not a calendar date",
        ),
        (
            "2025-03-01..2025-02-30",
            "window '2025-03-01..2025-02-30': 2025-02-30 is not a calendar date",
        ),
        (
            "Last Week",
            "window 'Last Week' not understood: use a number and a unit (12h, 1d, 7d, 30d, 90d, "
            "2w) or a date range YYYY-MM-DD..YYYY-MM-DD",
        ),
    ],
)
def test_bad_window_messages_in_full(label: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_window(label, AS_OF)
    assert str(error.value) == message


def test_a_custom_window_starting_at_as_of_is_in_the_future() -> None:
    midnight = datetime(2025, 12, 23, tzinfo=UTC)
    with pytest.raises(ValueError) as error:
        parse_window("2025-12-23..2025-12-23", midnight)
    assert str(error.value) == "window '2025-12-23..2025-12-23': starts in the future"


def test_a_custom_window_keeps_its_label() -> None:
    window = parse_window(" 2025-12-01..2025-12-02 ", AS_OF)
    assert window.label == "2025-12-01..2025-12-02"
    assert (window.start, window.end) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2025, 12, 3, tzinfo=UTC),
    )


def test_a_first_snapshot_steps_from_nothing_at_its_own_time() -> None:
    first = snap(3, 100)
    assert snapshot_step(None, first) == Step(ago(3), None, NO_GAINS, False)


def test_a_metric_counted_from_zero_and_a_single_kill_are_gains() -> None:
    step = snapshot_step(snap(2, vorkath=0, zulrah=5), snap(1, vorkath=4, zulrah=6))
    assert step.gains == Gains(boss_kills=5, per_metric={"vorkath": 4, "zulrah": 1})
    assert step.gains.clues == 0
    assert step.gains.raid_kills == 0
    assert step.progress


def test_a_raid_gain_is_counted_in_raid_kills() -> None:
    step = snapshot_step(
        snap(2, chambers_of_xeric=10, theatre_of_blood=1),
        snap(1, chambers_of_xeric=13, theatre_of_blood=2),
    )
    assert step.gains.raid_kills == 4
    assert step.gains.boss_kills == 4


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        pytest.param(snap(2, -1), snap(1, 500), Gains(), id="xp-becomes-ranked"),
        pytest.param(snap(2, ehp=-1), snap(1, ehp=0), Gains(), id="ehp-becomes-ranked-at-0"),
        pytest.param(snap(2, ehb=-1), snap(1, ehb=2), Gains(), id="ehb-becomes-ranked"),
        pytest.param(snap(2, 100), snap(1, 101), Gains(xp=1), id="one-xp"),
        pytest.param(snap(2, ehp=1.0), snap(1, ehp=1.5), Gains(ehp=0.5), id="half-an-ehp"),
        pytest.param(snap(2, ehb=3.0), snap(1, ehb=3.25), Gains(ehb=0.25), id="a-bit-of-ehb"),
    ],
)
def test_each_total_alone_shows_progress(
    before: SnapshotPoint, after: SnapshotPoint, expected: Gains
) -> None:
    step = snapshot_step(before, after)
    assert step.progress is True
    assert step.gains == expected


def test_running_totals_add_every_field_and_count_progress_steps() -> None:
    first = Step(ago(2), ago(3), Gains(1, 0.5, 0.25, 2, 3, {}, 4), True)
    second = Step(ago(1), ago(2), Gains(10, 1.0, 2.0, 20, 30, {}, 40), True)
    still = Step(ago(0.5), ago(1), NO_GAINS, False)
    totals = NO_TOTALS.after(first).after(second).after(still)
    assert totals == RunningTotals(11, 1.5, 2.25, 22, 33, 44, 2)


def test_adding_gains_adds_every_field() -> None:
    parts = [
        Gains(1, 0.5, 0.25, 2, 3, {"vorkath": 2}, 4),
        NO_GAINS,
        Gains(10, 1.0, 2.0, 20, 30, {"vorkath": 1, "nex": 5}, 40),
    ]
    assert add_gains(parts) == Gains(11, 1.5, 2.25, 22, 33, {"nex": 5, "vorkath": 3}, 44)


@pytest.mark.parametrize(
    "part",
    [Gains(ehp=0.5), Gains(ehb=0.5), Gains(boss_kills=1), Gains(clues=2), Gains(raid_kills=0)],
    ids=["ehp", "ehb", "kills", "clues", "nothing"],
)
def test_adding_gains_keeps_any_single_field(part: Gains) -> None:
    assert add_gains([part]) == part


def test_window_progress_needs_a_progress_step_inside_the_window() -> None:
    info = member()
    quiet = Step(ago(1), ago(2), NO_GAINS, False)  # counted, in the window, no progress
    old = Step(ago(10), ago(11), Gains(xp=5), True)  # progress, before the window
    assert window_progress([quiet, old], WEEK, info.timeline) is False
    assert (
        window_progress([quiet, old, Step(ago(3), ago(4), Gains(xp=1), True)], WEEK, info.timeline)
        is True
    )


@pytest.mark.parametrize(
    ("latest", "changed", "expected"),
    [
        pytest.param(AS_OF, None, None, id="progress-at-as-of-is-not-before-it"),
        pytest.param(None, AS_OF, None, id="wom-change-at-as-of-is-not-before-it"),
        pytest.param(ago(2), ago(2), ago(2), id="same-moment"),
    ],
)
def test_last_progress_is_strictly_before_as_of(
    latest: datetime | None, changed: datetime | None, expected: datetime | None
) -> None:
    assert last_progress_at(latest, changed, AS_OF) == expected


def test_an_activity_takes_the_rank_held_at_the_window_end() -> None:
    # A recruit who became a prospector 5 days ago, seen over a window ending 10 days ago.
    info = member(role_since_days_ago=5)
    old_window = Window("old", ago(17), ago(10))
    assert build_activity(info, old_window, ChatStats(), []).role == "recruit"
    # Before they joined, the roster's rank stands in.
    before = Window("before", ago(400), ago(300))
    assert build_activity(info, before, ChatStats(), []).role == "prospector"


def test_an_activity_last_progress_looks_up_to_as_of_not_the_window_end() -> None:
    info = member(last_changed_days_ago=1)
    steps = snapshot_steps([snap(20, 100), snap(9, 200), snap(5, 200), snap(3, 300), snap(0, 400)])
    window = Window("old", ago(30), ago(8))
    # As of 2 days ago: the progress of 3 days ago counts (after the window), the one at
    # as_of itself and WOM's change of 1 day ago do not.
    activity = build_activity(info, window, ChatStats(), steps, as_of=ago(2))
    assert activity.last_progress_at == ago(3)
    # Without as_of the window's end is the as-of time: the step of 9 days ago (the one of 5
    # days ago shows no progress).
    assert build_activity(info, window, ChatStats(), steps).last_progress_at == ago(9)
    # WOM's change of 1 day ago is later than every step before as_of.
    assert build_activity(info, WEEK, ChatStats(), steps).last_progress_at == ago(1)


def test_a_progress_step_at_as_of_does_not_hide_the_one_before() -> None:
    steps = snapshot_steps([snap(10, 100), snap(3, 200), snap(0, 300)])
    assert build_activity(member(), WEEK, ChatStats(), steps).last_progress_at == ago(3)


def test_a_member_joined_at_is_the_start_of_the_period_holding_the_moment() -> None:
    info = member(joined_days_ago=200, left_days_ago=100, rejoined_days_ago=50)
    assert info.joined_at(AS_OF) == ago(50)
    assert info.joined_at(ago(150)) == ago(200)
    assert info.joined_at(ago(75)) is None


def test_top_n_of_one_and_zeros_left_out_by_default() -> None:
    scores = {"carl": 1, "Bob": 5, "alice": 0}
    assert top_n(scores, 1, scores.__getitem__) == ["Bob"]
    assert top_n(scores, 5, scores.__getitem__) == ["Bob", "carl"]
