"""Run the real bot until it is stopped: the process entry behind ``clanstats run``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import structlog

from bot.app import utc_now
from bot.client import DEFAULT_EXTENSIONS, ClanStatsBot
from bot.core.config import Settings
from bot.discord_endpoint import point_discord_py_at
from storage.errors import unavailable_reason

log = structlog.get_logger(__name__)


async def run_bot(
    settings: Settings,
    *,
    extensions: Sequence[str] = DEFAULT_EXTENSIONS,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
    on_bot: Callable[[ClanStatsBot], None] | None = None,
    fast_startup: bool = False,
) -> int:
    """Start the bot with ``bot.start`` (so structlog keeps owning logging) until stopped.

    It stops on SIGINT/SIGTERM, or when ``stop`` is set (tests and the demo), and always
    closes cleanly: scheduler, gateway, HTTP session, database. ``fast_startup`` drops
    discord.py's waits meant for the real Discord (for a local fake only).
    """
    if settings.discord_token is None:
        raise ValueError("CLANSTATS_DISCORD_TOKEN is not set")
    # Against a local fake (tests, the demo) nothing needs discord.py's protective waits.
    bot = ClanStatsBot(
        settings,
        extensions=extensions,
        clock=clock,
        guild_ready_timeout=0.1 if fast_startup else 2.0,
        identify_delay_s=0.0 if fast_startup else 5.0,
    )
    if on_bot is not None:
        on_bot(bot)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    # Loop signal handlers exist on Unix only; elsewhere Ctrl+C still stops asyncio.run.
    for sig in (signal.SIGINT, signal.SIGTERM) if sys.platform != "win32" else ():
        with contextlib.suppress(RuntimeError, ValueError):  # not the main thread
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    endpoint = (
        point_discord_py_at(settings.discord_api_url)
        if settings.discord_api_url
        else contextlib.nullcontext()
    )
    restore = quiet_stray_database_errors(loop)
    try:
        with endpoint:
            return await _run(bot, settings, stop, loop, installed)
    finally:
        restore()


def quiet_stray_database_errors(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Keep the database driver's orphaned futures out of the error log during an outage.

    When a connection dies mid-request, asyncpg can leave a future holding the error that
    nobody awaits (e.g. ``ConnectionError('unexpected connection_lost() call')``, see
    MagicStack/asyncpg#1211 and #825), and asyncio logs "Future exception was never
    retrieved" at error level. The outage itself is already logged once by the code that
    met it: these become debug lines. Anything else keeps asyncio's handling. Returns a
    function that puts the previous handler back.
    """
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message", ""))
        if (
            "never retrieved" in message
            and isinstance(exc, BaseException)
            and (isinstance(exc, ConnectionError) or unavailable_reason(exc) is not None)
        ):
            log.debug("asyncio.orphaned_database_error", error=repr(exc)[:300])
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return lambda: loop.set_exception_handler(previous)


async def _run(
    bot: ClanStatsBot,
    settings: Settings,
    stop: asyncio.Event,
    loop: asyncio.AbstractEventLoop,
    installed: list[signal.Signals],
) -> int:
    assert settings.discord_token is not None
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
