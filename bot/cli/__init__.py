"""The ``clanstats`` command line (also ``python -m bot``): one module per command group.

Each module registers its commands with ``register(subparsers)`` and shares only
:mod:`bot.cli.common`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.cli import clan, demo, imports, lookup, maintenance, relay, report, run, sync
from bot.core.runtime import tune_gc

Handler = Callable[[argparse.Namespace], int]

#: The command groups, in the order ``clanstats --help`` lists them.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    run.register,
    maintenance.register,
    sync.register,
    demo.register,
    imports.register,
    report.register,
    clan.register,
    lookup.register,
    relay.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clanstats",
        description="ClanStats: relayed clan chat joined with Wise Old Man progress.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="TOML settings file (default: clanstats.toml, or CLANSTATS_CONFIG)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMAND_GROUPS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    tune_gc()
    return handler(args)


__all__ = ["build_parser", "main"]
