"""Pure pieces of the daily report: its periods, the XP trend and the weekly chat heatmap.

The report's *day* is the 24 hours before ``as_of`` (``[as_of − 24 h, as_of)``). Posted at
local midnight, that is exactly the local calendar day that just ended (except on a DST
change, where it is 23 or 25 local hours away from that day's bounds by one hour). Each trend
day is such a 24-hour period, labelled with the local date its last instant falls on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo

DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)

#: Weekday names of :func:`week_heatmap` rows (ISO order, Monday first).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def day_periods(as_of: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """``days`` consecutive 24-hour periods ending at ``as_of``, oldest first, ``[start, end)``."""
    return [(as_of - (days - i) * DAY, as_of - (days - i - 1) * DAY) for i in range(days)]


def period_label(end: datetime, tz: tzinfo) -> date:
    """The local date a period ending (exclusively) at ``end`` belongs to."""
    return (end - _EPSILON).astimezone(tz).date()


def xp_per_period(xp_by_member: Mapping[int, Sequence[int | None]]) -> list[int | None]:
    """The clan's XP gained in each period from each member's XP at the period bounds.

    ``xp_by_member[m][i]`` is member ``m``'s total XP just before bound ``i`` (None when not
    tracked yet); period ``i`` runs from bound ``i`` to bound ``i + 1``. A member counts in a
    period when both bounds are known, never below 0: a member first tracked inside a period
    adds nothing to it (an undercount, never an overcount). A period no member counts in is
    None: nobody was tracked across it, which is not the same as nobody gaining XP.
    """
    sizes = {len(values) for values in xp_by_member.values()}
    periods = max(sizes, default=1) - 1
    totals: list[int | None] = [None] * max(0, periods)
    for values in xp_by_member.values():
        for index in range(len(values) - 1):
            before, after = values[index], values[index + 1]
            if before is not None and after is not None:
                gained = after - before if after > before else 0
                known = totals[index]
                totals[index] = gained if known is None else known + gained
    return totals


def week_heatmap(hour_counts: Mapping[datetime, int], tz: tzinfo) -> tuple[tuple[int, ...], ...]:
    """7 × 24 counts (Monday first, local hours 0–23) from counts per UTC hour start.

    Exact for time zones whose offset is a whole number of hours; a half-hour zone has each
    UTC hour counted in the local hour it starts in.
    """
    grid = [[0] * 24 for _ in range(7)]
    for hour_start, count in hour_counts.items():
        local = hour_start.astimezone(tz)
        grid[local.weekday()][local.hour] += count
    return tuple(tuple(row) for row in grid)
