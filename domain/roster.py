"""Roster diffs: what changed between the members we stored and the roster WOM returned.

Pure: the caller passes both sides and the safety threshold; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ChangeKind = Literal["joined", "rejoined", "left", "role_changed", "renamed"]


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
    role: str | None
    joined_at: datetime | None


@dataclass(frozen=True)
class RosterChange:
    kind: ChangeKind
    wom_player_id: int
    old_value: str | None = None
    new_value: str | None = None


@dataclass(frozen=True)
class RosterDiff:
    changes: tuple[RosterChange, ...]
    # Departures found but not applied because the roster looked broken.
    refused_departures: tuple[int, ...] = ()
    refusal_reason: str | None = None

    def of_kind(self, kind: ChangeKind) -> list[RosterChange]:
        return [c for c in self.changes if c.kind == kind]


def diff_roster(
    stored: Iterable[StoredMember],
    incoming: Iterable[RosterEntry],
    *,
    max_departure_share: float,
) -> RosterDiff:
    """Compare the stored roster with WOM's.

    A roster that comes back empty, or that would mark more than ``max_departure_share`` of
    the current members as left, is treated as WOM having a bad day: its departures are
    refused (listed in ``refused_departures``) while joins, rank and name changes still apply.
    """
    current = {m.wom_player_id: m for m in stored}
    seen: set[int] = set()
    changes: list[RosterChange] = []
    for entry in incoming:
        seen.add(entry.wom_player_id)
        old = current.get(entry.wom_player_id)
        if old is None:
            changes.append(RosterChange("joined", entry.wom_player_id, None, entry.role))
            continue
        if old.has_left:
            changes.append(RosterChange("rejoined", entry.wom_player_id, None, entry.role))
        elif old.role != entry.role:
            changes.append(RosterChange("role_changed", entry.wom_player_id, old.role, entry.role))
        if old.rsn_key != entry.rsn_key:
            changes.append(
                RosterChange("renamed", entry.wom_player_id, old.display_name, entry.display_name)
            )

    active = [m for m in current.values() if not m.has_left]
    departures = [m.wom_player_id for m in active if m.wom_player_id not in seen]
    reason: str | None = None
    if departures and not seen:
        reason = "the roster came back empty"
    elif active and len(departures) / len(active) > max_departure_share:
        reason = (
            f"{len(departures)} of {len(active)} members would leave at once "
            f"(more than {max_departure_share:.0%})"
        )
    if reason is not None:
        return RosterDiff(tuple(changes), tuple(departures), reason)
    changes.extend(RosterChange("left", pid, current[pid].role, None) for pid in departures)
    return RosterDiff(tuple(changes))
