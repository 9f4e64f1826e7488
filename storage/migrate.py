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
import functools
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from contextlib import closing
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

from storage.engine import Database, sqlite_busy_timeout_ms
from storage.errors import DatabaseProblem, database_problem
from storage.repositories import relay
from storage.statistics import refresh_planner_statistics_quietly

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


@functools.cache
def head_revision() -> str | None:
    """The newest migration this code has (read once: the scripts do not change while it runs;
    reading them costs ~15 ms, and every command and status check asks)."""
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


#: Room kept free beyond the backup itself: the backup's journal and the migration's own
#: writes (new indexes, the WAL) need some too.
BACKUP_MARGIN_BYTES = 16 * 1024 * 1024
_SIDE_FILES = ("-journal", "-wal", "-shm")


def space_for_writing(folder: Path) -> int:
    """Bytes this process may still write in ``folder``: the file system's free space for
    unprivileged users, capped by the process's file-size limit (``ulimit -f``)."""
    free = shutil.disk_usage(folder).free
    if sys.platform == "win32":
        return free
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    return free if soft == resource.RLIM_INFINITY else min(free, soft)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def check_sqlite_writable(path: Path, busy_timeout_s: float) -> None:
    """Raise :class:`DatabaseProblem` unless the file (if any) and its folder can be written
    and its write lock can be taken within the busy timeout (so a migration that would fail
    on it fails before its backup is made)."""
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseProblem(f"the folder of the SQLite database does not exist: {folder}")
    # Asked with access(2), never by opening the file: closing any descriptor of the database
    # file drops every POSIX lock this process holds on it, so a connection already open here
    # would lose its locks and another process could then delete the WAL under it (SQLite's
    # "How To Corrupt An SQLite Database File", section 2.2: posix advisory locks).
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseProblem(f"the SQLite database file is not writable by this user: {path}")
    # SQLite writes its -wal, -shm and -journal files beside the database.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseProblem(f"the folder of the SQLite database is not writable: {folder}")
    if path.exists():
        with closing(sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")  # the write lock, taken and given back
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise DatabaseProblem(
                    f"cannot migrate: {database_problem(exc) or exc}; nothing was changed"
                ) from exc


def backup_sqlite(path: Path, now: datetime) -> Path:
    """Copy the database aside as ``<name>.bak-<UTC time>``; on failure leave nothing behind.

    Checks first that the copy fits (free space and the file-size limit, with a margin):
    a backup that cannot be completed is never started.
    """
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    wal = path.with_name(path.name + "-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    available = space_for_writing(path.parent)
    if available < size + BACKUP_MARGIN_BYTES:
        raise DatabaseProblem(
            f"not enough space to back up the database before migrating: it needs "
            f"{_mib(size + BACKUP_MARGIN_BYTES)} in {path.parent}, {_mib(available)} is "
            "available (free some space, then run `clanstats migrate` again)"
        )
    copy_sqlite(path, target)
    return target


def copy_sqlite(path: Path, target: Path) -> None:
    """Copy a consistent image of the database to ``target``, or leave nothing there (no
    partial copy, no journal) and raise :class:`DatabaseProblem` saying why."""
    try:
        # The backup API copies a consistent image even with a WAL file beside the database.
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as dest:
            source.backup(dest)
    except BaseException as exc:
        for leftover in (target, *(target.with_name(target.name + s) for s in _SIDE_FILES)):
            leftover.unlink(missing_ok=True)
        reason = database_problem(exc) if isinstance(exc, Exception) else None
        if reason is None:
            raise
        raise DatabaseProblem(
            f"could not back up the database before migrating, so it was not migrated "
            f"(no partial backup left behind): {reason}"
        ) from exc


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
    path = sqlite_path(db)
    before = await current_revision(db)
    backup: Path | None = None
    if before != head and path is not None:
        busy_s = sqlite_busy_timeout_ms(db.engine.url.render_as_string()) / 1000
        await asyncio.to_thread(check_sqlite_writable, path, busy_s)
    if before != head and before is not None and path is not None and path.exists():
        backup = await asyncio.to_thread(backup_sqlite, path, datetime.now(UTC))
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
    path = sqlite_path(db)
    if path is not None and not path.parent.is_dir():
        raise DatabaseProblem(f"the folder of the SQLite database does not exist: {path.parent}")
    head = head_revision() if target == "head" else target
    if db.dialect == "postgresql":
        result = await _upgrade_postgresql(db, target, wait_s)
    else:
        result = await _upgrade_sqlite(db, target, head, wait_s)
        if target == "head":
            await restore_indexes(db)
            await refresh_planner_statistics_quietly(db)
    if result.changed:
        log.info(
            "db.migrated", from_revision=result.before, to_revision=result.after, database=db.url
        )
    return result


async def restore_indexes(db: Database) -> list[str]:
    """Create any relay index a big import dropped and did not get to build again (it was
    killed): the schema check every start makes. A read first, so that a complete database
    (nearly always) takes no write lock; names of the indexes created."""
    async with db.read() as session:
        missing = await relay.missing_indexes(session)
    if not missing:
        return []
    log.warning("db.indexes_rebuilding", indexes=missing, reason="an import stopped early")
    async with db.write() as session:
        return await relay.create_missing_indexes(session)


async def downgrade(db: Database, target: str = "base") -> MigrationResult:
    before = await current_revision(db)
    await _run(db, "downgrade", target)
    return MigrationResult(before=before, after=await current_revision(db), backup=None)
