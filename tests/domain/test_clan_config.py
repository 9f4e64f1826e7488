"""The clan's rule settings as admins edit them: parsing, checking (unknown ranks, loops,
bounds), storing one value, showing, and the ladder proposed from a WOM rank order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clan_config import (
    RANK_KEYS,
    SETTINGS,
    ConfigError,
    check_ladder,
    check_value,
    effective_text,
    format_value,
    ladder_loops,
    parse_number,
    parse_rung_text,
    parse_text,
    proposal,
    propose_ladder,
    propose_tiers,
    rank_config,
    rule_settings,
    rung_json,
    rung_text,
    rung_typed,
    show,
    spec_of,
    stored_value,
    with_value,
)
from domain.ranks import RankTier
from domain.rules import ANY_RANK, DEFAULT_LADDER, PromotionRung, RuleSettings

FIXTURE = Path(__file__).parents[2] / "fakes" / "data" / "wom" / "group-11114-2025-12-23T1935Z.json"


def _fixture_order() -> list[str]:
    orders = json.loads(FIXTURE.read_text())["roleOrders"]
    return [o["role"] for o in sorted(orders, key=lambda o: o["index"])]


ORDER = _fixture_order()
SMALL = ["owner", "deputy_owner", "general", "captain", "sergeant", "corporal", "recruit"]


def rung(frm: str, to: str | None, days: int = 0, **extra: Any) -> dict[str, Any]:
    return {"from_rank": frm, "to_rank": to, "min_tenure_days": days, **extra}


# ---------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30", 30),
        ("1,000,000", 1_000_000),
        ("1_000_000", 1_000_000),
        ("1m", 1_000_000),
        ("500K", 500_000),
        ("2b", 2_000_000_000),
        ("0.5", 0.5),
        ("50%", 0.5),
        (" 7 ", 7),
    ],
)
def test_numbers_are_read_as_admins_write_them(text: str, value: float) -> None:
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "ten", "-5", "1e6", "5mm", "1.2.3"])
def test_not_a_number_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ConfigError, match=r"is not a number \(e\.g\. 30, 0\.5"):
        parse_number(text)


def test_a_rung_as_text_names_every_part() -> None:
    assert parse_rung_text("Short green guy > tztok 14d xp=1m chat=50 boss=5 all") == {
        "from_rank": "Short green guy",
        "to_rank": "tztok",
        "min_tenure_days": 14,
        "min_xp": 1_000_000,
        "min_lines": 50,
        "min_boss_kc": 5,
        "any_of": False,
    }
    assert parse_rung_text("* -> next") == rung("*", None)
    assert parse_rung_text("a → b 3d lines=2 any") == {
        **rung("a", "b", 3),
        "min_lines": 2,
        "any_of": True,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prospector", "write it as `from > to 14d"),
        ("a > b 14days", "'14days' is not one of 14d, xp=…"),
        ("a > b xp=lots", "'lots' is not a number"),
    ],
)
def test_a_bad_rung_text_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rung_text(text)
    assert message in str(caught.value)


def test_text_for_each_kind_of_setting() -> None:
    assert parse_text("inactive_window_days", "90") == 90
    assert parse_text("churn_ratio", "25%") == pytest.approx(0.25)
    assert parse_text("protected", "Zenyte, dragonstone ,") == ["Zenyte", "dragonstone"]
    assert parse_text("protected", "none") == []
    assert parse_text("audit_tiers", "officer,leadership") == ["officer", "leadership"]
    assert parse_text("slacking_ratio", "default") is None
    assert parse_text("ladder", '[{"from_rank": "a", "to_rank": "b"}]') == [
        {"from_rank": "a", "to_rank": "b"}
    ]
    assert parse_text("ladder", "a > b 1d; b > c 2d") == [rung("a", "b", 1), rung("b", "c", 2)]
    assert parse_text("ladder", "none") == []
    with pytest.raises(ConfigError, match="ladder: not valid JSON"):
        parse_text("ladder", "[{")


def test_an_unknown_setting_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        spec_of("inactivity")
    assert str(caught.value) == ("unknown setting 'inactivity': use one of " + ", ".join(SETTINGS))
    assert spec_of(" Churn_Ratio ").key == "churn_ratio"


# ---------------------------------------------------------------------------------- checking


def test_numbers_are_held_to_their_bounds() -> None:
    assert check_value("inactive_window_days", 90.0, ORDER) == 90
    assert check_value("inactive_window_days", 7, ORDER) == 7
    assert check_value("inactive_window_days", 365, ORDER) == 365
    with pytest.raises(ConfigError) as low:
        check_value("inactive_window_days", 6, ORDER)
    assert str(low.value) == "inactive_window_days must be between 7 and 365, got 6"
    with pytest.raises(ConfigError, match=r"must be a whole number, got 7\.5"):
        check_value("inactive_window_days", 7.5, ORDER)
    with pytest.raises(ConfigError, match="must be a whole number, got True"):
        check_value("chatter_min_lines", True, ORDER)
    assert check_value("churn_ratio", 1, ORDER) == 1.0
    assert check_value("churn_ratio", 0, ORDER) == 0.0
    with pytest.raises(ConfigError) as ratio:
        check_value("churn_ratio", 1.5, ORDER)
    assert str(ratio.value) == "churn_ratio must be between 0 and 1 (50% = 0.5), got 1.5"
    with pytest.raises(ConfigError, match="must be a number between 0 and 1, got 'x'"):
        check_value("churn_ratio", "x", ORDER)


def test_ranks_must_be_the_clans_and_are_kept_highest_first_once() -> None:
    assert check_value("protected", ["Prospector", "zenyte", "ZENYTE"], ORDER) == [
        "zenyte",
        "prospector",
    ]
    with pytest.raises(ConfigError) as caught:
        check_value("officer", ["zenyte", "Sergeant"], ORDER)
    message = str(caught.value)
    assert message.startswith(
        "officer: unknown rank 'Sergeant': it is not in the clan's Wise Old Man rank order (owner, "
    )
    assert message.endswith("short_green_guy, prospector)")
    assert check_value("protected", [], ORDER) == []


def test_ranks_cannot_be_checked_before_the_rank_order_is_known() -> None:
    with pytest.raises(ConfigError, match="rank order is not known yet"):
        check_value("protected", ["zenyte"], [])
    with pytest.raises(ConfigError, match="rank order is not known yet"):
        check_value("ladder", [rung("a", "b")], [])
    assert check_value("ladder", [], []) == []


def test_tiers_must_be_tiers() -> None:
    assert check_value("audit_tiers", ["Officer", "owner"], ORDER) == ["owner", "officer"]
    with pytest.raises(ConfigError) as caught:
        check_value("slump_tiers", ["captain"], ORDER)
    assert str(caught.value) == (
        "slump_tiers: unknown tier(s) captain: use deputy, leadership, member, officer, owner"
    )


def test_a_ladder_loop_is_refused_naming_the_loop() -> None:
    loop = [rung("prospector", "tztok"), rung("tztok", "prospector")]
    with pytest.raises(ConfigError) as caught:
        check_value("ladder", loop, ORDER)
    assert str(caught.value) == (
        "ladder loop: prospector → tztok → prospector: a promotion must never lead back to a rank"
    )


def test_a_longer_loop_and_a_rung_onto_itself_are_loops() -> None:
    three = [rung("prospector", "wild"), rung("wild", "gamer"), rung("gamer", "prospector")]
    assert ladder_loops(check_ladder_rungs(three), ORDER) == [
        ["prospector", "wild", "gamer", "prospector"]
    ]
    with pytest.raises(ConfigError, match="ladder loop: tztok → tztok"):
        check_value("ladder", [rung("tztok", "tztok")], ORDER)
    # Every rank without a rung of its own follows the generic one: into "wild", and "wild"
    # itself then moves to "wild".
    with pytest.raises(ConfigError, match="ladder loop: wild → wild"):
        check_value("ladder", [rung(ANY_RANK, "wild")], ORDER)


def check_ladder_rungs(raw: list[dict[str, Any]]) -> list[PromotionRung]:
    return [PromotionRung(**r) for r in raw]


def test_a_downward_rung_without_a_loop_is_allowed() -> None:
    # An explicit choice of the clan (a demotion path), as long as it does not come back.
    assert check_value("ladder", [rung("gamer", "prospector")], ORDER) == [
        rung_json(PromotionRung("gamer", "prospector", 0))
    ]


def test_a_ladder_with_an_unknown_rank_names_the_rung() -> None:
    with pytest.raises(ConfigError) as caught:
        check_value("ladder", [rung("prospector", "tztok"), rung("tztok", "Sergeant")], ORDER)
    assert str(caught.value).startswith(
        "ladder rung 2: unknown rank 'Sergeant': it is not in the clan's Wise Old Man rank order"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a > b", "ladder: must be a list of rungs"),
        ([5], "ladder rung 1: must be an object with from_rank, to_rank, …"),
        ([{"to_rank": "tztok"}], "ladder rung 1: from_rank is missing"),
        ([{**rung("wild", "gamer"), "colour": 1}], "ladder rung 1: unknown field(s) colour"),
        ([rung("wild", "gamer", -1)], "ladder rung 1: min_tenure_days must be between 0 and 3,650"),
        ([rung("wild", "gamer", min_xp=-5)], "ladder rung 1: min_xp must be between 0 and"),
        ([rung("wild", "gamer", any_of="yes")], "ladder rung 1: any_of must be true or false"),
        ([rung("wild", 5)], "ladder rung 1: a rank must be a name, got 5"),
        (
            [rung("wild", "gamer"), rung("Wild", "artillery")],
            "ladder rung 2: wild already has rung 1: one rung per rank",
        ),
        ([rung("*", None), rung("*", "gamer")], "ladder rung 2: any rank already has rung 1"),
        ([rung("wild", "gamer")] * 61, "ladder: at most 60 rungs, got 61"),
    ],
)
def test_each_bad_ladder_is_refused_with_its_reason(raw: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_value("ladder", raw, ORDER)
    assert str(caught.value).startswith(message)


def test_default_means_none_for_every_setting() -> None:
    for key in SETTINGS:
        assert check_value(key, None, ORDER) is None


# ---------------------------------------------------------------------------------- storing


def test_with_value_changes_one_key_and_never_the_original() -> None:
    original: dict[str, Any] = {"rules": {"churn_ratio": 0.2}, "other": {"kept": True}}
    changed = with_value(original, "inactive_window_days", 90)
    assert changed == {
        "rules": {"churn_ratio": 0.2, "inactive_window_days": 90},
        "other": {"kept": True},
    }
    assert original == {"rules": {"churn_ratio": 0.2}, "other": {"kept": True}}
    ranks = with_value(changed, "protected", ["zenyte"])
    assert ranks["ranks"] == {"protected": ["zenyte"]}
    assert stored_value(ranks, "protected") == ["zenyte"]
    back = with_value(ranks, "churn_ratio", None)
    assert stored_value(back, "churn_ratio") is None
    assert stored_value(back, "inactive_window_days") == 90


def test_stored_settings_are_what_the_rules_run_with() -> None:
    stored: dict[str, Any] = {}
    for key, value in (
        ("inactive_window_days", 90),
        ("slacking_ratio", 0.25),
        ("audit_tiers", ["officer"]),
        ("ladder", [rung("prospector", "tztok", 3, min_boss_kc=10)]),
        ("protected", ["wrath"]),
        ("officer", ["wrath", "administrator"]),
    ):
        stored = with_value(stored, key, check_value(key, value, ORDER))
    rules = rule_settings(stored)
    assert rules.inactive_window_days == 90
    assert rules.slacking_ratio == 0.25
    assert rules.audit_tiers == frozenset({RankTier.OFFICER})
    assert rules.ladder == (PromotionRung("prospector", "tztok", 3, min_boss_kc=10),)
    assert rules.churn_ratio == RuleSettings().churn_ratio
    ranks = rank_config(stored, ORDER)
    assert ranks.protected == frozenset({"wrath"})
    assert ranks.officer == frozenset({"wrath", "administrator"})
    assert ranks.owner == frozenset({"owner"})  # not set: the default from the order


def test_bad_stored_rules_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="'rules' must be an object"):
        rule_settings({"rules": [1]})
    with pytest.raises(ConfigError, match="clan settings 'rules' are invalid"):
        rule_settings({"rules": {"audit_tiers": ["nobody"]}})


# ---------------------------------------------------------------------------------- showing


def test_show_lists_every_setting_with_its_value_in_use() -> None:
    stored = with_value({}, "inactive_window_days", 90)
    shown = {s.key: s for s in show(stored, ORDER)}
    assert list(shown) == list(SETTINGS)
    assert (shown["inactive_window_days"].value, shown["inactive_window_days"].is_set) == (
        "90",
        True,
    )
    assert (shown["churn_ratio"].value, shown["churn_ratio"].is_set) == ("0.3 (30%)", False)
    assert shown["leadership"].value == "Zenyte, Dragonstone, Saviour"
    assert shown["audit_tiers"].value == "owner, deputy, leadership, officer"
    assert shown["ladder"].value == "; ".join(rung_text(r) for r in DEFAULT_LADDER)


def test_values_read_as_admins_read_them() -> None:
    assert format_value("silent_grinder_min_xp", 2_500_000) == "2,500,000"
    assert format_value("churn_ratio", 0.25) == "0.25 (25%)"
    assert format_value("protected", ["short_green_guy"]) == "Short Green Guy"
    assert format_value("protected", []) == "none"
    assert format_value("audit_tiers", []) == "none"
    assert format_value("churn_ratio", None) == "default (0.3 (30%))"
    assert format_value("ladder", []) == "no rungs: nobody is promoted"
    assert format_value("ladder", [rung("wild", "gamer", 5, min_xp=10, min_lines=2)]) == (
        "Wild → Gamer: 5 days at rank, and 10 XP or 2 chat lines"
    )
    assert effective_text("owner", {}, ORDER) == "Owner"


def test_rung_texts() -> None:
    every = PromotionRung("wild", "gamer", 5, min_xp=10, min_lines=2, any_of=False, min_boss_kc=3)
    assert rung_text(every) == (
        "Wild → Gamer: 5 days at rank, and 10 XP and 2 chat lines and 3 boss kills"
    )
    assert rung_text(PromotionRung(ANY_RANK, None, 30)) == (
        "Any other rank → the rank above: 30 days at rank"
    )
    assert rung_typed(every) == "wild > gamer 5d xp=10 chat=2 boss=3 all"
    assert parse_rung_text(rung_typed(every)) == {**rung_json(every), "from_rank": "wild"}


# ---------------------------------------------------------------------------------- proposal


def test_the_recorded_clans_proposal() -> None:
    tiers = propose_tiers(ORDER)
    assert tiers.leadership == frozenset({"zenyte", "dragonstone", "saviour"})
    ladder = propose_ladder(ORDER)
    assert ladder[0] == PromotionRung(
        "prospector", "short_green_guy", 7, min_xp=250_000, min_lines=20
    )
    assert ladder[1] == PromotionRung("short_green_guy", "tztok", 14, min_xp=500_000, min_lines=40)
    # The top member rank is the last "to": officers promote into staff by hand.
    assert ladder[-1].to_rank == "wrath"
    assert len(ladder) == 16  # 17 member ranks: 27 minus owner, deputy, 3 leadership, 5 officers
    assert [r.min_tenure_days for r in ladder][-4:] == [90, 90, 90, 90]
    values = proposal(ORDER)
    assert set(values) == {*RANK_KEYS, "ladder"}
    for key, value in values.items():
        assert check_value(key, value, ORDER) == value


def test_tiny_orders_propose_small_or_empty_ladders() -> None:
    assert propose_ladder([]) == ()
    assert propose_ladder(["owner"]) == ()
    assert propose_ladder(["owner", "member"]) == ()
    # owner, deputy, 1 leadership (general), 2 officers (captain, sergeant): two members
    assert propose_ladder(SMALL) == (
        PromotionRung("recruit", "corporal", 7, min_xp=250_000, min_lines=20),
    )


# ---------------------------------------------------------------------------------- properties

rank_names = st.text(alphabet="abcdefgh_", min_size=1, max_size=6).filter(lambda s: s.strip("_"))
orders = st.lists(rank_names, min_size=0, max_size=30, unique_by=lambda s: s.strip("_"))


@settings(max_examples=200, deadline=None)
@given(orders)
def test_any_proposal_is_accepted_and_only_climbs_between_non_staff_ranks(
    order: list[str],
) -> None:
    values = proposal(order)
    ladder = check_ladder(values["ladder"], propose_tiers(order).role_order)
    tiers = propose_tiers(order)
    days = [r.min_tenure_days for r in ladder]
    assert days == sorted(days)
    for r in ladder:
        assert tiers.tier_of(r.from_rank) is RankTier.MEMBER
        assert r.to_rank is not None and tiers.tier_of(r.to_rank) is RankTier.MEMBER
        assert tiers.rank_index(r.to_rank) < tiers.rank_index(r.from_rank)  # type: ignore[operator]


@st.composite
def ladders_over(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    order = draw(st.lists(st.sampled_from("abcdefghij"), min_size=1, max_size=10, unique=True))
    named = st.sampled_from([*order, "zz", "*"])
    raw = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "from_rank": named,
                    "to_rank": st.one_of(st.none(), named.filter(lambda r: r != "*")),
                    "min_tenure_days": st.integers(0, 100),
                }
            ),
            max_size=8,
        )
    )
    return order, raw


@settings(max_examples=300, deadline=None)
@given(ladders_over())
def test_any_accepted_ladder_has_no_loop_and_only_known_ranks(
    case: tuple[list[str], list[dict[str, Any]]],
) -> None:
    order, raw = case
    try:
        ladder = check_ladder(raw, order)
    except ConfigError:
        return
    for r in ladder:
        assert r.from_rank in (*order, ANY_RANK)
        assert r.to_rank is None or r.to_rank in order
    # Following promotions from any rank never comes back to a rank already passed.
    moves = {}
    for index, rank in enumerate(order):
        own = [r for r in ladder if r.from_rank == rank] or [
            r for r in ladder if r.from_rank == ANY_RANK
        ]
        if own:
            target = own[0].to_rank or (order[index - 1] if index else None)
            if target:
                moves[rank] = target
    for start in order:
        seen = {start}
        rank = moves.get(start)
        while rank is not None:
            assert rank not in seen
            seen.add(rank)
            rank = moves.get(rank)


@settings(max_examples=200, deadline=None)
@given(ladders_over())
def test_a_refused_ladder_is_refused_for_a_reason_that_is_true(
    case: tuple[list[str], list[dict[str, Any]]],
) -> None:
    order, raw = case
    try:
        check_ladder(raw, order)
    except ConfigError as exc:
        reason = str(exc)
        named = {r["from_rank"] for r in raw} | {r["to_rank"] for r in raw}
        froms = [r["from_rank"] for r in raw]
        if "unknown rank" in reason:
            assert "zz" in named
        elif "already has rung" in reason:
            assert len(set(froms)) < len(froms)
        else:
            assert reason.startswith("ladder loop: ")
            assert ladder_loops([PromotionRung(**r) for r in raw], order)


def test_a_demo_style_member_is_promoted_by_the_proposal() -> None:
    """The proposal is a ladder the rules run: a prospector of 8 days with 30 lines is due."""
    from domain.activity import ChatStats, Gains, MemberActivity, MemberInfo, Window
    from domain.membership import RosterEventIn, build_timeline
    from domain.rules import promotions

    as_of = datetime(2025, 12, 23, tzinfo=UTC)
    joined = datetime(2025, 12, 15, tzinfo=UTC)
    joined_event = RosterEventIn("joined", joined, "prospector", 1)
    timeline = build_timeline([joined_event], current_rank="prospector")
    info = MemberInfo(1, "pat", "Pat", "prospector", timeline)
    window = Window("30d", as_of.replace(month=11), as_of)
    activity = MemberActivity(info, window, ChatStats(lines=30), Gains(), None)
    rules = RuleSettings(ladder=propose_ladder(ORDER))
    found = promotions([activity], propose_tiers(ORDER), rules, as_of)
    assert [f.numbers["to_rank"] for f in found] == ["short_green_guy"]


# ---------------------------------------------------------------------------------- edges
# (each found by mutation testing: a change of the code that no test above noticed)


def test_a_rungs_fields_are_kept_and_defaulted() -> None:
    kept = check_value("ladder", [rung("wild", "gamer", any_of=False, min_xp=5)], ORDER)
    assert kept == [
        {
            "from_rank": "wild",
            "to_rank": "gamer",
            "min_tenure_days": 0,
            "min_xp": 5,
            "min_lines": None,
            "min_boss_kc": None,
            "any_of": False,
        }
    ]
    bare = check_value("ladder", [{"from_rank": "wild", "to_rank": None}], ORDER)
    assert bare[0]["min_tenure_days"] == 0 and bare[0]["any_of"] is True


def test_rung_and_list_refusals_name_every_culprit() -> None:
    with pytest.raises(ConfigError) as extra:
        check_value("ladder", [{**rung("wild", "gamer"), "size": 1, "colour": 2}], ORDER)
    assert str(extra.value) == "ladder rung 1: unknown field(s) colour, size"
    with pytest.raises(ConfigError) as source:
        check_value("ladder", [rung("Sergeant", "gamer")], ORDER)
    assert str(source.value).startswith("ladder rung 1: unknown rank 'Sergeant'")
    with pytest.raises(ConfigError) as tiers:
        check_value("audit_tiers", ["captain", "major"], ORDER)
    assert str(tiers.value).startswith("audit_tiers: unknown tier(s) captain, major: use")
    with pytest.raises(ConfigError) as not_list:
        check_value("protected", "zenyte", ORDER)
    assert str(not_list.value) == "protected must be a list of names"
    with pytest.raises(ConfigError) as rules:
        rule_settings({"rules": "x"})
    assert str(rules.value) == "clan settings: 'rules' must be an object"


def test_every_loop_is_named_once() -> None:
    order = ["a", "b", "c", "d", "e"]
    two = [rung("a", "b"), rung("b", "a"), rung("d", "e"), rung("e", "d")]
    assert ladder_loops([PromotionRung(**r) for r in two], order) == [
        ["e", "d", "e"],
        ["b", "a", "b"],
    ]
    with pytest.raises(ConfigError) as caught:
        check_ladder(two, order)
    assert str(caught.value).startswith("ladder loop: e → d → e; b → a → b: ")


def test_the_generic_rung_moves_each_rank_one_up_and_the_top_nowhere() -> None:
    from domain.clan_config import ladder_moves

    order = ["top", "mid", "low"]
    generic = [PromotionRung(ANY_RANK, None, 0)]
    assert ladder_moves(generic, order) == {"mid": "top", "low": "mid"}
    assert ladder_loops(generic, order) == []


def test_sixty_rungs_are_a_ladder_sixty_one_are_not() -> None:
    order = [f"r{i}" for i in range(61)]
    rungs = [rung(order[i], order[i - 1]) for i in range(1, 61)]
    assert len(check_ladder(rungs, order)) == 60
    with pytest.raises(ConfigError, match="at most 60 rungs, got 61"):
        check_ladder([*rungs, rung(order[0], None)], order)


def test_values_shown_for_tiers_empty_ladders_and_broken_history() -> None:
    assert format_value("audit_tiers", ["officer", "owner"]) == "officer, owner"
    assert format_value("leadership", None, ORDER) == "default (Zenyte, Dragonstone, Saviour)"
    assert format_value("ladder", [{"bogus": 1}]) == '[{"bogus": 1}]'
    assert format_value("ladder", [rung("wild", "gamer", 1), rung("gamer", "artillery", 2)]) == (
        "Wild → Gamer: 1 days at rank; Gamer → Artillery: 2 days at rank"
    )
    stored = with_value(with_value({}, "audit_tiers", []), "ladder", [])
    shown = {s.key: s for s in show(stored, ORDER)}
    assert shown["audit_tiers"].value == "none"
    assert shown["ladder"].value == "no rungs: nobody is promoted"
    assert shown["ladder"].stored == []
    assert shown["churn_ratio"].stored is None
    assert rung_typed(PromotionRung(ANY_RANK, None, 30)) == "* > next 30d any"


def test_stored_and_changed_values_share_nothing_with_their_source() -> None:
    original: dict[str, Any] = {"ranks": {"protected": ["zenyte"]}, "other": {"kept": True}}
    read = stored_value(original, "protected")
    read.append("wrath")
    assert original["ranks"]["protected"] == ["zenyte"]
    value = ["wrath"]
    changed = with_value(original, "officer", value)
    value.append("zenyte")
    changed["other"]["kept"] = False
    assert changed["ranks"]["officer"] == ["wrath"]
    assert original["other"] == {"kept": True}
    assert with_value({}, "churn_ratio", None) == {"rules": {}}


def test_the_proposal_names_each_tiers_own_ranks_and_follows_given_tiers() -> None:
    values = proposal(ORDER)
    assert values["leadership"] == ["zenyte", "dragonstone", "saviour"]
    assert values["officer"] == ["dragon", "therapist", "zamorakian", "doctor", "prodigy"]
    assert values["protected"] == ["owner", "deputy_owner", "zenyte", "dragonstone", "saviour"]
    from domain.ranks import RankConfig

    tiers = RankConfig.from_role_order(ORDER, officer=["wrath", "administrator", "wild"])
    ladder = propose_ladder(ORDER, tiers)
    named = {r.from_rank for r in ladder} | {r.to_rank for r in ladder}
    assert not named & {"wrath", "administrator", "wild"}
    assert ("tztok", "gamer") in {(r.from_rank, r.to_rank) for r in ladder}


def test_each_number_settings_default_is_the_rules_own() -> None:
    defaults = RuleSettings()
    numbers = [s for s in SETTINGS.values() if s.kind in ("int", "ratio")]
    assert [s.key for s in numbers] == [
        "inactive_window_days",
        "inactive_min_tenure_days",
        "slacking_ratio",
        "churn_ratio",
        "churn_min_lines_30d",
        "silent_grinder_min_xp",
        "chatter_min_lines",
        "social_pillar_share",
        "carry_min_raid_kc",
    ]
    for spec in numbers:
        value = getattr(defaults, spec.key)
        assert spec.section == "rules"
        assert spec.kind == ("ratio" if isinstance(value, float) else "int"), spec.key
        assert spec.default == (f"{value:g}" if spec.kind == "ratio" else f"{value:,}")
        assert spec.minimum is not None and spec.maximum is not None
        assert spec.minimum <= value <= spec.maximum, spec.key
        if spec.kind == "ratio":
            assert (spec.minimum, spec.maximum) == (0, 1)
    assert (SETTINGS["inactive_window_days"].minimum, SETTINGS["inactive_window_days"].maximum) == (
        7,
        365,
    )
    assert SETTINGS["silent_grinder_min_xp"].maximum == 4_600_000_000
    assert SETTINGS["churn_min_lines_30d"].bounds == "0 to 100,000"


def test_a_ladder_read_or_stored_shares_no_rung_with_its_source() -> None:
    ladder = [rung("wild", "gamer", 3)]
    stored = with_value({}, "ladder", ladder)
    ladder[0]["min_tenure_days"] = 99
    assert stored["rules"]["ladder"][0]["min_tenure_days"] == 3
    read = stored_value(stored, "ladder")
    read[0]["min_tenure_days"] = 77
    assert stored["rules"]["ladder"][0]["min_tenure_days"] == 3
