"""Clan rank tiers seeded from a Wise Old Man group's ``roleOrders`` (docs/wom-api.md, "Ranks").

Wise Old Man knows 269 rank titles and every clan orders its own (index 0 = highest). Which
ranks count as leadership or officers is the clan's choice, so :class:`RankConfig` derives
defaults from the order and lets explicit sets override them.

Rank names are compared by their *role key*: trimmed, lower-cased, every run of whitespace,
``_`` or ``-`` folded into one ``_``. ``"Short green guy"``, ``"short-green-guy"`` and WOM's
``"short_green_guy"`` are the same rank.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_ROLE_SEPARATORS = re.compile(r"[\s_\-]+")

#: Share of the ranks (after owner and deputy) that default to the leadership tier.
LEADERSHIP_SHARE_PERCENT = 10
#: Share of the ranks that default to the officer tier, taken right below leadership.
OFFICER_SHARE_PERCENT = 15


class RankTier(enum.StrEnum):
    """How much say a rank has in the clan, highest first."""

    OWNER = "owner"
    DEPUTY = "deputy"
    LEADERSHIP = "leadership"
    OFFICER = "officer"
    MEMBER = "member"


@functools.lru_cache(maxsize=4096)
def role_key(role: str) -> str:
    """Return the comparable form of a rank name: ``"Short green guy"`` → ``"short_green_guy"``."""
    return _ROLE_SEPARATORS.sub("_", role.strip()).strip("_").lower()


def pretty_rank(role: str) -> str:
    """Return a rank name for display: ``"short_green_guy"`` → ``"Short Green Guy"``."""
    return " ".join(word.capitalize() for word in role_key(role).split("_") if word)


def order_roles(role_orders: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """Turn WOM ``roleOrders`` pairs ``(role, index)`` into role keys, highest first.

    Ties keep their input order; a role listed twice keeps its best (lowest) index.
    """
    ranked = sorted(enumerate(role_orders), key=lambda item: (item[1][1], item[0]))
    return _dedupe(role for _, (role, _index) in ranked)


def _dedupe(roles: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for role in roles:
        key = role_key(role)
        if key:
            seen.setdefault(key, None)
    return tuple(seen)


def _keys(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(key for key in (role_key(role) for role in roles) if key)


def _share(count: int, percent: int) -> int:
    """``percent`` of ``count`` rounded up, so any non-empty order yields at least one rank."""
    return -(-count * percent // 100)


@dataclass(frozen=True, slots=True)
class RankConfig:
    """A clan's rank order and which ranks belong to which tier.

    All names are stored as role keys (see :func:`role_key`); construct with any spelling.
    When a rank sits in several tier sets, the highest tier wins.
    """

    role_order: tuple[str, ...] = ()
    owner: frozenset[str] = field(default_factory=frozenset)
    deputy: frozenset[str] = field(default_factory=frozenset)
    leadership: frozenset[str] = field(default_factory=frozenset)
    officer: frozenset[str] = field(default_factory=frozenset)
    #: Ranks never listed as purge candidates.
    protected: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Normalise in place so that direct construction is as tolerant as the factory.
        object.__setattr__(self, "role_order", _dedupe(self.role_order))
        for name in ("owner", "deputy", "leadership", "officer", "protected"):
            object.__setattr__(self, name, _keys(getattr(self, name)))

    @classmethod
    def from_role_order(
        cls,
        role_order: Sequence[str],
        *,
        owner: Iterable[str] | None = None,
        deputy: Iterable[str] | None = None,
        leadership: Iterable[str] | None = None,
        officer: Iterable[str] | None = None,
        protected: Iterable[str] | None = None,
    ) -> RankConfig:
        """Build a config from a clan's rank order (highest first), with defaults per tier.

        Defaults, each replaced by the matching explicit argument when one is given:

        * owner: ``owner`` when the order holds it, else the highest rank;
        * deputy: ``deputy_owner`` when present, else the highest rank that is neither an
          owner nor the lowest rank;
        * leadership: the next ``ceil(10 %)`` of the whole order (at least one rank), taken
          from the ranks below owner and deputy;
        * officer: the ``ceil(15 %)`` ranks right below the default leadership slice;
        * protected: owner ∪ deputy ∪ leadership (after overrides).

        The lowest rank of an order is never put in leadership or officer by default: it is
        where recruits start, so a short order (e.g. three ranks) leaves those tiers smaller
        or empty instead of promoting everyone.
        """
        order = _dedupe(role_order)
        owner_set = _keys(owner) if owner is not None else _default_owner(order)
        deputy_set = _keys(deputy) if deputy is not None else _default_deputy(order, owner_set)
        rest = [role for role in order if role not in owner_set and role not in deputy_set]
        # Keep the lowest rank out of the default upper tiers (see docstring).
        eligible = rest[:-1] if order and rest and rest[-1] == order[-1] else rest
        lead_count = _share(len(order), LEADERSHIP_SHARE_PERCENT)
        officer_count = _share(len(order), OFFICER_SHARE_PERCENT)
        default_lead = frozenset(eligible[:lead_count])
        default_officer = frozenset(eligible[lead_count : lead_count + officer_count])
        lead_set = _keys(leadership) if leadership is not None else default_lead
        officer_set = _keys(officer) if officer is not None else default_officer
        protected_set = (
            _keys(protected) if protected is not None else owner_set | deputy_set | lead_set
        )
        return cls(
            role_order=order,
            owner=owner_set,
            deputy=deputy_set,
            leadership=lead_set,
            officer=officer_set,
            protected=protected_set,
        )

    def tier_of(self, role: str | None) -> RankTier:
        """Return the tier of ``role``; unknown, empty or missing ranks are members."""
        if role is None:
            return RankTier.MEMBER
        key = role_key(role)
        if key in self.owner:
            return RankTier.OWNER
        if key in self.deputy:
            return RankTier.DEPUTY
        if key in self.leadership:
            return RankTier.LEADERSHIP
        if key in self.officer:
            return RankTier.OFFICER
        return RankTier.MEMBER

    def is_protected(self, role: str | None) -> bool:
        """True when members of ``role`` must never be listed as purge candidates."""
        return role is not None and role_key(role) in self.protected

    def rank_index(self, role: str | None) -> int | None:
        """Return the position of ``role`` in the order (0 = highest), or None when unknown."""
        if role is None:
            return None
        try:
            return self.role_order.index(role_key(role))
        except ValueError:
            return None

    def sort_key(self, role: str | None) -> int:
        """Sort key putting higher ranks first and unknown ranks last."""
        index = self.rank_index(role)
        return len(self.role_order) if index is None else index

    def next_rank_up(self, role: str | None) -> str | None:
        """Return the rank directly above ``role``, or None at the top or when unknown."""
        index = self.rank_index(role)
        if index is None or index == 0:
            return None
        return self.role_order[index - 1]

    def unknown_configured_ranks(self) -> frozenset[str]:
        """Ranks named in a tier or in ``protected`` that the order does not hold.

        Not an error (a clan may configure a rank before using it), but worth a warning.
        """
        named = self.owner | self.deputy | self.leadership | self.officer | self.protected
        return named - frozenset(self.role_order)


def _default_owner(order: tuple[str, ...]) -> frozenset[str]:
    if "owner" in order:
        return frozenset({"owner"})
    return frozenset(order[:1])


def _default_deputy(order: tuple[str, ...], owner: frozenset[str]) -> frozenset[str]:
    if "deputy_owner" in order:
        return frozenset({"deputy_owner"})
    # Never the lowest rank: a two-rank order is "owner + everyone else".
    for role in order[:-1]:
        if role not in owner:
            return frozenset({role})
    return frozenset()
