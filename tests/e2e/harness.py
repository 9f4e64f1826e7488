"""Start the real bot (the composition root behind ``clanstats run``) against both fakes."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.app import utc_now
from bot.client import DEFAULT_EXTENSIONS, ClanStatsBot
from bot.core.config import Settings
from bot.core.logging import configure_logging
from bot.runner import run_bot
from fakes.world import ClanWorld
from storage.engine import Database
from storage.models import RelayMessage


@dataclass
class RunningBot:
    bot: ClanStatsBot
    task: asyncio.Task[int]
    stop: asyncio.Event
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)
    # Pooled connections still checked out each time the bot's database was disposed.
    checked_out_at_dispose: list[int] = field(default_factory=list)

    async def shutdown(self, limit_s: float = 15.0) -> int:
        self.stop.set()
        return await asyncio.wait_for(self.task, limit_s)


@asynccontextmanager
async def running_bot(
    world: ClanWorld,
    database_url: str,
    *,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    clock: Callable[[], datetime] = utc_now,
    wait_ready: bool = True,
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    """Run the bot until the block ends; the block sees it logged in and ready."""
    settings = Settings(**world.settings(database_url, **overrides))
    holder: list[ClanStatsBot] = []
    stop = asyncio.Event()
    # run_bot points discord.py at the fake itself (world.settings sets discord_api_url).
    task = asyncio.create_task(
        run_bot(
            settings,
            extensions=extensions,
            stop=stop,
            clock=clock,
            on_bot=holder.append,
            fast_startup=True,
        )
    )
    await asyncio.sleep(0)  # run_bot builds the bot before its first await
    running = RunningBot(holder[0], task, stop, settings)
    try:
        if wait_ready:
            await _wait_ready(world, running)
            _watch_dispose(running)
        yield running
    finally:
        if not task.done():
            stop.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 20)
    # A connection still checked out when the engine is disposed is leaked: SQLAlchemy warns
    # about it only when the garbage collector gets to it, so the warning comes and goes.
    assert not any(running.checked_out_at_dispose), (
        "the bot closed its database while something still held a pooled connection: "
        f"{running.checked_out_at_dispose}"
    )


def _watch_dispose(running: RunningBot) -> None:
    """Record how many pooled connections are checked out when the bot disposes its engine."""
    db = running.bot.app.db
    dispose = db.dispose

    async def checked_dispose() -> None:
        pool: Any = db.engine.pool
        checkedout = getattr(pool, "checkedout", None)
        running.checked_out_at_dispose.append(checkedout() if checkedout is not None else 0)
        await dispose()

    db.dispose = checked_dispose  # type: ignore[method-assign]


async def _wait_ready(world: ClanWorld, running: RunningBot, limit_s: float = 20.0) -> None:
    async def ready() -> None:
        while not running.bot.is_ready():
            if running.task.done():
                running.task.result()  # raise the startup failure
                raise RuntimeError("the bot stopped before it became ready")
            await asyncio.sleep(0.02)

    await asyncio.wait_for(ready(), limit_s)


async def stored_relay_rows(url: str) -> list[RelayMessage]:
    """Every stored relay row, in insertion order (read through a database of its own)."""
    db = Database.from_url(url)
    try:
        async with db.read() as s:
            return list((await s.execute(select(RelayMessage).order_by(RelayMessage.id))).scalars())
    finally:
        await db.dispose()


async def wait_relay_rows(url: str, count: int, limit_s: float = 20.0) -> list[RelayMessage]:
    """Wait until at least ``count`` relay rows are stored; TimeoutError says how many were."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while True:
        rows = await stored_relay_rows(url)
        if len(rows) >= count:
            return rows
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{len(rows)} of {count} relay rows stored after {limit_s}s")
        await asyncio.sleep(0.1)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, limit_s: float = 20.0
) -> None:
    """Wait until the async ``check`` holds (polled); TimeoutError says what never happened."""
    deadline = asyncio.get_running_loop().time() + limit_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what}: not within {limit_s}s")
        await asyncio.sleep(0.05)


class LogLines:
    """JSON log lines the bot wrote while captured."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def events(self, event: str, **fields: object) -> list[dict[str, object]]:
        """Every line of ``event`` whose fields include ``fields``."""
        lines = [json.loads(x) for x in self.buffer.getvalue().splitlines() if x.startswith("{")]
        return [
            line
            for line in lines
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items())
        ]


@contextmanager
def captured_logs(level: str = "INFO") -> Iterator[LogLines]:
    """Route the bot's logging (structlog and stdlib) to JSON lines in memory for the block."""
    logs = LogLines()
    configure_logging(level=level, fmt="json", stream=logs.buffer)
    try:
        yield logs
    finally:
        configure_logging(level="WARNING", fmt="console")
