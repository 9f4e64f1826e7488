"""What every ``clanstats`` command shares: exit codes, loading settings, logging, running.

The command modules of :mod:`bot.cli` import this module and nothing from each other.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.logging import configure_logging

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """The settings for ``--config`` (or the defaults); exit 2 listing every problem."""
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("Fix the variables above (see .env.example), then try again.", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def setup_logging(settings: Settings) -> None:
    """Structured logs on stderr, at the configured level and format, secrets scrubbed."""
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine to its exit code; Ctrl+C is exit 130, not a traceback."""
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
