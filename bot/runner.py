"""Run the real bot until it is stopped: the process entry behind ``clanstats run``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence

import structlog

from bot.client import DEFAULT_EXTENSIONS, ClanStatsBot
from bot.config import Settings

log = structlog.get_logger(__name__)


async def run_bot(settings: Settings, *, extensions: Sequence[str] = DEFAULT_EXTENSIONS) -> int:
    """Start the bot with ``bot.start`` (so structlog keeps owning logging) until SIGINT/TERM."""
    assert settings.discord_token is not None
    bot = ClanStatsBot(settings, extensions=extensions)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()  # re-raise a startup failure
            return 0
        log.info("bot.stopping", reason="signal")
        return 0
    finally:
        stopper.cancel()
        await bot.close()
        if not runner.done():
            runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
