"""Many processes starting together on one fresh database: exactly one migrates, none fails.

Before the migration lock, 5 of 15 instances started together on a fresh PostgreSQL
database crashed creating the same tables (``UniqueViolationError pg_type_typname_nsp_index``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from storage.engine import Database, DbTimeouts
from storage.migrate import MIGRATION_LOCK_KEY, MigrationLockTimeout, head_revision, upgrade

INSTANCES = 12


async def _migrate_together(url: str, count: int) -> list[tuple[str | None, str | None]]:
    dbs = [Database.from_url(url) for _ in range(count)]
    try:
        results = await asyncio.gather(*(upgrade(db) for db in dbs))
    finally:
        await asyncio.gather(*(db.dispose() for db in dbs))
    return [(r.before, r.after) for r in results]


async def test_twelve_instances_migrating_a_fresh_postgresql_database_together(
    pg_url: str,
) -> None:
    results = await _migrate_together(pg_url, INSTANCES)
    head = head_revision()
    assert all(after == head for _before, after in results)
    # one migrated from nothing; every other one waited and found the schema at head
    assert Counter(results) == {(None, head): 1, (head, head): INSTANCES - 1}


async def test_instances_migrating_a_fresh_sqlite_file_together(sqlite_url: str) -> None:
    results = await _migrate_together(sqlite_url, 4)
    head = head_revision()
    assert all(after == head for _before, after in results)
    db = Database.from_url(sqlite_url)
    try:
        async with db.read() as s:
            versions = (await s.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await db.dispose()
    assert [v[0] for v in versions] == [head]


async def test_a_migration_lock_held_too_long_fails_with_a_clear_error(pg_url: str) -> None:
    holder, waiter = Database.from_url(pg_url), Database.from_url(pg_url)
    try:
        async with holder.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await conn.commit()
            try:
                await upgrade(waiter, wait_s=0.5)
            except MigrationLockTimeout as exc:
                assert "migration lock" in str(exc)
            else:
                raise AssertionError("the upgrade did not wait for the lock")
        await holder.dispose()  # its connection closes: the lock goes with it
        assert (await upgrade(waiter, wait_s=5)).after == head_revision()
    finally:
        await holder.dispose()
        await waiter.dispose()


async def test_a_sqlite_migration_waits_past_the_busy_timeout_for_a_held_file_lock(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = Database.from_url(sqlite_url, timeouts=DbTimeouts(busy_s=0.2))
    holder = sqlite3.connect(tmp_path / "clanstats.sqlite3", check_same_thread=False)
    holder.isolation_level = None
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for a second
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        result = await upgrade(db)
    finally:
        release.join()
        holder.close()
        await db.dispose()
    assert result.after == head_revision()
