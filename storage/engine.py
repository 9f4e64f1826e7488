"""Async engine factory and the unit of work (SQLite WAL or PostgreSQL via asyncpg).

SQLite writes begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes fails at once with "database is locked" when another writer got there first, whatever
the busy timeout. Reads keep a plain deferred ``BEGIN`` so they never block each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Page cache per connection, in KiB (SQLite's default is 2 MiB). Report queries walk index
#: ranges of tens of MiB (a month of chat is ~140k index entries): with the default cache
#: every run re-reads those pages from the OS, ~2-3x slower. Pages are only allocated as used.
SQLITE_CACHE_KIB = 64 * 1024
_WRITE_OPTION = "clanstats_write"


def normalise_url(url: str) -> str:
    """Map plain ``sqlite:///`` and ``postgresql://`` URLs onto their async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_busy_timeout_ms(url: str) -> int:
    """How long a SQLite connection waits for another writer's lock: the URL's ``?timeout=``
    (seconds, SQLAlchemy's documented SQLite URL parameter), else 30 s."""
    given = make_url(url).query.get("timeout")
    if isinstance(given, str):
        try:
            seconds = float(given)
        except ValueError:
            raise ArgumentError(f"?timeout={given!r} in the SQLite URL is not a number") from None
        if seconds >= 0:
            return int(seconds * 1000)
        raise ArgumentError("?timeout= in the SQLite URL cannot be negative")
    return SQLITE_BUSY_TIMEOUT_MS


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url``, with SQLite tuned for one busy process."""
    url = normalise_url(url)
    if not is_sqlite(url):
        return create_async_engine(url, echo=echo, pool_pre_ping=True)

    busy_ms = sqlite_busy_timeout_ms(url)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": busy_ms / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """The unit of work: ``read()`` for queries, ``write()`` for one short write transaction.

    Never await Discord or WOM inside ``write()``: on SQLite it holds the write lock.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.dialect = engine.dialect.name
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Database:
        return cls(create_engine(url, echo=echo))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """Open a write transaction; commit on success, roll back on any error."""
        async with self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
