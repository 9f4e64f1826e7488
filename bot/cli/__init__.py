"""The ``clanstats`` command line (also ``python -m bot``): one module per command group.

Each module registers its commands with ``register(subparsers)`` and shares only
:mod:`bot.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.cli import (
    clan,
    config,
    demo,
    imports,
    invite,
    lookup,
    maintenance,
    relay,
    report,
    run,
    sync,
)
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_INTERRUPTED,
    ordinary_failure,
    quiet_broken_pipe,
    stdout_reader_gone,
)
from bot.core.logging import configure_logging
from bot.core.runtime import tune_gc

Handler = Callable[[argparse.Namespace], int]

#: The command groups, in the order ``clanstats --help`` lists them.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    run.register,
    invite.register,
    maintenance.register,
    sync.register,
    demo.register,
    imports.register,
    report.register,
    clan.register,
    config.register,
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
    """Run one command to its exit code.

    Logs go to stderr from the first line on (stdout carries only answers); a closed pipe
    ends quietly (exit 141); a mistake of the install (configuration, database, disk,
    Discord token) is one line on stderr and exit 2; only a bug keeps its traceback.
    """
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    tune_gc()
    configure_logging(level="WARNING")  # until the command applies the configured settings
    try:
        code = handler(args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
        # One large write into a pipe whose reader left returns short instead of failing
        # (CPython's buffered writer reports the bytes the pipe took): ask the pipe itself.
        if stdout_reader_gone(unknown=False):
            return quiet_broken_pipe()
        return code
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        return quiet_broken_pipe()
    except KeyboardInterrupt:  # Ctrl+C outside a command's own event loop
        return EXIT_INTERRUPTED
    except Exception as exc:
        message = ordinary_failure(exc)
        if message is None:
            raise
        print(f"clanstats {args.command}: {message}", file=sys.stderr)
        return EXIT_CONFIG


__all__ = ["build_parser", "main"]
