"""Async engine factory and the unit of work (SQLite WAL or PostgreSQL via asyncpg).

SQLite writes begin with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then
writes fails at once with "database is locked" when another writer got there first, whatever
the busy timeout. Reads keep a plain deferred ``BEGIN`` so they never block each other.

Every database call is bounded (:class:`DbTimeouts`): on PostgreSQL a connect timeout and a
statement timeout (asyncpg's ``command_timeout`` on our side, ``statement_timeout`` on the
server's), so a server that is down or frozen fails a call instead of hanging it; on SQLite
the busy timeout bounds the wait for another writer's lock. :meth:`Database.limit_lock_waits`
shortens that wait further for the last writes of a shutdown.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.errors import unavailable_reason


@dataclass(frozen=True)
class DbTimeouts:
    """How long a database call may take before it fails (seconds).

    ``connect_s``: opening a PostgreSQL connection (and waiting for a pooled one).
    ``statement_s``: one PostgreSQL statement, or None for no limit (migrations).
    ``busy_s``: how long a SQLite write waits for another writer's lock.
    """

    connect_s: float = 10.0
    statement_s: float | None = 60.0
    busy_s: float = 5.0


DEFAULT_TIMEOUTS = DbTimeouts()
#: Page cache per connection, in KiB (SQLite's default is 2 MiB). Report queries walk index
#: ranges of tens of MiB (a month of chat is ~140k index entries): with the default cache
#: every run re-reads those pages from the OS, ~2-3x slower. Pages are only allocated as used.
SQLITE_CACHE_KIB = 64 * 1024
#: What all of the process's SQLite connections together may hold (page caches included):
#: SQLite frees cached pages to stay under it. Each pooled connection (one per concurrent
#: session, up to five kept open) would otherwise cache up to SQLITE_CACHE_KIB of its own,
#: the same pages several times over, and the bot's memory grew with the database. The
#: report benchmark showed no query slower with this limit than without one (a report's
#: own reads stay on one connection).
SQLITE_HEAP_LIMIT_BYTES = 32 * 1024 * 1024
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


class LiveConnections:
    """The open PostgreSQL connections of one engine, and whether they were cut."""

    def __init__(self) -> None:
        self._conns: weakref.WeakSet[Any] = weakref.WeakSet()
        self.aborted = False
        #: The last call met an unavailable server (no connection checked out since).
        self.suspect = False

    def add(self, conn: Any) -> None:
        self._conns.add(conn)

    def cut(self) -> int:
        """Terminate every open connection; refuse new ones from now on."""
        self.aborted = True
        cut = 0
        for conn in list(self._conns):
            if not conn.is_closed():
                conn.terminate()
                cut += 1
        return cut


class LockWaitLimit:
    """A moment (``time.monotonic()``) after which no SQLite write waits for a lock."""

    def __init__(self) -> None:
        self.until: float | None = None

    def busy_ms(self, default_ms: int) -> int | None:
        """The busy timeout a write starting now may use, or None when no limit is set."""
        if self.until is None:
            return None
        return max(0, min(default_ms, int((self.until - time.monotonic()) * 1000)))


#: The longest a SQLite write waits for the writes of its own process queued before it.
WRITE_QUEUE_WAIT_S = 60.0


class WriteQueue:
    """The SQLite writes made through one :class:`Database` (the bot has one per process),
    one at a time, in the order they asked.

    SQLite's busy handler is not a queue: a write waiting for the file's lock retries now and
    then, and under load the writes arriving meanwhile can take the lock before it again and
    again until its busy timeout passes ("database is locked", an officer's /config save
    failing beside a sync). Those writes therefore take turns here first; the busy timeout is
    left for other processes (an import, a second instance). A shutdown's
    :meth:`Database.limit_lock_waits` bounds this wait too.
    """

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    @asynccontextmanager
    async def turn(self, lock_wait: LockWaitLimit | None, busy_ms: int) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        limited = lock_wait.busy_ms(busy_ms) if lock_wait is not None else None
        wait_s = WRITE_QUEUE_WAIT_S if limited is None else limited / 1000
        try:
            await asyncio.wait_for(lock.acquire(), wait_s)
        except TimeoutError:
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                sqlite3.OperationalError(
                    f"database is locked (this process's earlier writes held it {wait_s:g} s)"
                ),
            ) from None
        try:
            yield
        finally:
            lock.release()


def sqlite_busy_timeout_ms(url: str, default_s: float = DEFAULT_TIMEOUTS.busy_s) -> int:
    """How long a SQLite connection waits for another writer's lock, in ms: the URL's
    ``?timeout=`` (seconds, SQLAlchemy's documented SQLite URL parameter) when given, else
    ``default_s`` (``CLANSTATS_DB_BUSY_TIMEOUT_S``)."""
    given = make_url(url).query.get("timeout")
    if isinstance(given, str):
        try:
            seconds = float(given)
        except ValueError:
            raise ArgumentError(f"?timeout={given!r} in the SQLite URL is not a number") from None
        if seconds >= 0:
            return int(seconds * 1000)
        raise ArgumentError("?timeout= in the SQLite URL cannot be negative")
    return int(default_s * 1000)


def create_engine(
    url: str,
    *,
    echo: bool = False,
    timeouts: DbTimeouts = DEFAULT_TIMEOUTS,
    lock_wait: LockWaitLimit | None = None,
    live: LiveConnections | None = None,
) -> AsyncEngine:
    """Create the async engine for ``url``, every call bounded by ``timeouts``.

    ``live`` (PostgreSQL) collects the driver's connections, for :meth:`Database.abort`.
    """
    url = normalise_url(url)
    if not is_sqlite(url):
        connect_args: dict[str, Any] = {"timeout": timeouts.connect_s}
        # pg_stat_activity then says which process each connection belongs to.
        connect_args["server_settings"] = {"application_name": f"clanstats:{os.getpid()}"}
        if timeouts.statement_s is not None:
            # Ours (a frozen server never answers) and the server's (a runaway query).
            connect_args["command_timeout"] = timeouts.statement_s
            connect_args["server_settings"]["statement_timeout"] = str(
                int(timeouts.statement_s * 1000)
            )
        pg_engine = create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            pool_timeout=timeouts.connect_s,
            connect_args=connect_args,
        )
        if live is not None:

            @event.listens_for(pg_engine.sync_engine, "do_connect")
            def _refuse_after_abort(*_args: Any) -> None:
                if live.aborted:
                    raise ConnectionAbortedError(
                        errno.ECONNABORTED, "the database connections were cut (shutdown)"
                    )

            @event.listens_for(pg_engine.sync_engine, "connect")
            def _track(_dbapi_connection: Any, record: Any) -> None:
                live.add(record.driver_connection)  # the asyncpg connection

            @event.listens_for(pg_engine.sync_engine, "handle_error")
            def _unavailable(context: Any) -> None:
                if context.is_disconnect or unavailable_reason(context.original_exception):
                    live.suspect = True

            @event.listens_for(pg_engine.sync_engine.pool, "invalidate")
            def _lost(*_args: Any) -> None:
                live.suspect = True  # e.g. the pre-ping found the connection dead

            @event.listens_for(pg_engine.sync_engine.pool, "checkout")
            def _answered(*_args: Any) -> None:
                live.suspect = False  # checked out (and pinged): the server answers

        return pg_engine

    busy_ms = sqlite_busy_timeout_ms(url, timeouts.busy_s)
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
        cursor.execute(f"PRAGMA soft_heap_limit={SQLITE_HEAP_LIMIT_BYTES}")  # process-wide
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        if write and lock_wait is not None:
            limited = lock_wait.busy_ms(busy_ms)
            if limited is not None:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={limited}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class Database:
    """The unit of work: ``read()`` for queries, ``write()`` for one short write transaction.

    Never await Discord or WOM inside ``write()``: on SQLite it holds the write lock.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        timeouts: DbTimeouts = DEFAULT_TIMEOUTS,
        lock_wait: LockWaitLimit | None = None,
        live: LiveConnections | None = None,
    ) -> None:
        self.engine = engine
        self._live = live
        self.timeouts = timeouts
        self._lock_wait = lock_wait
        self.url = engine.url.render_as_string(hide_password=True)
        self.dialect = engine.dialect.name
        self._read = async_sessionmaker(engine, expire_on_commit=False)
        #: The engine whose transactions are writes (on SQLite they begin IMMEDIATE).
        self.write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._write = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._queue = WriteQueue() if self.dialect == "sqlite" else None
        self._busy_ms = (
            sqlite_busy_timeout_ms(self.url, timeouts.busy_s) if self._queue is not None else 0
        )

    @classmethod
    def from_url(
        cls, url: str, *, echo: bool = False, timeouts: DbTimeouts = DEFAULT_TIMEOUTS
    ) -> Database:
        lock_wait = LockWaitLimit()
        live = LiveConnections()
        engine = create_engine(url, echo=echo, timeouts=timeouts, lock_wait=lock_wait, live=live)
        return cls(engine, timeouts=timeouts, lock_wait=lock_wait, live=live)

    def unbounded_engine(self) -> AsyncEngine:
        """A new engine on the same database without the statement timeout (migrations)."""
        return create_engine(
            self.engine.url.render_as_string(hide_password=False),
            timeouts=replace(self.timeouts, statement_s=None),
        )

    def limit_lock_waits(self, seconds: float) -> None:
        """From now on no SQLite write waits longer than ``seconds`` from now for a lock.

        Shutdown uses it: its last writes must not outlast the stop grace. (PostgreSQL
        calls are bounded by the statement timeout and by cancelling them.)
        """
        if self._lock_wait is not None:
            self._lock_wait.until = time.monotonic() + max(0.0, seconds)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """Open a write transaction; commit on success, roll back on any error.

        On SQLite the process's writes take turns (:class:`WriteQueue`)."""
        if self._queue is None:
            async with self._write() as session, session.begin():
                yield session
            return
        async with (
            self._queue.turn(self._lock_wait, self._busy_ms),
            self._write() as session,
            session.begin(),
        ):
            yield session

    @property
    def aborted(self) -> bool:
        """True once :meth:`abort` cut the connections."""
        return self._live is not None and self._live.aborted

    def abort(self) -> int:
        """Cut every open PostgreSQL connection at once (a stop past its time).

        Whatever waits on a frozen server then fails at once instead of at its timeout, and
        no new connection is opened (a reconnect would wait on the frozen server too).
        Returns how many were cut; SQLite has none (its waits are bounded by the busy
        timeout and :meth:`limit_lock_waits`).
        """
        return self._live.cut() if self._live is not None else 0

    async def dispose(self) -> None:
        """Close every pooled connection. After an outage they are cut rather than closed:
        a polite close to a server that went away or froze only waits and fails."""
        live = self._live
        if live is not None and (live.suspect or live.aborted):
            aborted = live.aborted
            live.cut()
            live.aborted = aborted  # a disposed engine may still be used again
        await self.engine.dispose()
