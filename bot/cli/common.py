"""What every ``clanstats`` command shares: exit codes, loading settings, logging, running.

The command modules of :mod:`bot.cli` import this module and nothing from each other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from bot.core.config import ConfigError, Settings, load_settings
from bot.core.logging import configure_logging
from bot.usecases.clans import ChosenClan, choose_clan
from bot.usecases.context import App
from bot.usecases.reports import ClanNotSyncedError, ReportInputError
from storage.errors import database_problem, os_problem, unavailable_reason

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130
#: What a shell reports for a program stopped by SIGPIPE (128 + 13): `clanstats … | head`.
EXIT_BROKEN_PIPE = 128 + int(getattr(signal, "SIGPIPE", 13))


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """The settings for ``--config`` (or the defaults); exit 2 listing every problem."""
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(f"clanstats {args.command}: {describe_config_error(exc)}", file=sys.stderr)
        if len(exc.problems) > 1:
            print("Fix the settings above (see .env.example), then try again.", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def describe_config_error(exc: ConfigError) -> str:
    """One problem on one line; several as a list under one line."""
    if len(exc.problems) == 1:
        return f"{exc.problems[0]} (see .env.example)"
    return str(exc)


def setup_logging(settings: Settings) -> None:
    """Structured logs on stderr, at the configured level and format, secrets scrubbed."""
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())


def report_settings(args: argparse.Namespace) -> Settings:
    """Settings for a command that answers from stored data. Which clan it is about is
    :func:`chosen_clan`'s to say (``--guild``, the environment's clan, or the only one)."""
    settings = settings_or_exit(args)
    setup_logging(settings)  # on stderr: stdout carries the answer alone
    return settings


def parse_as_of(text: str | None, now: datetime) -> datetime:
    """``--as-of``: ISO-8601 (``2025-12-23T20:00:00Z``, an offset, or a date = its UTC
    midnight); a time without offset is taken as UTC. ``now`` when not given."""
    if text is None:
        return now
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ReportInputError(
            f"--as-of {text!r} is not an ISO-8601 time: use e.g. 2025-12-23T20:00:00Z"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def report_failure(exc: Exception) -> int:
    """Say what went wrong on stderr; exit 1 when the clan has no data yet, else 2."""
    print(f"error: {exc}", file=sys.stderr)
    if isinstance(exc, ClanNotSyncedError):
        return EXIT_FAILED
    return EXIT_CONFIG


DATABASE_UNAVAILABLE = (
    "error: the database cannot be used right now: {reason}. Check that it runs and is "
    "reachable at CLANSTATS_DATABASE_URL (calls give up after CLANSTATS_DB_CONNECT_TIMEOUT_S, "
    "CLANSTATS_DB_STATEMENT_TIMEOUT_S or, on SQLite, CLANSTATS_DB_BUSY_TIMEOUT_S)."
)


def run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine to its exit code; Ctrl+C is exit 130, not a traceback.

    A database that is down, frozen or locked ends the command with one line and exit 2 (the
    other mistakes of the install are said by the entry point, also exit 2).
    """
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise  # stdout's reader went away: the entry point ends quietly (exit 141)
    except Exception as exc:
        if ordinary_failure(exc) is not None:
            raise  # the entry point says it in one line (``clanstats <command>: …``), exit 2
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        print(DATABASE_UNAVAILABLE.format(reason=reason), file=sys.stderr)
        return EXIT_CONFIG


def _discord_problem(exc: BaseException) -> str | None:
    if "discord" not in sys.modules:  # not imported: it cannot have raised
        return None
    import discord

    if isinstance(exc, discord.LoginFailure):
        return (
            "Discord rejected the bot token (CLANSTATS_DISCORD_TOKEN): copy the bot's token "
            "again from the Discord Developer Portal (Bot → Reset Token) and set it"
        )
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the bot's privileged intents: enable Message Content under "
            "Bot → Privileged Gateway Intents in the Developer Portal (the only privileged "
            "intent the bot asks for)"
        )
    return None


def ordinary_failure(exc: BaseException) -> str | None:
    """One line for a mistake of the install (configuration, database, disk, Discord token),
    looking through the exception's explicit causes; None for a bug (it keeps its traceback)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConfigError):
            return describe_config_error(current)
        message = _discord_problem(current) or database_problem(current)
        if message is None and isinstance(current, OSError):
            message = os_problem(current)
        if message is not None:
            return message
        current = current.__cause__
    return None


def stdout_reader_gone(*, unknown: bool = True) -> bool:
    """Whether stdout is a pipe whose reader has closed it (``clanstats … | head``);
    ``unknown`` when stdout is not a file descriptor that can be asked."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return unknown
    if not hasattr(select, "poll"):
        return unknown
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _fd, events in poller.poll(0))


def quiet_broken_pipe() -> int:
    """End after the reader of stdout went away: no traceback, no second error at exit.

    Python's documented recipe (python/cpython ``Doc/library/signal.rst``, "Note on
    SIGPIPE"): point stdout at devnull so the final flush cannot fail again; the exit code
    is the shell's for a pipe closed early.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        pass
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def add_guild_option(parser: argparse.ArgumentParser) -> None:
    """``--guild ID``: which clan (the one set up in that Discord server) to answer for."""
    parser.add_argument(
        "--guild",
        type=int,
        default=None,
        metavar="ID",
        help="the Discord server whose clan to use (default: the clan of CLANSTATS_GUILD_ID / "
        "CLANSTATS_WOM_GROUP_ID, else the only clan; several clans: say which)",
    )


async def chosen_clan(app: App, settings: Settings, args: argparse.Namespace) -> ChosenClan:
    """The clan this command is about (``--guild``, the environment's, or the only one);
    :class:`~bot.usecases.clans.ClanChoiceError` (exit 2) lists the clans otherwise."""
    return await choose_clan(
        app,
        guild_id=getattr(args, "guild", None),
        env_guild_id=settings.guild_id,
        env_group_id=settings.wom_group_id,
        env_timezone=settings.timezone,
    )


async def chosen_clan_id(app: App, settings: Settings, args: argparse.Namespace) -> ChosenClan:
    """:func:`chosen_clan`, which must have data: ``ClanNotSyncedError`` (exit 1) if not."""
    clan = await chosen_clan(app, settings, args)
    if clan.clan_id is None:
        raise ClanNotSyncedError(
            f"WOM group {clan.wom_group_id} was never synced: run `clanstats sync --once` first"
        )
    return clan
