"""Who held a name when: the time-aware lookup every relay path attributes lines with.

Pure. The definitions are docs/metrics.md ("Names"): a name belongs to whoever held it when
the line was posted. An account holds a name from when it took it (from the beginning, for
the first name we know it by) until another account takes that name: a name an account
renamed away from, or left the clan with, stays theirs until then (a line with it can only
be theirs, or a late relay of theirs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NameUse:
    """One member's use of one name key.

    ``since`` is when they took the name (None: their first known name, held from before
    anything we know); ``until`` when they renamed away (None: still theirs). ``first_seen``
    is the earliest moment ClanStats knows the member had it: where a first name's use
    begins when an earlier account had the name before.
    """

    member_id: int
    key: str
    since: datetime | None
    until: datetime | None
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Holding:
    """``member_id`` held the name ``[start, end)``; None is open-ended."""

    member_id: int
    start: datetime | None
    end: datetime | None

    def contains(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (
            self.end is None or moment < self.end
        )


@dataclass(frozen=True, slots=True)
class MemberNames:
    """What the name history of one member is built from: their current name key, when
    ClanStats first saw them, and their renames as ``(old key, changed at)``."""

    member_id: int
    current_key: str
    first_seen: datetime
    renames: tuple[tuple[str, datetime | None], ...] = ()


def name_uses(member: MemberNames) -> list[NameUse]:
    """Every name ``member`` used, oldest first: each old name up to its rename, then the
    current name from the last rename on. A rename of unknown time counts at first sight."""
    renames = sorted(
        ((key, at or member.first_seen) for key, at in member.renames), key=lambda r: r[1]
    )
    uses: list[NameUse] = []
    since: datetime | None = None
    for key, at in renames:
        uses.append(NameUse(member.member_id, key, since, at, _seen(since, member.first_seen)))
        since = at
    uses.append(
        NameUse(member.member_id, member.current_key, since, None, _seen(since, member.first_seen))
    )
    return uses


def _seen(since: datetime | None, first_seen: datetime) -> datetime:
    return first_seen if since is None else max(since, first_seen)


def holdings(uses: Iterable[NameUse]) -> dict[str, list[Holding]]:
    """Per name key, who held it when: non-overlapping holdings in time order."""
    by_key: dict[str, list[NameUse]] = defaultdict(list)
    for use in uses:
        by_key[use.key].append(use)
    return {key: _chain(found) for key, found in by_key.items()}


def _start(use: NameUse) -> datetime:
    return use.since if use.since is not None else use.first_seen


def _chain(uses: list[NameUse]) -> list[Holding]:
    """Holdings of one key: each use from when it took the name (open for a first name
    nobody had before) until the next use took it."""
    uses = sorted(uses, key=lambda u: (_start(u), u.member_id))
    out: list[Holding] = []
    for index, use in enumerate(uses):
        start = use.since if index == 0 else _start(use)
        end = _start(uses[index + 1]) if index + 1 < len(uses) else None
        if start is not None and end is not None and end <= start:
            continue  # taken over the moment it was taken: nothing of it is left
        out.append(Holding(use.member_id, start, end))
    return out


def holder_at(found: Sequence[Holding], moment: datetime) -> int | None:
    """The member holding the name at ``moment``, or None when nobody held it then."""
    for holding in found:
        if holding.contains(moment):
            return holding.member_id
    return None


def attribute(
    held: Mapping[str, Sequence[Holding]], key: str | None, moment: datetime
) -> int | None:
    """The member a line with name ``key`` posted at ``moment`` belongs to (None: nobody)."""
    if key is None:
        return None
    found = held.get(key)
    return None if not found else holder_at(found, moment)
