"""Portable bulk insert-ignore and upsert for SQLite and PostgreSQL.

Both dialects share ``insert(...).on_conflict_do_nothing/do_update`` and ``RETURNING``, so
"what was new" comes back from the same statement that wrote it: no read-then-write race.
The rows go as one executemany: SQLAlchemy's "insertmanyvalues" batches them into multi-row
statements within each database's bound-parameter limit, compiled once and cached (a
``.values([...])`` statement is compiled anew for every batch, a parameter per value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    """``items`` in slices of at most ``size``: the keys of one ``IN (...)`` list each, far
    below both databases' bound-parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


def _same_keys(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows as one executemany batch: every row must name the same columns."""
    keys = rows[0].keys()
    if any(row.keys() != keys for row in rows):
        raise ValueError("bulk rows must all name the same columns")
    return list(rows)


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
    if not rows:
        return []
    stmt = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*cols)
    )
    result = await session.execute(stmt, _same_keys(rows))
    return [tuple(row) if returning else () for row in result.all()]


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
    if not rows:
        return []
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={name: stmt.excluded[name] for name in update_columns},
    ).returning(*cols)
    result = await session.execute(stmt, _same_keys(rows))
    return [tuple(row) if returning else () for row in result.all()]
