"""Roster diffs: what changed between the members we stored and the roster WOM returned.

Pure: the caller passes both sides and the safety limits; nothing here reads a clock.

What WOM did not say is unknown, never a change (docs/wom-api.md, "When WOM's answers
drift"): an entry without a rank (``role`` None) keeps the stored rank and records no rank
change, and a stored rank that was unknown is learnt silently. Departures are guarded twice:
per sync (:attr:`DepartureLimits.per_sync_share`) and over a rolling window
(:attr:`DepartureLimits.window_share`); departures an officer confirmed pass both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from domain.ranks import role_key

ChangeKind = Literal["joined", "rejoined", "left", "role_changed", "renamed"]
#: Why departures were refused: a broken roster (``empty``, ``unidentified``: nothing to
#: confirm) or too many at once (``per_sync``, ``window``: an officer may confirm them).
RefusalKind = Literal["empty", "unidentified", "per_sync", "window"]

# WOM's rank titles are lower-case words joined by "_" (``short_green_guy``).
_ROLE_SHAPE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_MAX_ROLE_LENGTH = 64


@dataclass(frozen=True)
class StoredMember:
    wom_player_id: int
    rsn_key: str
    display_name: str
    role: str | None
    has_left: bool


@dataclass(frozen=True)
class RosterEntry:
    wom_player_id: int
    rsn_key: str
    display_name: str
    #: ``None``: WOM did not say (or said something we do not know): keep the stored rank.
    role: str | None
    joined_at: datetime | None


@dataclass(frozen=True)
class RosterChange:
    kind: ChangeKind
    wom_player_id: int
    old_value: str | None = None
    new_value: str | None = None


@dataclass(frozen=True)
class DepartureLimits:
    """How many members a roster may mark as left before an officer must confirm it.

    ``per_sync_share`` of the current members in one roster; ``window_share`` of the clan
    over the rolling window, counting ``left_in_window`` members a sync already marked left in
    it without an officer's confirmation (``None``: no rolling limit). ``confirmed`` are the
    players whose departure an officer confirmed: applied whatever the shares.
    """

    per_sync_share: float
    window_share: float | None = None
    left_in_window: int = 0
    window_label: str = "24 h"
    confirmed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RosterDiff:
    changes: tuple[RosterChange, ...]
    # Departures found but not applied because the roster looked broken, or too many members
    # would have left (per sync or over the rolling window) without an officer's confirmation.
    refused_departures: tuple[int, ...] = ()
    refusal_reason: str | None = None
    #: Departures applied because an officer confirmed them (also in ``changes``).
    confirmed_departures: tuple[int, ...] = ()
    refusal_kind: RefusalKind | None = None

    @property
    def confirmable(self) -> bool:
        """True when the refused departures wait for an officer (the roster looked sound)."""
        return self.refusal_kind in ("per_sync", "window")

    def of_kind(self, kind: ChangeKind) -> list[RosterChange]:
        return [c for c in self.changes if c.kind == kind]


def known_role(role: str | None, known: Collection[str]) -> str | None:
    """``role`` as WOM's rank key when it is a rank we know, else ``None`` (unknown).

    ``known`` holds the rank keys the clan is known to use (its ``roleOrders``, the ranks
    stored for its members). A value outside them, or not shaped like a rank at all, is
    unknown; with nothing known yet, any well-formed rank is accepted.
    """
    if role is None:
        return None
    key = role_key(role)
    if len(key) > _MAX_ROLE_LENGTH or _ROLE_SHAPE.fullmatch(key) is None:
        return None
    if known and key not in known:
        return None
    return key


def diff_roster(
    stored: Iterable[StoredMember],
    incoming: Iterable[RosterEntry],
    *,
    max_departure_share: float | None = None,
    limits: DepartureLimits | None = None,
    present: Collection[int] = (),
    unidentified: int = 0,
) -> RosterDiff:
    """Compare the stored roster with WOM's.

    ``present`` are players WOM listed whose entry could not be read: still members, nothing
    about them changes. ``unidentified`` counts entries that could not even be tied to a
    player: any absent member may be one of them, so no departure is applied.

    A roster that comes back empty, that had unidentified entries, or that would mark more
    than the limits allow as left is treated as WOM having a bad day: its departures are
    refused (listed in ``refused_departures``) while joins, rank and name changes still apply.
    Departures an officer confirmed are applied unless the roster is empty or had
    unidentified entries.
    """
    if limits is None:
        if max_departure_share is None:
            raise ValueError("diff_roster needs max_departure_share or limits")
        limits = DepartureLimits(per_sync_share=max_departure_share)
    current = {m.wom_player_id: m for m in stored}
    seen: set[int] = set(present)
    changes: list[RosterChange] = []
    for entry in incoming:
        seen.add(entry.wom_player_id)
        old = current.get(entry.wom_player_id)
        if old is None:
            changes.append(RosterChange("joined", entry.wom_player_id, None, entry.role))
            continue
        if old.has_left:
            changes.append(RosterChange("rejoined", entry.wom_player_id, None, entry.role))
        elif old.role is not None and entry.role is not None and old.role != entry.role:
            # Only a known rank replacing a known rank is a change: an unknown one on either
            # side is WOM not saying, or us learning it.
            changes.append(RosterChange("role_changed", entry.wom_player_id, old.role, entry.role))
        if old.rsn_key != entry.rsn_key:
            changes.append(
                RosterChange("renamed", entry.wom_player_id, old.display_name, entry.display_name)
            )

    active = [m for m in current.values() if not m.has_left]
    departures = [m.wom_player_id for m in active if m.wom_player_id not in seen]
    if departures and not seen:
        return RosterDiff(
            tuple(changes), tuple(departures), "the roster came back empty", (), "empty"
        )
    if departures and unidentified:
        # Any missing member, confirmed or not, may be the entry we could not read.
        reason = f"{unidentified} roster entries could not be tied to a player"
        return RosterDiff(tuple(changes), tuple(departures), reason, (), "unidentified")
    confirmed = [pid for pid in departures if pid in limits.confirmed]
    pending = [pid for pid in departures if pid not in limits.confirmed]
    refusal = _refusal(pending, len(active), limits)
    applied = confirmed if refusal is not None else departures
    changes.extend(RosterChange("left", pid, current[pid].role, None) for pid in applied)
    if refusal is None:
        return RosterDiff(tuple(changes), (), None, tuple(confirmed))
    return RosterDiff(tuple(changes), tuple(pending), refusal[1], tuple(confirmed), refusal[0])


def _refusal(
    pending: list[int], active: int, limits: DepartureLimits
) -> tuple[RefusalKind, str] | None:
    """Why this roster's unconfirmed departures may not be applied (None: they may)."""
    if not pending or not active:
        return None
    if len(pending) / active > limits.per_sync_share:
        return "per_sync", (
            f"{len(pending)} of {active} members would leave at once "
            f"(more than {limits.per_sync_share:.0%})"
        )
    if limits.window_share is not None:
        base = active + limits.left_in_window
        total = limits.left_in_window + len(pending)
        if total / base > limits.window_share:
            return "window", (
                f"{total} of {base} members would have left within {limits.window_label} "
                f"({limits.left_in_window} already marked left, {len(pending)} more now; "
                f"more than {limits.window_share:.0%})"
            )
    return None
