"""The migrations build exactly the models' schema, both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.engine import Database
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Base


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_round_trip(db_url: str) -> None:
    db = Database.from_url(db_url)
    try:
        first = await upgrade(db)
        assert first.before is None
        assert first.after == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(Base.metadata.tables)

        await downgrade(db, "base")
        assert await current_revision(db) is None
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()

        again = await upgrade(db)
        assert again.after == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(Base.metadata.tables)
    finally:
        await db.dispose()


async def test_autogenerate_finds_no_drift_between_models_and_migrations(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ: {diff}"


async def test_upgrade_twice_changes_nothing_and_makes_no_backup(sqlite_db: Database) -> None:
    result = await upgrade(sqlite_db)
    assert not result.changed
    assert result.backup is None


async def test_sqlite_file_is_backed_up_before_a_schema_change(sqlite_url: str) -> None:
    import sqlite3

    db = Database.from_url(sqlite_url)
    try:
        await upgrade(db, "0001")
        async with db.write() as s:
            from storage.repositories.clans import ensure_clan

            await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky")
        result = await upgrade(db)
    finally:
        await db.dispose()
    assert result.before == "0001" and result.after == head_revision()
    assert result.backup is not None and result.backup.exists()
    assert result.backup.name.startswith("clanstats.sqlite3.bak-")
    with sqlite3.connect(result.backup) as backup:
        rows = backup.execute("SELECT name FROM clans").fetchall()
        version = backup.execute("SELECT version_num FROM alembic_version").fetchall()
    assert rows == [("Nevr Lucky",)]
    assert version == [("0001",)]
