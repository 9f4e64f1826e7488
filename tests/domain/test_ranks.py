"""Rank tiers seeded from a clan's WOM roleOrders, and tolerant rank lookups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.ranks import RankConfig, RankTier, order_roles, pretty_rank, role_key

FIXTURE = sorted((Path(__file__).parents[2] / "fakes" / "data" / "wom").glob("group-*.json"))[0]


def _fixture_order() -> tuple[str, ...]:
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return order_roles((r["role"], r["index"]) for r in payload["roleOrders"])


@pytest.fixture(scope="module")
def clan() -> RankConfig:
    return RankConfig.from_role_order(_fixture_order())


def test_fixture_order_has_27_ranks_owner_first_prospector_last() -> None:
    order = _fixture_order()
    assert len(order) == 27
    assert order[:3] == ("owner", "deputy_owner", "zenyte")
    assert order[-1] == "prospector"


def test_order_roles_sorts_by_index_not_by_listing_order() -> None:
    pairs = [("member", 2), ("owner", 0), ("deputy_owner", 1)]
    assert order_roles(pairs) == ("owner", "deputy_owner", "member")


def test_order_roles_keeps_the_best_index_of_a_duplicated_role() -> None:
    assert order_roles([("a", 0), ("b", 1), ("A", 2)]) == ("a", "b")


@pytest.mark.parametrize(
    ("role", "tier"),
    [
        ("owner", RankTier.OWNER),
        ("deputy_owner", RankTier.DEPUTY),
        # leadership: ceil(10 % of 27) = 3 ranks below the deputy
        ("zenyte", RankTier.LEADERSHIP),
        ("dragonstone", RankTier.LEADERSHIP),
        ("saviour", RankTier.LEADERSHIP),
        # officer: the next ceil(15 % of 27) = 5 ranks
        ("dragon", RankTier.OFFICER),
        ("therapist", RankTier.OFFICER),
        ("zamorakian", RankTier.OFFICER),
        ("doctor", RankTier.OFFICER),
        ("prodigy", RankTier.OFFICER),
        ("wrath", RankTier.MEMBER),
        ("administrator", RankTier.MEMBER),
        ("short_green_guy", RankTier.MEMBER),
        ("prospector", RankTier.MEMBER),
    ],
)
def test_default_tiers_on_the_real_role_order(clan: RankConfig, role: str, tier: RankTier) -> None:
    assert clan.tier_of(role) is tier


@pytest.mark.parametrize(
    "spelling", ["Deputy Owner", "deputy-owner", "  DEPUTY_OWNER ", "deputy  owner"]
)
def test_tier_lookup_tolerates_case_and_separators(clan: RankConfig, spelling: str) -> None:
    assert clan.tier_of(spelling) is RankTier.DEPUTY


@pytest.mark.parametrize("role", [None, "", "   ", "wizard", "not a rank at all", "🐉"])
def test_unknown_or_missing_rank_is_a_member_and_does_not_crash(
    clan: RankConfig, role: str | None
) -> None:
    assert clan.tier_of(role) is RankTier.MEMBER
    assert clan.rank_index(role) is None
    assert clan.next_rank_up(role) is None
    assert not clan.is_protected(role)


def test_default_protected_is_owner_deputy_and_leadership(clan: RankConfig) -> None:
    assert clan.protected == {"owner", "deputy_owner", "zenyte", "dragonstone", "saviour"}
    assert clan.is_protected("Saviour")
    assert not clan.is_protected("dragon")


@pytest.mark.parametrize(
    ("role", "index"),
    [("owner", 0), ("Short green guy", 25), ("prospector", 26), ("Administrator", 11)],
)
def test_rank_index_is_the_position_in_the_order(clan: RankConfig, role: str, index: int) -> None:
    assert clan.rank_index(role) == index


def test_unknown_ranks_sort_after_every_known_rank(clan: RankConfig) -> None:
    roles = ["wizard", "prospector", "owner", None, "zenyte"]
    assert sorted(roles, key=clan.sort_key)[:3] == ["owner", "zenyte", "prospector"]


@pytest.mark.parametrize(
    ("role", "above"),
    [
        ("prospector", "short_green_guy"),
        ("Short Green Guy", "tztok"),
        ("deputy_owner", "owner"),
        ("owner", None),
    ],
)
def test_next_rank_up(clan: RankConfig, role: str, above: str | None) -> None:
    assert clan.next_rank_up(role) == above


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("short_green_guy", "Short Green Guy"),
        ("deputy_owner", "Deputy Owner"),
        ("zenyte", "Zenyte"),
        ("Short green guy", "Short Green Guy"),
        ("", ""),
    ],
)
def test_pretty_rank(role: str, shown: str) -> None:
    assert pretty_rank(role) == shown


def test_role_key_matches_wom_snake_case() -> None:
    assert role_key("Short green guy") == "short_green_guy"


def test_order_without_owner_names_uses_the_top_two_ranks() -> None:
    order = ["General", "Captain", "Lieutenant", "Sergeant", "Corporal", "Recruit"]
    config = RankConfig.from_role_order(order)
    assert config.owner == {"general"}
    assert config.deputy == {"captain"}
    assert config.leadership == {"lieutenant"}  # ceil(0.6) = 1
    assert config.officer == {"sergeant"}  # ceil(0.9) = 1
    assert config.tier_of("Corporal") is RankTier.MEMBER
    assert config.tier_of("recruit") is RankTier.MEMBER


def test_owner_name_wins_over_position() -> None:
    config = RankConfig.from_role_order(["administrator", "owner", "deputy_owner", "member"])
    assert config.owner == {"owner"}
    assert config.deputy == {"deputy_owner"}
    assert config.tier_of("administrator") is RankTier.LEADERSHIP


@pytest.mark.parametrize(
    ("order", "member_rank"),
    [(["owner", "deputy_owner", "recruit"], "recruit"), (["boss", "minion"], "minion")],
)
def test_lowest_rank_stays_member_in_short_orders(order: list[str], member_rank: str) -> None:
    config = RankConfig.from_role_order(order)
    assert config.tier_of(member_rank) is RankTier.MEMBER
    assert config.tier_of(order[0]) is RankTier.OWNER


def test_empty_order_gives_empty_tiers_and_everyone_is_a_member() -> None:
    config = RankConfig.from_role_order([])
    assert config.owner == config.deputy == config.leadership == config.officer == frozenset()
    assert config.tier_of("owner") is RankTier.MEMBER


def test_explicit_sets_override_defaults_in_any_spelling(clan: RankConfig) -> None:
    config = RankConfig.from_role_order(
        clan.role_order, leadership=["Administrator", "Zenyte"], officer=["Short green guy"]
    )
    assert config.tier_of("administrator") is RankTier.LEADERSHIP
    assert config.tier_of("dragonstone") is RankTier.MEMBER
    assert config.tier_of("short_green_guy") is RankTier.OFFICER
    assert config.protected == {"owner", "deputy_owner", "administrator", "zenyte"}


def test_explicit_protected_replaces_the_default(clan: RankConfig) -> None:
    config = RankConfig.from_role_order(clan.role_order, protected=["Prospector"])
    assert config.protected == {"prospector"}
    assert config.tier_of("zenyte") is RankTier.LEADERSHIP


def test_a_rank_in_two_tiers_gets_the_higher_one() -> None:
    config = RankConfig.from_role_order(["a", "b", "c"], leadership=["c"], officer=["c"])
    assert config.tier_of("c") is RankTier.LEADERSHIP


def test_configured_ranks_missing_from_the_order_are_reported() -> None:
    config = RankConfig.from_role_order(["owner", "deputy_owner", "gem"], officer=["wizard"])
    assert config.unknown_configured_ranks() == {"wizard"}


def test_direct_construction_normalises_names() -> None:
    config = RankConfig(role_order=("Owner", "Short green guy"), owner=frozenset({"OWNER"}))
    assert config.role_order == ("owner", "short_green_guy")
    assert config.tier_of("owner") is RankTier.OWNER


# ---------------------------------------------------------------------------------------------
# Worked by hand (docs/testing.md: each of these was a mutant no test caught).


def test_order_roles_ties_keep_the_listing_order_not_the_alphabet() -> None:
    assert order_roles([("zulu", 1), ("alpha", 1), ("boss", 0)]) == ("boss", "zulu", "alpha")


def test_explicit_owner_and_deputy_replace_the_defaults() -> None:
    config = RankConfig.from_role_order(
        ["general", "captain", "lieutenant", "recruit"], owner=["Captain"], deputy=["Lieutenant"]
    )
    assert (config.owner, config.deputy) == ({"captain"}, {"lieutenant"})
    # The leadership default is then the next rank that is neither, the lowest kept out.
    assert config.leadership == {"general"}


def test_the_lowest_rank_named_deputy_leaves_the_rest_eligible_for_leadership() -> None:
    config = RankConfig.from_role_order(["a", "b", "c"], deputy=["c"])
    assert config.leadership == {"b"}


def test_a_three_rank_order_has_a_default_deputy_in_the_middle() -> None:
    config = RankConfig.from_role_order(["a", "b", "c"])
    assert (config.owner, config.deputy) == ({"a"}, {"b"})


def test_tier_shares_round_up_on_a_long_order() -> None:
    # 101 ranks: leadership ceil(10.1) = 11, officers ceil(15.15) = 16, from r2 on.
    config = RankConfig.from_role_order([f"r{i}" for i in range(101)])
    assert config.leadership == {f"r{i}" for i in range(2, 13)}
    assert config.officer == {f"r{i}" for i in range(13, 29)}


def test_every_tier_set_can_name_a_rank_the_order_lacks() -> None:
    config = RankConfig(
        role_order=("a",),
        owner=frozenset({"o"}),
        deputy=frozenset({"d"}),
        leadership=frozenset({"l"}),
        officer=frozenset({"f"}),
        protected=frozenset({"p", "a"}),
    )
    assert config.unknown_configured_ranks() == {"o", "d", "l", "f", "p"}
