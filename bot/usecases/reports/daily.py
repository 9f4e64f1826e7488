"""The daily report: the day's pulse, tops, notable broadcasts, roster changes, attention
and the two charts' data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from bot.usecases.context import App
from bot.usecases.reports.drops import notable_between
from bot.usecases.reports.loader import (
    HEATMAP_DAYS,
    TOP_COUNT,
    TREND_DAYS,
    inactive_window_label,
    load,
    parse_windows,
    rule_settings_from,
    xp_per_day,
)
from domain.activity import (
    Gains,
    MemberActivity,
    Window,
    is_boss_metric,
    top_n,
    window_gains,
)
from domain.broadcasts import Notable
from domain.metrics import metric_label
from domain.report import DAY, counts_per_period, day_periods, period_label, week_heatmap
from domain.rules import (
    Finding,
    RuleSettings,
    UnmatchedFinding,
    alerts,
    inactive,
    promotions,
)
from domain.rules import unmatched as unmatched_rule
from storage.repositories import reports as repo
from storage.repositories.reports import (
    RosterEvent,
)

# ---------------------------------------------------------------------------------------------
# Daily report


@dataclass(frozen=True, slots=True)
class Pulse:
    """The day in four numbers, with the 7-day average to compare chat against."""

    #: Every counted chat line of the day (members, guests and departed members).
    chat_lines: int
    chat_lines_avg_7d: float
    #: Members as of the day's end with a counted chat line in the day ("N of M chatted").
    active_chatters: int
    #: The XP the members as of the day's end gained in it (the trend's last day).
    xp_gained: int
    members: int
    #: Of ``chat_lines``, those from guests and departed members (shown apart).
    guest_lines: int = 0


@dataclass(frozen=True, slots=True)
class Ranked:
    """A member on a top list, with an optional detail (e.g. their top boss)."""

    member_id: int
    display_name: str
    value: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TrendDay:
    """One 24-hour period of the trend chart, labelled by its local date."""

    day: date
    start: datetime
    end: datetime
    chat_lines: int
    #: None when no member was tracked across the whole period (before their first snapshot).
    xp_gained: int | None


@dataclass(frozen=True, slots=True)
class Attention:
    """What officers should look at: full lists; renderers show counts and the top few."""

    inactive: tuple[Finding, ...]
    alerts: tuple[Finding, ...]
    promotions: tuple[Finding, ...]
    unmatched: tuple[UnmatchedFinding, ...]


@dataclass(frozen=True, slots=True)
class DailyReport:
    """The daily report of the clan day ``[start, as_of)`` (see :mod:`domain.report`)."""

    clan_name: str
    as_of: datetime
    start: datetime
    timezone: str
    pulse: Pulse
    top_chatters: tuple[Ranked, ...]
    top_xp: tuple[Ranked, ...]
    top_bosses: tuple[Ranked, ...]
    notable: Notable
    roster_changes: tuple[RosterEvent, ...]
    attention: Attention
    #: Chat lines per local weekday (Monday first) × local hour, over the last 28 days.
    heatmap: tuple[tuple[int, ...], ...]
    heatmap_days: int
    trend: tuple[TrendDay, ...] = field(default=())


async def daily_report(
    app: App,
    clan_id: int,
    as_of: datetime,
    tz: tzinfo,
    settings: RuleSettings | None = None,
) -> DailyReport:
    """Build the daily report for the clan day ending at ``as_of`` (docs/metrics.md).

    Pulse (chat lines vs the average of the 7 days before, active chatters, XP gained), top
    chatters / XP / boss kills, notable broadcasts (biggest drops by coin value, pets, 99s),
    roster changes, the attention section (purge list over the clan's inactivity window, 60d
    by default, alerts 7d vs 30d, promotions over 30d, unmatched names) and the data of the
    two charts: the 24 × 7 chat heatmap of the last 28 days and 14 clan days of (local date,
    chat lines, XP gained), whose XP uses the same counted steps as the pulse, so the two
    agree. Thresholds come from
    ``settings`` or the clan's ``settings["rules"]``.
    """
    periods = day_periods(as_of, TREND_DAYS, tz)
    start = periods[-1][0]
    windows = [
        Window("1d", start, as_of),
        *parse_windows(["7d", "30d", await inactive_window_label(app, clan_id)], as_of),
    ]
    day, week, month, purge = range(4)
    async with app.db.read() as session:
        data = await load(
            session,
            clan_id,
            windows,
            as_of,
            memo=app.memo,
            counted=3,  # the day, 7d, 30d; the 60d purge window is presence-only
            # The day and 30d lists rank lines, XP and kills; alerts (7d) and the purge
            # list (60d) ask whether a quiet member had a presence broadcast.
            broadcasts=("none", "quiet", "none", "quiet"),
        )
        everyone = data.everyone
        heatmap_from = as_of - HEATMAP_DAYS * DAY
        hours = await repo.chat_lines_per_hour(session, clan_id, heatmap_from, as_of)
        # The trend's days are whole hours of the heatmap's (unless the zone is a half-hour
        # one): added up from them, not counted again.
        trend_lines = counts_per_period(hours, heatmap_from, as_of, periods)
        if trend_lines is None:
            trend_lines = await repo.chat_lines_in_windows(session, clan_id, periods)
        trend_xp = await xp_per_day(session, clan_id, periods, everyone)
        # The same reading as /clan drops (bot/usecases/reports/drops.py): the same values.
        notable = await notable_between(session, clan_id, start, as_of, limit=TOP_COUNT)
        roster = await repo.roster_events(session, clan_id, start, as_of)
        names = await repo.unmatched_names(session, clan_id)
        today = data.activities(day)
        # The top boss of each of the day's top boss killers: their steps one by one.
        killers = top_n(today, TOP_COUNT, key=lambda a: a.gains.boss_kills, name=_name)
        day_steps = await repo.steps_of(
            session, [a.member_id for a in killers], start, as_of, per_metric=True
        )
    top_bosses = tuple(
        Ranked(
            a.member_id,
            a.display_name,
            a.gains.boss_kills,
            _top_boss(
                window_gains(day_steps.get(a.member_id, []), windows[day], a.member.timeline)
            ),
        )
        for a in killers
    )
    rules = settings if settings is not None else rule_settings_from(data.clan.settings)
    ranks = data.ranks()
    acts_7d, acts_30d = data.activities(week), data.activities(month)
    trend = tuple(
        TrendDay(period_label(end, tz), begin, end, lines, xp)
        for (begin, end), lines, xp in zip(periods, trend_lines, trend_xp, strict=True)
    )
    previous = trend_lines[-8:-1]
    member_lines = sum(a.chat.lines for a in today)
    pulse = Pulse(
        chat_lines=trend_lines[-1],
        chat_lines_avg_7d=round(sum(previous) / len(previous), 1) if previous else 0.0,
        active_chatters=sum(1 for a in today if a.chat.lines > 0),
        xp_gained=sum(a.gains.xp for a in today),
        members=len(data.members),
        guest_lines=max(0, trend_lines[-1] - member_lines),
    )
    return DailyReport(
        clan_name=data.clan.name,
        as_of=as_of,
        start=start,
        timezone=str(tz),
        pulse=pulse,
        top_chatters=_top(today, lambda a: a.chat.lines),
        top_xp=_top(today, lambda a: a.gains.xp),
        top_bosses=top_bosses,
        notable=notable.notable,
        roster_changes=tuple(roster),
        attention=Attention(
            inactive=tuple(inactive(data.activities(purge), ranks, rules, as_of)),
            alerts=tuple(alerts(acts_7d, acts_30d, ranks, rules, as_of)),
            promotions=tuple(promotions(acts_30d, ranks, rules, as_of)),
            unmatched=tuple(unmatched_rule(names)),
        ),
        heatmap=week_heatmap(hours, tz),
        heatmap_days=HEATMAP_DAYS,
        trend=trend,
    )


def _name(activity: MemberActivity) -> str:
    return activity.display_name


def _top_boss(gains: Gains) -> str:
    bosses = [(k, v) for k, v in gains.per_metric.items() if is_boss_metric(k)]
    if not bosses:
        return ""
    name, kills = max(bosses, key=lambda item: (item[1], item[0]))
    return f"{metric_label(name)} +{kills:g}"


def _top(activities: Sequence[MemberActivity], key: Any) -> tuple[Ranked, ...]:
    best = top_n(activities, TOP_COUNT, key=key, name=_name)
    return tuple(Ranked(a.member_id, a.display_name, key(a)) for a in best)
