"""``/clan drops``: the biggest drops by value, pets, collection-log items and 99s of a period.

Read from the stored broadcasts and valued by :func:`domain.broadcasts.notable_broadcasts`,
the same reading the daily report's "Notable" section uses (:func:`notable_between` serves
both), so a drop is worth the same on both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.tables import Cell, csv_bytes, iso_utc
from bot.usecases.context import App
from bot.usecases.reports.loader import parse_windows
from domain.activity import Window
from domain.broadcasts import DROP_TYPES, BroadcastLine, Notable, notable_broadcasts
from domain.relay import BroadcastType
from storage.repositories import reports as repo

#: Every broadcast type the notable lists read: the drop types (whatever the domain counts as
#: a drop), pets, levels (for 99s) and collection-log items.
NOTABLE_TYPES: tuple[str, ...] = tuple(
    sorted(
        {
            *DROP_TYPES,
            BroadcastType.PET,
            BroadcastType.LEVEL,
            BroadcastType.COLLECTION_LOG,
        }
    )
)
#: Entries per list of ``/clan drops`` unless asked otherwise.
DROPS_LIMIT = 25


@dataclass(frozen=True, slots=True)
class NotableLists:
    """The notable broadcasts of a stretch of time: what the daily report shows, plus the
    collection-log items (earliest first)."""

    notable: Notable
    collection_log: tuple[BroadcastLine, ...]


@dataclass(frozen=True, slots=True)
class ClanDrops:
    """``/clan drops`` for one period."""

    window: Window
    lists: NotableLists

    @property
    def empty(self) -> bool:
        n = self.lists.notable
        return not (n.drops or n.pets or n.level_99s or self.lists.collection_log)


async def notable_between(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime, *, limit: int
) -> NotableLists:
    """The counted broadcasts of ``[start, end)`` worth showing, ``limit`` of each list."""
    lines = await repo.broadcast_lines(session, clan_id, start, end, NOTABLE_TYPES)
    logs = [line for line in lines if line.broadcast_type == BroadcastType.COLLECTION_LOG]
    return NotableLists(notable_broadcasts(lines, limit=limit), tuple(logs[:limit]))


async def clan_drops(
    app: App, clan_id: int, period: str, as_of: datetime, *, limit: int = DROPS_LIMIT
) -> ClanDrops:
    """The notable broadcasts of ``period`` (``1d``, ``7d``, ``30d``…) ending at ``as_of``.

    Raises :class:`~bot.usecases.reports.ReportInputError` for a bad period.
    """
    (window,) = parse_windows([period], as_of)
    async with app.db.read() as session:
        lists = await notable_between(session, clan_id, window.start, window.end, limit=limit)
    return ClanDrops(window, lists)


# ---------------------------------------------------------------------------------------------
# Rendering for the CLI (and the CSV behind the slash command's button)


def _line(line: BroadcastLine) -> dict[str, object]:
    return {
        "display_name": line.display_name,
        "type": line.broadcast_type,
        "text": line.text,
        "posted_at": iso_utc(line.posted_at),
    }


def drops_dict(drops: ClanDrops, as_of: datetime) -> dict[str, object]:
    """``/clan drops`` as a JSON-ready object."""
    n = drops.lists.notable
    return {
        "period": drops.window.label,
        "start": iso_utc(drops.window.start),
        "end": iso_utc(drops.window.end),
        "as_of": iso_utc(as_of),
        "drops": [{**_line(line), "coins": coins} for line, coins in n.drops],
        "pets": [_line(line) for line in n.pets],
        "collection_log": [_line(line) for line in drops.lists.collection_log],
        "level_99s": [_line(line) for line in n.level_99s],
    }


def drops_json(drops: ClanDrops, as_of: datetime) -> str:
    return json.dumps(drops_dict(drops, as_of), indent=2, ensure_ascii=False) + "\n"


def drops_text(drops: ClanDrops, as_of: datetime) -> str:
    n = drops.lists.notable
    out = [f"drops, pets, collection log and 99s ({drops.window.label}, as of {iso_utc(as_of)})"]
    sections: list[tuple[str, list[str]]] = [
        ("biggest drops", [f"{coins:,} coins  {line.text}" for line, coins in n.drops]),
        ("pets", [line.text for line in n.pets]),
        ("collection log", [line.text for line in drops.lists.collection_log]),
        ("99s", [line.text for line in n.level_99s]),
    ]
    for title, lines in sections:
        out.append(f"  {title}: {len(lines)}")
        out.extend(f"    {text}" for text in lines)
    return "\n".join(out) + "\n"


def drops_csv(drops: ClanDrops) -> bytes:
    """Every entry of ``/clan drops`` as CSV: list, member, coins, text, time."""
    n = drops.lists.notable
    rows: list[list[Cell]] = [
        ["drop", line.display_name, coins, line.text, line.posted_at] for line, coins in n.drops
    ]
    rows += [["pet", line.display_name, None, line.text, line.posted_at] for line in n.pets]
    rows += [
        ["collection_log", line.display_name, None, line.text, line.posted_at]
        for line in drops.lists.collection_log
    ]
    rows += [
        ["level_99", line.display_name, None, line.text, line.posted_at] for line in n.level_99s
    ]
    return csv_bytes(["list", "member", "coins", "text", "posted_at"], rows)
