"""A backfill that meets a held SQLite write lock (another writer past the busy timeout) or a
database outage pauses and starts again: it used to fail for good ("task.failed", database
is locked), leaving the history unread until the next restart. Found by the chaos suite's
SIGKILL-during-backfill runs on a loaded machine."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.chat_script import chat
from fakes.world import RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import (
    captured_logs,
    eventually,
    running_bot,
    stored_relay_rows,
    wait_relay_rows,
)

HISTORY = 300


async def test_a_backfill_blocked_by_a_held_write_lock_retries_and_stores_everything(
    world: ClanWorld, tmp_path: Path
) -> None:
    path = tmp_path / "clanstats.sqlite3"
    url = f"sqlite:///{path}"
    with captured_logs() as logs:
        async with running_bot(world, url, db_busy_timeout_s=0.5) as running:
            await wait_relay_rows(url, 0)

            async def startup_backfill_done() -> bool:
                return bool(logs.events("backfill.finished"))

            # The history comes after the startup backfill, so only the backfill started
            # below can read it (and meet the lock).
            await eventually(startup_backfill_done, "the startup backfill", limit_s=30)
            start = datetime.now(UTC) - timedelta(hours=2)
            world.discord.seed_history(
                RELAY_CHANNEL_ID,
                (
                    chat(0, "DocOfMed", f"past line {i}").post_kwargs(start + timedelta(seconds=i))
                    for i in range(HISTORY)
                ),
            )
            # Another process (an import, a backup, sqlite3 at a prompt) takes the write lock.
            # It waits its turn in a thread (the bot, in this event loop, may be writing its
            # startup sync right now and must be free to finish).
            holder = sqlite3.connect(
                path, isolation_level=None, timeout=60, check_same_thread=False
            )
            try:
                await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
                before = len(await stored_relay_rows(url))
                cog = running.bot.get_cog("RelayCog")
                assert cog is not None
                cog.start_backfill("test")  # type: ignore[attr-defined]
                for _ in range(100):
                    if logs.events("backfill.database_unavailable"):
                        break
                    await asyncio.sleep(0.1)
                assert len(await stored_relay_rows(url)) == before  # nothing while locked
            finally:
                if holder.in_transaction:
                    holder.execute("ROLLBACK")
                holder.close()
            rows = await wait_relay_rows(url, HISTORY, limit_s=60)
        failed = logs.events("task.failed")
        unavailable = logs.events("backfill.database_unavailable")
    assert len(rows) == HISTORY
    assert failed == []
    assert unavailable, "the backfill never met the lock"
    assert unavailable[0]["level"] == "warning"
    assert "locked" in str(unavailable[0]["reason"])
