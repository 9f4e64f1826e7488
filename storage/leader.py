"""Leader election for several instances on one PostgreSQL database.

Only the holder of a session-level ``pg_try_advisory_lock`` runs the scheduler; the lock is
held by one dedicated connection and goes when that connection goes (the process dies, the
server restarts). The others try again every few seconds (the bot's leadership loop), so a
dead leader's jobs are taken over; the leader checks its connection as often, and steps down
when it has lost it. SQLite deployments are single-process by nature: the lock is always
granted there.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import Database

log = structlog.get_logger(__name__)

# An arbitrary constant that identifies "the ClanStats scheduler" among advisory locks.
SCHEDULER_LOCK_KEY = 0x436C616E53746174  # "ClanStat"
# Letting go of a connection that may be dead never waits longer than this.
RELEASE_TIMEOUT_S = 2.0


class SchedulerLease:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self.held = False
        #: Why :meth:`check` last found the lock lost.
        self.lost_because: str | None = None

    async def acquire(self) -> bool:
        """Try once to become the scheduler leader; True when this process is it.

        A database that cannot be reached raises (the caller tries again later).
        """
        if self._db.dialect != "postgresql":
            self.held = True
            return True
        if self.held:
            return True
        conn = await self._db.engine.connect()
        try:
            got = (
                await conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": SCHEDULER_LOCK_KEY}
                )
            ).scalar_one()
            # End the implicit transaction; the session-level lock stays with the connection.
            await conn.commit()
        except BaseException:
            await _drop(conn)
            raise
        if got:
            self._conn, self.held = conn, True
        else:
            await conn.close()
        return bool(got)

    async def check(self) -> bool:
        """True while the lock's connection is alive (and so the lock still ours).

        When it is not, the lease is given up (the lock went with the connection) and False
        is returned: another instance may already hold it.
        """
        if self._db.dialect != "postgresql":
            return self.held
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
        except Exception as exc:
            self.lost_because = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            await self._forget()
            return False
        return True

    async def release(self, timeout_s: float = RELEASE_TIMEOUT_S) -> None:
        """Give the lock up. Never raises: a dead connection has released it already."""
        conn = self._conn
        self._conn, self.held = None, False
        if conn is None:
            return
        try:
            if timeout_s <= 0:
                raise TimeoutError("no time left to unlock")
            await asyncio.wait_for(_unlock(conn), min(timeout_s, RELEASE_TIMEOUT_S))
        except Exception as exc:  # the server restarted, the network is gone …
            log.info("scheduler.lease_released_with_connection", reason=type(exc).__name__)
            await _drop(conn)
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), RELEASE_TIMEOUT_S)

    async def _forget(self) -> None:
        conn, self._conn, self.held = self._conn, None, False
        if conn is not None:
            await _drop(conn)


async def _unlock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEDULER_LOCK_KEY})
    await conn.commit()


async def _drop(conn: AsyncConnection) -> None:
    """Discard a connection that may be dead, without waiting on it for long."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.invalidate(), RELEASE_TIMEOUT_S)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), RELEASE_TIMEOUT_S)
