"""Pure pieces of the daily report: its clan days and the weekly chat heatmap.

The report's *day* is a **clan day** (docs/metrics.md, "Time"): from the report time on one
local date to the report time on the next, ``[start, end)``: 23 or 25 hours across a
daylight-saving change. Posted at local midnight it is exactly the local calendar day that
just ended. Each trend day is such a clan day, labelled with the local date its last instant
falls on.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

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


def counts_per_period(
    hour_counts: Mapping[datetime, int],
    hours_from: datetime,
    hours_to: datetime,
    periods: Sequence[tuple[datetime, datetime]],
) -> list[int] | None:
    """Each period's count, added up from counts per UTC hour of ``[hours_from, hours_to)``
    (keyed by the hour's start; the first and last hour may be cut by the range).

    Exact when the periods, oldest first and not overlapping, lie in the range and each of
    their bounds is a whole UTC hour or a bound of the range: then every hour's count falls
    in one period or in none. Otherwise (a half-hour time zone, a period outside the range)
    the hours cannot say: None.
    """
    previous_end = hours_from
    for start, end in periods:
        if start < previous_end or end > hours_to or start > end:
            return None
        previous_end = end
        if not (_whole_hour(start) or start == hours_from):
            return None
        if not (_whole_hour(end) or end == hours_to):
            return None
    starts = [start for start, _ in periods]
    out = [0] * len(periods)
    for hour, count in hour_counts.items():
        moment = max(hour, hours_from)  # the first hour starts where the range does
        i = bisect.bisect_right(starts, moment) - 1
        if i >= 0 and moment < periods[i][1]:
            out[i] += count
    return out


def _whole_hour(moment: datetime) -> bool:
    utc = moment.astimezone(UTC)
    return utc.minute == 0 and utc.second == 0 and utc.microsecond == 0
