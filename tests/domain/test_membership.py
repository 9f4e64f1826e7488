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
