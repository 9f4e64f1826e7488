"""Portable bulk insert-ignore and upsert for SQLite and PostgreSQL.

Both dialects share ``insert(...).on_conflict_do_nothing/do_update`` and ``RETURNING``, so
"what was new" comes back from the same statement that wrote it: no read-then-write race.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# SQLite allows 32,766 bound parameters per statement; PostgreSQL 32,767.
_MAX_PARAMS = 32_000


def _table(model: type[DeclarativeBase] | Table) -> Table:
    if isinstance(model, Table):
        return model
    table = model.__table__
    assert isinstance(table, Table)
    return table


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """``INSERT`` with the session's dialect's ``ON CONFLICT`` support (SQLite, PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def _chunks(rows: Sequence[Mapping[str, Any]]) -> Iterable[Sequence[Mapping[str, Any]]]:
    if not rows:
        return
    per_row = max(1, len(rows[0]))
    size = max(1, _MAX_PARAMS // per_row)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def insert_ignore(
    session: AsyncSession,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows``, skipping those that collide on ``conflict_columns``.

    Returns one tuple of ``returning`` columns per row that was actually new (empty tuples
    when ``returning`` is empty), so ``len(result)`` is the number of new rows.
    """
    table = _table(model)
    cols: list[Column[Any]] = [table.c[name] for name in returning] or [
        next(iter(table.primary_key.columns))
    ]
    new: list[tuple[Any, ...]] = []
    for chunk in _chunks(rows):
        stmt = (
            dialect_insert(session, table)
            .values(list(chunk))
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
            .returning(*cols)
        )
        result = await session.execute(stmt)
        for row in result.all():
            new.append(tuple(row) if returning else ())
    return new


async def upsert(
    session: AsyncSession,
    model: type[DeclarativeBase] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` or, on conflict, overwrite ``update_columns`` with the new values.

    Returns one tuple of ``returning`` columns for every row written (new or updated).
    """
    table = _table(model)
    cols = [table.c[name] for name in returning] or [next(iter(table.primary_key.columns))]
    written: list[tuple[Any, ...]] = []
    for chunk in _chunks(rows):
        stmt = dialect_insert(session, table).values(list(chunk))
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict_columns),
            set_={name: stmt.excluded[name] for name in update_columns},
        ).returning(*cols)
        result = await session.execute(stmt)
        for row in result.all():
            written.append(tuple(row) if returning else ())
    return written
