"""Run the real bot until it is stopped: the process entry behind ``clanstats run``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Sequence
from datetime import datetime

import structlog

from bot.app import utc_now
from bot.client import DEFAULT_EXTENSIONS, ClanStatsBot
from bot.config import Settings

log = structlog.get_logger(__name__)


async def run_bot(
    settings: Settings,
    *,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_bot: Callable[[ClanStatsBot], None] | None = None,
) -> int:
    """Start the bot with ``bot.start`` (so structlog keeps owning logging) until stopped.

    It stops on SIGINT/SIGTERM, or when ``stop`` is set (tests and the demo), and always
    closes cleanly: scheduler, gateway, HTTP session, database.
    """
    if settings.discord_token is None:
        raise ValueError("CLANSTATS_DISCORD_TOKEN is not set")
    bot = ClanStatsBot(settings, extensions=extensions, clock=clock)
    if on_bot is not None:
        on_bot(bot)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    runner = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner in done:
            runner.result()  # re-raise a startup failure
        else:
            log.info("bot.stopping", reason="stop requested")
        return 0
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        stopper.cancel()
        await bot.close()
        if not runner.done():
            runner.cancel()
        await asyncio.gather(runner, stopper, return_exceptions=True)
