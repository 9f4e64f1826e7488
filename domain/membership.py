"""Membership over time: periods in the clan and ranks, from the member's roster events.

Pure. The definitions are docs/metrics.md ("Members"): a membership period runs from a join
to the following leave, ``[joined, left)``; a member as of T is inside a period at T; tenure
and days at rank are counted within the current period.

Events come as stored (joins from WOM's feed, from the roster diff or from the first roster,
leaves, rejoins, rank changes) and may repeat one another: WOM's feed and the roster diff can
both report a join, at different times. Reading them in time order, a join while already in
the clan or a leave while already out says nothing new and is skipped.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: Event kinds that open a period, close one, or set the rank.
JOIN_KINDS = frozenset({"joined", "rejoined"})
LEAVE_KINDS = frozenset({"left"})
RANK_KINDS = frozenset({"joined", "rejoined", "role_changed"})
TIMELINE_KINDS = JOIN_KINDS | LEAVE_KINDS | RANK_KINDS

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RosterEventIn:
    """One stored roster event: ``kind`` is joined, rejoined, left or role_changed;
    ``new_value`` is the rank a join or rank change set. ``order`` breaks ties in time
    (the event's id: the order it was stored in)."""

    kind: str
    at: datetime
    new_value: str | None = None
    order: int = 0


@dataclass(frozen=True, slots=True)
class Period:
    """One membership period ``[joined_at, left_at)``; ``left_at`` None while it lasts."""

    joined_at: datetime
    left_at: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        return self.joined_at <= moment and (self.left_at is None or moment < self.left_at)


@dataclass(frozen=True, slots=True)
class _RankMark:
    at: datetime
    rank: str | None
    period: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """A member's periods in the clan and the ranks they were given, oldest first.

    ``current_rank`` is the rank the roster shows now: it is the member's rank from the last
    rank event of their open period on (the roster is the truth for "now"; an event missed
    does not make it wrong).
    """

    periods: tuple[Period, ...]
    marks: tuple[_RankMark, ...] = ()
    current_rank: str | None = None
    # Derived, for lookups in time (reports ask a timeline thousands of times).
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _marks_of: tuple[tuple[_RankMark, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(p.joined_at for p in self.periods))
        object.__setattr__(
            self,
            "_marks_of",
            tuple(tuple(m for m in self.marks if m.period == i) for i in range(len(self.periods))),
        )

    # -- periods ---------------------------------------------------------------------------

    def period_index(self, moment: datetime) -> int | None:
        """Index of the period holding ``moment``, or None when out of the clan then."""
        i = bisect.bisect_right(self._starts, moment) - 1
        if i >= 0 and self.periods[i].contains(moment):
            return i
        return None

    def period_at(self, moment: datetime) -> Period | None:
        i = self.period_index(moment)
        return None if i is None else self.periods[i]

    def is_member(self, moment: datetime) -> bool:
        """True when inside a membership period at ``moment`` (``joined ≤ moment < left``)."""
        return self.period_index(moment) is not None

    def same_period(self, first: datetime, second: datetime) -> bool:
        """True when both moments lie in one membership period."""
        i = self.period_index(first)
        return i is not None and i == self.period_index(second)

    def joined_at(self, moment: datetime) -> datetime | None:
        """Start of the period holding ``moment`` (None when out of the clan then)."""
        period = self.period_at(moment)
        return None if period is None else period.joined_at

    def tenure_days(self, moment: datetime) -> float | None:
        """Days since the current period began, as of ``moment``."""
        start = self.joined_at(moment)
        return None if start is None else _days(moment - start)

    def total_days(self, moment: datetime) -> float:
        """Days in the clan over every period, up to ``moment``."""
        total = timedelta()
        for period in self.periods:
            if period.joined_at >= moment:
                break
            end = moment if period.left_at is None else min(period.left_at, moment)
            total += end - period.joined_at
        return _days(total)

    def last_left_at(self, moment: datetime) -> datetime | None:
        """When the member last left, at or before ``moment`` (None if never)."""
        ends = [p.left_at for p in self.periods if p.left_at is not None and p.left_at <= moment]
        return max(ends, default=None)

    def member_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The parts of ``[start, end)`` spent in the clan, oldest first."""
        out: list[tuple[datetime, datetime]] = []
        for period in self.periods:
            low = max(start, period.joined_at)
            high = end if period.left_at is None else min(end, period.left_at)
            if low < high:
                out.append((low, high))
        return out

    def covers(self, start: datetime, end: datetime) -> bool:
        """True when one period holds all of ``[start, end]``."""
        i = self.period_index(start)
        if i is None:
            return False
        left = self.periods[i].left_at
        return left is None or end < left

    # -- ranks -----------------------------------------------------------------------------

    def rank_at(self, moment: datetime) -> str | None:
        """The member's rank as of ``moment`` (None when out of the clan or unknown)."""
        i = self.period_index(moment)
        if i is None:
            return None
        marks = self._marks_of[i]  # in time order
        if not marks or marks[-1].at <= moment:  # nothing in the period after ``moment``
            if i == len(self.periods) - 1 and self.periods[i].left_at is None:
                return self.current_rank
            return marks[-1].rank if marks else None
        before = [m for m in marks if m.at <= moment]
        return before[-1].rank if before else None

    def rank_since(self, moment: datetime) -> datetime | None:
        """When the member got their rank as of ``moment``, within the current period: the
        latest join or rank change of the period, up to ``moment``, that set that rank. None
        when nothing in the period names it (the clock is unknown)."""
        i = self.period_index(moment)
        rank = self.rank_at(moment)
        if i is None or rank is None:
            return None
        for mark in reversed(self.marks):
            if mark.period == i and mark.at <= moment and mark.rank == rank:
                return mark.at
        return None

    def days_at_rank(self, moment: datetime) -> float | None:
        since = self.rank_since(moment)
        return None if since is None else _days(moment - since)


def build_timeline(
    events: Iterable[RosterEventIn],
    *,
    current_rank: str | None = None,
    fallback_joined_at: datetime | None = None,
    fallback_left_at: datetime | None = None,
) -> Timeline:
    """A member's timeline from their roster events.

    A member stored without any join event (data older than the events) gets one period
    from ``fallback_joined_at`` (to ``fallback_left_at``) instead, when it is known.
    """
    ordered = sorted((e for e in events if e.kind in TIMELINE_KINDS), key=lambda e: (e.at, e.order))
    periods: list[Period] = []
    marks: list[_RankMark] = []
    open_since: datetime | None = None
    for event in ordered:
        if event.kind in JOIN_KINDS:
            # A join while in the clan is a second report of the same join: nothing new.
            if open_since is None:
                open_since = event.at
                marks.append(_RankMark(event.at, event.new_value, len(periods)))
        elif event.kind in LEAVE_KINDS:
            if open_since is not None and event.at > open_since:
                periods.append(Period(open_since, event.at))
            elif open_since is not None:  # left the moment they joined: no time in the clan
                marks = [m for m in marks if m.period != len(periods)]
            open_since = None
        elif open_since is not None:  # a rank change while in the clan
            marks.append(_RankMark(event.at, event.new_value, len(periods)))
    if open_since is not None:
        periods.append(Period(open_since, None))
    if (
        not periods
        and fallback_joined_at is not None
        and (fallback_left_at is None or fallback_left_at > fallback_joined_at)
    ):
        periods.append(Period(fallback_joined_at, fallback_left_at))
    return Timeline(tuple(periods), tuple(marks), current_rank)


def members_as_of(
    timelines: Sequence[tuple[int, Timeline]], moment: datetime
) -> list[tuple[int, Timeline]]:
    """The ``(member id, timeline)`` pairs inside a period at ``moment``."""
    return [(mid, t) for mid, t in timelines if t.is_member(moment)]


def _days(delta: timedelta) -> float:
    return max(0.0, delta / _DAY)
