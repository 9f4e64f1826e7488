"""Leaderboard metric names: what officers type (``cox``, ``vork``, ``Total XP``) → WOM names.

Pure. A leaderboard can rank any WOM metric by name (skills, bosses, activities, computed) plus
``chat`` (relayed in-game chat lines). :func:`resolve_metric` accepts WOM names in any spelling
and the nicknames players use; :func:`metric_choices` feeds a slash command's autocomplete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

from domain.activity import ACTIVITY_METRICS, COMPUTED_METRICS, SKILL_METRICS

#: Relayed in-game chat lines (not a WOM metric).
CHAT_METRIC = "chat"
#: Total experience (WOM's ``overall`` skill).
XP_METRIC = "xp"

#: Discord caps autocomplete at 25 choices.
MAX_CHOICES = 25

_SEPARATORS = re.compile(r"[\s_\-'’.:]+")

#: Nicknames players use, by their folded form (see :func:`_fold`).
NICKNAMES: MappingProxyType[str, str] = MappingProxyType(
    {
        # totals and computed
        "overall": XP_METRIC,
        "total": XP_METRIC,
        "total_xp": XP_METRIC,
        "exp": XP_METRIC,
        "experience": XP_METRIC,
        "messages": CHAT_METRIC,
        "lines": CHAT_METRIC,
        "chat_lines": CHAT_METRIC,
        "efficient_hours_played": "ehp",
        "efficient_hours_bossed": "ehb",
        # skills
        "att": "attack",
        "atk": "attack",
        "def": "defence",
        "defense": "defence",
        "str": "strength",
        "hp": "hitpoints",
        "range": "ranged",
        "ranging": "ranged",
        "pray": "prayer",
        "mage": "magic",
        "cook": "cooking",
        "wc": "woodcutting",
        "fletch": "fletching",
        "fish": "fishing",
        "fm": "firemaking",
        "craft": "crafting",
        "smith": "smithing",
        "mine": "mining",
        "herb": "herblore",
        "agi": "agility",
        "agil": "agility",
        "thieve": "thieving",
        "thiev": "thieving",
        "slay": "slayer",
        "farm": "farming",
        "rc": "runecrafting",
        "runecraft": "runecrafting",
        "hunt": "hunter",
        "con": "construction",
        "cons": "construction",
        "sail": "sailing",
        # raids
        "cox": "chambers_of_xeric",
        "raids": "chambers_of_xeric",
        "raids_1": "chambers_of_xeric",
        "cm": "chambers_of_xeric_challenge_mode",
        "cox_cm": "chambers_of_xeric_challenge_mode",
        "tob": "theatre_of_blood",
        "raids_2": "theatre_of_blood",
        "hmt": "theatre_of_blood_hard_mode",
        "tob_hm": "theatre_of_blood_hard_mode",
        "hm_tob": "theatre_of_blood_hard_mode",
        "toa": "tombs_of_amascut",
        "raids_3": "tombs_of_amascut",
        "toa_expert": "tombs_of_amascut_expert",
        "expert_toa": "tombs_of_amascut_expert",
        # bosses
        "cg": "the_corrupted_gauntlet",
        "corrupted_gauntlet": "the_corrupted_gauntlet",
        "cgauntlet": "the_corrupted_gauntlet",
        "gauntlet": "the_gauntlet",
        "vork": "vorkath",
        "zul": "zulrah",
        "hydra": "alchemical_hydra",
        "alch_hydra": "alchemical_hydra",
        "sire": "abyssal_sire",
        "cerb": "cerberus",
        "kq": "kalphite_queen",
        "kbd": "king_black_dragon",
        "corp": "corporeal_beast",
        "zilyana": "commander_zilyana",
        "sara": "commander_zilyana",
        "zily": "commander_zilyana",
        "graardor": "general_graardor",
        "bandos": "general_graardor",
        "kree": "kreearra",
        "arma": "kreearra",
        "armadyl": "kreearra",
        "zammy": "kril_tsutsaroth",
        "kril": "kril_tsutsaroth",
        "mole": "giant_mole",
        "gg": "grotesque_guardians",
        "ggs": "grotesque_guardians",
        "dusk": "grotesque_guardians",
        "thermy": "thermonuclear_smoke_devil",
        "smoke_devil": "thermonuclear_smoke_devil",
        "jad": "tztok_jad",
        "zuk": "tzkal_zuk",
        "inferno": "tzkal_zuk",
        "colo": "sol_heredit",
        "colosseum": "sol_heredit",
        "sol": "sol_heredit",
        "muspah": "phantom_muspah",
        "pnm": "phosanis_nightmare",
        "phosani": "phosanis_nightmare",
        "nm": "nightmare",
        "duke": "duke_sucellus",
        "levi": "the_leviathan",
        "leviathan": "the_leviathan",
        "whisperer": "the_whisperer",
        "vard": "vardorvis",
        "huey": "the_hueycoatl",
        "hueycoatl": "the_hueycoatl",
        "titans": "the_royal_titans",
        "royal_titans": "the_royal_titans",
        "rt": "the_royal_titans",
        "doom": "doom_of_mokhaiotl",
        "amox": "amoxliatl",
        "vet": "vetion",
        "vetion": "vetion",
        "calv": "calvarion",
        "dks": "dagannoth_rex",
        "rex": "dagannoth_rex",
        "prime": "dagannoth_prime",
        "supreme": "dagannoth_supreme",
        "barrows": "barrows_chests",
        "lunar": "lunar_chests",
        "wt": "wintertodt",
        "todt": "wintertodt",
        "temp": "tempoross",
        "zalc": "zalcano",
        "scurry": "scurrius",
        "rat": "scurrius",
        "sarach": "sarachnis",
        "kraken": "kraken",
        "fanatic": "chaos_fanatic",
        "chaos_ele": "chaos_elemental",
        "crazy_arch": "crazy_archaeologist",
        "deranged_arch": "deranged_archaeologist",
        # activities
        "clues": "clue_scrolls_all",
        "clue": "clue_scrolls_all",
        "clue_scrolls": "clue_scrolls_all",
        "beginner_clues": "clue_scrolls_beginner",
        "easy_clues": "clue_scrolls_easy",
        "medium_clues": "clue_scrolls_medium",
        "hard_clues": "clue_scrolls_hard",
        "elite_clues": "clue_scrolls_elite",
        "master_clues": "clue_scrolls_master",
        "lms": "last_man_standing",
        "gotr": "guardians_of_the_rift",
        "rifts": "guardians_of_the_rift",
        "sw": "soul_wars_zeal",
        "soul_wars": "soul_wars_zeal",
        "clog": "collections_logged",
        "collection_log": "collections_logged",
        "glory": "colosseum_glory",
        "bh": "bounty_hunter_hunter",
        "pvp": "pvp_arena",
    }
)

#: Metrics every clan has whatever its snapshots hold (bosses come from ``known_names``).
BASE_METRICS: frozenset[str] = frozenset(
    {XP_METRIC, CHAT_METRIC} | (SKILL_METRICS - {"overall"}) | ACTIVITY_METRICS | COMPUTED_METRICS
)


class UnknownMetricError(ValueError):
    """A leaderboard metric nobody knows; the message says what is accepted."""


def _fold(text: str) -> str:
    """Fold spelling: ``"Theatre of Blood"`` / ``"theatre-of-blood"`` → ``theatre_of_blood``."""
    return _SEPARATORS.sub("_", text.strip().lower()).strip("_")


def resolve_metric(text: str, known_names: Iterable[str] = ()) -> str:
    """Return the canonical metric name for ``text``: ``xp``, ``chat`` or a WOM metric name.

    Accepts WOM names in any case and spacing (``Theatre of Blood``), the nicknames in
    :data:`NICKNAMES` (``cox``, ``tob``, ``toa``, ``cg``, ``vork``…) and any name in
    ``known_names`` (metrics seen in stored snapshots, so bosses WOM adds later work too).
    Raises :class:`UnknownMetricError` otherwise.
    """
    folded = _fold(text)
    if not folded:
        raise UnknownMetricError("no metric given: try xp, ehp, ehb, chat or a boss like cox")
    if folded in NICKNAMES:
        return NICKNAMES[folded]
    known = {_fold(name): name for name in known_names}
    if folded in BASE_METRICS:
        return folded
    if folded in known:
        return known[folded]
    if folded.startswith("the_") and folded[4:] in known:
        return known[folded[4:]]
    if "the_" + folded in known:
        return known["the_" + folded]
    raise UnknownMetricError(
        f"unknown metric {text!r}: use xp, ehp, ehb, chat, a skill, an activity "
        "or a boss (e.g. cox, tob, toa, cg, vorkath)"
    )


def metric_label(name: str) -> str:
    """Human label of a canonical metric: ``chambers_of_xeric`` → ``Chambers Of Xeric``."""
    if name == XP_METRIC:
        return "XP"
    if name in ("ehp", "ehb"):
        return name.upper()
    if name == CHAT_METRIC:
        return "Chat lines"
    return " ".join(word.capitalize() for word in name.split("_"))


def metric_choices(prefix: str, known_names: Iterable[str] = ()) -> list[str]:
    """Canonical metric names for autocomplete, at most :data:`MAX_CHOICES`.

    Names starting with the typed text come first, then names containing it, then names a
    matching nickname points at; each group alphabetical, ``xp`` and ``chat`` first when they
    match. An empty prefix lists the most asked-for metrics first.
    """
    names = set(BASE_METRICS) | {n for n in known_names if n != "overall"}
    folded = _fold(prefix)
    if not folded:
        popular = [
            XP_METRIC,
            "ehp",
            "ehb",
            CHAT_METRIC,
            "chambers_of_xeric",
            "theatre_of_blood",
            "tombs_of_amascut",
        ]
        rest = sorted(names - set(popular))
        return [*(p for p in popular if p in names), *rest][:MAX_CHOICES]
    first = {XP_METRIC: 0, CHAT_METRIC: 1}
    starts = sorted((n for n in names if n.startswith(folded)), key=lambda n: (first.get(n, 9), n))
    contains = sorted(n for n in names if folded in n and n not in starts)
    via_nick = sorted(
        {
            target
            for nick, target in NICKNAMES.items()
            if nick.startswith(folded) and target in names
        }
        - set(starts)
        - set(contains)
    )
    return [*starts, *contains, *via_nick][:MAX_CHOICES]
