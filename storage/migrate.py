"""Bring a database to the newest schema, backing up a SQLite file first."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.engine import Database

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


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


async def _run(db: Database, action: str, target: str) -> None:
    cfg = alembic_config()

    def _go(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        if action == "upgrade":
            command.upgrade(cfg, target)
        else:
            command.downgrade(cfg, target)

    async with db.engine.connect() as conn:
        await conn.run_sync(_go)
        await conn.commit()


async def upgrade(db: Database, target: str = "head") -> MigrationResult:
    """Upgrade to ``target``; on SQLite, copy the file aside first when the schema will change."""
    before = await current_revision(db)
    head = head_revision() if target == "head" else target
    backup: Path | None = None
    path = sqlite_path(db)
    if before != head and before is not None and path is not None and path.exists():
        backup = await asyncio.to_thread(_backup_sqlite, path, datetime.now(UTC))
        log.warning("db.backup_created", path=str(backup), from_revision=before, to_revision=head)
    await _run(db, "upgrade", target)
    after = await current_revision(db)
    if before != after:
        log.info("db.migrated", from_revision=before, to_revision=after, database=db.url)
    return MigrationResult(before=before, after=after, backup=backup)


async def downgrade(db: Database, target: str = "base") -> MigrationResult:
    before = await current_revision(db)
    await _run(db, "downgrade", target)
    return MigrationResult(before=before, after=await current_revision(db), backup=None)
