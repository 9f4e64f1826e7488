"""A running ``clanstats run`` through a PostgreSQL outage: the server goes down (every
connection cut, new ones refused), comes back, then freezes (nothing answers) and thaws.

Each outage is one warning (not one per message, not a traceback), the relay messages that
arrive meanwhile are buffered and stored once the database is back (one "recovered" line),
and SIGTERM while the server is frozen again exits 0 within Docker's 10 s stop grace: the
leader's lock died with its connection, yet the engine and the WOM session close.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.chat_script import chat
from fakes.world import RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import eventually, stored_relay_rows
from tests.faults.processes import events, log_lines, start_bot_process, subprocess_env
from tests.tcp_proxy import pg_proxy

STOP_GRACE_S = 10.0  # docker stop's default, then SIGKILL
BUFFER_MAX = 30  # relay messages kept in memory during an outage


async def test_postgresql_down_then_frozen_one_warning_each_nothing_lost_clean_exit(
    world: ClanWorld, pg_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    start = datetime.now(UTC) - timedelta(hours=1)
    posted = 0

    async def post(count: int) -> None:
        nonlocal posted
        for _ in range(count):
            posted += 1
            await world.discord.post_message(
                RELAY_CHANNEL_ID,
                **chat(posted, "DocOfMed", f"line {posted}").post_kwargs(start),
            )

    async def all_stored() -> bool:
        return len(await stored_relay_rows(pg_url)) == posted

    async with pg_proxy(pg_url) as proxy:
        env = subprocess_env(
            world,
            proxy.url(pg_url),
            leader_retry_s=1,
            db_connect_timeout_s=1,
            db_statement_timeout_s=2,
            relay_buffer_max=BUFFER_MAX,
        )
        bot = await start_bot_process(env, log)
        try:
            await eventually(
                lambda: _has(log, "backfill.finished", bot), "the bot started", limit_s=40
            )
            await post(3)
            await eventually(all_stored, "live messages stored")

            # 1. The server goes down: connections cut, new ones refused. More messages come
            # than the buffer holds: the last 10 are not kept, and are read again from
            # Discord's history by a backfill once the database is back.
            await proxy.down()
            await post(BUFFER_MAX + 10)
            await asyncio.sleep(2)  # the flusher retries meanwhile
            assert len(events(log, "relay.database_unavailable")) == 1
            assert len(events(log, "relay.buffer_full")) == 1
            await proxy.up()
            await eventually(all_stored, "messages buffered or re-read after the outage stored")
            assert events(log, "relay.database_recovered")[0]["not_buffered"] == 10
            assert len(events(log, "backfill.requested")) == 2  # at startup, after the outage
            await eventually(
                lambda: _has(log, "relay.database_recovered", bot), "the recovered line"
            )

            # 2. The server freezes: connections stay open, nothing answers.
            proxy.freeze()
            await post(20)
            await asyncio.sleep(3)  # at least one statement timeout
            proxy.thaw()
            await eventually(all_stored, "messages buffered while frozen stored", limit_s=30)
            await eventually(
                lambda: _count(log, "relay.database_recovered", 2), "the second recovered line"
            )
            assert len(events(log, "relay.database_unavailable")) == 2  # one per outage
            # the leader lost its lock with the frozen connection and takes the jobs back
            # (on a busy machine that can come a little after the messages are stored)
            await eventually(
                lambda: _count(log, "scheduler.took_over", 2), "the jobs taken back", limit_s=30
            )

            # 3. SIGTERM while the server is frozen again, with messages still buffered.
            stored = posted
            proxy.freeze()
            await post(5)
            await asyncio.sleep(0.5)
            assert bot.returncode is None
            bot.send_signal(signal.SIGTERM)
            loop = asyncio.get_running_loop()
            stopping = loop.time()
            assert await asyncio.wait_for(bot.wait(), 15) == 0, log.read_text()[-3000:]
            took = loop.time() - stopping
            assert took < STOP_GRACE_S, f"shutdown took {took:.1f} s"
            print(f"SIGTERM with PostgreSQL frozen: exit 0 after {took:.1f} s")
            proxy.thaw()
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()

    lines = log_lines(log)
    unavailable = events(log, "relay.database_unavailable")
    # (the third outage, at the stop, may have been met by a flush before the stop began)
    assert len(unavailable) in (2, 3), [line.get("reason") for line in unavailable]
    assert all(line["level"] == "warning" for line in unavailable)
    assert len(events(log, "relay.database_recovered")) == 2
    # no error line and no traceback anywhere: not per message, not at shutdown
    errors = [line for line in lines if line.get("level") in ("error", "critical")]
    assert errors == [], [(e["event"], e.get("task"), str(e.get("error"))[:150]) for e in errors]
    assert "Traceback" not in log.read_text()
    assert events(log, "bot.close_failed") == []
    # the leader's lock went with its connection each time: it stepped down, and took the
    # jobs back over when the server answered again
    assert len(events(log, "scheduler.stepped_down")) >= 2
    assert len(events(log, "scheduler.took_over")) >= 2
    # the 5 buffered at the stop could not be stored: said so (the next start's backfill
    # reads them again, see test_shutdown_deadline)
    incomplete = events(log, "relay.final_flush_incomplete")
    assert [line["unstored"] for line in incomplete] == [5]
    assert len(await stored_relay_rows(pg_url)) == stored


async def _has(log: Path, event: str, bot: asyncio.subprocess.Process) -> bool:
    assert bot.returncode is None, "the bot died: see its log"
    return bool(events(log, event))


async def _count(log: Path, event: str, count: int) -> bool:
    return len(events(log, event)) >= count
