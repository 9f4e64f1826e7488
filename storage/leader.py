"""Leader election for several instances on one PostgreSQL database.

Only the holder of a session-level ``pg_try_advisory_lock`` runs the scheduler; the lock is
held by one dedicated connection for the life of the process and released when it closes.
SQLite deployments are single-process by nature: the lock is always granted there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import Database

# An arbitrary constant that identifies "the ClanStats scheduler" among advisory locks.
SCHEDULER_LOCK_KEY = 0x436C616E53746174  # "ClanStat"


class SchedulerLease:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self.held = False

    async def acquire(self) -> bool:
        """Try once to become the scheduler leader; True when this process is it."""
        if self._db.dialect != "postgresql":
            self.held = True
            return True
        conn = await self._db.engine.connect()
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SCHEDULER_LOCK_KEY})
        ).scalar_one()
        # End the implicit transaction; the session-level lock stays with the connection.
        await conn.commit()
        if got:
            self._conn, self.held = conn, True
        else:
            await conn.close()
        return bool(got)

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEDULER_LOCK_KEY}
                )
                await self._conn.commit()
            finally:
                await self._conn.close()
                self._conn = None
        self.held = False
