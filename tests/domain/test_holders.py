"""Who held a name when (docs/metrics.md, "Names"): the lookup every relay path uses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.holders import (
    Holding,
    MemberNames,
    NameUse,
    attribute,
    holder_at,
    holdings,
    name_uses,
)

T = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def ago(days: float) -> datetime:
    return T - days * DAY


def held(*members: MemberNames) -> dict[str, list]:  # type: ignore[type-arg]
    return holdings(u for m in members for u in name_uses(m))


def test_a_renamed_members_old_name_is_his_up_to_the_rename_and_beyond() -> None:
    """Nobody else took "zezima": a late line with it can only be his."""
    names = held(MemberNames(1, "zezima two", ago(300), (("zezima", ago(30)),)))
    assert attribute(names, "zezima", ago(100)) == 1
    assert attribute(names, "zezima", ago(1)) == 1
    assert attribute(names, "zezima two", ago(1)) == 1
    assert attribute(names, "zezima two", ago(31)) is None  # not his name yet


def test_a_name_freed_and_taken_by_another_account_keeps_its_earlier_lines() -> None:
    """The issue's case: "Quitter" (member 1) left; weeks later member 2 joined as Quitter."""
    names = held(
        MemberNames(1, "quitter", ago(200)),
        MemberNames(2, "quitter", ago(2)),
    )
    assert attribute(names, "quitter", ago(45)) == 1
    assert attribute(names, "quitter", ago(2) - timedelta(microseconds=1)) == 1
    assert attribute(names, "quitter", ago(2)) == 2
    assert attribute(names, "quitter", ago(1)) == 2


def test_a_name_taken_by_a_rename_belongs_to_the_taker_from_the_rename_on() -> None:
    names = held(
        MemberNames(1, "zezima two", ago(300), (("zezima", ago(30)),)),
        MemberNames(4, "zezima", ago(20), (("taker", ago(10)),)),
    )
    assert attribute(names, "zezima", ago(40)) == 1
    assert attribute(names, "zezima", ago(11)) == 1  # member 4 took it 10 days ago
    assert attribute(names, "zezima", ago(3)) == 4
    assert attribute(names, "taker", ago(15)) == 4


def test_a_rename_of_unknown_time_counts_from_when_we_first_saw_the_member() -> None:
    [old, new] = name_uses(MemberNames(1, "new", ago(5), (("old", None),)))
    assert (old.key, old.until, new.key, new.since) == ("old", ago(5), "new", ago(5))


def test_unknown_names_and_no_name_are_nobodys() -> None:
    names = held(MemberNames(1, "a", ago(5)))
    assert attribute(names, None, T) is None
    assert attribute(names, "b", T) is None
    assert holder_at([], T) is None


ACCOUNTS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 300),
        st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 300)), max_size=2),
    ),
    min_size=1,
    max_size=4,
)


@given(ACCOUNTS, st.integers(0, 300), st.sampled_from(["a", "b", "c"]))
def test_one_holder_at_a_time_whatever_order_the_history_arrives_in(
    accounts: list[tuple[str, int, list[tuple[str, int]]]], when: int, key: str
) -> None:
    members = [
        MemberNames(i, current, ago(seen), tuple((k, ago(d)) for k, d in renames))
        for i, (current, seen, renames) in enumerate(accounts)
    ]
    forward, backward = held(*members), held(*reversed(members))
    assert attribute(forward, key, ago(when)) == attribute(backward, key, ago(when))
    for chain in forward.values():
        for first, second in itertools.pairwise(chain):
            assert first.end is not None and second.start is not None
            assert first.end <= second.start


# ---------------------------------------------------------------------------------------------
# Worked by hand (docs/testing.md: each of these was a mutant no test caught).


def test_name_uses_follow_the_renames_in_time_not_in_the_order_given() -> None:
    # Seen first 300 days ago; renamed "zulu" → "alpha" 100 days ago, then "alpha" → "mike"
    # 50 days ago; the renames arrive newest first, and their keys sort the other way.
    member = MemberNames(1, "mike", ago(300), (("alpha", ago(50)), ("zulu", ago(100))))
    assert name_uses(member) == [
        NameUse(1, "zulu", None, ago(100), ago(300)),
        NameUse(1, "alpha", ago(100), ago(50), ago(100)),
        NameUse(1, "mike", ago(50), None, ago(50)),
    ]


def test_a_rename_before_we_first_saw_the_member_starts_their_use_when_we_saw_them() -> None:
    # WOM knew of a rename 150 days ago; ClanStats first saw the member 100 days ago.
    [old, new] = name_uses(MemberNames(1, "new", ago(100), (("old", ago(150)),)))
    assert (old.since, old.until, old.first_seen) == (None, ago(150), ago(100))
    assert (new.since, new.until, new.first_seen) == (ago(150), None, ago(100))


def test_a_taken_name_changes_hands_at_the_rename_even_before_first_sight() -> None:
    names = held(
        MemberNames(2, "taken", ago(300)),  # its first name: held from before anything known
        MemberNames(1, "taken", ago(100), (("old", ago(150)),)),  # took it 150 days ago
    )
    assert names["taken"] == [Holding(2, None, ago(150)), Holding(1, ago(150), None)]
    assert attribute(names, "taken", ago(1000)) == 2
    assert attribute(names, "taken", ago(120)) == 1


def test_three_holders_in_turn_each_end_where_the_next_begins() -> None:
    names = held(
        MemberNames(3, "name", ago(10)),
        MemberNames(1, "name", ago(300)),
        MemberNames(2, "x", ago(200), (("name", ago(100)),)),
    )
    # Member 1 held it from before anything known; member 2 from first sight, 200 days ago
    # (renamed away 100 days ago, it stays theirs), until member 3 appeared with it.
    assert names["name"] == [
        Holding(1, None, ago(200)),
        Holding(2, ago(200), ago(10)),
        Holding(3, ago(10), None),
    ]


def test_a_holding_taken_over_the_moment_it_began_is_dropped_and_the_rest_kept() -> None:
    uses = [
        NameUse(1, "k", ago(50), None, ago(50)),
        NameUse(2, "k", ago(50), None, ago(50)),  # took it the same moment
        NameUse(3, "k", ago(10), None, ago(10)),
    ]
    assert holdings(uses) == {"k": [Holding(2, ago(50), ago(10)), Holding(3, ago(10), None)]}
    assert holder_at(holdings(uses)["k"], ago(60)) is None
