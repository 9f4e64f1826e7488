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

from domain.membership import Timeline
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
    """A clan member as the rules see them: identity, names, their timeline in the clan.

    ``role`` is their current rank (the roster's); rank, tenure and days at rank as of a
    moment come from ``timeline`` (docs/metrics.md, "Members"). ``last_changed_at`` is WOM's
    ``lastChangedAt``: when WOM last saw any of their stats change.
    """

    member_id: int
    rsn_key: str
    display_name: str
    role: str | None
    timeline: Timeline
    last_changed_at: datetime | None = None

    def is_member(self, as_of: datetime) -> bool:
        """True when inside a membership period at ``as_of``."""
        return self.timeline.is_member(as_of)

    def has_left(self, as_of: datetime) -> bool:
        """True when not in the clan at ``as_of``."""
        return not self.timeline.is_member(as_of)

    def role_at(self, as_of: datetime) -> str | None:
        """Their rank as of ``as_of``."""
        return self.timeline.rank_at(as_of)

    def joined_at(self, as_of: datetime) -> datetime | None:
        """Start of the membership period holding ``as_of``."""
        return self.timeline.joined_at(as_of)

    def tenure_days(self, as_of: datetime) -> float | None:
        """Days in the current membership period at ``as_of`` (None when not a member)."""
        return self.timeline.tenure_days(as_of)

    def days_in_rank(self, as_of: datetime) -> float | None:
        """Days holding their rank within the current period (None when unknown)."""
        return self.timeline.days_at_rank(as_of)


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
    """A member's counted relayed chat in a window (docs/metrics.md, "Chat lines").

    ``lines`` and ``broadcasts_by_type`` count the window only, while a member;
    ``last_chat_at`` is their latest counted chat line before the as-of time, which may lie
    before the window (it says how long they have been quiet).
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
    """A time range ``[start, end)`` with the label the user typed: the start is inside,
    the end is not (the one boundary rule of docs/metrics.md)."""

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
        """True when ``moment`` lies in ``[start, end)``."""
        return moment is not None and self.start <= moment < self.end


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
# Steps and gains


@dataclass(frozen=True, slots=True)
class Gains:
    """What a member gained in a window; every figure is ≥ 0.

    ``per_metric`` holds only the metrics that went up, by WOM name (when it was asked for:
    the totals are kept whatever). ``raid_kills`` adds up every raid (:data:`RAID_METRICS`).
    """

    xp: int = 0
    ehp: float = 0.0
    ehb: float = 0.0
    boss_kills: int = 0
    clues: int = 0
    per_metric: Mapping[str, float] = field(default_factory=dict)
    raid_kills: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_metric", _read_only(self.per_metric))

    @property
    def any(self) -> bool:
        """True when anything at all went up."""
        return (
            self.xp > 0
            or self.ehp > 0
            or self.ehb > 0
            or self.boss_kills > 0
            or self.clues > 0
            or bool(self.per_metric)
        )

    def sum_of(self, metrics: Iterable[str]) -> float:
        """Total gain over the named metrics (e.g. :data:`RAID_METRICS`)."""
        return sum(self.per_metric.get(name, 0.0) for name in metrics)


NO_GAINS = Gains()


@dataclass(frozen=True, slots=True)
class Step:
    """What one snapshot shows over the member's snapshot before it (docs/metrics.md,
    "Progress"): what was gained (ranked on both sides and higher now) and whether it shows
    progress at all (also a metric going from unranked to ranked). ``previous_at`` is the
    earlier snapshot's time, None for a member's first snapshot (which gains nothing)."""

    taken_at: datetime
    previous_at: datetime | None
    gains: Gains = NO_GAINS
    progress: bool = False


def _gain(old: float | None, new: float | None) -> float:
    """One metric of a step: ranked on both sides and higher now, else 0."""
    if old is None or new is None or not old >= 0 or not new > old:
        return 0.0
    return new - old


def _crossed(old: float | None, new: float | None) -> bool:
    """Unranked before, ranked now: the player played, by an amount nobody saw."""
    return old is not None and new is not None and not old >= 0 and new >= 0


def snapshot_step(previous: SnapshotPoint | None, current: SnapshotPoint) -> Step:
    """The step ``current`` makes over ``previous`` (None: the member's first snapshot)."""
    if previous is None:
        return Step(current.taken_at, None)
    per_metric: dict[str, float] = {}
    progress = False
    boss_kills = 0.0
    for name, old, new in changed_metrics(previous.metrics, current.metrics):
        gained = _gain(old, new)
        if gained > 0:
            per_metric[name] = gained
            if name not in _NOT_BOSS:
                boss_kills += gained
        elif _crossed(old, new):
            progress = True
    xp = _gain(previous.overall_xp, current.overall_xp)
    ehp = _gain(previous.ehp, current.ehp)
    ehb = _gain(previous.ehb, current.ehb)
    progress = (
        progress
        or bool(per_metric)
        or xp > 0
        or ehp > 0
        or ehb > 0
        or _crossed(previous.overall_xp, current.overall_xp)
        or _crossed(previous.ehp, current.ehp)
        or _crossed(previous.ehb, current.ehb)
    )
    gains = NO_GAINS
    if per_metric or xp or ehp or ehb:
        gains = Gains(
            xp=int(xp),
            ehp=ehp,
            ehb=ehb,
            boss_kills=int(boss_kills),
            clues=int(per_metric.get(CLUE_METRIC, 0)),
            per_metric=MappingProxyType(dict(sorted(per_metric.items()))),
            raid_kills=int(sum(per_metric.get(name, 0) for name in RAID_METRICS)),
        )
    return Step(current.taken_at, previous.taken_at, gains, progress)


@dataclass(frozen=True, slots=True)
class RunningTotals:
    """A member's steps added up from their first snapshot to one of their snapshots, every
    step whatever the membership (stored with each snapshot, so the steps of a window are
    the difference of two running totals)."""

    xp: int = 0
    ehp: float = 0.0
    ehb: float = 0.0
    boss_kills: int = 0
    clues: int = 0
    raid_kills: int = 0
    #: How many steps showed progress.
    progress_steps: int = 0

    def plus(self, other: RunningTotals) -> RunningTotals:
        """These totals and ``other`` added up (the steps of two stretches of time)."""
        return RunningTotals(
            self.xp + other.xp,
            self.ehp + other.ehp,
            self.ehb + other.ehb,
            self.boss_kills + other.boss_kills,
            self.clues + other.clues,
            self.raid_kills + other.raid_kills,
            self.progress_steps + other.progress_steps,
        )

    def after(self, step: Step) -> RunningTotals:
        """These totals with one more step added."""
        g = step.gains
        return RunningTotals(
            self.xp + g.xp,
            self.ehp + g.ehp,
            self.ehb + g.ehb,
            self.boss_kills + g.boss_kills,
            self.clues + g.clues,
            self.raid_kills + g.raid_kills,
            self.progress_steps + (1 if step.progress else 0),
        )


NO_TOTALS = RunningTotals()


def snapshot_steps(points: Iterable[SnapshotPoint]) -> list[Step]:
    """The step of every snapshot of one member over the one before it, oldest first."""
    ordered = sorted(points, key=_TAKEN_AT)
    return [snapshot_step(ordered[i - 1] if i else None, p) for i, p in enumerate(ordered)]


_TAKEN_AT = operator.attrgetter("taken_at")


def step_counts(step: Step, timeline: Timeline) -> bool:
    """True when both snapshots of ``step`` were taken in one membership period."""
    return step.previous_at is not None and timeline.same_period(step.previous_at, step.taken_at)


def add_gains(parts: Iterable[Gains]) -> Gains:
    """Several gains added up (per metric too)."""
    xp, ehp, ehb, kills, clues, raids = 0, 0.0, 0.0, 0, 0, 0
    per_metric: dict[str, float] = {}
    for part in parts:
        if part is NO_GAINS:
            continue
        xp += part.xp
        ehp += part.ehp
        ehb += part.ehb
        kills += part.boss_kills
        clues += part.clues
        raids += part.raid_kills
        for name, value in part.per_metric.items():
            per_metric[name] = per_metric.get(name, 0.0) + value
    if not (xp or ehp or ehb or kills or clues or per_metric):
        return NO_GAINS
    ordered = MappingProxyType(dict(sorted(per_metric.items())))
    return Gains(xp, ehp, ehb, kills, clues, ordered, raids)


def window_gains(steps: Iterable[Step], window: Window, timeline: Timeline) -> Gains:
    """A member's gains in ``window``: the sum of the counted steps taken in it."""
    return add_gains(
        s.gains for s in steps if window.contains(s.taken_at) and step_counts(s, timeline)
    )


def window_progress(steps: Iterable[Step], window: Window, timeline: Timeline) -> bool:
    """True when a counted step taken in ``window`` shows progress."""
    return any(
        s.progress and window.contains(s.taken_at) and step_counts(s, timeline) for s in steps
    )


def changed_metrics(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    """``(name, value before, value after)`` for each metric of ``after`` whose value is not
    the one in ``before`` (``None`` before when ``before`` lacks it), in ``after``'s order.

    Most metrics do not move between two snapshots (a week touches a few skills and bosses;
    most bosses stay unranked), so this is where steps spend their time. When both mappings
    list the same names in the same order (snapshots stored by the same sync code do), the
    unchanged ones are skipped in C (``map``/``compress``), without a dict lookup or a
    Python step per metric; otherwise every name is looked up.
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


def last_progress_at(
    latest_progress: datetime | None, last_changed_at: datetime | None, as_of: datetime
) -> datetime | None:
    """Last progress as of ``as_of``: the latest snapshot before it showing progress, or
    WOM's ``lastChangedAt`` when that is before ``as_of`` and later (docs/metrics.md)."""
    latest = latest_progress if latest_progress is not None and latest_progress < as_of else None
    wom_later = last_changed_at is not None and (latest is None or last_changed_at > latest)
    if wom_later and last_changed_at is not None and last_changed_at < as_of:
        return last_changed_at
    return latest


# ---------------------------------------------------------------------------------------------
# Activity


@dataclass(frozen=True, slots=True)
class MemberActivity:
    """One member's chat and progress in one window.

    ``stepped`` says whether a counted step of the window shows progress (it may show no
    gain: a metric going from unranked to ranked).
    """

    member: MemberInfo
    window: Window
    chat: ChatStats
    gains: Gains
    last_progress_at: datetime | None
    stepped: bool = False
    #: Their rank as of the window's end (the rules ask it many times).
    role: str | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        role = self.member.role_at(self.window.end) or self.member.role
        object.__setattr__(self, "role", role)

    @property
    def member_id(self) -> int:
        return self.member.member_id

    @property
    def display_name(self) -> str:
        return self.member.display_name

    @property
    def chatted(self) -> bool:
        """True when the member posted a chat line or a presence broadcast in the window."""
        return self.chat.lines > 0 or self.chat.presence_broadcasts > 0

    @property
    def progressed(self) -> bool:
        """True when a counted step of the window shows progress, or WOM's last change falls
        in the window while they were a member."""
        if self.stepped or self.gains.any:
            return True
        changed = self.member.last_changed_at
        return (
            self.window.contains(changed)
            and changed is not None
            and (self.member.is_member(changed))
        )

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
    steps: Sequence[Step],
    as_of: datetime | None = None,
) -> MemberActivity:
    """Join one member's chat facts and snapshot steps into their activity in ``window``."""
    as_of = window.end if as_of is None else as_of
    latest = max((s.taken_at for s in steps if s.progress and s.taken_at < as_of), default=None)
    return MemberActivity(
        member=member,
        window=window,
        chat=chat,
        gains=window_gains(steps, window, member.timeline),
        last_progress_at=last_progress_at(latest, member.last_changed_at, as_of),
        stepped=window_progress(steps, window, member.timeline),
    )


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
