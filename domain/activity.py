"""The activity model: chat facts joined with Wise Old Man progress over a time window.

Pure: the storage layer fills the input dataclasses and the caller passes ``as_of``; nothing
here reads a clock. Identity is ``member_id``: a rename does not break a member's history.

Snapshot metric values are stored by WOM metric name (docs/wom-api.md): a skill's experience, a
boss's kills, an activity's score, a computed metric's value. ``-1`` means *unranked* (below
the hiscores threshold), never zero.
"""

from __future__ import annotations

import math
import operator
import re
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import compress
from operator import ne
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from domain.relay import BroadcastType

MetricKind = Literal["skill", "activity", "computed", "boss"]

#: WOM skill metrics (25, including ``overall`` and ``sailing``); the value is experience.
SKILL_METRICS: frozenset[str] = frozenset(
    {
        "overall",
        "attack",
        "defence",
        "strength",
        "hitpoints",
        "ranged",
        "prayer",
        "magic",
        "cooking",
        "woodcutting",
        "fletching",
        "fishing",
        "firemaking",
        "crafting",
        "smithing",
        "mining",
        "herblore",
        "agility",
        "thieving",
        "slayer",
        "farming",
        "runecrafting",
        "hunter",
        "construction",
        "sailing",
    }
)

#: WOM activity metrics (as served on 2025-12-23, 16 with ``collections_logged``); the value
#: is a score. Activities change rarely, unlike bosses.
ACTIVITY_METRICS: frozenset[str] = frozenset(
    {
        "league_points",
        "bounty_hunter_hunter",
        "bounty_hunter_rogue",
        "clue_scrolls_all",
        "clue_scrolls_beginner",
        "clue_scrolls_easy",
        "clue_scrolls_medium",
        "clue_scrolls_hard",
        "clue_scrolls_elite",
        "clue_scrolls_master",
        "last_man_standing",
        "pvp_arena",
        "soul_wars_zeal",
        "guardians_of_the_rift",
        "colosseum_glory",
        "collections_logged",
    }
)

#: WOM computed metrics.
COMPUTED_METRICS: frozenset[str] = frozenset({"ehp", "ehb"})

#: The activity counting every clue scroll tier.
CLUE_METRIC = "clue_scrolls_all"

#: Raid kill counts (every mode), for the "carry potential" tag.
RAID_METRICS: frozenset[str] = frozenset(
    {
        "chambers_of_xeric",
        "chambers_of_xeric_challenge_mode",
        "theatre_of_blood",
        "theatre_of_blood_hard_mode",
        "tombs_of_amascut",
        "tombs_of_amascut_expert",
    }
)

#: Broadcast types that do not prove the member was playing: being invited, leaving or being
#: expelled is something that happens *to* a member.
NON_PRESENCE_BROADCASTS: frozenset[str] = frozenset(
    {BroadcastType.INVITE, BroadcastType.LEFT, BroadcastType.EXPELLED}
)

#: Longest relative window accepted by :func:`parse_window` (ten years).
MAX_WINDOW_DAYS = 3660

_RELATIVE = re.compile(r"(\d{1,5})([hdw])")
_CUSTOM = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
_UNIT_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
_SECONDS_PER_DAY = 86_400.0

T = TypeVar("T")

#: The one empty read-only mapping every empty ``metrics`` / ``per_metric`` /
#: ``broadcasts_by_type`` shares (immutable, so sharing it is safe and saves a copy each).
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only mapping for a frozen value: a caller's dict is copied (they may change it
    later); a ``MappingProxyType`` is kept as given: whoever made it vouches that nobody
    holds the dict behind it (the repositories wrap dicts they just parsed)."""
    if not mapping:
        return _EMPTY
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


def metric_kind(name: str) -> MetricKind:
    """Classify a WOM metric name; every name that is not a known skill, activity or computed
    metric is a boss, so bosses WOM adds tomorrow are counted without a code change."""
    if name in SKILL_METRICS:
        return "skill"
    if name in ACTIVITY_METRICS:
        return "activity"
    if name in COMPUTED_METRICS:
        return "computed"
    return "boss"


#: Every metric name :func:`metric_kind` does not call a boss.
_NOT_BOSS: frozenset[str] = SKILL_METRICS | ACTIVITY_METRICS | COMPUTED_METRICS


def is_boss_metric(name: str) -> bool:
    """True when ``name`` is a boss kill count (see :func:`metric_kind`)."""
    return name not in _NOT_BOSS


# ---------------------------------------------------------------------------------------------
# Inputs


def _require_aware(value: datetime | None, what: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got {value!r}")


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A clan member as stored: identity, rank and the dates the rules need.

    ``first_tracked_at`` is the time of the member's first snapshot; ``last_changed_at`` is
    WOM's ``lastChangedAt`` (last time their stats changed). ``role_since`` is when they got
    their current rank (from role-change events), used by promotion ladders; when unknown the
    join date stands in for it.
    """

    member_id: int
    rsn_key: str
    display_name: str
    role: str | None
    joined_at: datetime | None
    left_at: datetime | None
    first_tracked_at: datetime | None
    last_changed_at: datetime | None
    role_since: datetime | None = None

    def has_left(self, as_of: datetime) -> bool:
        """True when the member had left by ``as_of`` (and has not rejoined since)."""
        if self.left_at is None or self.left_at > as_of:
            return False
        return self.joined_at is None or self.left_at >= self.joined_at

    def member_since(self) -> datetime | None:
        """When membership provably began: the join date, else the first snapshot."""
        return self.joined_at if self.joined_at is not None else self.first_tracked_at

    def tenure_days(self, as_of: datetime) -> float | None:
        """Days in the clan at ``as_of``, or None when no start date is known."""
        since = self.member_since()
        return None if since is None else max(0.0, _days(as_of - since))

    def days_in_rank(self, as_of: datetime) -> float | None:
        """Days holding the current rank (join date when the rank change is unknown)."""
        since = self.role_since if self.role_since is not None else self.member_since()
        return None if since is None else max(0.0, _days(as_of - since))


@dataclass(frozen=True, slots=True)
class SnapshotPoint:
    """One stored WOM snapshot of a member; ``metrics`` holds every metric by WOM name."""

    taken_at: datetime
    overall_xp: int
    ehp: float
    ehb: float
    metrics: Mapping[str, int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", _read_only(self.metrics))


@dataclass(frozen=True, slots=True)
class ChatStats:
    """A member's relayed chat in a window.

    ``lines`` and ``broadcasts_by_type`` count the window only; ``last_chat_at`` is their
    latest chat line up to the window's end, which may lie before the window (it says how
    long they have been quiet).
    """

    lines: int = 0
    broadcasts_by_type: Mapping[str, int] = field(default_factory=dict)
    last_chat_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "broadcasts_by_type", _read_only(self.broadcasts_by_type))

    @property
    def broadcasts(self) -> int:
        """All broadcasts about the member in the window."""
        return sum(self.broadcasts_by_type.values())

    @property
    def presence_broadcasts(self) -> int:
        """Broadcasts proving the member played (drops, levels…; not invites or departures)."""
        return sum(
            count
            for kind, count in self.broadcasts_by_type.items()
            if kind not in NON_PRESENCE_BROADCASTS
        )


NO_CHAT = ChatStats()


# ---------------------------------------------------------------------------------------------
# Windows


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``(start, end]`` with the label the user typed."""

    label: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "window start")
        _require_aware(self.end, "window end")
        if self.start >= self.end:
            raise ValueError(f"window {self.label!r}: start must be before end")

    @property
    def days(self) -> float:
        """Length in days (fractional for hour windows)."""
        return _days(self.end - self.start)

    def contains(self, moment: datetime | None) -> bool:
        """True when ``moment`` lies in ``(start, end]``."""
        return moment is not None and self.start < moment <= self.end


def parse_window(label: str, as_of: datetime) -> Window:
    """Parse ``"7d"``, ``"12h"``, ``"2w"`` (ending at ``as_of``) or ``"YYYY-MM-DD..YYYY-MM-DD"``.

    A custom range covers both dates whole, in UTC, and is cut at ``as_of`` (the future has no
    data). Raises ``ValueError`` saying what is accepted.
    """
    _require_aware(as_of, "as_of")
    text = label.strip().lower()
    relative = _RELATIVE.fullmatch(text)
    if relative is not None:
        amount, unit = int(relative.group(1)), relative.group(2)
        hours = amount * _UNIT_HOURS[unit]
        if amount == 0 or hours > MAX_WINDOW_DAYS * 24:
            raise ValueError(
                f"window {label!r}: the length must be between 1 hour and {MAX_WINDOW_DAYS} days"
            )
        return Window(text, as_of - timedelta(hours=hours), as_of)
    custom = _CUSTOM.fullmatch(text)
    if custom is not None:
        first, last = _parse_date(custom.group(1), label), _parse_date(custom.group(2), label)
        if first > last:
            raise ValueError(f"window {label!r}: the first date is after the second")
        start = datetime.combine(first, time(), UTC)
        if start >= as_of:
            raise ValueError(f"window {label!r}: starts in the future")
        end = min(datetime.combine(last + timedelta(days=1), time(), UTC), as_of)
        return Window(text, start, end)
    raise ValueError(
        f"window {label!r} not understood: use a number and a unit (12h, 1d, 7d, 30d, 90d, 2w) "
        "or a date range YYYY-MM-DD..YYYY-MM-DD"
    )


def _parse_date(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"window {label!r}: {text} is not a calendar date") from None


# ---------------------------------------------------------------------------------------------
# Gains


@dataclass(frozen=True, slots=True)
class Gains:
    """What a member gained in a window; every figure is ≥ 0.

    ``per_metric`` holds only the metrics that went up, by WOM name.
    """

    xp: int = 0
    ehp: float = 0.0
    ehb: float = 0.0
    boss_kills: int = 0
    clues: int = 0
    per_metric: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_metric", _read_only(self.per_metric))

    @property
    def any(self) -> bool:
        """True when anything at all went up."""
        return self.xp > 0 or self.ehp > 0 or self.ehb > 0 or bool(self.per_metric)

    def sum_of(self, metrics: Iterable[str]) -> float:
        """Total gain over the named metrics (e.g. :data:`RAID_METRICS`)."""
        return sum(self.per_metric.get(name, 0.0) for name in metrics)


NO_GAINS = Gains()


def _ranked(value: float | None) -> bool:
    return value is not None and value >= 0


def _observed_gain(
    points: Sequence[SnapshotPoint], value_of: Callable[[SnapshotPoint], float | None]
) -> float:
    """Gain of one metric from the baseline (``points[0]``) to the end (``points[-1]``).

    An unranked (``-1``) or missing value says nothing about the real count: it may be 0 or
    just below the hiscores threshold. So the gain starts at the *first ranked* value seen from
    the baseline on; with only an unranked baseline and a ranked end that is the end itself,
    giving 0 (never ``end - (-1)``, never ``end``). It only counts what was observed, so it can
    undercount and never overcounts. Drops (hiscores resets) give 0.
    """
    end_value = value_of(points[-1])
    if end_value is None or not _ranked(end_value):
        return 0.0
    start_value = next(v for v in map(value_of, points) if v is not None and _ranked(v))
    return max(0.0, end_value - start_value)


def _column_gain(start: float, end: float, in_range: Sequence[SnapshotPoint], name: str) -> float:
    """:func:`_observed_gain` of ``overall_xp`` / ``ehp`` / ``ehb`` (columns, never missing),
    without a getter call per point when the baseline is ranked (the common case)."""
    if start >= 0:
        # First ranked value from the baseline on is the baseline itself.
        gained = end - start
        return gained if gained > 0 else 0.0
    return _observed_gain(in_range, operator.attrgetter(name))


def _by_time(points: Iterable[SnapshotPoint], end: datetime) -> list[SnapshotPoint]:
    """The points taken at or before ``end``, oldest first."""
    kept = [p for p in points if p.taken_at <= end]
    kept.sort(key=_TAKEN_AT)
    return kept


_TAKEN_AT = operator.attrgetter("taken_at")


def _baseline_index(
    points: Sequence[SnapshotPoint], window: Window, joined_at: datetime | None
) -> int | None:
    """Index of the baseline in ``points`` (sorted by time; see :func:`compute_gains`)."""
    if joined_at is not None and joined_at > window.start:
        # Joined inside the window: progress before joining is not the clan's.
        return next((i for i, p in enumerate(points) if p.taken_at >= joined_at), None)
    start = window.start
    latest: int | None = None
    for i, p in enumerate(points):
        if p.taken_at > start:
            break
        latest = i
    if latest is not None:
        return latest
    # First tracked inside the window: the first snapshot is the baseline, never zero.
    return 0 if points else None


def compute_gains(
    snapshots_sorted: Sequence[SnapshotPoint],
    window: Window,
    *,
    joined_at: datetime | None = None,
) -> Gains:
    """Return what a member gained in ``window`` from their snapshots.

    Baseline: the latest snapshot at or before ``window.start``; for a member who joined
    inside the window (``joined_at > start``) their first snapshot at or after joining; for a
    member first tracked inside the window their first snapshot. End: the latest snapshot at
    or before ``window.end``. One snapshot in range gives no gain (a lifetime total is not a
    gain). Unranked values are handled per metric as in :func:`_observed_gain`; negative gains
    clamp to 0. Snapshots are re-sorted by time, so order does not matter.
    """
    points = _by_time(snapshots_sorted, window.end)
    first = _baseline_index(points, window, joined_at)
    if first is None or first == len(points) - 1:
        return NO_GAINS
    in_range = points[first:]
    base, last = in_range[0], in_range[-1]
    per_metric: dict[str, float] = {}
    boss_kills: float = 0
    if last.metrics:
        not_boss = _NOT_BOSS
        for name, start_value, end_value in changed_metrics(base.metrics, last.metrics):
            if start_value is not None and start_value >= 0:
                # Ranked baseline (the common case): a gain only if the end is higher, which
                # also rules out an unranked (-1) or unknown end.
                if end_value is None or not end_value > start_value:
                    continue
                gained = end_value - start_value
            else:
                if end_value is None or not end_value >= 0:
                    continue  # unranked (or unknown) at the end: nothing observed
                start_value = next(
                    v for p in in_range if (v := p.metrics.get(name)) is not None and v >= 0
                )
                gained = end_value - start_value
                if not gained > 0:
                    continue
            per_metric[name] = gained
            if name not in not_boss:  # is_boss_metric(name), inline: this loop is hot
                boss_kills += gained
        if len(per_metric) > 1:
            per_metric = dict(sorted(per_metric.items()))  # by name, whatever the JSON order
    xp = _column_gain(base.overall_xp, last.overall_xp, in_range, "overall_xp")
    ehp = _column_gain(base.ehp, last.ehp, in_range, "ehp")
    ehb = _column_gain(base.ehb, last.ehb, in_range, "ehb")
    if not per_metric and xp == 0 and ehp == 0 and ehb == 0:
        return NO_GAINS
    return Gains(
        xp=int(xp),
        ehp=ehp,
        ehb=ehb,
        boss_kills=int(boss_kills),
        clues=int(per_metric.get(CLUE_METRIC, 0)),
        # A view of a dict nobody else holds: no copy needed.
        per_metric=MappingProxyType(per_metric),
    )


def changed_metrics(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    """``(name, value before, value after)`` for each metric of ``after`` whose value is not
    the one in ``before`` (``None`` before when ``before`` lacks it), in ``after``'s order.

    Most metrics do not move between two snapshots (a week touches a few skills and bosses;
    most bosses stay unranked), so this is where gains and progress spend their time. When
    both mappings list the same names in the same order (snapshots stored by the same sync
    code do), the unchanged ones are skipped in C (``map``/``compress``), without a dict
    lookup or a Python step per metric; otherwise every name is looked up.
    """
    names = tuple(after)
    if names == tuple(before):
        olds = before.values()
        news = after.values()
        return compress(zip(names, olds, news, strict=True), map(ne, olds, news))
    return _changed_slow(before, after)


def _changed_slow(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    old_of = before.get
    for name, new in after.items():
        old = old_of(name, _ABSENT)
        if old is _ABSENT:
            yield name, None, new
        elif old != new:
            yield name, old, new


_ABSENT: Any = object()


def _went_up(old: float | None, new: float | None) -> bool:
    """One metric of :func:`_progressed`: ranked now, and unranked before or higher now."""
    return old is not None and new is not None and new >= 0 and (not old >= 0 or new > old)


def _progressed(before: SnapshotPoint, after: SnapshotPoint) -> bool:
    """True when ``after`` shows the member did something since ``before``.

    A metric going from unranked to ranked counts: the player must have played to cross the
    threshold, even though the amount is unknown. A metric new in ``after`` does not (WOM
    started tracking it; the player did nothing).
    """
    if (
        _went_up(before.overall_xp, after.overall_xp)
        or _went_up(before.ehp, after.ehp)
        or _went_up(before.ehb, after.ehb)
    ):
        return True
    return any(_went_up(old, new) for _, old, new in changed_metrics(before.metrics, after.metrics))


def last_progress_at(
    snapshots_sorted: Sequence[SnapshotPoint],
    window_end: datetime,
    last_changed_at: datetime | None,
) -> datetime | None:
    """Latest known progress up to ``window_end``: WOM's ``lastChangedAt`` or the latest
    snapshot that went up from the one before it, whichever is later."""
    points = _by_time(snapshots_sorted, window_end)
    latest: datetime | None = None
    # Newest pair first: the first one that went up is the latest progress they show.
    for i in range(len(points) - 1, 0, -1):
        if _progressed(points[i - 1], points[i]):
            latest = points[i].taken_at
            break
    if (
        last_changed_at is not None
        and last_changed_at <= window_end
        and (latest is None or last_changed_at > latest)
    ):
        return last_changed_at
    return latest


# ---------------------------------------------------------------------------------------------
# Activity


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """One member's chat and progress in one window."""

    member: MemberInfo
    window: Window
    chat: ChatStats
    gains: Gains
    last_progress_at: datetime | None

    @property
    def member_id(self) -> int:
        return self.member.member_id

    @property
    def display_name(self) -> str:
        return self.member.display_name

    @property
    def role(self) -> str | None:
        return self.member.role

    @property
    def chatted(self) -> bool:
        """True when the member posted a chat line or a presence broadcast in the window."""
        return self.chat.lines > 0 or self.chat.presence_broadcasts > 0

    @property
    def progressed(self) -> bool:
        """True when snapshots show gains, or WOM saw a change, inside the window."""
        return self.gains.any or self.window.contains(self.last_progress_at)

    @property
    def active(self) -> bool:
        """True when the member chatted or progressed in the window."""
        return self.chatted or self.progressed

    @property
    def last_seen_at(self) -> datetime | None:
        """Latest of last chat line and last progress, or None when neither is known."""
        seen = [t for t in (self.chat.last_chat_at, self.last_progress_at) if t is not None]
        return max(seen, default=None)


def build_activity(
    member: MemberInfo,
    window: Window,
    chat: ChatStats,
    snapshots: Sequence[SnapshotPoint],
) -> MemberActivity:
    """Join one member's chat facts and snapshots into their activity in ``window``."""
    return MemberActivity(
        member=member,
        window=window,
        chat=chat,
        gains=compute_gains(snapshots, window, joined_at=member.joined_at),
        last_progress_at=last_progress_at(snapshots, window.end, member.last_changed_at),
    )


def build_activities(
    members: Iterable[MemberInfo],
    window: Window,
    chat_by_member: Mapping[int, ChatStats],
    snapshots_by_member: Mapping[int, Sequence[SnapshotPoint]],
) -> list[MemberActivity]:
    """:func:`build_activity` for a whole clan; a member missing from a mapping has none."""
    return [
        build_activity(
            member,
            window,
            chat_by_member.get(member.member_id, NO_CHAT),
            snapshots_by_member.get(member.member_id, ()),
        )
        for member in members
    ]


# ---------------------------------------------------------------------------------------------
# Helpers


def median(values: Iterable[float]) -> float | None:
    """Median of ``values``, or None when there are none."""
    items = list(values)
    return float(statistics.median(items)) if items else None


def top_n(
    items: Iterable[T],
    n: int,
    key: Callable[[T], float],
    *,
    name: Callable[[T], str] = str,
    include_zero: bool = False,
) -> list[T]:
    """The ``n`` items with the largest ``key``, ties broken by ``name`` (case-insensitive).

    Items whose key is 0 or less are left out unless ``include_zero``.
    """
    if n <= 0:
        return []
    kept = [item for item in items if include_zero or key(item) > 0]
    kept.sort(key=lambda item: (-key(item), name(item).casefold()))
    return kept[:n]


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / _SECONDS_PER_DAY


def whole_days(value: float | None) -> int | str:
    """Days for display in a finding: floor of ``value``, or ``"never"`` when unknown."""
    return "never" if value is None else math.floor(value)
