"""Shutdown within Docker's 10 s stop grace even when the relay's final flush cannot write
(another process holds the SQLite write lock), and nothing is lost: what was not flushed is
read back by the backfill when the bot starts again.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.chat_script import chat
from fakes.world import RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import eventually, running_bot, stored_relay_rows, wait_relay_rows
from tests.faults.processes import events, start_bot_process, subprocess_env

STOP_GRACE_S = 10.0  # docker stop's default, then SIGKILL


async def test_sigterm_with_the_sqlite_write_lock_held_exits_in_time_and_loses_nothing(
    world: ClanWorld, tmp_path: Path
) -> None:
    path = tmp_path / "clanstats.sqlite3"
    url = f"sqlite:///{path}"
    log = tmp_path / "bot.log"
    start = datetime.now(UTC) - timedelta(hours=1)

    async def post(first: int, count: int) -> None:
        for n in range(first, first + count):
            await world.discord.post_message(
                RELAY_CHANNEL_ID, **chat(n, "DocOfMed", f"line {n}").post_kwargs(start)
            )

    bot = await start_bot_process(subprocess_env(world, url), log)
    holder: sqlite3.Connection | None = None
    try:

        async def started() -> bool:
            assert bot.returncode is None, "the bot died: see its log"
            return bool(events(log, "backfill.finished")) and bool(events(log, "job.finished"))

        await eventually(started, "the bot started and synced", limit_s=40)
        await post(0, 3)
        await wait_relay_rows(url, 3)

        # Another process (an import, a backup, sqlite3 at a prompt) takes the write lock.
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        await post(3, 30)
        await asyncio.sleep(1.5)  # the flusher is now waiting on the lock

        bot.send_signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        stopping = loop.time()
        code = await asyncio.wait_for(bot.wait(), STOP_GRACE_S + 5)
        took = loop.time() - stopping
        assert code == 0, log.read_text()[-3000:]
        assert took < STOP_GRACE_S, f"shutdown took {took:.1f} s"
        print(f"shutdown with the write lock held: {took:.1f} s")
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        if holder is not None:
            holder.rollback()
            holder.close()

    incomplete = events(log, "relay.final_flush_incomplete")
    assert len(incomplete) == 1 and incomplete[0]["unstored"] == 30, incomplete
    assert len(await stored_relay_rows(url)) == 3  # the 30 were not written …

    async with running_bot(world, url):  # … and the next start's backfill reads them back
        rows = await wait_relay_rows(url, 33)
    assert sorted(r.text for r in rows) == sorted(f"line {n}" for n in range(33))
