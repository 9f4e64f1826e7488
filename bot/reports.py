"""Report use cases: member rows, officer findings, profiles, leaderboards and the daily report.

Pure composition: each function opens one read unit of work, asks the report repository the
few window questions it needs (:mod:`storage.repositories.reports`) and hands the answers to
the domain (:mod:`domain.activity`, :mod:`domain.rules`, :mod:`domain.report`). Cogs, the
scheduled daily post and the CLI all call these.

Windows are labels understood by :func:`domain.activity.parse_window` (``7d``, ``12h``,
``2025-12-01..2025-12-07``) ending at ``as_of``. Chat counts are in-game chat lines in
``[start, end)``: broadcasts, Discord chatter, repeat relays and deleted lines never count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from domain.activity import (
    NO_CHAT,
    NO_GAINS,
    RAID_METRICS,
    ChatStats,
    Gains,
    MemberActivity,
    MemberInfo,
    SnapshotPoint,
    Window,
    build_activity,
    compute_gains,
    is_boss_metric,
    last_progress_at,
    parse_window,
    top_n,
)
from domain.broadcasts import DROP_TYPES, Notable, notable_broadcasts
from domain.metrics import CHAT_METRIC, XP_METRIC, metric_choices, metric_label, resolve_metric
from domain.names import name_key
from domain.ranks import RankConfig, RankTier, pretty_rank
from domain.relay import BroadcastType
from domain.report import DAY, day_periods, period_label, week_heatmap, xp_per_period
from domain.rules import (
    DEFAULT_INACTIVE_WINDOW,
    Finding,
    PromotionRung,
    RuleSettings,
    UnmatchedFinding,
    alerts,
    inactive,
    officer_audit,
    promotions,
)
from domain.rules import unmatched as unmatched_rule
from storage.repositories import reports as repo
from storage.repositories.reports import (
    ALL_METRICS,
    ClanFacts,
    MetricsSpec,
    NameChange,
    RosterEvent,
    SnapshotWindow,
)

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
_FINDINGS_BROADCASTS: Mapping[FindingsKind, tuple[BroadcastNeed, ...]] = {
    "inactive": ("quiet",),
    "audit": ("quiet",),
    "alerts": ("quiet", "none"),
    "promotions": ("none",),
}
_RAIDS: tuple[str, ...] = tuple(sorted(RAID_METRICS))
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


_SCALAR_SETTINGS = (
    "inactive_min_tenure_days",
    "slacking_ratio",
    "churn_ratio",
    "churn_min_lines_30d",
    "silent_grinder_min_xp",
    "chatter_min_lines",
    "social_pillar_share",
    "carry_min_raid_kc",
)


def rule_settings_from(clan_settings: Mapping[str, Any]) -> RuleSettings:
    """Rule thresholds from a clan's ``settings`` JSON, defaults for anything not given.

    Reads ``settings["rules"]``: the scalar fields of :class:`RuleSettings` by name,
    ``audit_tiers`` / ``slump_tiers`` as lists of tier names (``officer``, ``leadership``…),
    and ``ladder`` as a list of ``{from_rank, to_rank, min_tenure_days, min_xp, min_lines,
    any_of}``. Raises :class:`ReportInputError` naming the bad key.
    """
    raw = clan_settings.get("rules") or {}
    if not isinstance(raw, Mapping):
        raise ReportInputError("clan settings: 'rules' must be an object")
    changes: dict[str, Any] = {}
    try:
        for name in _SCALAR_SETTINGS:
            if name in raw:
                default = getattr(RuleSettings(), name)
                changes[name] = type(default)(raw[name])
        for name in ("audit_tiers", "slump_tiers"):
            if name in raw:
                changes[name] = frozenset(RankTier(str(t)) for t in raw[name])
        if "ladder" in raw:
            changes["ladder"] = tuple(PromotionRung(**dict(rung)) for rung in raw["ladder"])
        return dataclasses.replace(RuleSettings(), **changes)
    except (TypeError, ValueError) as exc:
        raise ReportInputError(f"clan settings 'rules' are invalid: {exc}") from None


def rank_config_from(clan: ClanFacts) -> RankConfig:
    """The clan's rank tiers: WOM's rank order, with tier overrides from ``settings["ranks"]``."""
    overrides = clan.settings.get("ranks") or {}
    kwargs: dict[str, Any] = {}
    if isinstance(overrides, Mapping):
        for tier in ("owner", "deputy", "leadership", "officer", "protected"):
            if isinstance(overrides.get(tier), list):
                kwargs[tier] = [str(r) for r in overrides[tier]]
    return RankConfig.from_role_order(clan.role_order, **kwargs)


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


@dataclass(frozen=True)
class _Loaded:
    """Everything the activity model needs for some windows, loaded in a few queries.

    ``snapshots[i]`` are the endpoints of window ``i`` (windows may share one mapping).
    ``broadcasts[i]`` holds what ``_load`` was asked to read for window ``i`` (see
    :data:`BroadcastNeed`): with ``quiet`` or ``none`` a member missing from it may still
    have had broadcasts.
    """

    clan: ClanFacts
    members: list[MemberInfo]
    windows: list[Window]
    lines: dict[int, list[int]]
    broadcasts: list[dict[int, dict[str, int]]]
    last_chat: dict[datetime, dict[int, datetime]]
    snapshots: list[dict[int, list[SnapshotPoint]]]
    _progress: dict[tuple[int, datetime, int], datetime | None] = field(default_factory=dict)
    _activities: dict[int, list[MemberActivity]] = field(default_factory=dict)

    def chat(self, index: int, member_id: int) -> ChatStats:
        window = self.windows[index]
        last = self.last_chat[window.end].get(member_id)
        lines = self.lines.get(member_id)
        if index < len(lines or ()):
            count = lines[index] if lines else 0
        else:
            # Presence-only window (see _load): 1 when they chatted in it at all.
            count = int(last is not None and last >= window.start)
        by_type = self.broadcasts[index].get(member_id)
        if count == 0 and by_type is None and last is None:
            return NO_CHAT
        return ChatStats(lines=count, broadcasts_by_type=by_type or {}, last_chat_at=last)

    def points(self, index: int, member_id: int) -> list[SnapshotPoint]:
        return self.snapshots[index].get(member_id, [])

    def progress(
        self, index: int, member: MemberInfo, end: datetime | None = None
    ) -> datetime | None:
        """Last progress of ``member`` up to ``end`` (window ``index``'s end by default) from
        that window's snapshots, computed once per member, end and snapshot mapping (it does
        not depend on the window start)."""
        end = self.windows[index].end if end is None else end
        key = (member.member_id, end, id(self.snapshots[index]))
        found = self._progress.get(key, _MISSING)
        if found is _MISSING:
            points = self.points(index, member.member_id)
            found = last_progress_at(points, end, member.last_changed_at)
            self._progress[key] = found
        return found  # type: ignore[return-value]

    def activities(self, index: int) -> list[MemberActivity]:
        """:func:`domain.activity.build_activity` for every member (built once per window)."""
        built = self._activities.get(index)
        if built is None:
            window = self.windows[index]
            snapshots = self.snapshots[index]
            built = [
                MemberActivity(
                    member=m,
                    window=window,
                    chat=self.chat(index, m.member_id),
                    gains=compute_gains(
                        snapshots.get(m.member_id, ()), window, joined_at=m.joined_at
                    ),
                    last_progress_at=self.progress(index, m),
                )
                for m in self.members
            ]
            self._activities[index] = built
        return built

    async def read_quiet_broadcasts(self, session: AsyncSession, index: int) -> None:
        """Read window ``index``'s broadcasts of its quiet members (no chat line, no progress)
        and rebuild their activities with them: a presence broadcast makes them active."""
        window = self.windows[index]
        acts = self.activities(index)
        quiet = [a.member_id for a in acts if not a.active]
        if not quiet:
            return
        (found,) = await repo.broadcasts_per_member(
            session, self.clan.id, [(window.start, window.end)], member_ids=quiet
        )
        self.broadcasts[index] = found
        self._activities[index] = [
            dataclasses.replace(a, chat=self.chat(index, a.member_id))
            if a.member_id in found
            else a
            for a in acts
        ]

    def ranks(self) -> RankConfig:
        return rank_config_from(self.clan)


_MISSING = object()


async def _clan(session: AsyncSession, clan_id: int) -> ClanFacts:
    clan = await repo.clan_facts(session, clan_id)
    if clan is None:
        raise ClanNotSyncedError("this clan has no data yet: run `clanstats sync --once` first")
    return clan


async def _load(
    session: AsyncSession,
    clan_id: int,
    windows: Sequence[Window],
    as_of: datetime,
    *,
    member_ids: Sequence[int] | None = None,
    metrics: MetricsSpec = ALL_METRICS,
    counted: int | None = None,
    full_metrics_windows: int = 0,
    broadcasts: Sequence[BroadcastNeed] | None = None,
) -> _Loaded:
    """Load members, chat, broadcasts and snapshot endpoints for ``windows``.

    Only the first ``counted`` windows (all by default) get real chat line counts; the others
    are *presence-only*: 1 line when the member's last line falls inside, else 0. The purge
    rule only asks "did they chat at all?", and that is one index seek per member instead of
    counting a 60-day range. ``metrics`` is what the snapshot endpoints load (see
    :func:`storage.repositories.reports.snapshot_endpoints`); the first
    ``full_metrics_windows`` windows get every metric whatever ``metrics`` says.
    ``broadcasts`` says per window what to read (:data:`BroadcastNeed`; ``all`` by default).
    """
    clan = await _clan(session, clan_id)
    members = await repo.members_as_of(session, clan_id, as_of, member_ids=member_ids)
    if member_ids is None and not members:
        raise ClanNotSyncedError(
            "no members stored for this clan: run `clanstats sync --once` first"
        )
    ids = [m.member_id for m in members] if member_ids is not None else None
    if ids is not None and not ids:
        ids = list(member_ids or ())
    needs = list(broadcasts) if broadcasts is not None else ["all"] * len(windows)
    spans = [(w.start, w.end) for w in windows]
    n_counted = len(windows) if counted is None else counted
    lines = await repo.chat_lines_per_member(session, clan_id, spans[:n_counted], ids)
    wanted = [i for i, need in enumerate(needs) if need == "all"]
    found = await repo.broadcasts_per_member(
        session, clan_id, [spans[i] for i in wanted], member_ids=ids
    )
    by_window: list[dict[int, dict[str, int]]] = [{} for _ in windows]
    for i, counts in zip(wanted, found, strict=True):
        by_window[i] = counts
    last_chat = {
        end: await repo.last_chat_per_member(session, clan_id, end, ids)
        for end in sorted({w.end for w in windows} | {as_of})
    }
    spec = [SnapshotWindow(w.start, w.end) for w in windows]
    shared = await repo.snapshot_endpoints(
        session, clan_id, spec[full_metrics_windows:] or spec, ids, metrics=metrics
    )
    snapshots = [shared] * len(windows)
    if full_metrics_windows:
        full = await repo.snapshot_endpoints(
            session, clan_id, spec[:full_metrics_windows], ids, metrics=ALL_METRICS
        )
        snapshots[:full_metrics_windows] = [full] * full_metrics_windows
    data = _Loaded(clan, members, list(windows), lines, by_window, last_chat, snapshots)
    for index, need in enumerate(needs):
        if need == "quiet":
            await data.read_quiet_broadcasts(session, index)
    return data


# ---------------------------------------------------------------------------------------------
# Member rows (exports, member lists)


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member's chat and progress over several windows, keyed by window label."""

    member_id: int
    rsn: str
    display_name: str
    role: str | None
    joined_at: datetime | None
    messages: dict[str, int]
    broadcasts: dict[str, int]
    xp_gained: dict[str, int]
    ehp_gained: dict[str, float]
    ehb_gained: dict[str, float]
    boss_kills_gained: dict[str, int]
    last_chat_at: datetime | None
    last_progress_at: datetime | None


async def member_rows(
    app: App, clan_id: int, windows: Sequence[str], as_of: datetime
) -> list[MemberRow]:
    """Every member in the clan at ``as_of`` with messages, broadcasts and gains per window.

    ``messages`` counts in-game chat lines only. Ordered by rank (highest first), then name.
    Raises :class:`ReportInputError` for a bad window, :class:`ClanNotSyncedError` when the
    clan has no members stored.
    """
    parsed = parse_windows(windows, as_of)
    async with app.db.read() as session:
        data = await _load(session, clan_id, parsed, as_of, broadcasts=["none"] * len(parsed))
        broadcasts = await repo.broadcast_counts_per_member(
            session, clan_id, [(w.start, w.end) for w in parsed]
        )
    per_window = [data.activities(i) for i in range(len(parsed))]
    ranks = data.ranks()
    labels = [w.label for w in parsed]
    no_broadcasts = [0] * len(parsed)
    rows: list[MemberRow] = []
    for position, member in enumerate(data.members):
        acts = [acts[position] for acts in per_window]
        gains = [a.gains for a in acts]
        rows.append(
            MemberRow(
                member_id=member.member_id,
                rsn=member.rsn_key,
                display_name=member.display_name,
                role=member.role,
                joined_at=member.joined_at,
                messages={a.window.label: a.chat.lines for a in acts},
                broadcasts=dict(
                    zip(labels, broadcasts.get(member.member_id, no_broadcasts), strict=True)
                ),
                xp_gained={label: g.xp for label, g in zip(labels, gains, strict=True)},
                ehp_gained={label: round(g.ehp, 4) for label, g in zip(labels, gains, strict=True)},
                ehb_gained={label: round(g.ehb, 4) for label, g in zip(labels, gains, strict=True)},
                boss_kills_gained={
                    label: g.boss_kills for label, g in zip(labels, gains, strict=True)
                },
                last_chat_at=data.last_chat[as_of].get(member.member_id),
                last_progress_at=data.progress(0, member, as_of),
            )
        )
    rows.sort(key=lambda r: (ranks.sort_key(r.role), r.display_name.casefold(), r.member_id))
    return rows


# ---------------------------------------------------------------------------------------------
# Officer findings


async def findings(
    app: App,
    clan_id: int,
    kind: FindingsKind,
    as_of: datetime,
    settings: RuleSettings | None = None,
    *,
    window: str | None = None,
) -> list[Finding]:
    """The findings of one officer rule at ``as_of``, most severe first.

    ``kind``: ``inactive`` (purge list, 60d), ``audit`` (staff against the clan median, 30d),
    ``alerts`` (7d against 30d) or ``promotions`` (30d); ``window`` replaces the default
    (the short one for alerts). ``settings`` defaults to the clan's ``settings["rules"]``.
    """
    if kind not in FINDINGS_WINDOWS:
        raise ReportInputError(f"unknown findings kind {kind!r}: use {', '.join(FINDINGS_KINDS)}")
    labels = [window or FINDINGS_WINDOWS[kind]]
    if kind == "alerts":
        labels.append(ALERTS_LONG_WINDOW)
    parsed = parse_windows(labels, as_of)
    if kind == "alerts" and len(parsed) == 1:
        parsed.append(parsed[0])
    async with app.db.read() as session:
        data = await _load(
            session,
            clan_id,
            parsed,
            as_of,
            # Progress is XP/EHP/EHB or WOM's lastChangedAt; promotions also tag raid KC.
            metrics=_RAIDS if kind == "promotions" else None,
            counted=0 if kind == "inactive" else None,
            broadcasts=_FINDINGS_BROADCASTS[kind],
        )
    rules = settings if settings is not None else rule_settings_from(data.clan.settings)
    return _run_rule(kind, data, rules, as_of)


def _run_rule(
    kind: FindingsKind, data: _Loaded, rules: RuleSettings, as_of: datetime
) -> list[Finding]:
    ranks = data.ranks()
    if kind == "inactive":
        return inactive(data.activities(0), ranks, rules, as_of)
    if kind == "audit":
        return officer_audit(data.activities(0), ranks, rules, as_of)
    if kind == "alerts":
        return alerts(data.activities(0), data.activities(1), ranks, rules, as_of)
    return promotions(data.activities(0), ranks, rules, as_of)


async def unmatched(app: App, clan_id: int, *, min_count: int = 1) -> list[UnmatchedFinding]:
    """Relay names matching no member or alias, seen at least ``min_count`` times."""
    async with app.db.read() as session:
        names = await repo.unmatched_names(session, clan_id)
    return unmatched_rule(names, min_count=min_count)


# ---------------------------------------------------------------------------------------------
# Player profile


@dataclass(frozen=True, slots=True)
class PlayerProfile:
    """What ``/player`` shows about one member at ``as_of``."""

    member_id: int
    rsn: str
    display_name: str
    matched_old_name: bool
    role: str | None
    rank: str
    tier: RankTier
    joined_at: datetime | None
    left_at: datetime | None
    stats_at: datetime | None
    overall_xp: int | None
    ehp: float | None
    ehb: float | None
    top_bosses: tuple[tuple[str, int], ...]
    gains: dict[str, Gains]
    chat_lines: dict[str, int]
    broadcasts: dict[str, int]
    last_chat_at: datetime | None
    last_progress_at: datetime | None
    name_history: tuple[NameChange, ...]

    @property
    def last_seen_at(self) -> datetime | None:
        """Latest of last chat line and last progress."""
        seen = [t for t in (self.last_chat_at, self.last_progress_at) if t is not None]
        return max(seen, default=None)


async def player_profile(app: App, clan_id: int, name: str, as_of: datetime) -> PlayerProfile:
    """Profile of the member named ``name`` (current name first, then earlier names).

    Raises :class:`UnknownPlayerError` when nobody has or had that name.
    """
    key = name_key(name)
    windows = parse_windows(PROFILE_WINDOWS, as_of)
    async with app.db.read() as session:
        ref = await repo.find_member_by_key(session, clan_id, key)
        if ref is None:
            raise UnknownPlayerError(f"no clan member is or was called {name!r}")
        clan = await _clan(session, clan_id)
        data = await _load(session, clan_id, windows, as_of, member_ids=[ref.member_id])
        infos = data.members
        latest = await repo.latest_snapshot(session, ref.member_id, as_of)
        history = await repo.name_history(session, clan_id, ref.member_id)
        member = infos[0] if infos else await repo.member_info(session, ref.member_id)
    points = data.points(0, member.member_id)
    acts = [
        build_activity(member, w, data.chat(i, member.member_id), points)
        for i, w in enumerate(windows)
    ]
    ranks = rank_config_from(clan)
    bosses: tuple[tuple[str, int], ...] = ()
    if latest is not None:
        kc = [(k, int(v)) for k, v in latest.metrics.items() if is_boss_metric(k) and v > 0]
        kc.sort(key=lambda item: (-item[1], item[0]))
        bosses = tuple(kc[:TOP_COUNT])
    return PlayerProfile(
        member_id=member.member_id,
        rsn=member.rsn_key,
        display_name=member.display_name,
        matched_old_name=ref.matched_old_name,
        role=member.role,
        rank=pretty_rank(member.role) if member.role else "no rank",
        tier=ranks.tier_of(member.role),
        joined_at=member.joined_at,
        left_at=member.left_at,
        stats_at=latest.taken_at if latest else None,
        overall_xp=latest.overall_xp if latest else None,
        ehp=latest.ehp if latest else None,
        ehb=latest.ehb if latest else None,
        top_bosses=bosses,
        gains={a.window.label: a.gains for a in acts},
        chat_lines={a.window.label: a.chat.lines for a in acts},
        broadcasts={a.window.label: a.chat.broadcasts for a in acts},
        last_chat_at=acts[0].chat.last_chat_at,
        last_progress_at=acts[0].last_progress_at,
        name_history=tuple(history),
    )


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
        await _clan(session, clan_id)
        members = await repo.members_as_of(session, clan_id, as_of)
        if name == CHAT_METRIC:
            lines = await repo.chat_lines_per_member(session, clan_id, [(window.start, window.end)])
            activities = [
                MemberActivity(
                    m, window, ChatStats(lines=lines.get(m.member_id, [0])[0]), NO_GAINS, None
                )
                for m in members
            ]
        else:
            points = await repo.snapshot_endpoints(
                session,
                clan_id,
                [SnapshotWindow(window.start, window.end)],
                metrics=None if name in (XP_METRIC, "ehp", "ehb") else name,
            )
            # Only the gain is ranked: last progress is not worked out.
            activities = [
                MemberActivity(
                    m,
                    window,
                    NO_CHAT,
                    compute_gains(points.get(m.member_id, ()), window, joined_at=m.joined_at),
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


# ---------------------------------------------------------------------------------------------
# Daily report


@dataclass(frozen=True, slots=True)
class Pulse:
    """The day in four numbers, with the 7-day average to compare chat against."""

    chat_lines: int
    chat_lines_avg_7d: float
    active_chatters: int
    xp_gained: int
    members: int


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
    """The daily report of the 24 hours ``[start, as_of)`` (see :mod:`domain.report`)."""

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


_NOTABLE_TYPES: tuple[str, ...] = (*sorted(DROP_TYPES), BroadcastType.PET, BroadcastType.LEVEL)


async def daily_report(
    app: App,
    clan_id: int,
    as_of: datetime,
    tz: tzinfo,
    settings: RuleSettings | None = None,
) -> DailyReport:
    """Build the daily report for the 24 hours before ``as_of``.

    Pulse (chat lines vs the average of the 7 days before, active chatters, XP gained), top
    chatters / XP / boss kills, notable broadcasts (biggest drops by coin value, pets, 99s),
    roster changes, the attention section (purge list over 60d, alerts 7d vs 30d, promotions
    over 30d, unmatched names) and the data of the two charts: the 24 × 7 chat heatmap of the
    last 28 days and 14 days of (local date, chat lines, XP gained). Thresholds come from
    ``settings`` or the clan's ``settings["rules"]``.
    """
    windows = parse_windows(["1d", "7d", "30d", DEFAULT_INACTIVE_WINDOW], as_of)
    day, week, month, purge = range(4)
    periods = day_periods(as_of, TREND_DAYS)
    async with app.db.read() as session:
        data = await _load(
            session,
            clan_id,
            windows,
            as_of,
            metrics=_RAIDS,
            counted=3,  # 1d, 7d, 30d; the 60d purge window is presence-only
            full_metrics_windows=1,  # the day's top boss kills need every boss
            # The day and 30d lists rank lines, XP and kills; alerts (7d) and the purge
            # list (60d) ask whether a quiet member had a presence broadcast.
            broadcasts=("none", "quiet", "none", "quiet"),
        )
        trend_lines = await repo.chat_lines_in_windows(session, clan_id, periods)
        bounds = await repo.xp_at(session, clan_id, [*(s for s, _ in periods), as_of])
        hours = await repo.chat_lines_per_hour(session, clan_id, as_of - HEATMAP_DAYS * DAY, as_of)
        broadcasts = await repo.broadcast_lines(
            session, clan_id, as_of - DAY, as_of, _NOTABLE_TYPES
        )
        roster = await repo.roster_events(session, clan_id, as_of - DAY, as_of)
        names = await repo.unmatched_names(session, clan_id)
    rules = settings if settings is not None else rule_settings_from(data.clan.settings)
    ranks = data.ranks()
    today = data.activities(day)
    acts_7d, acts_30d = data.activities(week), data.activities(month)
    trend_xp = xp_per_period(bounds)
    trend = tuple(
        TrendDay(period_label(end, tz), start, end, lines, xp)
        for (start, end), lines, xp in zip(periods, trend_lines, trend_xp, strict=True)
    )
    previous = trend_lines[-8:-1]
    pulse = Pulse(
        chat_lines=trend_lines[-1],
        chat_lines_avg_7d=round(sum(previous) / len(previous), 1) if previous else 0.0,
        active_chatters=sum(1 for a in today if a.chat.lines > 0),
        xp_gained=sum(a.gains.xp for a in today),
        members=len(data.members),
    )
    return DailyReport(
        clan_name=data.clan.name,
        as_of=as_of,
        start=as_of - DAY,
        timezone=str(tz),
        pulse=pulse,
        top_chatters=_top(today, lambda a: a.chat.lines),
        top_xp=_top(today, lambda a: a.gains.xp),
        top_bosses=_top(today, lambda a: a.gains.boss_kills, detail=_top_boss),
        notable=notable_broadcasts(broadcasts, limit=TOP_COUNT),
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


def _top_boss(activity: MemberActivity) -> str:
    bosses = [(k, v) for k, v in activity.gains.per_metric.items() if is_boss_metric(k)]
    if not bosses:
        return ""
    name, kills = max(bosses, key=lambda item: (item[1], item[0]))
    return f"{metric_label(name)} +{kills:g}"


def _top(
    activities: Sequence[MemberActivity],
    key: Any,
    *,
    detail: Any = None,
) -> tuple[Ranked, ...]:
    best = top_n(activities, TOP_COUNT, key=key, name=lambda a: a.display_name)
    return tuple(
        Ranked(a.member_id, a.display_name, key(a), detail(a) if detail else "") for a in best
    )


async def configured_clan_id(app: App) -> int:
    """The id of the clan of ``CLANSTATS_WOM_GROUP_ID``.

    Raises :class:`ClanNotSyncedError` when that clan was never synced.
    """
    from storage.repositories.clans import get_clan_by_group

    group_id = app.settings.wom_group_id
    if group_id is None:
        raise ReportInputError("CLANSTATS_WOM_GROUP_ID is not set")
    async with app.db.read() as session:
        clan = await get_clan_by_group(session, group_id)
    if clan is None:
        raise ClanNotSyncedError(
            f"WOM group {group_id} was never synced: run `clanstats sync --once` first"
        )
    return clan.id
