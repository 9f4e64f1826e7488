"""Marking repeat relays when new relay rows are stored (the rule is
:mod:`domain.relay_duplicates`; this applies it to stored rows inside the ingest transaction).

Several relays (or one relay twice) may post the same line within seconds: one row counts,
the others point at it. The rule is recomputed forward from the earliest new row of each
group, so the outcome does not depend on the order in which rows arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.relay_duplicates import DUPLICATE_WINDOW, LineRow, assign_duplicates
from storage.repositories import relay as repo


class NewLine(Protocol):
    """What the rule reads of a newly stored row (a parsed row of the ingest)."""

    @property
    def message_id(self) -> int: ...
    @property
    def part(self) -> int: ...
    @property
    def posted_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def rsn_key(self) -> str | None: ...
    @property
    def text(self) -> str: ...


DEDUPE_KINDS = frozenset(repo.DEDUPE_KINDS)
_EXTEND_PAGE = 200

GroupKey = tuple[str, str | None, str]


async def mark_duplicates(
    session: AsyncSession,
    clan_id: int,
    new_rows: Sequence[tuple[int, NewLine]],
    stored: Iterable[repo.StoredLine],
    window: tuple[datetime, datetime],
) -> dict[int, int | None]:
    """Apply the duplicate rule to every line group the new rows belong to.

    Returns the ``duplicate_of`` value of every row it changed (new rows start as canonical).
    Groups whose rows are all canonical and more than the window apart are left as they are
    without building the rule's rows: that is what the rule would give them, and it is the
    common case in bulk imports (a player saying "gz" twice an hour apart).
    """
    # (posted_at, message_id, part, row id, duplicate_of): tuples sort in the rule's order.
    groups: dict[GroupKey, list[_Line]] = {}
    # The earliest new line of each group (new lines differ in (message id, part), so whole
    # lines compare as their sort keys do; the key is cut out only where it is used).
    starts: dict[GroupKey, _Line] = {}
    for row_id, row in new_rows:
        kind = row.kind
        if kind not in DEDUPE_KINDS:
            continue
        group: GroupKey = (kind, row.rsn_key, row.text)
        line: _Line = (row.posted_at, row.message_id, row.part, row_id, None)
        lines = groups.get(group)
        if lines is None:
            groups[group] = [line]
            starts[group] = line
            continue
        lines.append(line)
        if line < starts[group]:
            starts[group] = line
    for old in stored:
        lines = groups.get((old.kind, old.rsn_key, old.text))
        if lines is not None:
            lines.append((old.posted_at, old.message_id, old.part, old.id, old.duplicate_of))

    # A row after this can only chain from rows stored after the batch: see _extend_forward.
    last_new = window[1] - DUPLICATE_WINDOW
    changes: dict[int, int | None] = {}
    for group, lines in groups.items():
        if len(lines) == 1:
            continue  # a lone new row is canonical, as inserted
        lines.sort()
        if not _may_change(lines, last_new):
            continue
        rule_rows = {
            line[3]: LineRow(line[3], line[1], line[2], line[0], line[4]) for line in lines
        }
        await _extend_forward(session, clan_id, group, rule_rows, window[1])
        start = starts[group]
        changes.update(assign_duplicates(rule_rows.values(), (start[0], start[1], start[2])))
    await repo.set_duplicate_of(session, changes)
    return changes


_Line = tuple[datetime, int, int, int, int | None]


def _may_change(lines: list[_Line], last_new: datetime) -> bool:
    """False when the duplicate rule leaves every row of a sorted group as it is.

    That holds when every row is canonical now, consecutive rows are more than the window
    apart (so no row has an anchor close enough) and no row comes after the batch (so no
    later stored row needs loading).
    """
    if lines[-1][0] > last_new:
        return True
    previous: datetime | None = None
    for posted, _message_id, _part, _row_id, duplicate_of in lines:
        if duplicate_of is not None:
            return True
        if previous is not None and posted - previous <= DUPLICATE_WINDOW:
            return True
        previous = posted
    return False


async def _extend_forward(
    session: AsyncSession,
    clan_id: int,
    group: GroupKey,
    lines: dict[int, LineRow],
    boundary: datetime,
) -> None:
    """Load later rows of a group whose status may chain from the rows already loaded.

    A row after ``boundary`` can only be a duplicate of a row at most the window earlier, so
    more rows are needed only while a loaded row is that close to the boundary (only rows
    stored after the batch can be: the batch ends a full window before ``boundary``).
    """
    kind, rsn_key, text_ = group
    while max(line.posted_at for line in lines.values()) > boundary - DUPLICATE_WINDOW:
        more = await repo.identical_lines_after(
            session,
            clan_id,
            kind=kind,
            rsn_key=rsn_key,
            text_=text_,
            after=boundary,
            limit=_EXTEND_PAGE,
        )
        fresh = [m for m in more if m.id not in lines]
        for m in fresh:
            lines[m.id] = LineRow(m.id, m.message_id, m.part, m.posted_at, m.duplicate_of)
        if len(more) < _EXTEND_PAGE or not fresh:
            return
        boundary = max(m.posted_at for m in more)
