"""Duplicate relays: the same line posted more than once because several members relay it.

When several clan members run a relay plugin, one in-game line reaches Discord as several
messages a few seconds apart. The rule, applied to the rows of one *line group* (same kind,
same player key, same text) in ``(posted_at, message_id, part)`` order:

* the *anchor* is the latest canonical row seen so far;
* a row is a duplicate of the anchor when it comes from a different Discord message and was
  posted at most :data:`DUPLICATE_WINDOW` after it; otherwise it is canonical and becomes the
  new anchor.

A row's status depends only on the rows before it, so when rows arrive out of order (live
first, backfill later) recomputing forward from the earliest new row gives exactly what
ingesting everything in order would have given: the earliest post is always the canonical one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DUPLICATE_WINDOW = timedelta(seconds=20)

SortKey = tuple[datetime, int, int]


@dataclass(frozen=True, slots=True)
class LineRow:
    """One stored row of a line group, as the duplicate rule sees it."""

    row_id: int
    message_id: int
    part: int
    posted_at: datetime
    duplicate_of: int | None

    @property
    def sort_key(self) -> SortKey:
        return (self.posted_at, self.message_id, self.part)


def assign_duplicates(
    rows: Iterable[LineRow],
    recompute_from: SortKey,
    *,
    window: timedelta = DUPLICATE_WINDOW,
) -> dict[int, int | None]:
    """Apply the duplicate rule to one line group; return ``row_id → duplicate_of`` changes.

    Rows before ``recompute_from`` keep their stored status (it cannot depend on later rows);
    every row at or after it is recomputed, and only rows whose value changes are returned.
    """
    changes: dict[int, int | None] = {}
    anchor: LineRow | None = None
    for row in sorted(rows, key=lambda r: r.sort_key):
        if row.sort_key < recompute_from:
            if row.duplicate_of is None:
                anchor = row
            continue
        wanted: int | None = None
        if (
            anchor is not None
            and anchor.message_id != row.message_id
            and row.posted_at - anchor.posted_at <= window
        ):
            wanted = anchor.row_id
        if wanted is None:
            anchor = row
        if wanted != row.duplicate_of:
            changes[row.row_id] = wanted
    return changes
