"""A deliberately plain reference model of docs/metrics.md, over a clan's raw history.

Written from the definitions page alone, slowly and literally: every answer is worked out by
walking the raw events (roster events, renames, snapshots, relayed lines) again. It shares no
code with the report queries or the domain's activity and rules; only rank tiers (a clan's
configuration, not a rule) come from :class:`domain.ranks.RankConfig`, and name keys from
:func:`domain.names.name_key` (the definition of a key).
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.names import name_key
from domain.ranks import RankConfig, RankTier

BOSSES = ("zulrah", "vorkath", "chambers_of_xeric")
RAIDS = ("chambers_of_xeric",)
CLUES = "clue_scrolls_all"
DAY = timedelta(days=1)


@dataclass
class Snap:
    at: datetime
    xp: int
    ehp: float
    ehb: float
    metrics: dict[str, int]


@dataclass
class Account:
    """One WOM account: its roster events, names and snapshots, as history gives them."""

    member_id: int
    #: (kind, at, rank) with kind joined / rejoined / left / role_changed.
    events: list[tuple[str, datetime, str | None]]
    #: Its first name, then (new name, renamed at) in time order.
    first_name: str
    renames: list[tuple[str, datetime]]
    current_rank: str | None
    snapshots: list[Snap]
    last_changed_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.renames[-1][0] if self.renames else self.first_name


@dataclass
class Line:
    at: datetime
    name: str
    kind: str  # chat or broadcast
    broadcast_type: str | None = None
    number: int = 0


@dataclass
class History:
    accounts: list[Account]
    lines: list[Line]
    as_of: datetime
    role_order: list[str]
    rules: dict[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Members: periods, ranks


def _walk(
    account: Account,
) -> tuple[list[tuple[datetime, datetime | None]], list[tuple[datetime, str | None, int]]]:
    """Read the roster events in time order: "a membership period runs from a join to the
    following leave"; a join while in, or a leave while out, says nothing new. Also the rank
    each join or rank change (while in) set: (at, rank, period)."""
    spans: list[tuple[datetime, datetime | None]] = []
    marks: list[tuple[datetime, str | None, int]] = []
    start: datetime | None = None
    for kind, at, rank in sorted(account.events, key=lambda e: e[1]):
        if kind in ("joined", "rejoined"):
            if start is None:
                start = at
                marks.append((at, rank, len(spans)))
        elif kind == "left":
            if start is not None:
                spans.append((start, at))
                start = None
        elif start is not None:
            marks.append((at, rank, len(spans)))
    if start is not None:
        spans.append((start, None))
    return spans, marks


def periods(account: Account) -> list[tuple[datetime, datetime | None]]:
    return _walk(account)[0]


def period_of(account: Account, t: datetime) -> int | None:
    for i, (start, end) in enumerate(periods(account)):
        if start <= t and (end is None or t < end):
            return i
    return None


def is_member(account: Account, t: datetime) -> bool:
    return period_of(account, t) is not None


def members_as_of(history: History, t: datetime) -> list[Account]:
    return [a for a in history.accounts if is_member(a, t)]


def tenure_days(account: Account, t: datetime) -> float | None:
    i = period_of(account, t)
    return None if i is None else (t - periods(account)[i][0]) / DAY


def days_in_clan(account: Account, t: datetime) -> float:
    """Total time in the clan over every period, up to t."""
    total = timedelta()
    for start, end in periods(account):
        if start < t:
            total += min(end or t, t) - start
    return total / DAY


def rank_as_of(account: Account, t: datetime) -> str | None:
    """The latest rank event of the period up to t; in a period still open, the roster's
    rank from its last rank event on."""
    spans, marks = _walk(account)
    i = period_of(account, t)
    if i is None:
        return None
    mine = [(at, rank) for at, rank, p in marks if p == i]
    before = [rank for at, rank in mine if at <= t]
    rank = before[-1] if before else None
    if spans[i][1] is None and i == len(spans) - 1 and len(before) == len(mine):
        rank = account.current_rank
    return rank


def days_at_rank(account: Account, t: datetime) -> float | None:
    """ "time since they got that rank in their current period: the latest rank change (or
    the join itself) in the period whose new rank is their rank as of T"; else unknown."""
    _spans, marks = _walk(account)
    i = period_of(account, t)
    rank = rank_as_of(account, t)
    if i is None or rank is None:
        return None
    times = [at for at, r, p in marks if p == i and r == rank and at <= t]
    return None if not times else (t - max(times)) / DAY


# ---------------------------------------------------------------------------------------------
# Names: who held a name when


def holder(history: History, key: str, t: datetime) -> int | None:
    """ "An account holds a name from when it took it until another account takes that name.
    The first name we know an account by is theirs from the beginning; a name they renamed to
    is theirs from the rename on." A first name of a later account starts when ClanStats
    first saw that account (its first join)."""
    uses: list[tuple[datetime, datetime | None, int]] = []  # (order key, since, member)
    for a in history.accounts:
        first_join = min(at for kind, at, _ in a.events if kind in ("joined", "rejoined"))
        names = [(a.first_name, None), *((n, at) for n, at in a.renames)]
        for n, since in names:
            if name_key(n) == key:
                uses.append((since if since is not None else first_join, since, a.member_id))
    uses.sort(key=lambda u: (u[0], u[2]))
    for index, (start_key, since, member) in enumerate(uses):
        start = since if index == 0 else start_key
        end = uses[index + 1][0] if index + 1 < len(uses) else None
        if (start is None or start <= t) and (end is None or t < end):
            return member
    return None


# ---------------------------------------------------------------------------------------------
# Chat


def lines_of(
    history: History, member: int, start: datetime, end: datetime, kind: str
) -> list[Line]:
    """A member's counted lines of ``kind`` in [start, end): theirs when posted, and posted
    while a member."""
    account = next(a for a in history.accounts if a.member_id == member)
    return [
        line
        for line in history.lines
        if line.kind == kind
        and start <= line.at < end
        and holder(history, name_key(line.name), line.at) == member
        and is_member(account, line.at)
    ]


def last_chat(history: History, member: int, t: datetime) -> datetime | None:
    found = lines_of(history, member, datetime.min.replace(tzinfo=t.tzinfo), t, "chat")
    return max((line.at for line in found), default=None)


PRESENCE_EXCLUDED = {"invite", "left", "expelled"}


def chatted(history: History, member: int, start: datetime, end: datetime) -> bool:
    if lines_of(history, member, start, end, "chat"):
        return True
    return any(
        line.broadcast_type not in PRESENCE_EXCLUDED
        for line in lines_of(history, member, start, end, "broadcast")
    )


# ---------------------------------------------------------------------------------------------
# Progress


def _ranked(v: float | None) -> bool:
    return v is not None and v >= 0


def steps(account: Account) -> list[tuple[Snap, Snap]]:
    snaps = sorted(account.snapshots, key=lambda s: s.at)
    return list(itertools.pairwise(snaps))


def gained(old: float | None, new: float | None) -> float:
    """ "both values ranked and higher now: the difference is gained"."""
    if _ranked(old) and _ranked(new) and new > old:  # type: ignore[operator]
        return new - old  # type: ignore[operator]
    return 0.0


def step_counts(account: Account, before: Snap, after: Snap) -> bool:
    i = period_of(account, before.at)
    return i is not None and i == period_of(account, after.at)


@dataclass
class Gains:
    xp: int = 0
    ehp: float = 0.0
    ehb: float = 0.0
    boss_kills: int = 0
    per_metric: dict[str, float] = field(default_factory=dict)


def gains(account: Account, start: datetime, end: datetime) -> Gains:
    out = Gains()
    for before, after in steps(account):
        if not (start <= after.at < end) or not step_counts(account, before, after):
            continue
        out.xp += int(gained(before.xp, after.xp))
        out.ehp += gained(before.ehp, after.ehp)
        out.ehb += gained(before.ehb, after.ehb)
        for name, value in after.metrics.items():
            g = gained(before.metrics.get(name), value)
            if g:
                out.per_metric[name] = out.per_metric.get(name, 0.0) + g
                if name in BOSSES:
                    out.boss_kills += int(g)
    return out


def shows_progress(before: Snap, after: Snap) -> bool:
    """ "a step in which any metric was gained or went from unranked to ranked"."""
    pairs = [(before.xp, after.xp), (before.ehp, after.ehp), (before.ehb, after.ehb)]
    pairs += [(before.metrics.get(n), v) for n, v in after.metrics.items()]
    for old, new in pairs:
        if gained(old, new) > 0:
            return True
        if old is not None and new is not None and old < 0 <= new:
            return True
    return False


def last_progress(account: Account, t: datetime) -> datetime | None:
    times = [
        after.at
        for before, after in steps(account)
        if after.at < t and shows_progress(before, after)
    ]
    latest = max(times, default=None)
    changed = account.last_changed_at
    if changed is not None and changed < t and (latest is None or changed > latest):
        return changed
    return latest


def progressed(account: Account, start: datetime, end: datetime) -> bool:
    for before, after in steps(account):
        counted = start <= after.at < end and step_counts(account, before, after)
        if counted and shows_progress(before, after):
            return True
    changed = account.last_changed_at
    return changed is not None and start <= changed < end and is_member(account, changed)


def active(history: History, account: Account, start: datetime, end: datetime) -> bool:
    return chatted(history, account.member_id, start, end) or progressed(account, start, end)


# ---------------------------------------------------------------------------------------------
# The officer answers


def _seen_days(history: History, account: Account, t: datetime) -> float | None:
    seen = [x for x in (last_chat(history, account.member_id, t), last_progress(account, t)) if x]
    return None if not seen else (t - max(seen)) / DAY


def inactive(
    history: History, ranks: RankConfig, start: datetime, end: datetime, min_tenure: float
) -> set[int]:
    out = set()
    for a in members_as_of(history, end):
        rank = rank_as_of(a, end)
        if ranks.is_protected(rank):
            continue
        tenure = tenure_days(a, end)
        if tenure is None or tenure < min_tenure:
            continue
        if not active(history, a, start, end):
            out.add(a.member_id)
    return out


def audit(
    history: History, ranks: RankConfig, start: datetime, end: datetime, ratio: float
) -> dict[int, str]:
    members = members_as_of(history, end)
    act = [a for a in members if active(history, a, start, end)]
    lines = {a.member_id: len(lines_of(history, a.member_id, start, end, "chat")) for a in members}
    xp = {a.member_id: gains(a, start, end).xp for a in members}
    median_lines = statistics.median([lines[a.member_id] for a in act]) if act else None
    median_xp = statistics.median([xp[a.member_id] for a in act]) if act else None
    out = {}
    staff = {RankTier.OWNER, RankTier.DEPUTY, RankTier.LEADERSHIP, RankTier.OFFICER}
    for a in members:
        if ranks.tier_of(rank_as_of(a, end)) not in staff:
            continue
        if not active(history, a, start, end):
            out[a.member_id] = "awol"
        elif (
            median_lines is not None
            and median_xp is not None
            and lines[a.member_id] < ratio * median_lines
            and xp[a.member_id] < ratio * median_xp
        ):
            out[a.member_id] = "slacking"
        else:
            out[a.member_id] = "ok"
    return out


def promotions(
    history: History,
    ranks: RankConfig,
    start: datetime,
    end: datetime,
    ladder: dict[str, tuple[float, int, int]],
) -> dict[int, tuple[str, int]]:
    """Member-tier ranks whose days at rank reach the rung and who meet its XP *or* lines;
    the rung of ``*`` applies to ranks without their own. → {member: (to rank, whole days)}."""
    out = {}
    for a in members_as_of(history, end):
        rank = rank_as_of(a, end)
        if rank is None or ranks.tier_of(rank) is not RankTier.MEMBER:
            continue
        rung = ladder.get(rank) or ladder.get("*")
        target = ranks.next_rank_up(rank)
        if rung is None or target is None or ranks.tier_of(target) is not RankTier.MEMBER:
            continue
        days = days_at_rank(a, end)
        min_days, min_xp, min_lines = rung
        xp = gains(a, start, end).xp
        lines = len(lines_of(history, a.member_id, start, end, "chat"))
        if days is not None and days >= min_days and (xp >= min_xp or lines >= min_lines):
            out[a.member_id] = (target, math.floor(days))
    return out


def leaderboard(
    history: History, metric: str, start: datetime, end: datetime
) -> list[tuple[str, float]]:
    """Members as of the end by the metric's gain (or chat lines), most first, then name."""
    rows = []
    for a in members_as_of(history, end):
        if metric == "chat":
            value: float = len(lines_of(history, a.member_id, start, end, "chat"))
        elif metric == "xp":
            value = gains(a, start, end).xp
        else:
            value = gains(a, start, end).per_metric.get(metric, 0.0)
        if value > 0:
            rows.append((a.name, value))
    rows.sort(key=lambda r: (-r[1], r[0].casefold()))
    return rows


def unmatched(history: History) -> dict[str, tuple[int, int]]:
    """Names of lines nobody held when posted: key → (chat lines, broadcasts)."""
    out: dict[str, list[int]] = {}
    for line in history.lines:
        key = name_key(line.name)
        if holder(history, key, line.at) is None:
            counts = out.setdefault(key, [0, 0])
            counts[0 if line.kind == "chat" else 1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def day_xp(history: History, start: datetime, end: datetime) -> int:
    """The daily report's XP for one clan day: members as of its end, counted steps."""
    return sum(gains(a, start, end).xp for a in members_as_of(history, end))
