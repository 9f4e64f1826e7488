"""The role rules: mapping keys, roles the bot must never touch, and the add/remove plan."""

from __future__ import annotations

import pytest

from domain.ranks import RankConfig
from domain.roles import (
    FORMER,
    BotStanding,
    Change,
    GuildRole,
    LinkedAccount,
    Skipped,
    Want,
    describe_key,
    mapping_key,
    plan_member,
    role_refusal,
    wanted_roles,
)

RANKS = RankConfig.from_role_order(["owner", "deputy_owner", "captain", "sergeant", "recruit"])
BOT = BotStanding(top_position=10, manage_roles=True)
USER = 7


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Captain", "captain"),
        ("short green guy", "short_green_guy"),
        ("officer", "tier:officer"),
        ("tier:Leadership", "tier:leadership"),
        ("former member", FORMER),
        ("Former", FORMER),
    ],
)
def test_mapping_keys(typed: str, key: str) -> None:
    assert mapping_key(typed) == key


def test_bad_mapping_keys_are_refused() -> None:
    with pytest.raises(ValueError) as tier:
        mapping_key("tier:boss")
    assert str(tier.value) == (
        "'tier:boss' is not a rank tier (owner, deputy, leadership, officer, member)"
    )
    with pytest.raises(ValueError) as empty:
        mapping_key("  ")
    assert str(empty.value) == "name a rank, a rank tier or `former`"
    assert describe_key("tier:officer") == "tier officer"
    assert describe_key(FORMER) == "former members"
    assert describe_key("short_green_guy") == "rank Short Green Guy"


def test_roles_the_bot_may_never_touch() -> None:
    ok = GuildRole(1, "Captain", position=9)
    assert role_refusal(ok, BOT) is None
    assert role_refusal(None, BOT) == "the role no longer exists"
    assert role_refusal(GuildRole(2, "Council", position=10), BOT) == (
        "@Council is not below the bot's highest role: move the bot's role above it in "
        "Server Settings → Roles"
    )
    assert role_refusal(GuildRole(3, "Booster", position=1, managed=True), BOT) == (
        "@Booster is managed by an integration (a bot's or the booster role): Discord gives "
        "it, no bot can"
    )
    assert role_refusal(GuildRole(4, "@everyone", 0, is_default=True), BOT) == (
        "@everyone is every member's role: it cannot be given or taken"
    )
    no_manage = BotStanding(top_position=10, manage_roles=False)
    assert role_refusal(ok, no_manage) == "the bot lacks the Manage Roles permission"
    owner = BotStanding(top_position=0, manage_roles=False, is_owner=True)
    assert role_refusal(GuildRole(2, "Council", position=50), owner) is None


MAPPINGS = {
    "captain": frozenset({100}),
    "tier:leadership": frozenset({101}),
    "recruit": frozenset({102}),
    FORMER: frozenset({103}),
}


def test_wanted_roles_from_rank_tier_and_former() -> None:
    captain = LinkedAccount(USER, "Doc", "captain", in_clan=True)
    assert wanted_roles([captain], MAPPINGS, RANKS) == {
        100: Want(100, "Doc is Captain"),
        101: Want(101, "Doc is in tier leadership"),
    }
    gone = LinkedAccount(USER, "Doc", "captain", in_clan=False)
    assert wanted_roles([gone], MAPPINGS, RANKS) == {103: Want(103, "Doc left the clan")}
    # An alt still in the clan: no former-member role, the alt's rank roles.
    alt = LinkedAccount(USER, "Alt", "recruit", in_clan=True)
    assert set(wanted_roles([gone, alt], MAPPINGS, RANKS)) == {102}
    assert wanted_roles([], MAPPINGS, RANKS) == {}
    # No former-member role mapped: someone who left gets nothing.
    without_former = {k: v for k, v in MAPPINGS.items() if k != FORMER}
    assert wanted_roles([gone], without_former, RANKS) == {}
    assert wanted_roles([LinkedAccount(USER, "X", None, True)], MAPPINGS, RANKS) == {}


def test_plan_adds_removes_only_mapped_roles_and_skips_refused_ones() -> None:
    mapped = frozenset({100, 101, 102, 103})
    wants = {100: Want(100, "Doc is Captain"), 101: Want(101, "tier")}
    has = frozenset({102, 500})  # 500 is unmapped: never the bot's business
    changes, skipped = plan_member(USER, has, wants, mapped, {101: "too high"}, why_removed="r")
    assert changes == [
        Change(USER, 100, "add", "Doc is Captain"),
        Change(USER, 102, "remove", "r"),
    ]
    assert skipped == [Skipped(USER, 101, "add", "too high")]
    # A refused mapped role the member holds is not taken either.
    changes, skipped = plan_member(USER, frozenset({101}), {}, mapped, {101: "x"}, why_removed="r")
    assert changes == [] and skipped == [Skipped(USER, 101, "remove", "x")]
    # In line already: nothing to do.
    assert plan_member(USER, frozenset({100}), {100: wants[100]}, mapped, {}, why_removed="") == (
        [],
        [],
    )
