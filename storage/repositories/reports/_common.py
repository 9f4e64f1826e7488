"""What the report queries share: which relayed rows count, and reading times back."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    literal_column,
)

from storage.models import (
    RelayMessage,
)

CHAT: ColumnElement[str] = literal_column("'chat'")
BROADCAST: ColumnElement[str] = literal_column("'broadcast'")


@functools.lru_cache(maxsize=8)  # CHAT and BROADCAST: bounded all the same
def counted(kind: ColumnElement[Any]) -> ColumnElement[bool]:
    """Rows that count: of ``kind``, not a repeat relay, not deleted (see module doc).
    Built once per kind (statements are immutable; a report asks this dozens of times)."""
    return and_(
        RelayMessage.kind == kind,
        RelayMessage.duplicate_of.is_(None),
        RelayMessage.deleted_at.is_(None),
    )


def utc(value: Any) -> datetime | None:
    """A timestamp from a scalar subquery (typed by SQLAlchemy on PostgreSQL, a string on
    SQLite when the subquery loses the column type)."""
    if value is None:
        return None
    if isinstance(value, str):
        return from_text(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_text(value: str) -> datetime:
    """SQLite's stored text of a UTC timestamp as an aware datetime. Appending the offset
    and parsing is ~10x cheaper than ``.replace(tzinfo=UTC)`` after parsing (which matters
    at thousands of rows per report)."""
    try:
        return datetime.fromisoformat(value + "+00:00")
    except ValueError:  # already carries an offset, or is not a full timestamp
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
