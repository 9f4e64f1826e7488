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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import App
from domain.activity import (
    NO_CHAT,
    RAID_METRICS,
    ChatStats,
    MemberActivity,
    MemberInfo,
    SnapshotPoint,
    Window,
    compute_gains,
    last_progress_at,
    parse_window,
)
from domain.ranks import RankConfig, RankTier
from domain.rules import (
    DEFAULT_INACTIVE_WINDOW,
    PromotionRung,
    RuleSettings,
)
from storage.repositories import reports as repo
from storage.repositories.clans import get_clan_by_group
from storage.repositories.reports import (
    ALL_METRICS,
    ClanFacts,
    MetricsSpec,
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
FINDINGS_BROADCASTS: Mapping[FindingsKind, tuple[BroadcastNeed, ...]] = {
    "inactive": ("quiet",),
    "audit": ("quiet",),
    "alerts": ("quiet", "none"),
    "promotions": ("none",),
}
RAIDS: tuple[str, ...] = tuple(sorted(RAID_METRICS))
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
class Loaded:
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


async def clan_facts(session: AsyncSession, clan_id: int) -> ClanFacts:
    clan = await repo.clan_facts(session, clan_id)
    if clan is None:
        raise ClanNotSyncedError("this clan has no data yet: run `clanstats sync --once` first")
    return clan


async def load(
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
) -> Loaded:
    """Load members, chat, broadcasts and snapshot endpoints for ``windows``.

    Only the first ``counted`` windows (all by default) get real chat line counts; the others
    are *presence-only*: 1 line when the member's last line falls inside, else 0. The purge
    rule only asks "did they chat at all?", and that is one index seek per member instead of
    counting a 60-day range. ``metrics`` is what the snapshot endpoints load (see
    :func:`storage.repositories.reports.snapshot_endpoints`); the first
    ``full_metrics_windows`` windows get every metric whatever ``metrics`` says.
    ``broadcasts`` says per window what to read (:data:`BroadcastNeed`; ``all`` by default).
    """
    clan = await clan_facts(session, clan_id)
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
    data = Loaded(clan, members, list(windows), lines, by_window, last_chat, snapshots)
    for index, need in enumerate(needs):
        if need == "quiet":
            await data.read_quiet_broadcasts(session, index)
    return data


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
