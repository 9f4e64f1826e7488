"""Moderation and promotion rules over :class:`~domain.activity.MemberActivity`.

Pure: the caller builds the activities for the windows a rule needs and passes ``as_of``.
Every rule skips members who have left by ``as_of``, returns :class:`Finding` values carrying
the numbers that triggered them, and orders them deterministically: most severe (or largest)
first, then display name (case-insensitive), then member id.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from domain.activity import MemberActivity, median, whole_days
from domain.ranks import RankConfig, RankTier, pretty_rank, role_key

Number = float | int | str

#: A ladder rung with this ``from_rank`` applies to every rank without a rung of its own.
ANY_RANK = "*"

#: Window the purge list is meant to be run over: officers purge members inactive for 2–3 months.
DEFAULT_INACTIVE_WINDOW = "60d"

TAG_HIGH_VELOCITY = "high velocity"
TAG_SOCIAL_PILLAR = "social pillar"
TAG_CARRY_POTENTIAL = "carry potential"

STAFF_TIERS: frozenset[RankTier] = frozenset(
    {RankTier.OWNER, RankTier.DEPUTY, RankTier.LEADERSHIP, RankTier.OFFICER}
)
LEADERSHIP_TIERS: frozenset[RankTier] = frozenset(
    {RankTier.OWNER, RankTier.DEPUTY, RankTier.LEADERSHIP}
)


class FindingKind(enum.StrEnum):
    """What a finding says about a member."""

    INACTIVE = "inactive"
    OFFICER_AWOL = "officer_awol"
    OFFICER_SLACKING = "officer_slacking"
    OFFICER_OK = "officer_ok"
    LEADERSHIP_SLUMP = "leadership_slump"
    CHURN_RISK = "churn_risk"
    SILENT_GRINDER = "silent_grinder"
    CHATTER_NO_PROGRESS = "chatter_no_progress"
    PROMOTION = "promotion"


# Lower = listed first.
_SEVERITY: dict[FindingKind, int] = {kind: index for index, kind in enumerate(FindingKind)}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found about one member, with the numbers behind it."""

    kind: FindingKind
    member_id: int
    display_name: str
    role: str | None
    reason: str
    numbers: Mapping[str, Number]
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "numbers", MappingProxyType(dict(self.numbers)))


@dataclass(frozen=True, slots=True)
class UnmatchedFinding:
    """A name in relayed chat that no member held when its lines were posted (a guest, or a
    rename not known yet): its chat lines and broadcasts, counted apart."""

    rsn_key: str
    display_name: str
    lines: int
    broadcasts: int
    last_seen: datetime | None

    @property
    def count(self) -> int:
        """Chat lines and broadcasts together."""
        return self.lines + self.broadcasts


@dataclass(frozen=True, slots=True)
class PromotionRung:
    """One step of a promotion ladder.

    ``from_rank`` is a rank or :data:`ANY_RANK`; ``to_rank`` None means the rank directly
    above. ``min_tenure_days`` counts days in the current rank (days in the clan when the
    rank change is unknown). ``min_xp`` / ``min_lines`` / ``min_boss_kc`` (boss kills gained,
    every boss) apply to the window the caller passes; None leaves a criterion out.
    ``any_of``: one met criterion is enough, else all must be met. A rung with no criterion
    promotes on tenure alone.
    """

    from_rank: str
    to_rank: str | None
    min_tenure_days: int
    min_xp: int | None = None
    min_lines: int | None = None
    any_of: bool = True
    min_boss_kc: int | None = None

    def __post_init__(self) -> None:
        if self.from_rank != ANY_RANK:
            object.__setattr__(self, "from_rank", role_key(self.from_rank))
        if self.to_rank is not None:
            object.__setattr__(self, "to_rank", role_key(self.to_rank))
        if self.min_tenure_days < 0:
            raise ValueError("promotion rung: min_tenure_days must be ≥ 0")

    def criteria_met(self, xp: int, lines: int, boss_kc: int = 0) -> bool:
        """True when ``xp``, ``lines`` and ``boss_kc`` satisfy the rung (tenure is checked
        separately)."""
        checks = [
            value >= threshold
            for value, threshold in (
                (xp, self.min_xp),
                (lines, self.min_lines),
                (boss_kc, self.min_boss_kc),
            )
            if threshold is not None
        ]
        if not checks:
            return True
        return any(checks) if self.any_of else all(checks)


#: Ladder for a clan shaped like the fixture's (27 ranks, recruits start at ``prospector``):
#: recruits move up after two weeks of visible play; everyone else after a month of solid
#: play. The generic rung never promotes into an officer or leadership rank.
DEFAULT_LADDER: tuple[PromotionRung, ...] = (
    PromotionRung("prospector", None, min_tenure_days=14, min_xp=1_000_000, min_lines=50),
    PromotionRung(ANY_RANK, None, min_tenure_days=30, min_xp=5_000_000, min_lines=200),
)


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Thresholds of every rule; the defaults suit a clan of a few hundred members."""

    #: Purge list: the window (days) with no chat and no progress that makes a member inactive.
    inactive_window_days: int = 60
    #: Purge list: members younger than this are never listed (a recruit needs time).
    inactive_min_tenure_days: int = 30
    #: Officer audit: ranks audited.
    audit_tiers: frozenset[RankTier] = STAFF_TIERS
    #: Officer audit: "slacking" when both chat lines and XP are below this share of the
    #: median of the clan's active members.
    slacking_ratio: float = 0.5
    #: Alerts: ranks watched for a leadership slump (no chat, no progress in the 7-day window).
    slump_tiers: frozenset[RankTier] = LEADERSHIP_TIERS
    #: Churn risk: 7-day chat rate per day below this share of the 30-day rate…
    churn_ratio: float = 0.3
    #: …for members who chatted at least this much in 30 days (too few lines is just noise).
    churn_min_lines_30d: int = 20
    #: Silent grinder: XP gained in the 7-day window with no chat line at all.
    silent_grinder_min_xp: int = 1_000_000
    #: Chatter with no progress: chat lines in the 7-day window with no progress at all.
    chatter_min_lines: int = 50
    #: Promotion ladder, first matching rung wins: put specific ranks before :data:`ANY_RANK`.
    ladder: tuple[PromotionRung, ...] = DEFAULT_LADDER
    #: "Social pillar": in the top share of the clan by chat lines.
    social_pillar_share: float = 0.10
    #: "Carry potential": raid kill count gained (every CoX/ToB/ToA mode) in the window.
    carry_min_raid_kc: int = 25

    def __post_init__(self) -> None:
        for name in ("slacking_ratio", "churn_ratio", "social_pillar_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"rule settings: {name} must be between 0 and 1, got {value}")
        if self.inactive_window_days < 1:
            raise ValueError("rule settings: inactive_window_days must be ≥ 1")
        for name in (
            "inactive_min_tenure_days",
            "churn_min_lines_30d",
            "silent_grinder_min_xp",
            "chatter_min_lines",
            "carry_min_raid_kc",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"rule settings: {name} must be ≥ 0")


# ---------------------------------------------------------------------------------------------
# Helpers


def _current(activities: Iterable[MemberActivity], as_of: datetime) -> list[MemberActivity]:
    """Members still in the clan at ``as_of``."""
    return [a for a in activities if not a.member.has_left(as_of)]


def _days_since(moment: datetime | None, as_of: datetime) -> float | None:
    return None if moment is None else max(0.0, (as_of - moment).total_seconds() / 86_400)


def _rank_name(role: str | None) -> str:
    return pretty_rank(role) if role else "no rank"


def _ago(days: float | None) -> str:
    shown = whole_days(days)
    return "never" if shown == "never" else f"{shown} days ago"


def _finding(
    kind: FindingKind,
    activity: MemberActivity,
    reason: str,
    numbers: Mapping[str, Number],
    tags: tuple[str, ...] = (),
) -> Finding:
    return Finding(
        kind=kind,
        member_id=activity.member_id,
        display_name=activity.display_name,
        role=activity.role,
        reason=reason,
        numbers=numbers,
        tags=tags,
    )


def _ordered(rows: list[tuple[tuple[float, ...], Finding]]) -> list[Finding]:
    """Sort by kind severity, then the rule's own key (ascending), then name, then id."""
    rows.sort(
        key=lambda row: (
            _SEVERITY[row[1].kind],
            row[0],
            row[1].display_name.casefold(),
            row[1].member_id,
        )
    )
    return [finding for _, finding in rows]


def _pct(value: float, reference: float | None) -> Number:
    if reference is None or reference == 0:
        return "n/a"
    return round(100 * value / reference, 1)


# ---------------------------------------------------------------------------------------------
# Rules


def inactive(
    activities: Iterable[MemberActivity],
    ranks: RankConfig,
    settings: RuleSettings,
    as_of: datetime,
) -> list[Finding]:
    """Purge candidates: no chat, no presence broadcast and no progress in the window.

    Protected ranks, members who left, members with less than
    ``settings.inactive_min_tenure_days`` tenure and members whose tenure is unknown are never
    listed. Longest silent first (never seen before anyone).
    """
    rows: list[tuple[tuple[float, ...], Finding]] = []
    for activity in _current(activities, as_of):
        if ranks.is_protected(activity.role) or activity.active:
            continue
        tenure = activity.member.tenure_days(as_of)
        if tenure is None or tenure < settings.inactive_min_tenure_days:
            continue
        since_chat = _days_since(activity.chat.last_chat_at, as_of)
        since_progress = _days_since(activity.last_progress_at, as_of)
        since_seen = _days_since(activity.last_seen_at, as_of)
        reason = (
            f"no chat and no progress in the last {activity.window.label}: "
            f"last chat {_ago(since_chat)}, last progress {_ago(since_progress)}, "
            f"{whole_days(tenure)} days in the clan"
        )
        numbers: dict[str, Number] = {
            "window_days": round(activity.window.days, 2),
            "tenure_days": whole_days(tenure),
            "days_since_chat": whole_days(since_chat),
            "days_since_progress": whole_days(since_progress),
            "days_since_seen": whole_days(since_seen),
        }
        severity = math.inf if since_seen is None else since_seen
        rows.append(
            ((-severity, -tenure), _finding(FindingKind.INACTIVE, activity, reason, numbers))
        )
    return _ordered(rows)


def officer_audit(
    activities: Iterable[MemberActivity],
    ranks: RankConfig,
    settings: RuleSettings,
    as_of: datetime,
) -> list[Finding]:
    """Every staff member (``settings.audit_tiers``) with a status against the clan median.

    The medians are taken over the *active* members (chatted or progressed in the window), so a
    clan full of dormant accounts does not make every officer look busy. AWOL: no chat and no
    progress. Slacking: chat lines *and* XP both below ``slacking_ratio`` × median. Otherwise
    ok. AWOL first, then slacking, then ok; quietest first within each.
    """
    current = _current(activities, as_of)
    active = [a for a in current if a.active]
    median_lines = median(a.chat.lines for a in active)
    median_xp = median(a.gains.xp for a in active)
    ratio = settings.slacking_ratio
    rows: list[tuple[tuple[float, ...], Finding]] = []
    for activity in current:
        tier = ranks.tier_of(activity.role)
        if tier not in settings.audit_tiers:
            continue
        lines, xp = activity.chat.lines, activity.gains.xp
        label = activity.window.label
        if not activity.active:
            kind = FindingKind.OFFICER_AWOL
            reason = f"AWOL: no chat and no progress in the last {label}"
        elif (
            median_lines is not None
            and median_xp is not None
            and lines < ratio * median_lines
            and xp < ratio * median_xp
        ):
            kind = FindingKind.OFFICER_SLACKING
            reason = (
                f"slacking: {lines} lines and {xp:,} XP in the last {label}, both under "
                f"{ratio:.0%} of the clan median ({median_lines:g} lines, {median_xp:,.0f} XP)"
            )
        else:
            kind = FindingKind.OFFICER_OK
            reason = f"ok: {lines} lines and {xp:,} XP in the last {label}"
        numbers: dict[str, Number] = {
            "status": kind.removeprefix("officer_"),
            "tier": tier.value,
            "lines": lines,
            "xp": xp,
            "median_lines": "n/a" if median_lines is None else median_lines,
            "median_xp": "n/a" if median_xp is None else median_xp,
            "lines_pct_of_median": _pct(lines, median_lines),
            "xp_pct_of_median": _pct(xp, median_xp),
            "days_since_seen": whole_days(_days_since(activity.last_seen_at, as_of)),
        }
        rows.append(((lines, xp), _finding(kind, activity, reason, numbers)))
    return _ordered(rows)


def alerts(
    activities_7d: Iterable[MemberActivity],
    activities_30d: Iterable[MemberActivity],
    ranks: RankConfig,
    settings: RuleSettings,
    as_of: datetime,
) -> list[Finding]:
    """Daily-report alerts: leadership slump, churn risk, silent grinders, idle chatters.

    * leadership slump: a ``slump_tiers`` member with no chat and no progress in the short
      window;
    * churn risk: chat rate per day in the short window under ``churn_ratio`` × the rate in
      the long window, for members with at least ``churn_min_lines_30d`` lines in it;
    * silent grinder: at least ``silent_grinder_min_xp`` XP and no chat line in the short
      window (a member worth drawing into chat);
    * chatter with no progress: at least ``chatter_min_lines`` lines and no progress in the
      short window.

    Rates use each window's real length, so other windows than 7 and 30 days work too.
    """
    month = {a.member_id: a for a in _current(activities_30d, as_of)}
    rows: list[tuple[tuple[float, ...], Finding]] = []
    for activity in _current(activities_7d, as_of):
        label = activity.window.label
        lines = activity.chat.lines
        if ranks.tier_of(activity.role) in settings.slump_tiers and not activity.active:
            since_seen = _days_since(activity.last_seen_at, as_of)
            reason = (
                f"{_rank_name(activity.role)} with no chat and no progress in the last {label}; "
                f"last seen {_ago(since_seen)}"
            )
            numbers: dict[str, Number] = {
                "window_days": round(activity.window.days, 2),
                "days_since_seen": whole_days(since_seen),
            }
            severity = math.inf if since_seen is None else since_seen
            finding = _finding(FindingKind.LEADERSHIP_SLUMP, activity, reason, numbers)
            rows.append(((-severity,), finding))
        longer = month.get(activity.member_id)
        if longer is not None and longer.chat.lines >= settings.churn_min_lines_30d:
            rate_long = longer.chat.lines / longer.window.days
            rate_short = lines / activity.window.days
            if rate_short < settings.churn_ratio * rate_long:
                share = rate_short / rate_long
                reason = (
                    f"chat fell to {share:.0%} of their usual rate: {rate_short:.1f} lines/day "
                    f"in the last {label} against {rate_long:.1f} in the last "
                    f"{longer.window.label}"
                )
                numbers = {
                    "lines_short": lines,
                    "lines_long": longer.chat.lines,
                    "rate_short_per_day": round(rate_short, 2),
                    "rate_long_per_day": round(rate_long, 2),
                    "rate_share_pct": round(100 * share, 1),
                }
                finding = _finding(FindingKind.CHURN_RISK, activity, reason, numbers)
                rows.append(((share, -longer.chat.lines), finding))
        xp = activity.gains.xp
        if xp >= settings.silent_grinder_min_xp and lines == 0:
            reason = f"{xp:,} XP in the last {label} without a single chat line"
            numbers = {"xp": xp, "lines": 0}
            rows.append(((-xp,), _finding(FindingKind.SILENT_GRINDER, activity, reason, numbers)))
        if lines >= settings.chatter_min_lines and not activity.progressed:
            reason = f"{lines} chat lines in the last {label} and no progress at all"
            numbers = {"lines": lines, "xp": xp}
            finding = _finding(FindingKind.CHATTER_NO_PROGRESS, activity, reason, numbers)
            rows.append(((-lines,), finding))
    return _ordered(rows)


def member_tags(
    activities: Iterable[MemberActivity],
    ranks: RankConfig,
    settings: RuleSettings,
    as_of: datetime,
) -> dict[int, tuple[str, ...]]:
    """Tags worth showing next to a member, by member id (members without a tag are left out).

    * high velocity: XP gained above the median XP gain of the members of the rank above;
    * social pillar: among the top ``social_pillar_share`` of the clan by chat lines (ties at
      the cut-off included; 0 lines never qualifies);
    * carry potential: at least ``carry_min_raid_kc`` raid kills gained (any CoX/ToB/ToA mode).
    """
    current = _current(activities, as_of)
    xp_by_rank: dict[str, list[int]] = defaultdict(list)
    for activity in current:
        if activity.role:
            xp_by_rank[role_key(activity.role)].append(activity.gains.xp)
    lines_desc = sorted((a.chat.lines for a in current), reverse=True)
    pillar_count = math.ceil(settings.social_pillar_share * len(current))
    pillar_cutoff = lines_desc[pillar_count - 1] if pillar_count else None
    medians = {rank: median(xps) for rank, xps in xp_by_rank.items()}
    tags: dict[int, tuple[str, ...]] = {}
    for activity in current:
        found: list[str] = []
        above = ranks.next_rank_up(activity.role)
        above_median = medians.get(above) if above else None
        if above_median is not None and activity.gains.xp > above_median:
            found.append(TAG_HIGH_VELOCITY)
        lines = activity.chat.lines
        if pillar_cutoff is not None and lines > 0 and lines >= pillar_cutoff:
            found.append(TAG_SOCIAL_PILLAR)
        if activity.gains.raid_kills >= max(1, settings.carry_min_raid_kc):
            found.append(TAG_CARRY_POTENTIAL)
        if found:
            tags[activity.member_id] = tuple(found)
    return tags


def _rung_for(ladder: Iterable[PromotionRung], rank: str) -> PromotionRung | None:
    specific = next((rung for rung in ladder if rung.from_rank == rank), None)
    if specific is not None:
        return specific
    return next((rung for rung in ladder if rung.from_rank == ANY_RANK), None)


def promotions(
    activities: Iterable[MemberActivity],
    ranks: RankConfig,
    settings: RuleSettings,
    as_of: datetime,
) -> list[Finding]:
    """Members due a promotion by ``settings.ladder``, with their tags.

    Only member-tier ranks are considered (staff are promoted by hand). A rank's own rung
    wins over an :data:`ANY_RANK` rung. A rung without ``to_rank`` moves to the rank directly
    above and never into an officer or leadership tier; a rung naming ``to_rank`` is an
    explicit choice of the clan and is followed. Members without a known rank, tenure, or
    rank above are skipped. Most XP first, then most chat lines.
    """
    current = _current(activities, as_of)
    tags = member_tags(current, ranks, settings, as_of)
    rows: list[tuple[tuple[float, ...], Finding]] = []
    for activity in current:
        role = activity.role
        if not role or ranks.tier_of(role) is not RankTier.MEMBER:
            continue
        rung = _rung_for(settings.ladder, role_key(role))
        if rung is None:
            continue
        target = rung.to_rank
        if target is None:
            target = ranks.next_rank_up(role)
            if target is None or ranks.tier_of(target) is not RankTier.MEMBER:
                continue
        days = activity.member.days_in_rank(as_of)
        xp, lines = activity.gains.xp, activity.chat.lines
        boss_kc = activity.gains.boss_kills
        if days is None or days < rung.min_tenure_days or not rung.criteria_met(xp, lines, boss_kc):
            continue
        member_tags_found = tags.get(activity.member_id, ())
        gained = f"{xp:,} XP and {lines} chat lines"
        if rung.min_boss_kc is not None:
            gained = f"{xp:,} XP, {lines} chat lines and {boss_kc:,} boss kills"
        reason = (
            f"{_rank_name(role)} → {_rank_name(target)}: {whole_days(days)} days at rank, "
            f"{gained} in the last {activity.window.label}"
        )
        if member_tags_found:
            reason += f" ({', '.join(member_tags_found)})"
        numbers: dict[str, Number] = {
            "to_rank": target,
            "days_in_rank": whole_days(days),
            "xp": xp,
            "lines": lines,
            "min_tenure_days": rung.min_tenure_days,
            "min_xp": "n/a" if rung.min_xp is None else rung.min_xp,
            "min_lines": "n/a" if rung.min_lines is None else rung.min_lines,
            "rule": "any of" if rung.any_of else "all of",
        }
        if rung.min_boss_kc is not None:  # only ladders that ask for kills show them
            numbers["boss_kc"] = boss_kc
            numbers["min_boss_kc"] = rung.min_boss_kc
        finding = _finding(FindingKind.PROMOTION, activity, reason, numbers, member_tags_found)
        rows.append(((-xp, -lines), finding))
    return _ordered(rows)


def unmatched(names: Iterable[UnmatchedFinding], *, min_count: int = 1) -> list[UnmatchedFinding]:
    """Unmatched relay names seen at least ``min_count`` times, most seen first, then most
    recent, then by key."""
    kept = [name for name in names if name.count >= min_count]
    kept.sort(key=lambda name: name.rsn_key)
    kept.sort(key=lambda name: (name.last_seen is not None, name.last_seen), reverse=True)
    kept.sort(key=lambda name: name.count, reverse=True)
    return kept
