"""Telling "the database is unavailable" apart from every other database error.

An unavailable database (down, restarting, frozen, unreachable, or a SQLite file locked by
another writer past the busy timeout) is an outage to wait out, said once in one line; any
other error is a bug or bad data and keeps its traceback.
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy import exc as sa_exc

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


__all__ = ["unavailable_reason"]
