"""What every report answer shares: errors, the clan's rule and rank settings, window parsing,
and the loader that reads members, chat, broadcasts and snapshot endpoints for some windows.

The answers (one module each: :mod:`.members`, :mod:`.findings`, :mod:`.profile`,
:mod:`.leaderboard`, :mod:`.daily`) open one read unit of work, ask the report repository the
few window questions they need (:mod:`storage.repositories.reports`) through :func:`load` and
hand the answers to the domain (:mod:`domain.activity`, :mod:`domain.rules`,
:mod:`domain.report`). Cogs, the scheduled daily post and the CLI all call them.

Windows are labels understood by :func:`domain.activity.parse_window` (``7d``, ``12h``,
``2025-12-01..2025-12-07``) ending at ``as_of``. Chat counts are in-game chat lines in
``[start, end)``: broadcasts, Discord chatter, repeat relays and deleted lines never count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import App
from domain.activity import (
    NO_CHAT,
    NO_GAINS,
    ChatStats,
    Gains,
    MemberActivity,
    MemberInfo,
    RunningTotals,
    Step,
    Window,
    last_progress_at,
    parse_window,
    window_gains,
    window_progress,
)
from domain.clan_config import ConfigError, rank_config, rule_settings
from domain.ranks import RankConfig
from domain.rules import (
    DEFAULT_INACTIVE_WINDOW,
    RuleSettings,
)
from storage.repositories import reports as repo
from storage.repositories.clans import get_clan_by_group
from storage.repositories.reports import ClanFacts

FindingsKind = Literal["inactive", "audit", "alerts", "promotions"]
FINDINGS_KINDS: tuple[FindingsKind, ...] = ("inactive", "audit", "alerts", "promotions")
#: Which broadcasts :func:`_load` reads for a window: every member's by type (``all``); only
#: those of the members who neither chatted nor progressed in it (``quiet``: enough for every
#: rule, which only asks whether an otherwise inactive member had a presence broadcast); or
#: none (``none``: the caller does not look at broadcasts in that window).
BroadcastNeed = Literal["all", "quiet", "none"]

#: Window each officer rule looks at unless the caller passes one (alerts also use 30d).
FINDINGS_WINDOWS: Mapping[FindingsKind, str] = {
    "inactive": DEFAULT_INACTIVE_WINDOW,
    "audit": "30d",
    "alerts": "7d",
    "promotions": "30d",
}
ALERTS_LONG_WINDOW = "30d"
#: Broadcasts each rule looks at, per window (see :data:`BroadcastNeed`): presence decides
#: "active" for the purge list, the audit and the leadership slump; promotions and the long
#: alerts window only count chat lines and XP.
FINDINGS_BROADCASTS: Mapping[FindingsKind, tuple[BroadcastNeed, ...]] = {
    "inactive": ("quiet",),
    "audit": ("quiet",),
    "alerts": ("quiet", "none"),
    "promotions": ("none",),
}
#: Which counted windows' gains each rule reads (all when not listed): the long alerts
#: window only compares chat rates.
FINDINGS_GAINS: Mapping[FindingsKind, tuple[bool, ...]] = {"alerts": (True, False)}
DEFAULT_EXPORT_WINDOWS: tuple[str, ...] = ("7d", "30d")
PROFILE_WINDOWS: tuple[str, ...] = ("7d", "30d")
TREND_DAYS = 14
HEATMAP_DAYS = 28
TOP_COUNT = 5


class ReportError(Exception):
    """Base of the errors a report use case raises; the message is meant for the user."""


class ReportInputError(ReportError, ValueError):
    """A bad window, metric, period or kind given by the user."""


class ClanNotSyncedError(ReportError, LookupError):
    """The clan has no members stored yet: nothing to report until a WOM sync ran."""


class UnknownPlayerError(ReportError, LookupError):
    """No member, current or past, has that name (or an earlier one)."""


# ---------------------------------------------------------------------------------------------
# Settings


def rule_settings_from(clan_settings: Mapping[str, Any]) -> RuleSettings:
    """Rule thresholds from a clan's ``settings`` JSON, defaults for anything not given
    (:func:`domain.clan_config.rule_settings`: every setting of ``docs/configuration.md``).
    Raises :class:`ReportInputError` naming the bad key."""
    try:
        return rule_settings(clan_settings)
    except ConfigError as exc:
        raise ReportInputError(str(exc)) from None


def rank_config_from(clan: ClanFacts) -> RankConfig:
    """The clan's rank tiers: WOM's rank order, with tier overrides from ``settings["ranks"]``."""
    return rank_config(clan.settings, clan.role_order)


async def inactive_window_label(app: App, clan_id: int) -> str:
    """The purge list's window for this clan (``inactive_window_days``, ``/config
    inactivity``), as a window label: ``60d`` by default."""
    async with app.db.read() as session:
        facts = await repo.clan_facts(session, clan_id)
    if facts is None:
        return DEFAULT_INACTIVE_WINDOW
    return f"{rule_settings_from(facts.settings).inactive_window_days}d"


# ---------------------------------------------------------------------------------------------
# Loading activity for windows


def parse_windows(labels: Sequence[str], as_of: datetime) -> list[Window]:
    """Parse window labels (deduplicated, order kept); :class:`ReportInputError` when bad."""
    if not labels:
        raise ReportInputError("no window given: use e.g. 7d, 30d or 2025-12-01..2025-12-07")
    windows: dict[str, Window] = {}
    for label in labels:
        try:
            window = parse_window(label, as_of)
        except ValueError as exc:
            raise ReportInputError(str(exc)) from None
        windows.setdefault(window.label, window)
    return list(windows.values())


#: Which per-metric gains :func:`load` reads: none, or some metrics by name.
MetricsSpec = Sequence[str] | None


@dataclass
class Loaded:
    """Everything the activity model needs for some windows, read in a few queries.

    ``members`` are the members as of ``as_of`` (docs/metrics.md, "Members"). Per window:
    ``lines`` (counted chat lines while a member; presence-only windows hold 1 or 0),
    ``broadcasts`` (what was asked for, see :data:`BroadcastNeed`), ``gains`` and ``stepped``
    (counted steps, see "Progress"). Per distinct window end: ``last_chat`` (latest counted
    chat line while a member, before it) and ``latest_progress``.
    """

    clan: ClanFacts
    as_of: datetime
    members: list[MemberInfo]
    #: Every member the clan ever had (``members`` are those of them as of ``as_of``).
    everyone: list[MemberInfo]
    windows: list[Window]
    lines: list[dict[int, int]]
    broadcasts: list[dict[int, dict[str, int]]]
    gains: list[dict[int, Gains]]
    stepped: list[dict[int, bool]]
    last_chat: dict[datetime, dict[int, datetime]]
    #: Per window end: each member's latest progress snapshot before it (taken at, and the
    #: time of the snapshot before that).
    latest_progress: dict[datetime, dict[int, tuple[datetime, datetime | None]]]
    _activities: dict[int, list[MemberActivity]] = field(default_factory=dict)

    def chat(self, index: int, member_id: int) -> ChatStats:
        window = self.windows[index]
        count = self.lines[index].get(member_id, 0)
        by_type = self.broadcasts[index].get(member_id)
        last = self.last_chat[window.end].get(member_id)
        if count == 0 and by_type is None and last is None:
            return NO_CHAT
        return ChatStats(lines=count, broadcasts_by_type=by_type or {}, last_chat_at=last)

    def progress(self, index: int, member: MemberInfo) -> datetime | None:
        """Last progress of ``member`` as of window ``index``'s end."""
        end = self.windows[index].end
        latest = self.latest_progress[end].get(member.member_id)
        return last_progress_at(latest and latest[0], member.last_changed_at, end)

    def activity(self, index: int, member: MemberInfo) -> MemberActivity:
        mid = member.member_id
        return MemberActivity(
            member=member,
            window=self.windows[index],
            chat=self.chat(index, mid),
            gains=self.gains[index].get(mid, NO_GAINS),
            last_progress_at=self.progress(index, member),
            stepped=self.stepped[index].get(mid, False),
        )

    def activities(self, index: int) -> list[MemberActivity]:
        """Every member's activity in window ``index`` (built once per window)."""
        built = self._activities.get(index)
        if built is None:
            built = [self.activity(index, m) for m in self.members]
            self._activities[index] = built
        return built

    async def read_quiet_broadcasts(self, session: AsyncSession, index: int) -> None:
        """Read window ``index``'s broadcasts of its quiet members (no chat line, no progress)
        and rebuild their activities with them: a presence broadcast makes them active."""
        acts = self.activities(index)
        quiet = [a.member for a in acts if not a.active]
        if not quiet:
            return
        self.broadcasts[index] = await _broadcasts(
            session, self.clan.id, self.windows[index], quiet
        )
        found = self.broadcasts[index]
        self._activities[index] = [
            dataclasses.replace(a, chat=self.chat(index, a.member_id))
            if a.member_id in found
            else a
            for a in acts
        ]

    async def read_last_seen(self, session: AsyncSession, members: Sequence[MemberInfo]) -> None:
        """Read the last chat line and latest progress of ``members`` (a load made with
        ``last_seen=False`` has none) and rebuild their activities with them."""
        if not members:
            return
        ids = [m.member_id for m in members]
        for end in self.last_chat:
            self.last_chat[end].update(await _last_chat(session, self.clan.id, end, members))
            self.latest_progress[end].update(
                await repo.latest_progress(session, self.clan.id, end, ids)
            )
        wanted = set(ids)
        for index, built in self._activities.items():
            self._activities[index] = [
                self.activity(index, a.member) if a.member_id in wanted else a for a in built
            ]

    def ranks(self) -> RankConfig:
        return rank_config_from(self.clan)


async def clan_facts(session: AsyncSession, clan_id: int) -> ClanFacts:
    clan = await repo.clan_facts(session, clan_id)
    if clan is None:
        raise ClanNotSyncedError("this clan has no data yet: run `clanstats sync --once` first")
    return clan


def _whole(member: MemberInfo, window: Window) -> bool:
    """True when the member was in the clan for all of ``window`` (the common case)."""
    return member.timeline.member_intervals(window.start, window.end) == [
        (window.start, window.end)
    ]


def _spans(members: Sequence[MemberInfo], window: Window) -> list[tuple[int, datetime, datetime]]:
    """The in-clan stretches of ``window`` of the members not in the clan for all of it."""
    return [
        (m.member_id, start, end)
        for m in members
        if not _whole(m, window)
        for start, end in m.timeline.member_intervals(window.start, window.end)
    ]


async def member_lines(
    session: AsyncSession, clan_id: int, windows: Sequence[Window], members: Sequence[MemberInfo]
) -> list[dict[int, int]]:
    """Counted chat lines per member and window, only while a member."""
    if not windows:
        return []
    ids = [m.member_id for m in members]
    counts = await repo.chat_lines_per_member(
        session, clan_id, [(w.start, w.end) for w in windows], ids
    )
    out: list[dict[int, int]] = []
    for index, window in enumerate(windows):
        per = {mid: found[index] for mid, found in counts.items() if found[index]}
        partial = [m for m in members if not _whole(m, window)]
        for m in partial:
            per.pop(m.member_id, None)
        spans = _spans(partial, window)
        for (mid, _, _), n in zip(
            spans, await repo.chat_lines_in_spans(session, clan_id, spans), strict=True
        ):
            if n:
                per[mid] = per.get(mid, 0) + n
        out.append(per)
    return out


async def _broadcasts(
    session: AsyncSession, clan_id: int, window: Window, members: Sequence[MemberInfo]
) -> dict[int, dict[str, int]]:
    """Counted broadcasts per member by type in ``window``, only while a member."""
    whole = [m for m in members if _whole(m, window)]
    (found,) = await repo.broadcasts_per_member(
        session, clan_id, [(window.start, window.end)], member_ids=[m.member_id for m in whole]
    )
    spans = _spans([m for m in members if not _whole(m, window)], window)
    for (mid, _, _), by_type in zip(
        spans, await repo.broadcasts_in_spans(session, clan_id, spans), strict=True
    ):
        if by_type:
            mine = found.setdefault(mid, {})
            for kind, count in by_type.items():
                mine[kind] = mine.get(kind, 0) + count
    return found


async def _last_chat(
    session: AsyncSession, clan_id: int, before: datetime, members: Sequence[MemberInfo]
) -> dict[int, datetime]:
    """Each member's latest counted chat line before ``before`` posted while a member."""
    found = await repo.last_chat_per_member(
        session, clan_id, before, [m.member_id for m in members]
    )
    for m in members:
        last = found.get(m.member_id)
        if last is not None and not m.timeline.is_member(last):
            spans = m.timeline.member_intervals(_EPOCH, before)
            moment = await repo.last_chat_in_spans(session, clan_id, m.member_id, spans)
            if moment is None:
                found.pop(m.member_id)
            else:
                found[m.member_id] = moment
    return found


async def gains_in(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[Window],
    members: Sequence[MemberInfo],
    *,
    metrics: MetricsSpec = None,
) -> tuple[list[dict[int, Gains]], list[dict[int, bool]]]:
    """Each member's gains and whether a counted step shows progress, per window.

    Sums of stored steps are read per member and window; they are the answer for a member in
    one membership period through all of them (nearly everyone). The others' counted steps
    (docs/metrics.md) are added up per stretch of a period inside the window, or, when
    ``metrics`` asks for per-metric gains, read one by one. ``metrics`` adds the per-metric
    gains of those metrics.
    """
    by_id = {m.member_id: m for m in members}
    ids = list(by_id)
    names = tuple(metrics or ())
    totals = await repo.step_totals(session, clan_id, [(w.start, w.end) for w in windows], ids)
    by_window = [
        {
            mid
            for mid, t in per.items()
            if not by_id[mid].timeline.covers(t.first_previous_at or window.start, t.last_taken_at)
        }
        for window, per in zip(windows, totals, strict=True)
    ]
    # Without per-metric gains, their counted steps are added up by the database too, per
    # stretch of a membership period inside the window (whatever their number of steps).
    # With them, they are read one by one. Windows ending together (1d, 7d, 30d ending now)
    # nest: the members read step by step in any of them are read once over the longest
    # (each window then counts only its own steps), one query instead of one per window.
    read: dict[datetime, dict[int, list[Step]]] = {}
    in_spans: list[dict[int, RunningTotals]] = [{} for _ in windows]
    if names:
        for end in {w.end for w in windows}:
            nested = [i for i, w in enumerate(windows) if w.end == end]
            wanted = sorted({mid for i in nested for mid in by_window[i]})
            start = min(windows[i].start for i in nested)
            read[end] = await repo.steps_of(session, wanted, start, end)
    else:
        in_spans = await _counted_in_spans(session, windows, by_window, by_id)
    gains: list[dict[int, Gains]] = []
    stepped: list[dict[int, bool]] = []
    for index, (window, per, one_by_one) in enumerate(zip(windows, totals, by_window, strict=True)):
        found_named = await repo.metric_totals(
            session, clan_id, window.start, window.end, names, ids
        )
        named = {mid: t.gained for mid, t in found_named.items()}
        steps = {
            mid: read[window.end][mid] for mid in one_by_one if mid in read.get(window.end, {})
        }
        mine: dict[int, Gains] = {}
        moved: dict[int, bool] = {}
        for mid, t in per.items():
            if mid in one_by_one and not names:
                added = in_spans[index].get(mid, _NO_STEPS)
                found = Gains(
                    added.xp,
                    added.ehp,
                    added.ehb,
                    added.boss_kills,
                    added.clues,
                    {},
                    added.raid_kills,
                )
                moved[mid] = added.progress_steps > 0
            elif mid in one_by_one:
                timeline = by_id[mid].timeline
                found = window_gains(steps.get(mid, []), window, timeline)
                kept = {k: v for k, v in found.per_metric.items() if k in names}
                found = dataclasses.replace(found, per_metric=kept)
                moved[mid] = window_progress(steps.get(mid, []), window, timeline)
            else:
                extra = named.get(mid, {})
                found = Gains(t.xp, t.ehp, t.ehb, t.boss_kills, t.clues, extra, t.raid_kills)
                moved[mid] = t.progress
            if found.any:
                mine[mid] = found
        gains.append(mine)
        stepped.append(moved)
    return gains, stepped


_NO_STEPS = RunningTotals()


async def _counted_in_spans(
    session: AsyncSession,
    windows: Sequence[Window],
    members_by_window: Sequence[Collection[int]],
    by_id: Mapping[int, MemberInfo],
) -> list[dict[int, RunningTotals]]:
    """Per window, the counted steps of the given members added up (docs/metrics.md: a step
    counts when both its snapshots lie in one membership period): one span per stretch of a
    period inside the window, all windows' spans in one statement."""
    keys: list[tuple[int, int]] = []
    spans: list[repo.PeriodSpan] = []
    for index, (window, wanted) in enumerate(zip(windows, members_by_window, strict=True)):
        for mid in sorted(wanted):
            timeline = by_id[mid].timeline
            for start, end in timeline.member_intervals(window.start, window.end):
                since = timeline.joined_at(start)
                assert since is not None  # a stretch lies inside a period
                keys.append((index, mid))
                spans.append((mid, since, start, end))
    out: list[dict[int, RunningTotals]] = [{} for _ in windows]
    for (index, mid), added in zip(
        keys, await repo.step_totals_in_spans(session, spans), strict=True
    ):
        mine = out[index]
        mine[mid] = mine[mid].plus(added) if mid in mine else added
    return out


async def metric_gains(
    session: AsyncSession,
    clan_id: int,
    window: Window,
    members: Sequence[MemberInfo],
    metric: str,
) -> dict[int, float]:
    """Each member's gain of one metric in ``window`` (members with none left out): the
    stored per-metric sums, or step by step for a member whose steps do not all count."""
    by_id = {m.member_id: m for m in members}
    totals = await repo.metric_totals(
        session, clan_id, window.start, window.end, [metric], list(by_id)
    )
    out: dict[int, float] = {}
    one_by_one: list[int] = []
    for mid, t in totals.items():
        first, last = t.first_previous_at, t.last_taken_at
        if first is not None and last is not None and by_id[mid].timeline.covers(first, last):
            out[mid] = t.gained.get(metric, 0.0)
        else:
            one_by_one.append(mid)
    steps = await repo.steps_of(session, one_by_one, window.start, window.end)
    for mid in one_by_one:
        found = window_gains(steps.get(mid, []), window, by_id[mid].timeline)
        if found.per_metric.get(metric):
            out[mid] = found.per_metric[metric]
    return {mid: value for mid, value in out.items() if value}


async def clan_members(
    session: AsyncSession, clan_id: int, memo: MutableMapping[Any, Any] | None = None
) -> list[MemberInfo]:
    """Every member the clan ever had, with their timelines; kept in ``memo`` (the app's)
    until a member or roster event of the clan changes."""
    if memo is None:
        return await repo.member_infos(session, clan_id)
    stamp = await repo.members_stamp(session, clan_id)
    key = ("clan_members", clan_id)
    kept = memo.get(key)
    if kept is not None and kept[0] == stamp:
        return list(kept[1])
    found = await repo.member_infos(session, clan_id)
    memo[key] = (stamp, tuple(found))
    return found


async def load(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[Window],
    as_of: datetime,
    *,
    memo: MutableMapping[Any, Any] | None = None,
    member_ids: Sequence[int] | None = None,
    metrics: MetricsSpec = None,
    counted: int | None = None,
    broadcasts: Sequence[BroadcastNeed] | None = None,
    gains: Sequence[bool] | None = None,
    last_seen: bool = True,
    include_departed: bool = False,
) -> Loaded:
    """Load members as of ``as_of`` and their chat, broadcasts and gains for ``windows``.

    Only the first ``counted`` windows (all by default) get real chat line counts and gains;
    the others are *presence-only*: 1 line when the member's last line falls inside, else 0,
    and no gains, only whether a counted step shows progress (the purge rule only asks "did
    they chat or progress at all?"). ``metrics`` says which per-metric gains to read.
    ``broadcasts`` says per
    window what to read (:data:`BroadcastNeed`; ``all`` by default). ``gains`` says per
    counted window whether to read its gains (all by default; a window without them only
    counts chat lines, e.g. the long window of the alerts). ``last_seen=False`` reads no
    member's last chat line and latest progress (:meth:`Loaded.read_last_seen` reads them for
    the members a rule shows them for); presence-only windows need them for everyone.
    ``include_departed`` keeps the given ``member_ids`` even when not members as of
    ``as_of`` (a profile).
    """
    clan = await clan_facts(session, clan_id)
    if member_ids is None:
        everyone = await clan_members(session, clan_id, memo)
    else:
        everyone = await repo.member_infos(session, clan_id, member_ids=member_ids)
    members = [m for m in everyone if include_departed or m.is_member(as_of)]
    if member_ids is None and not members:
        raise ClanNotSyncedError(
            "no members stored for this clan: run `clanstats sync --once` first"
        )
    needs = list(broadcasts) if broadcasts is not None else ["all"] * len(windows)
    n_counted = len(windows) if counted is None else counted
    if not last_seen and n_counted < len(windows):
        raise ValueError("presence-only windows need every member's last chat and progress")
    with_gains = list(gains) if gains is not None else [True] * n_counted
    lines = await member_lines(session, clan_id, windows[:n_counted], members)
    ends = sorted({w.end for w in windows} | {as_of})
    last_chat: dict[datetime, dict[int, datetime]] = {
        end: await _last_chat(session, clan_id, end, members) if last_seen else {} for end in ends
    }
    for window in windows[n_counted:]:
        last = last_chat[window.end]
        lines.append({mid: 1 for mid, at in last.items() if window.contains(at)})
    broadcast_counts: list[dict[int, dict[str, int]]] = []
    for window, need in zip(windows, needs, strict=True):
        broadcast_counts.append(
            await _broadcasts(session, clan_id, window, members) if need == "all" else {}
        )
    ids = [m.member_id for m in members]
    latest: dict[datetime, dict[int, tuple[datetime, datetime | None]]] = {
        end: await repo.latest_progress(session, clan_id, end, ids) if last_seen else {}
        for end in ends
    }
    read = [w for w, wanted in zip(windows[:n_counted], with_gains, strict=True) if wanted]
    found_gains, found_stepped = (
        await gains_in(session, clan_id, read, members, metrics=metrics) if read else ([], [])
    )
    by_window = iter(zip(found_gains, found_stepped, strict=True))
    all_gains: list[dict[int, Gains]] = []
    stepped: list[dict[int, bool]] = []
    for wanted in with_gains:
        mine, moved = next(by_window) if wanted else ({}, {})
        all_gains.append(mine)
        stepped.append(moved)
    for window in windows[n_counted:]:
        all_gains.append({})
        stepped.append(await _stepped(session, window, members, latest[window.end]))
    data = Loaded(
        clan,
        as_of,
        members,
        everyone,
        list(windows),
        lines,
        broadcast_counts,
        all_gains,
        stepped,
        last_chat,
        latest,
    )
    for index, need in enumerate(needs):
        if need == "quiet":
            await data.read_quiet_broadcasts(session, index)
    return data


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def _stepped(
    session: AsyncSession,
    window: Window,
    members: Sequence[MemberInfo],
    latest: Mapping[int, tuple[datetime, datetime | None]],
) -> dict[int, bool]:
    """Whether a counted step of ``window`` shows progress, per member, from each member's
    latest progress snapshot; a member whose latest one does not count is read step by step."""
    out: dict[int, bool] = {}
    unsure: list[MemberInfo] = []
    for m in members:
        found = latest.get(m.member_id)
        if found is None or not window.contains(found[0]):
            continue  # no progress at all in the window
        taken, previous = found
        if previous is not None and m.timeline.same_period(previous, taken):
            out[m.member_id] = True
        else:
            unsure.append(m)
    steps = await repo.steps_of(
        session, [m.member_id for m in unsure], window.start, window.end, per_metric=False
    )
    for m in unsure:
        if window_progress(steps.get(m.member_id, []), window, m.timeline):
            out[m.member_id] = True
    return out


async def xp_per_day(
    session: AsyncSession,
    clan_id: int,
    periods: Sequence[tuple[datetime, datetime]],
    everyone: Sequence[MemberInfo],
) -> list[int | None]:
    """The XP gained in each period by the members as of its end: their counted steps in it
    (docs/metrics.md, "The daily report"). A period none of those members was tracked in
    before it began has no figure (None), which is not the same as nobody gaining XP."""
    if not periods:
        return []
    span_start, span_end = periods[0][0], periods[-1][1]
    # A member whose one membership period holds everything from the snapshot before the
    # span to its end is a member at every period's end, and every step of theirs in the
    # span counts: the database adds those up. The others' steps are read and counted here.
    before = await repo.latest_snapshot_before(session, clan_id, span_start)
    simple = {
        m.member_id
        for m in everyone
        if m.member_id in before and m.timeline.covers(before[m.member_id], span_end)
    }
    others = [m for m in everyone if m.member_id not in simple]
    sums = await repo.xp_in_periods(
        session, clan_id, periods, leave_out=[m.member_id for m in others]
    )
    tracked = await repo.first_snapshot_before(session, clan_id, [start for start, _ in periods])
    steps = await repo.steps_of(
        session, [m.member_id for m in others], span_start, span_end, per_metric=False
    )
    out: list[int | None] = []
    for (start, end), xp, seen in zip(periods, sums, tracked, strict=True):
        present = [m for m in others if m.is_member(end)]
        if seen.isdisjoint(simple) and not any(m.member_id in seen for m in present):
            out.append(None)  # none of the day's members was tracked before it
            continue
        window = Window("day", start, end)
        for m in present:
            if m.member_id in steps:
                xp += window_gains(steps[m.member_id], window, m.timeline).xp
        out.append(xp)
    return out


async def configured_clan_id(app: App, group_id: int | None) -> int:
    """The id of the clan of WOM group ``group_id`` (``CLANSTATS_WOM_GROUP_ID``).

    Raises :class:`ClanNotSyncedError` when that clan was never synced.
    """
    if group_id is None:
        raise ReportInputError("CLANSTATS_WOM_GROUP_ID is not set")
    async with app.db.read() as session:
        clan = await get_clan_by_group(session, group_id)
    if clan is None:
        raise ClanNotSyncedError(
            f"WOM group {group_id} was never synced: run `clanstats sync --once` first"
        )
    return clan.id
