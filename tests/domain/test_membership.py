"""Membership periods and rank clocks from roster events (docs/metrics.md, "Members")."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.membership import RosterEventIn, build_timeline, members_as_of

T = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ago(days: float) -> datetime:
    return T - days * DAY


def event(kind: str, days_ago: float, rank: str | None = None, order: int = 0) -> RosterEventIn:
    return RosterEventIn(kind, ago(days_ago), rank, order)


def test_a_period_runs_from_join_up_to_but_not_including_the_leave() -> None:
    timeline = build_timeline([event("joined", 10, "recruit"), event("left", 4)])
    assert not timeline.is_member(ago(10) - timedelta(microseconds=1))
    assert timeline.is_member(ago(10))
    assert timeline.is_member(ago(4) - timedelta(microseconds=1))
    assert not timeline.is_member(ago(4))


def test_a_rejoin_opens_a_second_period_and_total_time_adds_both() -> None:
    timeline = build_timeline(
        [event("joined", 30, "recruit"), event("left", 20), event("rejoined", 5, "recruit")],
        current_rank="recruit",
    )
    assert [(p.joined_at, p.left_at) for p in timeline.periods] == [
        (ago(30), ago(20)),
        (ago(5), None),
    ]
    assert not timeline.is_member(ago(10))
    assert timeline.joined_at(T) == ago(5)
    assert timeline.tenure_days(T) == 5
    assert timeline.total_days(T) == 15
    assert timeline.last_left_at(T) == ago(20)
    assert not timeline.same_period(ago(25), ago(2))
    assert timeline.member_intervals(ago(40), T) == [(ago(30), ago(20)), (ago(5), T)]
    assert not timeline.covers(ago(25), ago(2))
    assert timeline.covers(ago(4), T)


def test_a_join_reported_twice_and_a_leave_while_out_say_nothing_new() -> None:
    """WOM's feed and the roster diff can both report one join, at different times."""
    timeline = build_timeline(
        [
            event("joined", 30, "recruit", order=1),
            event("joined", 29, "recruit", order=2),
            event("left", 10, order=3),
            event("left", 9, order=4),
        ]
    )
    assert [(p.joined_at, p.left_at) for p in timeline.periods] == [(ago(30), ago(10))]


def test_a_rejoined_members_rank_clock_starts_at_the_rejoin_not_the_old_promotion() -> None:
    """The issue's case: joined 200 days ago, sergeant 100 days ago, left, back 5 days ago
    as prospector. 5 days at rank (it was 100)."""
    timeline = build_timeline(
        [
            event("joined", 200, "recruit"),
            event("role_changed", 100, "sergeant"),
            event("left", 30),
            event("rejoined", 5, "prospector"),
        ],
        current_rank="prospector",
    )
    assert timeline.rank_at(T) == "prospector"
    assert timeline.days_at_rank(T) == 5
    assert timeline.rank_at(ago(50)) == "sergeant"
    assert timeline.days_at_rank(ago(50)) == 50
    assert timeline.rank_at(ago(20)) is None  # out of the clan then


def test_a_rank_change_to_another_rank_than_the_current_one_is_not_the_clock() -> None:
    """The roster says corporal but the last event says sergeant (a change we missed): the
    clock is unknown, never the sergeant promotion's."""
    timeline = build_timeline(
        [event("joined", 60, "recruit"), event("role_changed", 20, "sergeant")],
        current_rank="corporal",
    )
    assert timeline.rank_at(T) == "corporal"
    assert timeline.rank_since(T) is None
    assert timeline.days_at_rank(T) is None
    assert timeline.rank_at(ago(30)) == "recruit"


def test_a_member_stored_before_events_existed_gets_one_period_from_the_fallback() -> None:
    timeline = build_timeline([], fallback_joined_at=ago(10), fallback_left_at=ago(2))
    assert [(p.joined_at, p.left_at) for p in timeline.periods] == [(ago(10), ago(2))]
    assert build_timeline([], fallback_joined_at=ago(2), fallback_left_at=ago(10)).periods == ()
    assert build_timeline([]).periods == ()


def test_members_as_of_keeps_those_inside_a_period() -> None:
    inside = build_timeline([event("joined", 10)])
    out = build_timeline([event("joined", 10), event("left", 1)])
    later = build_timeline([event("joined", 0.5)])
    found = members_as_of([(1, inside), (2, out), (3, later)], ago(0.75))
    assert [mid for mid, _ in found] == [1]  # 2 left a quarter-day before


KINDS = st.sampled_from(["joined", "rejoined", "left", "role_changed"])


@given(st.lists(st.tuples(KINDS, st.integers(0, 400), st.sampled_from(["a", "b"])), max_size=12))
def test_periods_never_overlap_and_the_order_events_arrive_in_does_not_matter(
    raw: list[tuple[str, int, str]],
) -> None:
    events = [RosterEventIn(k, ago(d), r, i) for i, (k, d, r) in enumerate(raw)]
    timeline = build_timeline(events, current_rank="a")
    assert build_timeline(list(reversed(events)), current_rank="a") == timeline
    ends = [p.joined_at for p in timeline.periods]
    assert ends == sorted(ends)
    for first, second in itertools.pairwise(timeline.periods):
        assert first.left_at is not None and first.left_at <= second.joined_at
    for period in timeline.periods:
        assert timeline.is_member(period.joined_at)
        since = timeline.rank_since(period.joined_at)
        assert since is None or period.contains(since)


# ---------------------------------------------------------------------------------------------
# Boundaries, worked by hand (docs/testing.md: each of these was a mutant no test caught).


def _two_periods() -> tuple[RosterEventIn, ...]:
    # In the clan 30 → 20 days ago as a recruit (a gamer from 25 days ago), back 5 days ago.
    return (
        event("joined", 30, "recruit", 1),
        event("role_changed", 25, "gamer", 2),
        event("left", 20, None, 3),
        event("rejoined", 5, "recruit", 4),
    )


def test_total_days_up_to_a_moment_between_two_periods_counts_the_first_only() -> None:
    timeline = build_timeline(_two_periods(), current_rank="wild")
    assert timeline.total_days(ago(10)) == 10.0
    assert timeline.total_days(ago(5)) == 10.0  # the second period starts at that moment
    assert timeline.total_days(T) == 15.0


def test_last_left_at_includes_a_leave_at_the_moment_and_is_none_for_a_stayer() -> None:
    timeline = build_timeline(_two_periods())
    assert timeline.last_left_at(ago(20)) == ago(20)
    assert timeline.last_left_at(ago(21)) is None
    assert build_timeline([event("joined", 3, "recruit")]).last_left_at(T) is None


def test_member_intervals_leave_out_a_period_that_ends_where_the_range_starts() -> None:
    timeline = build_timeline(_two_periods())
    assert timeline.member_intervals(ago(20), T) == [(ago(5), T)]
    assert timeline.member_intervals(ago(22), ago(4)) == [(ago(22), ago(20)), (ago(5), ago(4))]


def test_covers_needs_one_period_holding_both_ends_before_its_leave() -> None:
    timeline = build_timeline(_two_periods())
    assert timeline.covers(ago(30), ago(21))
    assert not timeline.covers(ago(30), ago(20))  # the leave itself is outside
    assert not timeline.covers(ago(40), ago(35))  # before joining


def test_the_rank_at_a_change_is_the_new_rank_and_a_closed_period_keeps_its_own() -> None:
    timeline = build_timeline(_two_periods(), current_rank="wild")
    # The first period is closed: its last mark, not the roster's current rank.
    assert timeline.rank_at(ago(25)) == "gamer"
    assert timeline.rank_at(ago(21)) == "gamer"
    assert timeline.rank_since(ago(25)) == ago(25)
    # The open period: the roster's rank from its last mark on, that mark's moment included.
    assert timeline.rank_at(ago(5)) == "wild"


def test_a_member_who_left_keeps_the_rank_of_their_last_mark_not_the_rosters() -> None:
    timeline = build_timeline(
        [event("joined", 30, "recruit", 1), event("left", 10, None, 2)], current_rank="owner"
    )
    assert timeline.rank_at(ago(15)) == "recruit"


def test_a_fallback_period_has_no_marks_and_so_the_rosters_rank_or_none() -> None:
    open_ = build_timeline([], current_rank="gamer", fallback_joined_at=ago(40))
    assert open_.rank_at(ago(1)) == "gamer"
    assert open_.rank_since(ago(1)) is None
    closed = build_timeline(
        [], current_rank="gamer", fallback_joined_at=ago(40), fallback_left_at=ago(10)
    )
    assert closed.rank_at(ago(20)) is None


def test_a_join_without_a_rank_gives_no_rank_clock() -> None:
    timeline = build_timeline([event("joined", 30, None, 1)])
    assert timeline.rank_at(ago(1)) is None
    assert timeline.rank_since(ago(1)) is None
    assert timeline.days_at_rank(ago(1)) is None


def test_a_fallback_that_ends_where_it_starts_gives_no_period() -> None:
    timeline = build_timeline([], fallback_joined_at=ago(10), fallback_left_at=ago(10))
    assert timeline.periods == ()


def _marks(events: list[RosterEventIn]) -> list[tuple[datetime, str | None, int]]:
    return [(m.at, m.rank, m.period) for m in build_timeline(events).marks]


def test_a_leave_at_the_join_moment_takes_that_joins_rank_mark_away_only() -> None:
    # In 30 → 20 days ago; joined and left at once 10 days ago; back 5 days ago.
    events = [
        event("joined", 30, "recruit", 1),
        event("left", 20, None, 2),
        event("rejoined", 10, "gamer", 3),
        event("left", 10, None, 4),
        event("rejoined", 5, "wild", 5),
    ]
    assert _marks(events) == [(ago(30), "recruit", 0), (ago(5), "wild", 1)]
    # Only ever joined-and-left at once, then back: just the last join's mark.
    instant = [event("joined", 9, "gamer", 1), event("left", 9, None, 2)]
    assert _marks([*instant, event("rejoined", 2, "wild", 3)]) == [(ago(2), "wild", 0)]


def test_tenure_under_a_day_is_a_fraction_of_a_day() -> None:
    timeline = build_timeline([event("joined", 0.5, "recruit")], current_rank="recruit")
    assert timeline.tenure_days(T) == 0.5
    assert timeline.days_at_rank(T) == 0.5
