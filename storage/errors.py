"""Database failures an admin must fix, said in one line instead of a traceback.

A bad URL, a server that does not answer or refuses us, a database that does not exist, a
read-only file, a full disk, a lock held past the busy timeout: these are ordinary mistakes
of an install, not bugs. :func:`database_problem` turns such an exception into one line
naming what to fix; anything else (a bug) gives ``None`` and keeps its traceback.

:func:`unavailable_reason` tells an outage to wait out (down, restarting, frozen, a lock
held by another writer) from the rest: the bot says it once and retries; a command of the
command line ends with one line.

The codes come from the databases' own lists: SQLite's primary result codes
(sqlite/sqlite ``src/sqlite.h.in`` @ 462888819e3582e30c8a513285bd4d524a64f66e, read from
``sqlite3.Error.sqlite_errorcode``, Python 3.11+) and PostgreSQL's SQLSTATE classes
(postgres/postgres ``src/backend/utils/errcodes.txt`` @ 04f576a999e052187c3ff3bac4965fcd63b34820).
"""

from __future__ import annotations

import errno
import socket
import sqlite3

from sqlalchemy import exc as sa_exc

# SQLite primary result codes (the low byte of an extended code).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

_SQLITE_MESSAGES = {
    SQLITE_PERM: "permission denied on the SQLite database file",
    SQLITE_BUSY: (
        "the SQLite database is locked by another process and stayed locked past the busy "
        "timeout: is another clanstats (or a backup tool) writing to it?"
    ),
    SQLITE_LOCKED: "the SQLite database is locked by another connection",
    SQLITE_READONLY: (
        "the SQLite database is read-only: the file and its folder must be writable by "
        "this user (it writes the file and its -wal and -shm files beside it)"
    ),
    SQLITE_IOERR: "disk I/O error on the SQLite database (is the disk full or failing?)",
    SQLITE_CORRUPT: "the SQLite database file is damaged (restore a backup)",
    SQLITE_FULL: "the disk is full: free some space where the SQLite database lives",
    SQLITE_CANTOPEN: (
        "cannot open the SQLite database file: does its folder exist, and may this user "
        "write there?"
    ),
    SQLITE_NOTADB: "the file at CLANSTATS_DATABASE_URL is not a SQLite database",
}

# PostgreSQL SQLSTATE classes and codes that mean "the install", not "the program".
_PG_CLASSES = {
    "08": "the PostgreSQL connection failed",
    "28": "PostgreSQL refused the user name or password",
    "3D": "the PostgreSQL database does not exist (create it first)",
    "53": "the PostgreSQL server is out of resources (disk, memory or connections)",
    "57": "the PostgreSQL server is shutting down, starting up or cancelled the statement",
}
_PG_CODES = {
    "25006": "the PostgreSQL server only allows reading (a standby, or a read-only setting)",
    "42501": "the PostgreSQL user lacks a privilege the bot needs",
    "53100": "the PostgreSQL server's disk is full",
    "55P03": "a PostgreSQL lock was not available in time",
}

_OS_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "a file grew past the size this process may write (disk full or a ulimit)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


class DatabaseProblem(Exception):
    """An ordinary, fixable problem with the database (its message is the one line)."""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _sqlite_problem(error: sqlite3.Error) -> str | None:
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    message = _SQLITE_MESSAGES.get(code & 0xFF)
    if message is None:
        return None
    return f"{message} ({_first_line(str(error))})"


def _pg_problem(error: BaseException) -> str | None:
    # SQLAlchemy's asyncpg adapter keeps the SQLSTATE on its error, asyncpg's own on its cause.
    for candidate in (error, error.__cause__):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str) and len(state) == 5:
            message = _PG_CODES.get(state) or _PG_CLASSES.get(state[:2])
            if message is None:
                return None
            return f"{message} ({_first_line(str(candidate))})"
    return None


_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlalchemy", "storage")


def _raised_in_database_code(error: BaseException) -> bool:
    """Whether the error came up through the database driver (or our storage layer), so a
    plain socket error is the database's and not, say, an HTTP client's."""
    tb = error.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DRIVER_MODULES:
            return True
        tb = tb.tb_next
    return False


def _connect_problem(error: OSError) -> str | None:
    # Only the plain socket errors a database driver lets through when connecting.
    if type(error).__module__ not in ("builtins", "socket") or not _raised_in_database_code(error):
        return None
    if isinstance(error, socket.gaierror):
        return f"cannot find the database host ({error.strerror or error})"
    if isinstance(error, ConnectionRefusedError):
        return f"the database server refused the connection: is it running? ({error})"
    if isinstance(error, TimeoutError):
        return "the database server did not answer in time"
    if isinstance(error, ConnectionError):
        return f"the connection to the database server broke ({error})"
    return None


def os_problem(error: OSError) -> str | None:
    """One line for a disk or permission failure (full, read-only, denied), else None."""
    reason = _OS_ERRORS.get(error.errno or -1)
    if reason is None:
        return None
    where = f": {error.filename}" if error.filename else ""
    return f"{reason}{where}"


def database_problem(error: BaseException) -> str | None:
    """One line for an ordinary database failure, or None for anything else (a bug)."""
    if isinstance(error, DatabaseProblem):
        return str(error)
    if isinstance(error, sa_exc.NoSuchModuleError | sa_exc.ArgumentError):
        return f"CLANSTATS_DATABASE_URL cannot be used: {_first_line(str(error))}"
    if isinstance(error, sa_exc.DBAPIError):
        original = error.orig
        if isinstance(original, sqlite3.Error):
            return _sqlite_problem(original)
        if original is not None:
            return _pg_problem(original)
        return None
    if isinstance(error, sqlite3.Error):
        return _sqlite_problem(error)
    if isinstance(error, OSError):
        return _connect_problem(error) or os_problem(error)
    if type(error).__module__.startswith("asyncpg"):
        return _pg_problem(error)
    return None


# --- outages: the database cannot be used right now ---------------------------------------
# asyncpg's errors, by class name, that mean the server went away or cannot serve us now.
_ASYNCPG_UNAVAILABLE = {
    "ConnectionDoesNotExistError": "the connection was lost",
    "ConnectionFailureError": "the connection failed",
    "PostgresConnectionError": "the connection failed",
    "CannotConnectNowError": "the server is starting up or shutting down",
    "AdminShutdownError": "the server terminated the connection",
    "CrashShutdownError": "the server crashed",
    "TooManyConnectionsError": "the server has no connection free",
}


def unavailable_reason(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means the database cannot be used right now, else None."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        reason = _reason(current)
        if reason is not None:
            return reason
        todo.extend((current.__cause__, current.__context__))
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)
    return None


def _reason(exc: BaseException) -> str | None:
    if isinstance(exc, sa_exc.TimeoutError):  # the pool: no connection came back in time
        return "no database connection became free in time"
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time"
    if isinstance(exc, socket.gaierror):
        return None  # a host name that does not resolve is a mistake in the URL
    if isinstance(exc, ConnectionRefusedError):
        return "the database server refused the connection (is it running?)"
    if (
        isinstance(exc, OSError)
        and not isinstance(exc, sqlite3.Error)
        and (exc.errno is not None or "Connect call failed" in str(exc))
    ):
        return f"the connection to the database failed ({type(exc).__name__})"
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return "the connection to the database was lost"
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return "the SQLite file is locked by another writer (busy timeout passed)"
    module = type(exc).__module__
    if module.startswith("asyncpg"):
        name = type(exc).__name__
        if name in _ASYNCPG_UNAVAILABLE:
            return _ASYNCPG_UNAVAILABLE[name]
        if name == "QueryCanceledError" and "statement timeout" in str(exc):
            return "a statement ran past the statement timeout"
        if name == "InterfaceError" and "closed" in str(exc):
            return "the connection to the database was closed"
    return None


__all__ = ["DatabaseProblem", "database_problem", "os_problem", "unavailable_reason"]
