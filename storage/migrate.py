"""Bring a database to the newest schema, backing up a SQLite file first.

Several processes may start together on one database (instances sharing PostgreSQL, the bot
and a CLI command): one migrates, the others wait and then find the schema at head. On
PostgreSQL the migration runs under a session advisory lock (:data:`MIGRATION_LOCK_KEY`); on
SQLite inside one ``BEGIN IMMEDIATE`` transaction, the file's write lock. Either way the
revision is read again once the lock is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import Database

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# An arbitrary constant naming "a ClanStats migration" among PostgreSQL advisory locks.
MIGRATION_LOCK_KEY = 0x436C616E4D696772  # "ClanMigr"
# How long an instance waits for another one's migration before giving up, and how often
# it looks (a polled pg_try_advisory_lock: no statement blocks, so no timeout fires).
MIGRATION_WAIT_S = 600.0
MIGRATION_POLL_S = 0.2


class MigrationLockTimeout(Exception):
    """Another process held the migration lock for longer than we wait."""


@dataclass(frozen=True)
class MigrationResult:
    before: str | None
    after: str | None
    backup: Path | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def sqlite_path(db: Database) -> Path | None:
    """The file behind a SQLite database, or None (PostgreSQL, in-memory)."""
    if db.dialect != "sqlite":
        return None
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _backup_sqlite(path: Path, now: datetime) -> Path:
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    # The backup API copies a consistent image even with a WAL file beside the database.
    with sqlite3.connect(path) as source, sqlite3.connect(target) as dest:
        source.backup(dest)
    return target


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def _alembic(action: str, target: str) -> Callable[[Connection], None]:
    cfg = alembic_config()

    def _go(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(cfg, target)
        else:
            command.downgrade(cfg, target)

    return _go


async def _run(db: Database, action: str, target: str) -> None:
    async with db.engine.connect() as conn:
        await conn.run_sync(_alembic(action, target))
        await conn.commit()


async def _lock_for_migration(conn: AsyncConnection, wait_s: float) -> None:
    """Take the session-level migration lock on ``conn``, waiting up to ``wait_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    said = False
    while True:
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        ).scalar_one()
        await conn.commit()  # the lock is the session's: it outlives this transaction
        if got:
            return
        if not said:
            log.info("db.migration_waiting", reason="another process is migrating")
            said = True
        if loop.time() > deadline:
            raise MigrationLockTimeout(
                f"another process held the migration lock for over {wait_s:.0f} s"
            )
        await asyncio.sleep(MIGRATION_POLL_S)


async def _upgrade_postgresql(db: Database, target: str, wait_s: float) -> MigrationResult:
    # Its own engine: a migration may run longer than the statement timeout of ordinary calls.
    engine = db.unbounded_engine()
    try:
        async with engine.connect() as conn:
            await _lock_for_migration(conn, wait_s)
            try:
                before = await conn.run_sync(_current)
                await conn.commit()
                if before != (head_revision() if target == "head" else target):
                    await conn.run_sync(_alembic("upgrade", target))
                    await conn.commit()
                after = await conn.run_sync(_current)
                await conn.commit()
            finally:
                # Closing the connection would release it too; say so explicitly when we can.
                with contextlib.suppress(Exception):
                    await conn.rollback()
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY}
                    )
                    await conn.commit()
    finally:
        await engine.dispose()
    return MigrationResult(before=before, after=after, backup=None)


async def _upgrade_sqlite(
    db: Database, target: str, head: str | None, wait_s: float
) -> MigrationResult:
    before = await current_revision(db)
    backup: Path | None = None
    path = sqlite_path(db)
    if before != head and before is not None and path is not None and path.exists():
        backup = await asyncio.to_thread(_backup_sqlite, path, datetime.now(UTC))
        log.warning("db.backup_created", path=str(backup), from_revision=before, to_revision=head)
    if before != head:
        await _locked_sqlite_upgrade(db, target, head, wait_s)
    return MigrationResult(before=before, after=await current_revision(db), backup=backup)


async def _locked_sqlite_upgrade(
    db: Database, target: str, head: str | None, wait_s: float
) -> None:
    """BEGIN IMMEDIATE: the file's write lock for the whole migration. A second process
    waits for it (retrying past the busy timeout), then finds the schema migrated."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    said = False
    while True:
        try:
            async with db.write_engine.connect() as conn:
                if await conn.run_sync(_current) != head:
                    await conn.run_sync(_alembic("upgrade", target))
                await conn.commit()
            return
        except OperationalError as exc:
            if "locked" not in str(exc) or loop.time() > deadline:
                raise
            if not said:
                log.info("db.migration_waiting", reason="another process holds the file's lock")
                said = True
            await asyncio.sleep(MIGRATION_POLL_S)


async def upgrade(
    db: Database, target: str = "head", *, wait_s: float = MIGRATION_WAIT_S
) -> MigrationResult:
    """Upgrade to ``target``; on SQLite, copy the file aside first when the schema will change.

    Safe to run from several processes at once: exactly one of them migrates.
    """
    head = head_revision() if target == "head" else target
    if db.dialect == "postgresql":
        result = await _upgrade_postgresql(db, target, wait_s)
    else:
        result = await _upgrade_sqlite(db, target, head, wait_s)
    if result.changed:
        log.info(
            "db.migrated", from_revision=result.before, to_revision=result.after, database=db.url
        )
    return result


async def downgrade(db: Database, target: str = "base") -> MigrationResult:
    before = await current_revision(db)
    await _run(db, "downgrade", target)
    return MigrationResult(before=before, after=await current_revision(db), backup=None)
