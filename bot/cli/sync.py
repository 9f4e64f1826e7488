"""``clanstats sync --once``: one Wise Old Man sync with no Discord, summary on stdout."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app import open_app, sync_options
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.usecases.sync import run_sync


def cmd_sync(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    missing = settings.missing_for("sync")
    if missing:
        print("clanstats sync needs: " + ", ".join(missing), file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings)

    async def go() -> int:
        async with open_app(settings) as app:
            slot = f"cli-{app.now().strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
            result = await run_sync(app, sync_options(settings), slot=slot)
        if result.outcome != "ok" or result.value is None:
            print(f"Sync failed: {result.error}", file=sys.stderr)
            return EXIT_FAILED
        print(result.value.summary())
        return EXIT_OK

    return run_async(go())


def register(sub: Any) -> None:
    p = sub.add_parser("sync", help="sync the roster and stats from Wise Old Man")
    p.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="run one sync now and exit (the bot schedules it otherwise)",
    )
    p.set_defaults(handler=cmd_sync)
