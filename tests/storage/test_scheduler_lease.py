"""Only one instance on a PostgreSQL database gets to run the scheduler."""

from __future__ import annotations

from storage.engine import Database
from storage.leader import SchedulerLease


async def test_only_one_of_two_instances_holds_the_lease_until_it_lets_go(pg_url: str) -> None:
    first_db, second_db = Database.from_url(pg_url), Database.from_url(pg_url)
    first, second = SchedulerLease(first_db), SchedulerLease(second_db)
    try:
        assert await first.acquire() is True
        assert await second.acquire() is False
        await first.release()
        assert await second.acquire() is True
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


async def test_sqlite_always_grants_the_lease(sqlite_url: str) -> None:
    db = Database.from_url(sqlite_url)
    try:
        assert await SchedulerLease(db).acquire() is True
    finally:
        await db.dispose()
