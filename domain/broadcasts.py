"""Reading values out of clan broadcast texts for the daily report's notable broadcasts.

Pure. The relay parser (:mod:`domain.relay`) already classifies broadcasts; this module only
reads the numbers a report wants: how many coins a drop was worth, whether a level-up is a 99.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.relay import BroadcastType

# An amount as the game and the relay tools write it: "1,456,814", "1 456 814", "1.45", "450".
_AMOUNT = r"\d{1,3}(?:[,\u00a0 ]\d{3})+|\d+(?:\.\d+)?"
# "(1,456,814 coins)", "worth 489,181 coins", "(1.2M coins)", "for 2.3K gp": a named currency.
_COINS = re.compile(
    rf"(?P<amount>{_AMOUNT})\s*(?P<unit>[kmb])?\s*(?:coins?|gp)\b",
    re.IGNORECASE,
)
# Dink (RuneLite's stack notation) puts an item's value in parentheses without a currency:
# "(1.45M)", "(12.3K)", "(2.14B)", and below 10,000 "(9,450)".
_STACK = re.compile(r"\((?P<amount>\d{1,3}(?:,\d{3})*(?:\.\d+)?)(?P<unit>[KMB])\)")
_SMALL_STACK = re.compile(r"\((?P<amount>\d{1,3}(?:,\d{3})+)\)(?!\s*coins?\b)")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
# "has reached Attack level 99", Dink's "has levelled Attack to 99" (or "… to 99, …").
_LEVEL_99 = re.compile(r"\blevel\s+99\b|\bto 99\b(?!,\d)", re.IGNORECASE)

#: Broadcast types whose coin value is what the player received.
DROP_TYPES: frozenset[str] = frozenset(
    {BroadcastType.DROP, BroadcastType.RAID_DROP, BroadcastType.CLUE_ITEM, BroadcastType.LOOT_KEY}
)


def coin_value(text: str) -> int | None:
    """The largest coin amount named in ``text`` (``"… (1,456,814 coins)."`` → 1456814).

    Reads thousands separators, ``k``/``m``/``b`` suffixes, ``coins`` or ``gp``, and Dink's
    bare item values in parentheses (``"(1.45M)"``, ``"(9,450)"``); None when no amount is
    named.
    """
    best: int | None = None
    for pattern in (_COINS, _STACK, _SMALL_STACK):
        for match in pattern.finditer(text):
            digits = re.sub(r"[,\u00a0 ]", "", match.group("amount"))
            unit = (match.groupdict().get("unit") or "").lower()
            value = int(float(digits) * _UNITS[unit])
            best = value if best is None else max(best, value)
    return best


def is_level_99(broadcast_type: str | None, text: str) -> bool:
    """True for a level-up broadcast announcing a level 99."""
    return broadcast_type == BroadcastType.LEVEL and _LEVEL_99.search(text) is not None


@dataclass(frozen=True, slots=True)
class BroadcastLine:
    """A stored broadcast as the report reads it."""

    member_id: int | None
    display_name: str | None
    broadcast_type: str | None
    text: str
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class Notable:
    """The broadcasts of a day worth showing, each list most notable first."""

    drops: tuple[tuple[BroadcastLine, int], ...]
    pets: tuple[BroadcastLine, ...]
    level_99s: tuple[BroadcastLine, ...]


def notable_broadcasts(lines: Iterable[BroadcastLine], *, limit: int = 5) -> Notable:
    """Biggest drops by coin value, pets and 99s (earliest first), ``limit`` of each."""
    drops: list[tuple[BroadcastLine, int]] = []
    pets: list[BroadcastLine] = []
    nines: list[BroadcastLine] = []
    for line in lines:
        if line.broadcast_type in DROP_TYPES:
            value = coin_value(line.text)
            if value is not None:
                drops.append((line, value))
        elif line.broadcast_type == BroadcastType.PET:
            pets.append(line)
        elif is_level_99(line.broadcast_type, line.text):
            nines.append(line)
    drops.sort(key=lambda item: (-item[1], item[0].posted_at))
    return Notable(
        drops=tuple(drops[:limit]),
        pets=tuple(_by_time(pets)[:limit]),
        level_99s=tuple(_by_time(nines)[:limit]),
    )


def _by_time(lines: Sequence[BroadcastLine]) -> list[BroadcastLine]:
    return sorted(lines, key=lambda line: line.posted_at)
