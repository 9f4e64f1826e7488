"""Subcommands beyond the foundation's run / migrate / check-config / health."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app import open_app
from bot.cli import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, _settings_or_exit, _setup_logging
from bot.importer import add_import
from bot.report_cli import add_export, add_report


def cmd_sync(args: argparse.Namespace) -> int:
    """``clanstats sync --once``: one WOM sync with no Discord, summary on stdout."""
    settings = _settings_or_exit(args)
    missing = settings.missing_for("sync")
    if missing:
        print("clanstats sync needs: " + ", ".join(missing), file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(settings)

    async def go() -> int:
        from bot.sync_job import run_sync

        async with open_app(settings) as app:
            slot = f"cli-{app.now().strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
            result = await run_sync(app, slot=slot)
        if result.outcome != "ok":
            print(f"Sync failed: {result.error}", file=sys.stderr)
            return EXIT_FAILED
        print(result.value.summary())
        return EXIT_OK

    return asyncio.run(go())


def add_sync(sub: Any) -> None:
    p = sub.add_parser("sync", help="sync the roster and stats from Wise Old Man")
    p.add_argument(
        "--once",
        action="store_true",
        required=True,
        help="run one sync now and exit (the bot schedules it otherwise)",
    )
    p.set_defaults(handler=cmd_sync)


def cmd_demo(args: argparse.Namespace) -> int:
    """``clanstats demo``: the real bot against local fakes; needs no token and no network."""
    from bot.demo import run_demo

    return asyncio.run(run_demo(database=args.database, keep_dir=args.keep))


def add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="run the real bot against local fakes of Discord and WOM (no token needed)"
    )
    p.add_argument("--database", type=Path, default=None, help="SQLite file (default: temporary)")
    p.add_argument("--keep", type=Path, default=None, help="folder for the demo's files")
    p.set_defaults(handler=cmd_demo)


EXTRA_COMMANDS: list[Callable[[Any], None]] = [
    add_sync,
    add_demo,
    add_import,
    add_report,
    add_export,
]
