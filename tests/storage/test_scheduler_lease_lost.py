"""A lease whose connection dies (a database restart) is seen lost, can be taken by another
instance, and letting it go neither raises nor hangs (it used to skip closing the engine)."""

from __future__ import annotations

import time

from sqlalchemy import text

from storage.engine import Database
from storage.leader import SchedulerLease


async def _terminate_backends_of(db: Database, admin: Database) -> int:
    """pg_terminate_backend every connection of ``db``'s database but ``admin``'s own."""
    name = db.engine.url.database
    async with admin.engine.connect() as conn:
        cut = (
            await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        ).scalar_one()
        await conn.commit()
    return int(cut)


async def test_a_lease_whose_connection_died_is_seen_lost_and_taken_by_another(
    pg_url: str,
) -> None:
    first_db, second_db, admin = (Database.from_url(pg_url) for _ in range(3))
    first, second = SchedulerLease(first_db), SchedulerLease(second_db)
    try:
        assert await first.acquire() is True
        assert await first.check() is True
        assert await second.acquire() is False
        # The server restarts (for this database): every connection is terminated.
        assert await _terminate_backends_of(first_db, admin) >= 1
        assert await first.check() is False  # the lock went with the connection
        assert first.held is False and first.lost_because
        assert await second.acquire() is True
        assert await first.acquire() is False
    finally:
        await first.release()
        await second.release()
        for db in (first_db, second_db, admin):
            await db.dispose()


async def test_releasing_a_lease_on_a_dead_connection_neither_raises_nor_hangs(
    pg_url: str,
) -> None:
    db, admin = Database.from_url(pg_url), Database.from_url(pg_url)
    lease = SchedulerLease(db)
    try:
        assert await lease.acquire() is True
        await _terminate_backends_of(db, admin)
        started = time.monotonic()
        await lease.release()  # pg_advisory_unlock fails: the lease still lets go
        assert time.monotonic() - started < 3
        assert lease.held is False
        async with db.read() as s:  # and the engine goes on working (and disposes below)
            assert (await s.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await db.dispose()
        await admin.dispose()
