"""Roster diffs: unknown ranks are never changes, departures are guarded per sync and over a
rolling window, and an officer's confirmation lets departures through."""

from __future__ import annotations

import pytest

from domain.roster import (
    DepartureLimits,
    RosterEntry,
    StoredMember,
    diff_roster,
    known_role,
)


def stored(pid: int, role: str | None = "zenyte", *, left: bool = False) -> StoredMember:
    return StoredMember(pid, f"p{pid}", f"P{pid}", role, left)


def entry(pid: int, role: str | None = "zenyte") -> RosterEntry:
    return RosterEntry(pid, f"p{pid}", f"P{pid}", role, None)


def clan(n: int) -> list[StoredMember]:
    return [stored(pid) for pid in range(n)]


def test_a_missing_rank_keeps_the_stored_one_and_is_no_change() -> None:
    diff = diff_roster(clan(3), [entry(0, None), entry(1, None), entry(2)], max_departure_share=0.2)
    assert diff.changes == ()


def test_an_unknown_stored_rank_is_learnt_silently() -> None:
    diff = diff_roster([stored(0, None)], [entry(0, "owner")], max_departure_share=0.2)
    assert diff.changes == ()


def test_a_known_rank_replacing_a_known_rank_is_a_change() -> None:
    diff = diff_roster([stored(0, "zenyte")], [entry(0, "owner")], max_departure_share=0.2)
    assert [(c.kind, c.old_value, c.new_value) for c in diff.changes] == [
        ("role_changed", "zenyte", "owner")
    ]


@pytest.mark.parametrize(
    ("role", "known", "expected"),
    [
        ("owner", {"owner", "zenyte"}, "owner"),
        ("Short green guy", {"short_green_guy"}, "short_green_guy"),
        ("grand_poobah", {"owner", "zenyte"}, None),  # never seen in this clan
        ("grand_poobah", set(), "grand_poobah"),  # nothing known yet: any well-formed rank
        ("", set(), None),
        ("???", set(), None),
        ("x" * 65, set(), None),
        (None, {"owner"}, None),
    ],
)
def test_known_role(role: str | None, known: set[str], expected: str | None) -> None:
    assert known_role(role, known) == expected


def test_players_listed_but_unreadable_are_not_departures() -> None:
    diff = diff_roster(clan(10), [entry(p) for p in range(8)], max_departure_share=0.2, present={8})
    assert [c.wom_player_id for c in diff.of_kind("left")] == [9]


def test_an_entry_tied_to_no_player_refuses_even_confirmed_departures() -> None:
    limits = DepartureLimits(0.2, 0.2, confirmed=frozenset({9}))
    diff = diff_roster(clan(10), [entry(p) for p in range(9)], limits=limits, unidentified=1)
    assert diff.of_kind("left") == [] and diff.refused_departures == (9,)


def test_an_entry_tied_to_no_player_refuses_every_departure() -> None:
    diff = diff_roster(
        clan(10), [entry(p) for p in range(9)], max_departure_share=0.2, unidentified=1
    )
    assert diff.of_kind("left") == []
    assert diff.refused_departures == (9,)
    assert diff.refusal_kind == "unidentified" and not diff.confirmable


def test_an_empty_roster_refuses_even_confirmed_departures() -> None:
    limits = DepartureLimits(0.2, 0.2, confirmed=frozenset({1}))
    diff = diff_roster(clan(5), [], limits=limits)
    assert diff.of_kind("left") == [] and diff.refusal_kind == "empty"


def test_the_rolling_window_holds_an_erosion_the_per_sync_guard_lets_through() -> None:
    """250 → 205 → 168: 18 % then 18 %, but 33 % of the clan within the window."""
    first = diff_roster(clan(250), [entry(p) for p in range(205)], limits=DepartureLimits(0.2, 0.2))
    assert len(first.of_kind("left")) == 45 and first.refusal_reason is None
    now_active = [stored(p, left=p >= 205) for p in range(250)]
    second = diff_roster(
        now_active, [entry(p) for p in range(168)], limits=DepartureLimits(0.2, 0.2, 45)
    )
    assert second.of_kind("left") == []
    assert len(second.refused_departures) == 37
    assert second.refusal_kind == "window" and second.confirmable
    assert "82 of 250 members would have left within 24 h" in (second.refusal_reason or "")
    # Without the window (the old behaviour) the same roster goes through.
    per_sync_only = diff_roster(
        now_active, [entry(p) for p in range(168)], limits=DepartureLimits(0.2)
    )
    assert len(per_sync_only.of_kind("left")) == 37


def test_confirmed_departures_pass_both_guards_and_others_are_still_held() -> None:
    now_active = [stored(p, left=p >= 205) for p in range(250)]
    limits = DepartureLimits(0.2, 0.2, 45, confirmed=frozenset(range(168, 205)))
    diff = diff_roster(now_active, [entry(p) for p in range(140)], limits=limits)
    assert sorted(c.wom_player_id for c in diff.of_kind("left")) == list(range(168, 205))
    assert diff.confirmed_departures == tuple(range(168, 205))
    assert sorted(diff.refused_departures) == list(range(140, 168))
    assert diff.refusal_kind == "window"


def test_the_per_sync_guard_is_unchanged() -> None:
    diff = diff_roster(clan(10), [entry(p) for p in range(7)], max_departure_share=0.2)
    assert diff.refusal_kind == "per_sync" and len(diff.refused_departures) == 3
    assert "3 of 10 members would leave at once" in (diff.refusal_reason or "")


def test_a_confirmed_member_back_in_the_roster_is_not_marked_left() -> None:
    limits = DepartureLimits(0.2, 0.2, confirmed=frozenset({3}))
    diff = diff_roster(clan(5), [entry(p) for p in range(5)], limits=limits)
    assert diff.of_kind("left") == [] and diff.confirmed_departures == ()


def test_limits_or_share_must_be_given() -> None:
    with pytest.raises(ValueError):
        diff_roster(clan(1), [entry(0)])
