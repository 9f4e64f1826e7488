"""The database driver's orphaned futures during an outage are not logged as errors."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from bot.runner import quiet_stray_database_errors
from tests.e2e.harness import captured_logs


async def _orphan(exc: BaseException) -> None:
    future = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    del future  # nobody retrieves it: asyncio reports it when it is collected
    gc.collect()
    await asyncio.sleep(0)


async def test_an_orphaned_connection_error_is_a_debug_line_other_errors_stay_errors() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        with captured_logs("DEBUG") as logs:
            restore = quiet_stray_database_errors(loop)
            try:
                await _orphan(ConnectionError("unexpected connection_lost() call"))
                await _orphan(ValueError("a bug"))
            finally:
                restore()
        assert loop.get_exception_handler() is not None  # the previous one is back
    finally:
        loop.set_exception_handler(None)
    assert len(logs.events("asyncio.orphaned_database_error")) == 1
    assert [type(c["exception"]) for c in reported] == [ValueError]  # passed on, as before


async def test_clanstats_run_keeps_them_quiet_until_its_loop_ends(monkeypatch: Any) -> None:
    # A future orphaned in an outage may be collected after the bot closed, as asyncio.run
    # winds the loop down: `clanstats run` keeps the handler for the loop's whole life.
    import bot.runner
    from bot.cli.run import _run
    from bot.core.config import Settings

    async def ran(_settings: Settings) -> int:
        return 0

    monkeypatch.setattr(bot.runner, "run_bot", ran)
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        with captured_logs("DEBUG") as logs:
            assert await _run(Settings()) == 0
            await _orphan(ConnectionError("unexpected connection_lost() call"))
    finally:
        loop.set_exception_handler(None)
    assert len(logs.events("asyncio.orphaned_database_error")) == 1
    assert reported == []
