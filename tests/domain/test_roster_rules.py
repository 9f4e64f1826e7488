"""Roster diffs, worked by hand (the mutation-testing set; test_roster.py holds the drift
and departure-window cases): who joined, came back, changed rank or name, or left, and
when a roster looks too broken for its departures to be believed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.roster import RosterChange, RosterDiff, RosterEntry, StoredMember, diff_roster

JOINED = datetime(2025, 12, 1, tzinfo=UTC)


def stored(pid: int, key: str, role: str | None = "gamer", *, left: bool = False) -> StoredMember:
    return StoredMember(pid, key, key.title(), role, left)


def entry(pid: int, key: str, role: str | None = "gamer") -> RosterEntry:
    return RosterEntry(pid, key, key.title(), role, JOINED)


def test_every_kind_of_change_in_roster_order_then_the_departures() -> None:
    before = [
        stored(1, "alpha"),
        stored(2, "bravo", "wild", left=True),
        stored(3, "charlie", "wild"),
        stored(4, "delta"),
        stored(5, "echo", left=True),  # gone before, still gone: nothing new
        stored(7, "golf"),
    ]
    roster = [
        entry(6, "foxtrot", "prospector"),  # new: listed first, nothing else checked for them
        entry(1, "alpha two"),  # renamed, same rank
        entry(2, "bravo two", "tztok"),  # back, under another name and rank
        entry(3, "charlie", "gamer"),  # promoted
        entry(7, "golf"),  # nothing changed
    ]
    diff = diff_roster(before, roster, max_departure_share=0.5)
    assert diff == RosterDiff(
        (
            RosterChange("joined", 6, None, "prospector"),
            RosterChange("renamed", 1, "Alpha", "Alpha Two"),
            RosterChange("rejoined", 2, None, "tztok"),
            RosterChange("renamed", 2, "Bravo", "Bravo Two"),
            RosterChange("role_changed", 3, "wild", "gamer"),
            RosterChange("left", 4, "gamer", None),
        )
    )
    assert diff.of_kind("renamed") == [
        RosterChange("renamed", 1, "Alpha", "Alpha Two"),
        RosterChange("renamed", 2, "Bravo", "Bravo Two"),
    ]
    assert diff.of_kind("left") == [RosterChange("left", 4, "gamer", None)]


def test_a_rejoin_with_the_same_rank_is_only_a_rejoin() -> None:
    diff = diff_roster([stored(1, "alpha", left=True)], [entry(1, "alpha")], max_departure_share=0)
    assert diff.changes == (RosterChange("rejoined", 1, None, "gamer"),)


def test_an_empty_roster_refuses_every_departure_whatever_the_share() -> None:
    diff = diff_roster([stored(1, "a"), stored(2, "b")], [], max_departure_share=1.0)
    assert diff == RosterDiff((), (1, 2), "the roster came back empty", refusal_kind="empty")


def test_too_many_departures_are_refused_while_the_other_changes_apply() -> None:
    before = [stored(1, "a"), stored(2, "b"), stored(3, "c"), stored(4, "d", "wild")]
    diff = diff_roster(before, [entry(4, "d"), entry(9, "new")], max_departure_share=0.5)
    assert diff == RosterDiff(
        (
            RosterChange("role_changed", 4, "wild", "gamer"),
            RosterChange("joined", 9, None, "gamer"),
        ),
        (1, 2, 3),
        "3 of 4 members would leave at once (more than 50%)",
        refusal_kind="per_sync",
    )


@pytest.mark.parametrize(
    ("leaving", "refused"),
    [(2, False), (3, True)],
    ids=["half-is-not-more-than-half", "three-quarters"],
)
def test_the_departure_share_limit_is_exclusive(leaving: int, refused: bool) -> None:
    before = [stored(i, f"m{i}") for i in range(4)]
    roster = [entry(i, f"m{i}") for i in range(leaving, 4)]
    diff = diff_roster(before, roster, max_departure_share=0.5)
    assert (diff.refusal_reason is not None) is refused
    assert len(diff.of_kind("left")) == (0 if refused else leaving)


def test_members_already_gone_are_not_departures_nor_a_reason_to_refuse() -> None:
    before = [stored(1, "a", left=True), stored(2, "b", left=True)]
    assert diff_roster(before, [], max_departure_share=0.0) == RosterDiff(())
