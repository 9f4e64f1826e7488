"""Two writers on one SQLite file finish without a single "database is locked" error."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.bulk import insert_ignore
from storage.engine import Database
from storage.models import JobRun, RelayMessage
from storage.repositories.clans import ensure_clan

T0 = datetime(2025, 12, 23, tzinfo=UTC)


async def test_insert_stream_and_read_then_write_transaction_never_lock(
    sqlite_url: str,
) -> None:
    # Two engines = two independent connection pools, like two processes on one file.
    inserter_db = Database.from_url(sqlite_url)
    counter_db = Database.from_url(sqlite_url)
    from storage.migrate import upgrade

    await upgrade(inserter_db)
    async with inserter_db.write() as s:
        clan = await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky")
        s.add(JobRun(job="counter", slot="x", started_at=T0, counts={"n": 0}))
    errors: list[BaseException] = []

    async def stream_of_inserts() -> None:
        for batch in range(60):
            try:
                async with inserter_db.write() as s:
                    await insert_ignore(
                        s,
                        RelayMessage,
                        [
                            {
                                "clan_id": clan.id,
                                "message_id": batch * 100 + i,
                                "part": 0,
                                "channel_id": 1,
                                "posted_at": T0,
                                "kind": "chat",
                                "text": "x",
                                "source": "t",
                                "ingested_at": T0,
                            }
                            for i in range(100)
                        ],
                        conflict_columns=["message_id", "part"],
                    )
            except Exception as exc:
                errors.append(exc)
            await asyncio.sleep(0)

    async def read_then_write() -> None:
        for _ in range(60):
            try:
                async with counter_db.write() as s:
                    run = (
                        await s.execute(select(JobRun).where(JobRun.job == "counter"))
                    ).scalar_one()
                    await asyncio.sleep(0.001)  # let the other writer try to get in between
                    run.counts = {"n": int(run.counts["n"]) + 1}
            except Exception as exc:
                errors.append(exc)

    try:
        await asyncio.gather(stream_of_inserts(), read_then_write())
        async with counter_db.read() as s:
            n = (await s.execute(select(JobRun).where(JobRun.job == "counter"))).scalar_one()
            stored = (await s.execute(select(func.count(RelayMessage.id)))).scalar_one()
    finally:
        await inserter_db.dispose()
        await counter_db.dispose()

    assert [e for e in errors if "locked" in str(e)] == []
    assert errors == []
    assert n.counts["n"] == 60  # no lost update
    assert stored == 6000


async def test_every_sqlite_connection_caches_within_one_budget_for_the_process(
    sqlite_url: str,
) -> None:
    """Each connection may cache up to SQLITE_CACHE_KIB, but all of them together stay under
    one process-wide limit: with five pooled connections each caching what it read, the bot's
    memory grew with the database (the chaos soak)."""
    from sqlalchemy import text

    from storage.engine import SQLITE_CACHE_KIB, SQLITE_HEAP_LIMIT_BYTES

    db = Database.from_url(sqlite_url)
    try:
        async with db.read() as first, db.read() as second:
            for session in (first, second):
                limit = (await session.execute(text("PRAGMA soft_heap_limit"))).scalar_one()
                cache = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
                assert (limit, cache) == (SQLITE_HEAP_LIMIT_BYTES, -SQLITE_CACHE_KIB)
        assert SQLITE_HEAP_LIMIT_BYTES < 2 * SQLITE_CACHE_KIB * 1024  # two caches cannot fill
    finally:
        await db.dispose()
