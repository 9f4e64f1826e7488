"""Rank → Discord role sync: which roles each linked Discord member should have, what to add
and remove, and which roles the bot must never touch (issue 16).

A mapping ties an in-game rank (its role key), a rank tier (``tier:officer``) or former
members (``former``) to a Discord role. The bot only ever adds or removes *mapped* roles, and
never one Discord would refuse: a managed role, @everyone, or a role at or above the bot's
highest role (discord-api-docs ``developers/topics/permissions.mdx``, "Permission
Hierarchy"). Pure: no Discord, no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from domain.ranks import RankConfig, RankTier, pretty_rank, role_key

TIER_PREFIX = "tier:"
FORMER = "former"
_FORMER_WORDS = frozenset({"former", "former_member", "former_members", "left"})

Action = Literal["add", "remove"]


def mapping_key(text: str) -> str:
    """What an officer typed as the rank side of a mapping, as stored.

    A tier name (``officer``, ``tier:officer``) is a tier; ``former`` (``former member``) is
    the role kept by members who left; anything else is a rank, compared by its role key.
    """
    key = role_key(text)
    if key.startswith("tier:"):
        key = key[len("tier:") :]
        if key not in {t.value for t in RankTier}:
            raise ValueError(f"{text!r} is not a rank tier ({', '.join(t for t in RankTier)})")
        return TIER_PREFIX + key
    if key in {t.value for t in RankTier}:
        return TIER_PREFIX + key
    if key in _FORMER_WORDS:
        return FORMER
    if not key:
        raise ValueError("name a rank, a rank tier or `former`")
    return key


def describe_key(key: str) -> str:
    """A stored mapping key as officers read it."""
    if key == FORMER:
        return "former members"
    if key.startswith(TIER_PREFIX):
        return f"tier {key[len(TIER_PREFIX) :]}"
    return f"rank {pretty_rank(key)}"


@dataclass(frozen=True, slots=True)
class GuildRole:
    """A Discord role as the rules need it."""

    id: int
    name: str
    position: int
    managed: bool = False
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class BotStanding:
    """What the bot may do with roles in the server."""

    top_position: int
    manage_roles: bool
    is_owner: bool = False


def role_refusal(role: GuildRole | None, bot: BotStanding) -> str | None:
    """Why the bot cannot give or take ``role`` (None: it can). The reasons are for officers."""
    if role is None:
        return "the role no longer exists"
    if role.is_default:
        return "@everyone is every member's role: it cannot be given or taken"
    if role.managed:
        return (
            f"@{role.name} is managed by an integration (a bot's or the booster role): "
            "Discord gives it, no bot can"
        )
    if not bot.manage_roles and not bot.is_owner:
        return "the bot lacks the Manage Roles permission"
    if not bot.is_owner and role.position >= bot.top_position:
        return (
            f"@{role.name} is not below the bot's highest role: move the bot's role above it "
            "in Server Settings → Roles"
        )
    return None


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """One account a Discord member proved theirs, with its standing in the clan now."""

    discord_user_id: int
    display_name: str
    rank: str | None
    in_clan: bool


@dataclass(frozen=True, slots=True)
class Want:
    """A role a Discord member should have, and why."""

    role_id: int
    reason: str


def wanted_roles(
    accounts: Iterable[LinkedAccount],
    mappings: Mapping[str, frozenset[int]],
    ranks: RankConfig,
) -> dict[int, Want]:
    """The mapped roles one Discord member should have, from all their linked accounts.

    An account in the clan earns its rank's and its tier's roles; the former-member roles
    are given only when none of the member's accounts is in the clan. No account (unlinked
    members): no mapped role.
    """
    wants: dict[int, Want] = {}
    accounts = list(accounts)
    current = [a for a in accounts if a.in_clan]
    for account in current:
        rank = account.rank
        keys: list[tuple[str, str]] = []
        if rank:
            keys.append((role_key(rank), f"{account.display_name} is {pretty_rank(rank)}"))
            tier = ranks.tier_of(rank)
            keys.append(
                (TIER_PREFIX + tier.value, f"{account.display_name} is in tier {tier.value}")
            )
        for key, reason in keys:
            for role_id in sorted(mappings.get(key, ())):
                wants.setdefault(role_id, Want(role_id, reason))
    if accounts and not current:
        for role_id in sorted(mappings.get(FORMER, ())):
            reason = f"{accounts[0].display_name} left the clan"
            wants.setdefault(role_id, Want(role_id, reason))
    return wants


@dataclass(frozen=True, slots=True)
class Change:
    """One role to give or take from one Discord member."""

    discord_user_id: int
    role_id: int
    action: Action
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A change the bot will not make, and why (a role it may not touch)."""

    discord_user_id: int
    role_id: int
    action: Action
    reason: str


def plan_member(
    discord_user_id: int,
    has: frozenset[int],
    wants: Mapping[int, Want],
    mapped: frozenset[int],
    refusals: Mapping[int, str],
    *,
    why_removed: str,
) -> tuple[list[Change], list[Skipped]]:
    """The changes that bring one member's mapped roles to ``wants``.

    Only mapped roles are ever removed (an unmapped role is never the bot's business); a
    role in ``refusals`` (managed, above the bot) is skipped with the reason, never tried.
    """
    changes: list[Change] = []
    skipped: list[Skipped] = []
    for role_id in sorted(set(wants) - has):
        refusal = refusals.get(role_id)
        if refusal is not None:
            skipped.append(Skipped(discord_user_id, role_id, "add", refusal))
        else:
            changes.append(Change(discord_user_id, role_id, "add", wants[role_id].reason))
    for role_id in sorted((has & mapped) - set(wants)):
        refusal = refusals.get(role_id)
        if refusal is not None:
            skipped.append(Skipped(discord_user_id, role_id, "remove", refusal))
        else:
            changes.append(Change(discord_user_id, role_id, "remove", why_removed))
    return changes, skipped


__all__ = [
    "FORMER",
    "TIER_PREFIX",
    "BotStanding",
    "Change",
    "GuildRole",
    "LinkedAccount",
    "Skipped",
    "Want",
    "describe_key",
    "mapping_key",
    "plan_member",
    "role_refusal",
    "wanted_roles",
]
