"""A clan's rule settings as its admins edit them (``/config``, ``clanstats config``).

Pure: what each setting means, its default and bounds (:data:`SETTINGS`, the source of
``docs/configuration.md``); reading text an admin typed (:func:`parse_text`); checking a
value against the clan's Wise Old Man rank order (:func:`check_value`: an unknown rank, a
ladder loop, a value out of bounds is refused with the reason); the new settings JSON with
one value changed (:func:`with_value`); and the ladder and tiers proposed from the rank order
(:func:`propose_ladder`, :func:`propose_tiers`, :func:`proposal`).

The settings live in the clan's ``settings`` JSON; a key that is absent means its default::

    {"rules": {"inactive_window_days": 60, …, "audit_tiers": ["officer", …],
               "ladder": [{"from_rank": "prospector", "to_rank": "tztok", …}, …]},
     "ranks": {"owner": [...], "deputy": [...], "leadership": [...], "officer": [...],
               "protected": [...]}}

Ranks are stored as role keys (:func:`domain.ranks.role_key`), so any spelling an admin types
names the same rank.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from domain.ranks import RankConfig, RankTier, pretty_rank, role_key
from domain.rules import ANY_RANK, DEFAULT_LADDER, PromotionRung, RuleSettings

Json = Any
SettingKind = Literal["int", "ratio", "ranks", "tiers", "ladder"]
Section = Literal["rules", "ranks"]

#: More rungs than this is a mistake, not a ladder (WOM knows 269 rank titles; a clan uses ~30).
MAX_RUNGS = 60
#: Bounds of a rung's numbers: OSRS's total XP tops out at 4.6 billion.
RUNG_MAX_DAYS = 3650
RUNG_MAX_XP = 4_600_000_000
RUNG_MAX_LINES = 1_000_000
RUNG_MAX_BOSS_KC = 1_000_000

#: The rank tiers an admin sets (``ranks`` section), highest first, then ``protected``.
TIER_KEYS: tuple[str, ...] = ("owner", "deputy", "leadership", "officer")
RANK_KEYS: tuple[str, ...] = (*TIER_KEYS, "protected")
LADDER_KEY = "ladder"
#: ``/config inactivity`` sets these two.
INACTIVITY_KEYS: tuple[str, ...] = ("inactive_window_days", "inactive_min_tenure_days")
#: ``/config threshold`` sets these.
THRESHOLD_KEYS: tuple[str, ...] = (
    "slacking_ratio",
    "churn_ratio",
    "churn_min_lines_30d",
    "silent_grinder_min_xp",
    "chatter_min_lines",
    "social_pillar_share",
    "carry_min_raid_kc",
)
TIER_LIST_KEYS: tuple[str, ...] = ("audit_tiers", "slump_tiers")

NO_ORDER = (
    "the clan's rank order is not known yet: a Wise Old Man sync stores it "
    "(/sync now or `clanstats sync --once`), then try again"
)


class ConfigError(ValueError):
    """A setting or value refused; the message says why, for the admin who typed it."""


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One rule setting: where it is stored, what it means, its default and bounds."""

    key: str
    kind: SettingKind
    section: Section
    meaning: str
    default: str
    minimum: float | None = None
    maximum: float | None = None

    @property
    def bounds(self) -> str:
        """The bounds as documentation shows them."""
        if self.kind == "ratio":
            return "0 to 1"
        if self.kind == "int":
            return f"{self.minimum:,.0f} to {self.maximum:,.0f}"
        if self.kind in ("ranks",):
            return "ranks of the clan's WOM rank order"
        if self.kind == "tiers":
            return ", ".join(t.value for t in RankTier)
        return (
            f"at most {MAX_RUNGS} rungs; ranks of the clan's WOM rank order; no loop; "
            f"days 0–{RUNG_MAX_DAYS:,}"
        )


_DEFAULTS = RuleSettings()

#: The number settings: ``default`` is :class:`~domain.rules.RuleSettings`' own, as shown
#: (a test holds the two equal). Plain data, so nothing here runs when a value is read.
_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "inactive_window_days",
        "int",
        "rules",
        "purge list: days with no chat and no progress that make a member inactive",
        "60",
        7,
        365,
    ),
    SettingSpec(
        "inactive_min_tenure_days",
        "int",
        "rules",
        "purge list: members fewer days in the clan than this are never listed",
        "30",
        0,
        365,
    ),
    SettingSpec(
        "slacking_ratio",
        "ratio",
        "rules",
        "officer audit: slacking when chat lines and XP are both under this share of the "
        "clan median",
        "0.5",
        0.0,
        1.0,
    ),
    SettingSpec(
        "churn_ratio",
        "ratio",
        "rules",
        "churn risk: 7-day chat rate under this share of the 30-day rate",
        "0.3",
        0.0,
        1.0,
    ),
    SettingSpec(
        "churn_min_lines_30d",
        "int",
        "rules",
        "churn risk: only members with at least this many chat lines in 30 days",
        "20",
        0,
        100_000,
    ),
    SettingSpec(
        "silent_grinder_min_xp",
        "int",
        "rules",
        "silent grinder: at least this much XP in 7 days without a chat line",
        "1,000,000",
        0,
        RUNG_MAX_XP,
    ),
    SettingSpec(
        "chatter_min_lines",
        "int",
        "rules",
        "chatter without progress: at least this many chat lines in 7 days, no progress",
        "50",
        0,
        100_000,
    ),
    SettingSpec(
        "social_pillar_share",
        "ratio",
        "rules",
        "'social pillar' tag: in this top share of the clan by chat lines",
        "0.1",
        0.0,
        1.0,
    ),
    SettingSpec(
        "carry_min_raid_kc",
        "int",
        "rules",
        "'carry potential' tag: at least this many raid kills gained in the window",
        "25",
        0,
        100_000,
    ),
    SettingSpec(
        "audit_tiers",
        "tiers",
        "rules",
        "officer audit: the rank tiers audited",
        "owner, deputy, leadership, officer",
    ),
    SettingSpec(
        "slump_tiers",
        "tiers",
        "rules",
        "leadership slump alert: the rank tiers watched",
        "owner, deputy, leadership",
    ),
    SettingSpec(
        "owner",
        "ranks",
        "ranks",
        "ranks in the owner tier",
        "`owner` if the clan has it, else its highest rank",
    ),
    SettingSpec(
        "deputy",
        "ranks",
        "ranks",
        "ranks in the deputy tier",
        "`deputy_owner` if the clan has it, else the next rank below the owner",
    ),
    SettingSpec(
        "leadership",
        "ranks",
        "ranks",
        "ranks in the leadership tier (audited, watched for slumps, never promoted to)",
        "the next 10 % of the rank order below owner and deputy",
    ),
    SettingSpec(
        "officer",
        "ranks",
        "ranks",
        "ranks in the officer tier (audited, never promoted to by a rung without a target)",
        "the 15 % of the rank order right below leadership",
    ),
    SettingSpec(
        "protected",
        "ranks",
        "ranks",
        "ranks never listed as purge candidates",
        "owner, deputy and leadership ranks",
    ),
    SettingSpec(
        LADDER_KEY,
        "ladder",
        "rules",
        "promotion ladder: per rank, the rank it moves to, the days at rank and the XP, "
        "chat lines or boss kills (30-day window) that make a member due",
        "the built-in ladder (fits a clan whose recruits start at `prospector`); "
        "`/config ladder-propose` builds one from the clan's own ranks",
    ),
)

#: Every setting an admin may change, in the order ``/config show`` lists them.
SETTINGS: Mapping[str, SettingSpec] = {spec.key: spec for spec in _SPECS}


def spec_of(key: str) -> SettingSpec:
    """The setting named ``key`` (any case); :class:`ConfigError` naming the known ones."""
    found = SETTINGS.get(key.strip().lower())
    if found is None:
        raise ConfigError(f"unknown setting {key!r}: use one of {', '.join(SETTINGS)}")
    return found


# ---------------------------------------------------------------------------------------------
# Reading and writing the settings JSON


def _section(settings: Mapping[str, Any], spec: SettingSpec) -> Mapping[str, Any]:
    section = settings.get(spec.section)
    return section if isinstance(section, Mapping) else {}


def stored_value(settings: Mapping[str, Any], key: str) -> Json | None:
    """The value stored for ``key``; None when the default applies."""
    spec = spec_of(key)
    value = _section(settings, spec).get(spec.key)
    return copy.deepcopy(value)


def with_value(settings: Mapping[str, Any], key: str, value: Json | None) -> dict[str, Any]:
    """A copy of ``settings`` with ``key`` set to ``value`` (None: back to the default).

    ``settings`` itself is never changed, so a refused change leaves nothing half-done.
    """
    spec = spec_of(key)
    updated: dict[str, Any] = copy.deepcopy(dict(settings))
    section = dict(_section(updated, spec))
    if value is None:
        section.pop(spec.key, None)
    else:
        section[spec.key] = copy.deepcopy(value)
    updated[spec.section] = section
    return updated


# ---------------------------------------------------------------------------------------------
# Parsing what an admin typed

_NUMBER = re.compile(r"^([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([kmb%]?)$", re.IGNORECASE)
_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000, "%": 0.01}
_CLEAR = {"none", "nobody", "-", "[]"}


def parse_number(text: str) -> float:
    """``1,000,000``, ``1_000_000``, ``1m``, ``500k``, ``0.5``, ``50%``; ConfigError else."""
    match = _NUMBER.match(text.strip())
    if match is None:
        raise ConfigError(f"{text!r} is not a number (e.g. 30, 0.5, 50%, 500k, 1m)")
    return float(match.group(1).replace("_", "").replace(",", "")) * _SUFFIX[match.group(2).lower()]


def _names(text: str) -> list[str]:
    if text.strip().lower() in _CLEAR:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


_RUNG_TEXT = re.compile(r"^\s*(?P<from>[^>]+?)\s*(?:>|→|->)\s*(?P<to>\S+)(?P<rest>.*)$")
_RUNG_TERM = re.compile(
    r"^(?:(?P<days>[0-9]+)d|(?P<name>xp|chat|lines|boss)=(?P<v>\S+)|(?P<mode>any|all))$"
)


def parse_rung_text(text: str) -> dict[str, Any]:
    """One rung as typed: ``prospector > tztok 14d xp=500k chat=50 boss=10 any``.

    ``to`` may be ``next`` (the rank directly above); days default to 0; ``any`` (the
    default) means one met requirement is enough, ``all`` that every one must be met.
    """
    match = _RUNG_TEXT.match(text)
    if match is None:
        raise ConfigError(
            f"rung {text.strip()!r}: write it as `from > to 14d xp=500k chat=50 boss=10 any`"
        )
    to_rank = match.group("to")
    rung: dict[str, Any] = {
        "from_rank": match.group("from"),
        "to_rank": None if to_rank.lower() == "next" else to_rank,
        "min_tenure_days": 0,
    }
    for term in match.group("rest").split():
        found = _RUNG_TERM.match(term.lower())
        if found is None:
            raise ConfigError(
                f"rung {text.strip()!r}: {term!r} is not one of 14d, xp=…, chat=…, boss=…, any, all"
            )
        if found.group("days"):
            rung["min_tenure_days"] = int(found.group("days"))
        elif found.group("mode"):
            rung["any_of"] = found.group("mode") == "any"
        else:
            field = {"xp": "min_xp", "chat": "min_lines", "lines": "min_lines"}.get(
                found.group("name"), "min_boss_kc"
            )
            rung[field] = parse_number(found.group("v"))
    return rung


def parse_text(key: str, text: str) -> Json:
    """The value an admin typed for ``key`` (the CLI's ``set``, a Discord text option), not
    yet checked (:func:`check_value` does that). ``default`` means back to the default
    (None); rank and tier lists are comma-separated (``none`` for an empty list); a ladder
    is a JSON list of rungs or rungs as text separated by ``;`` (:func:`parse_rung_text`)."""
    spec = spec_of(key)
    stripped = text.strip()
    if stripped.lower() == "default":
        return None
    if spec.kind in ("int", "ratio"):
        return parse_number(stripped)
    if spec.kind in ("ranks", "tiers"):
        return _names(stripped)
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"ladder: not valid JSON ({exc.msg} at {exc.pos})") from None
    if stripped.lower() in _CLEAR:
        return []
    return [parse_rung_text(part) for part in stripped.split(";") if part.strip()]


# ---------------------------------------------------------------------------------------------
# Checking a value


def _known_rank(rank: Any, order: Sequence[str], where: str) -> str:
    if not isinstance(rank, str) or not role_key(rank):
        raise ConfigError(f"{where}: a rank must be a name, got {rank!r}")
    key = role_key(rank)
    if key not in order:
        raise ConfigError(
            f"{where}: unknown rank {rank!r}: it is not in the clan's Wise Old Man rank order "
            f"({', '.join(order)})"
        )
    return key


def _int_in(value: Any, low: float, high: float, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a whole number, got {value!r}")
    if value != int(value):
        raise ConfigError(f"{where} must be a whole number, got {value:g}")
    if not low <= value <= high:
        raise ConfigError(f"{where} must be between {low:,.0f} and {high:,.0f}, got {value:,.0f}")
    return int(value)


def _rung_from_json(raw: Any, index: int, order: Sequence[str]) -> PromotionRung:
    where = f"ladder rung {index + 1}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be an object with from_rank, to_rank, …")
    extra = set(raw) - {f.name for f in dataclasses.fields(PromotionRung)}
    if extra:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    if "from_rank" not in raw:
        raise ConfigError(f"{where}: from_rank is missing")
    from_rank = raw["from_rank"]
    if from_rank != ANY_RANK:
        from_rank = _known_rank(from_rank, order, where)
    to_rank = raw.get("to_rank")
    if to_rank is not None:
        to_rank = _known_rank(to_rank, order, where)
    days = _int_in(raw.get("min_tenure_days", 0), 0, RUNG_MAX_DAYS, f"{where}: min_tenure_days")
    limits = {"min_xp": RUNG_MAX_XP, "min_lines": RUNG_MAX_LINES, "min_boss_kc": RUNG_MAX_BOSS_KC}
    numbers = {
        name: None if raw.get(name) is None else _int_in(raw[name], 0, high, f"{where}: {name}")
        for name, high in limits.items()
    }
    any_of = raw.get("any_of", True)
    if not isinstance(any_of, bool):
        raise ConfigError(f"{where}: any_of must be true or false, got {any_of!r}")
    return PromotionRung(
        from_rank,
        to_rank,
        days,
        min_xp=numbers["min_xp"],
        min_lines=numbers["min_lines"],
        any_of=any_of,
        min_boss_kc=numbers["min_boss_kc"],
    )


def _rung_label(rank: str) -> str:
    return "any rank" if rank == ANY_RANK else rank


def _first_rung(ladder: Sequence[PromotionRung], rank: str) -> PromotionRung | None:
    """The rung :func:`domain.rules.promotions` uses for ``rank``."""
    own = next((rung for rung in ladder if rung.from_rank == rank), None)
    if own is not None:
        return own
    return next((rung for rung in ladder if rung.from_rank == ANY_RANK), None)


def ladder_moves(ladder: Sequence[PromotionRung], order: Sequence[str]) -> dict[str, str]:
    """Where the ladder moves each rank of ``order`` (highest first): its rung's ``to_rank``,
    or the rank directly above for a rung without one (the top rank: nowhere)."""
    moves: dict[str, str] = {}
    for index, rank in enumerate(order):
        rung = _first_rung(ladder, rank)
        if rung is None:
            continue
        target = rung.to_rank if rung.to_rank is not None else (order[index - 1] if index else None)
        if target is not None:
            moves[rank] = target
    return moves


def ladder_loops(ladder: Sequence[PromotionRung], order: Sequence[str]) -> list[list[str]]:
    """Every loop the ladder makes (a rank whose promotions lead back to it), each once,
    starting at its lowest rank, lowest loops first: ``[["a", "b", "a"], …]``."""
    moves = ladder_moves(ladder, order)
    position = {rank: index for index, rank in enumerate(order)}
    loops: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for start in reversed(order):
        path: list[str] = []
        rank: str | None = start
        while rank is not None and rank not in path:
            path.append(rank)
            rank = moves.get(rank)
        if rank is None:
            continue
        cycle = path[path.index(rank) :]
        members = frozenset(cycle)
        if members in seen:
            continue
        seen.add(members)
        lowest = max(cycle, key=lambda r: position[r])
        at = cycle.index(lowest)
        ordered = cycle[at:] + cycle[:at]
        loops.append([*ordered, ordered[0]])
    return loops


def check_ladder(raw: Any, order: Sequence[str]) -> tuple[PromotionRung, ...]:
    """The ladder in ``raw`` (a list of rung objects), or :class:`ConfigError` saying why
    not: a rank outside ``order``, a number out of bounds, two rungs for one rank (the
    second would never be used), or a loop (``a → b → a``: promotions that never end)."""
    if not isinstance(raw, list):
        raise ConfigError("ladder: must be a list of rungs")
    if len(raw) > MAX_RUNGS:
        raise ConfigError(f"ladder: at most {MAX_RUNGS} rungs, got {len(raw)}")
    if raw and not order:
        raise ConfigError(f"ladder: {NO_ORDER}")
    rungs = tuple(_rung_from_json(item, index, order) for index, item in enumerate(raw))
    first: dict[str, int] = {}
    for index, rung in enumerate(rungs):
        if rung.from_rank in first:
            raise ConfigError(
                f"ladder rung {index + 1}: {_rung_label(rung.from_rank)} already has rung "
                f"{first[rung.from_rank] + 1}: one rung per rank"
            )
        first[rung.from_rank] = index
    loops = ladder_loops(rungs, order)
    if loops:
        shown = "; ".join(" → ".join(loop) for loop in loops)
        raise ConfigError(f"ladder loop: {shown}: a promotion must never lead back to a rank")
    return rungs


def rung_json(rung: PromotionRung) -> dict[str, Any]:
    """A rung as stored (the fields of :class:`PromotionRung`)."""
    return {
        "from_rank": rung.from_rank,
        "to_rank": rung.to_rank,
        "min_tenure_days": rung.min_tenure_days,
        "min_xp": rung.min_xp,
        "min_lines": rung.min_lines,
        "min_boss_kc": rung.min_boss_kc,
        "any_of": rung.any_of,
    }


def check_value(key: str, value: Json | None, role_order: Sequence[str]) -> Json | None:
    """``value`` checked and normalised for ``key`` (None: back to the default), or
    :class:`ConfigError` with the reason. Ranks must be in ``role_order`` (the clan's WOM rank
    order, highest first, as role keys)."""
    spec = spec_of(key)
    if value is None:
        return None
    order = tuple(role_key(r) for r in role_order)
    if spec.kind == "int":
        assert spec.minimum is not None and spec.maximum is not None
        return _int_in(value, spec.minimum, spec.maximum, spec.key)
    if spec.kind == "ratio":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{spec.key} must be a number between 0 and 1, got {value!r}")
        if not 0 <= value <= 1:
            raise ConfigError(f"{spec.key} must be between 0 and 1 (50% = 0.5), got {value:g}")
        return float(value)
    if spec.kind == "ladder":
        return [rung_json(rung) for rung in check_ladder(value, order)]
    if not isinstance(value, list):
        raise ConfigError(f"{spec.key} must be a list of names")
    if spec.kind == "tiers":
        tiers = {t.value for t in RankTier}
        bad = [str(v) for v in value if str(v).strip().lower() not in tiers]
        if bad:
            raise ConfigError(
                f"{spec.key}: unknown tier(s) {', '.join(bad)}: use {', '.join(sorted(tiers))}"
            )
        chosen = {str(v).strip().lower() for v in value}
        return [t.value for t in RankTier if t.value in chosen]
    # ranks
    if value and not order:
        raise ConfigError(f"{spec.key}: {NO_ORDER}")
    keys = {_known_rank(rank, order, spec.key) for rank in value}
    return [rank for rank in order if rank in keys]  # highest first, once each


# ---------------------------------------------------------------------------------------------
# The settings the rules run with


def rule_settings(settings: Mapping[str, Any]) -> RuleSettings:
    """The rule thresholds of a clan's settings JSON, defaults for what is not set.

    Tolerant of what older versions or a hand edit stored (no rank check here: the rank
    order may have changed since); :class:`ConfigError` naming the bad key otherwise.
    """
    raw = settings.get("rules") or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("clan settings: 'rules' must be an object")
    changes: dict[str, Any] = {}
    try:
        for spec in _SPECS:
            if spec.section != "rules" or spec.key not in raw:
                continue
            value = raw[spec.key]
            if spec.kind in ("int", "ratio"):
                changes[spec.key] = type(getattr(_DEFAULTS, spec.key))(value)
            elif spec.kind == "tiers":
                changes[spec.key] = frozenset(RankTier(str(t)) for t in value)
            else:
                changes[spec.key] = tuple(PromotionRung(**dict(rung)) for rung in value)
        return dataclasses.replace(RuleSettings(), **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"clan settings 'rules' are invalid: {exc}") from None


def rank_config(settings: Mapping[str, Any], role_order: Sequence[str]) -> RankConfig:
    """The clan's rank tiers: WOM's rank order, with the tiers its settings name."""
    overrides = settings.get("ranks") or {}
    kwargs: dict[str, Any] = {}
    if isinstance(overrides, Mapping):
        for tier in RANK_KEYS:
            if isinstance(overrides.get(tier), list):
                kwargs[tier] = [str(r) for r in overrides[tier]]
    return RankConfig.from_role_order(role_order, **kwargs)


# ---------------------------------------------------------------------------------------------
# Showing values


def _ranks_text(ranks: Sequence[str]) -> str:
    return ", ".join(pretty_rank(r) for r in ranks) if ranks else "none"


def _count(value: int | None, noun: str) -> str | None:
    return None if value is None else f"{value:,} {noun}"


def rung_text(rung: PromotionRung) -> str:
    """``Prospector → Tztok: 7 days at rank, and 250,000 XP or 20 chat lines``."""
    target = "the rank above" if rung.to_rank is None else pretty_rank(rung.to_rank)
    source = "Any other rank" if rung.from_rank == ANY_RANK else pretty_rank(rung.from_rank)
    wants = [
        w
        for w in (
            _count(rung.min_xp, "XP"),
            _count(rung.min_lines, "chat lines"),
            _count(rung.min_boss_kc, "boss kills"),
        )
        if w is not None
    ]
    text = f"{source} → {target}: {rung.min_tenure_days} days at rank"
    if wants:
        joined = (" or " if rung.any_of else " and ").join(wants)
        text += f", and {joined}"
    return text


def rung_typed(rung: PromotionRung) -> str:
    """A rung in the text form :func:`parse_rung_text` reads back."""
    parts = [rung.from_rank, ">", rung.to_rank or "next", f"{rung.min_tenure_days}d"]
    for name, value in (("xp", rung.min_xp), ("chat", rung.min_lines), ("boss", rung.min_boss_kc)):
        if value is not None:
            parts.append(f"{name}={value}")
    parts.append("any" if rung.any_of else "all")
    return " ".join(parts)


def format_value(key: str, value: Json | None, role_order: Sequence[str] = ()) -> str:
    """A stored value (or None: the default) as an admin reads it."""
    spec = spec_of(key)
    if value is None:
        return f"default ({effective_text(key, {}, role_order)})"
    if spec.kind == "int":
        return f"{int(value):,}"
    if spec.kind == "ratio":
        return f"{float(value):g} ({float(value):.0%})"
    if spec.kind == "tiers":
        return ", ".join(str(v) for v in value) if value else "none"
    if spec.kind == "ranks":
        return _ranks_text([str(v) for v in value])
    try:
        rungs = [PromotionRung(**dict(r)) for r in value]
    except (TypeError, ValueError):
        return json.dumps(value)
    return "; ".join(rung_text(r) for r in rungs) if rungs else "no rungs: nobody is promoted"


def effective_text(key: str, settings: Mapping[str, Any], role_order: Sequence[str]) -> str:
    """What the rules use for ``key`` now (the stored value or the default), as text."""
    spec = spec_of(key)
    if spec.section == "ranks":
        ranks = rank_config(settings, role_order)
        chosen: frozenset[str] = getattr(ranks, key)
        return _ranks_text(
            [r for r in ranks.role_order if r in chosen]
            + sorted(chosen - frozenset(ranks.role_order))
        )
    rules = rule_settings(settings)
    value = getattr(rules, key)
    if spec.kind == "int":
        return f"{value:,}"
    if spec.kind == "ratio":
        return f"{value:g} ({value:.0%})"
    if spec.kind == "tiers":
        return ", ".join(t.value for t in RankTier if t in value) or "none"
    ladder: tuple[PromotionRung, ...] = value
    return "; ".join(rung_text(r) for r in ladder) if ladder else "no rungs: nobody is promoted"


@dataclass(frozen=True, slots=True)
class ShownSetting:
    """One line of ``/config show``: the value in use and whether the clan set it."""

    key: str
    value: str
    is_set: bool
    stored: Json | None


def show(settings: Mapping[str, Any], role_order: Sequence[str]) -> list[ShownSetting]:
    """Every setting with the value the rules use now, in :data:`SETTINGS` order."""
    return [
        ShownSetting(
            key,
            effective_text(key, settings, role_order),
            stored_value(settings, key) is not None,
            stored_value(settings, key),
        )
        for key in SETTINGS
    ]


# ---------------------------------------------------------------------------------------------
# The proposal from the rank order


#: The proposed ladder's first rung: a recruit's first step after a week…
PROPOSED_FIRST_DAYS = 7
#: …each rung above asks for this many more days at rank…
PROPOSED_DAYS_STEP = 7
#: …up to this many.
PROPOSED_MAX_DAYS = 90
#: XP (30-day window) each rung asks for, per step up, and its cap.
PROPOSED_XP_STEP = 250_000
PROPOSED_MAX_XP = 5_000_000
#: Chat lines (30-day window) each rung asks for, per step up, and its cap.
PROPOSED_LINES_STEP = 20
PROPOSED_MAX_LINES = 400


def propose_tiers(role_order: Sequence[str]) -> RankConfig:
    """The tiers proposed for a clan's WOM rank order (``roleOrders``, highest first): owner,
    deputy, the next 10 % as leadership, the 15 % below as officers, protected = owner,
    deputy and leadership (:meth:`domain.ranks.RankConfig.from_role_order`). The lowest rank
    is never staff: it is where recruits start."""
    return RankConfig.from_role_order(role_order)


def propose_ladder(
    role_order: Sequence[str], tiers: RankConfig | None = None
) -> tuple[PromotionRung, ...]:
    """A promotion ladder for a clan's WOM rank order (highest first, any spelling).

    One rung between each pair of consecutive non-staff ranks, from the lowest rank (where
    recruits start) upwards: rung *i* (0 = the lowest) asks for ``7 + 7·i`` days at rank (at
    most 90), and ``250,000·(i+1)`` XP (at most 5 M) *or* ``20·(i+1)`` chat lines (at most
    400) in the 30-day window. Staff ranks (owner, deputy, leadership, officer of ``tiers``,
    by default :func:`propose_tiers`) are never proposed: neither promoted from nor into;
    officers promote into them by hand. The result always passes :func:`check_ladder` for
    ``role_order``: only its ranks, no loop (every rung moves strictly up).
    """
    order = RankConfig(role_order=tuple(role_order)).role_order  # role keys, once each
    chosen = tiers if tiers is not None else propose_tiers(order)
    members = [r for r in order if chosen.tier_of(r) is RankTier.MEMBER]
    climbing = list(reversed(members))  # lowest first
    rungs: list[PromotionRung] = []
    for step, (low, high) in enumerate(itertools.pairwise(climbing)):
        days = PROPOSED_FIRST_DAYS + PROPOSED_DAYS_STEP * step
        rungs.append(
            PromotionRung(
                low,
                high,
                min_tenure_days=min(days, PROPOSED_MAX_DAYS),
                min_xp=min(PROPOSED_XP_STEP * (step + 1), PROPOSED_MAX_XP),
                min_lines=min(PROPOSED_LINES_STEP * (step + 1), PROPOSED_MAX_LINES),
                any_of=True,
            )
        )
    return tuple(rungs)


def proposal(role_order: Sequence[str]) -> dict[str, Json]:
    """The settings the proposal sets, by key (tiers, protected ranks, ladder), in the form
    :func:`check_value` accepts and :func:`with_value` stores: what ``/setup`` shows the admin
    to confirm and ``clanstats config propose --apply`` saves."""
    tiers = propose_tiers(role_order)
    values: dict[str, Json] = {
        key: [r for r in tiers.role_order if r in getattr(tiers, key)] for key in RANK_KEYS
    }
    values[LADDER_KEY] = [rung_json(r) for r in propose_ladder(tiers.role_order, tiers)]
    return values


__all__ = [
    "DEFAULT_LADDER",
    "INACTIVITY_KEYS",
    "LADDER_KEY",
    "RANK_KEYS",
    "SETTINGS",
    "THRESHOLD_KEYS",
    "TIER_KEYS",
    "TIER_LIST_KEYS",
    "ConfigError",
    "SettingSpec",
    "ShownSetting",
    "check_ladder",
    "check_value",
    "effective_text",
    "format_value",
    "ladder_loops",
    "ladder_moves",
    "parse_number",
    "parse_rung_text",
    "parse_text",
    "proposal",
    "propose_ladder",
    "propose_tiers",
    "rank_config",
    "rule_settings",
    "rung_json",
    "rung_text",
    "rung_typed",
    "show",
    "spec_of",
    "stored_value",
    "with_value",
]
