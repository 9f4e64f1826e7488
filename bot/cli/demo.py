"""``clanstats demo``: the real bot against local fakes of Discord and WOM (no token)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.common import run_async
from bot.client import ClanStatsBot
from bot.core.config import Settings
from bot.core.logging import configure_logging
from bot.runner import run_bot


async def start_demo_bot(
    values: dict[str, Any],
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    on_bot: Callable[[ClanStatsBot], None],
) -> int:
    """How the demo starts the real bot: the same ``run_bot`` as ``clanstats run``."""
    return await run_bot(
        Settings(**values), stop=stop, on_bot=on_bot, fast_startup=True, clock=clock
    )


def cmd_demo(args: argparse.Namespace) -> int:
    """Needs no token and no network: both fakes run on loopback."""
    from fakes.demo import run_demo

    configure_logging(level="WARNING", fmt="console", stream=sys.stderr)
    return run_async(run_demo(start_demo_bot, database=args.database, keep_dir=args.keep))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="run the real bot against local fakes of Discord and WOM (no token needed)"
    )
    p.add_argument("--database", type=Path, default=None, help="SQLite file (default: temporary)")
    p.add_argument("--keep", type=Path, default=None, help="folder for the demo's files")
    p.set_defaults(handler=cmd_demo)
