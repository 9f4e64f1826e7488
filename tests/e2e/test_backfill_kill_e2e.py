"""A bot process killed (SIGKILL) mid-backfill and restarted ends with exactly the source.

10,000 messages are 100 history pages, read at the pace Discord's rate limits allow (the fake
enforces them): the kill lands a quarter of the way in, with many pages on either side. (It
was 50,000 before the e2e suite ran on both databases: that test alone then took half of each
database's 60 s budget under coverage.)"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from fakes.chat_script import chat
from fakes.world import RELAY_CHANNEL_ID, ClanWorld
from storage.engine import Database
from storage.models import RelayMessage

SOURCE_MESSAGES = 10_000
NAMES = ("partymarty94", "DocOfMed", "Jbwell", "vanvolter ii", "hai ku", "Hi Ku", "llo6")


def _env(world: ClanWorld, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    for key, value in world.settings(url, discord_api_url=world.discord.base_url).items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        env[f"CLANSTATS_{key.upper()}"] = str(value)
    env["CLANSTATS_LOG_LEVEL"] = "INFO"  # the test waits on backfill.finished
    env["CLANSTATS_LOG_FORMAT"] = "json"
    return env


async def _count(db: Database) -> int:
    try:
        async with db.read() as s:
            return int((await s.execute(select(func.count(RelayMessage.id)))).scalar_one())
    except (OperationalError, ProgrammingError):  # not migrated yet (SQLite / PostgreSQL)
        return 0


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


async def test_sigkill_during_a_10000_message_backfill_then_restart_gives_exactly_the_source(
    world: ClanWorld, db_url: str, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(days=3)
    world.discord.seed_history(
        RELAY_CHANNEL_ID,
        (
            chat(0, NAMES[i % len(NAMES)], f"message number {i}").post_kwargs(
                start + timedelta(seconds=4 * i)
            )
            for i in range(SOURCE_MESSAGES)
        ),
    )
    source = {int(m["id"]) for m in world.discord.history(RELAY_CHANNEL_ID)}
    assert len(source) == SOURCE_MESSAGES
    env, log = _env(world, db_url), tmp_path / "bot.log"
    db = Database.from_url(db_url)
    try:
        first = await _start(env, log)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            stored = await _count(db)
            if stored >= SOURCE_MESSAGES // 4 or first.returncode is not None:
                break
        assert first.returncode is None, log.read_text()[-3000:]
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = await _count(db)
        assert 0 < killed_at < SOURCE_MESSAGES, "the kill must land mid-backfill"

        first_run_log = log.stat().st_size
        second = await _start(env, log)
        deadline = loop.time() + 120
        # The restarted bot says when its backfill has read the channel to the end: from then
        # on nothing is in flight, and the store must hold exactly the source.
        while b'"backfill.finished"' not in log.read_bytes()[first_run_log:]:
            assert second.returncode is None, log.read_text()[-3000:]
            assert loop.time() < deadline, "the restarted bot's backfill did not finish"
            await asyncio.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 30) == 0, log.read_text()[-3000:]

        async with db.read() as s:
            ids = [r[0] for r in await s.execute(select(RelayMessage.message_id))]
    finally:
        await db.dispose()
    assert len(ids) == SOURCE_MESSAGES
    assert set(ids) == source
