"""Leaderboards by a metric's gain or chat lines, and the autocompletes they use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from bot.usecases.reports.loader import (
    ReportInputError,
    clan_facts,
    clan_members,
    gains_in,
    member_lines,
    metric_gains,
    parse_windows,
)
from domain.activity import (
    NO_CHAT,
    NO_GAINS,
    ChatStats,
    Gains,
    MemberActivity,
    Window,
    top_n,
)
from domain.metrics import CHAT_METRIC, XP_METRIC, metric_choices, metric_label, resolve_metric
from domain.names import name_key
from storage.repositories import reports as repo

# ---------------------------------------------------------------------------------------------
# Leaderboards and autocomplete


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    """One place on a leaderboard (ties share no place: name order breaks them)."""

    place: int
    member_id: int
    display_name: str
    value: float


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """The top members by one metric's gain (or chat lines) over one window."""

    metric: str
    metric_label: str
    window: Window
    entries: tuple[LeaderboardEntry, ...]


async def known_metrics(app: App, clan_id: int) -> list[str]:
    """Metric names the clan's snapshots hold (bosses WOM added lately included)."""
    async with app.db.read() as session:
        return await repo.metric_names(session, clan_id)


async def metric_autocomplete(app: App, clan_id: int, prefix: str) -> list[str]:
    """At most 25 metric names matching what the user typed so far."""
    return metric_choices(prefix, await known_metrics(app, clan_id))


async def roster_names(app: App, clan_id: int, prefix: str, limit: int = 25) -> list[str]:
    """Display names of current members starting with ``prefix`` (any case/spacing)."""
    async with app.db.read() as session:
        return await repo.names_starting_with(session, clan_id, name_key(prefix), limit)


def _metric_value(metric: str, activity: MemberActivity) -> float:
    if metric == CHAT_METRIC:
        return activity.chat.lines
    if metric == XP_METRIC:
        return activity.gains.xp
    if metric == "ehp":
        return activity.gains.ehp
    if metric == "ehb":
        return activity.gains.ehb
    return activity.gains.per_metric.get(metric, 0.0)


async def leaderboard(
    app: App, clan_id: int, metric: str, period: str, as_of: datetime, limit: int = 10
) -> Leaderboard:
    """Top ``limit`` members by gain of ``metric`` (or chat lines) in ``period``.

    ``metric`` accepts nicknames (see :func:`domain.metrics.resolve_metric`); members with
    nothing gained are left out. Raises :class:`ReportInputError` for an unknown metric or a
    bad period.
    """
    (window,) = parse_windows([period], as_of)
    async with app.db.read() as session:
        try:
            name = resolve_metric(metric, await repo.metric_names(session, clan_id))
        except ValueError as exc:
            raise ReportInputError(str(exc)) from None
        await clan_facts(session, clan_id)
        everyone = await clan_members(session, clan_id, app.memo)
        members = [m for m in everyone if m.is_member(as_of)]
        lines: dict[int, int] = {}
        gains: dict[int, Gains] = {}
        if name == CHAT_METRIC:
            (lines,) = await member_lines(session, clan_id, [window], members)
        elif name in (XP_METRIC, "ehp", "ehb"):
            (gains,), _ = await gains_in(session, clan_id, [window], members)
        else:
            found = await metric_gains(session, clan_id, window, members, name)
            gains = {mid: Gains(per_metric={name: value}) for mid, value in found.items()}
    # Only the figure is ranked: last progress is not worked out.
    activities = [
        MemberActivity(
            m,
            window,
            ChatStats(lines=lines[m.member_id]) if m.member_id in lines else NO_CHAT,
            gains.get(m.member_id, NO_GAINS),
            None,
        )
        for m in members
    ]
    best = top_n(
        activities,
        max(0, limit),
        key=lambda a: _metric_value(name, a),
        name=lambda a: a.display_name,
    )
    entries = tuple(
        LeaderboardEntry(i + 1, a.member_id, a.display_name, _metric_value(name, a))
        for i, a in enumerate(best)
    )
    return Leaderboard(name, metric_label(name), window, entries)
