"""Pure pieces of the daily report: its clan days and the weekly chat heatmap.

The report's *day* is a **clan day** (docs/metrics.md, "Time"): from the report time on one
local date to the report time on the next, ``[start, end)``: 23 or 25 hours across a
daylight-saving change. Posted at local midnight it is exactly the local calendar day that
just ended. Each trend day is such a clan day, labelled with the local date its last instant
falls on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo

DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)

#: Weekday names of :func:`week_heatmap` rows (ISO order, Monday first).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def clan_day_start(end: datetime, tz: tzinfo) -> datetime:
    """Start of the clan day ending at ``end``: the same local wall-clock time one local
    date earlier (UTC, like ``end``)."""
    local = end.astimezone(tz)
    earlier = (local.replace(tzinfo=None) - DAY).replace(tzinfo=tz)
    return earlier.astimezone(end.tzinfo)


def day_periods(as_of: datetime, days: int, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    """``days`` consecutive clan days ending at ``as_of``, oldest first, ``[start, end)``."""
    periods: list[tuple[datetime, datetime]] = []
    end = as_of
    for _ in range(days):
        start = clan_day_start(end, tz)
        periods.append((start, end))
        end = start
    return periods[::-1]


def period_label(end: datetime, tz: tzinfo) -> date:
    """The local date a period ending (exclusively) at ``end`` belongs to."""
    return (end - _EPSILON).astimezone(tz).date()


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
