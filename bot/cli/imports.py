"""``clanstats import``: DiscordChatExporter JSON exports of the relay channels."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from bot.app import clan_relay_base, open_app, relay_config
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    add_guild_option,
    chosen_clan,
    report_failure,
    settings_or_exit,
    setup_logging,
)
from bot.core.config import ConfigError, Settings, env_name
from bot.usecases.importer import DEFAULT_BATCH, ImportReport, import_exports
from bot.usecases.reports import ReportInputError

#: Exit status after SIGTERM (128 + 15, as a shell reports a process that signal ended).
EXIT_TERMINATED = 143


def _config_problems(settings: Settings, any_channel: bool, guild: int | None) -> list[str]:
    if guild is not None:
        return []  # the clan's wiring in the database says it all
    problems: list[str] = []
    if settings.wom_group_id is None:
        problems.append(f"{env_name('wom_group_id')}: not set (the clan the messages belong to)")
    if not settings.relay_author_ids:
        problems.append(
            f"{env_name('relay_author_ids')}: not set (the webhook or bot ids that relay game "
            "chat; without them every message would be read as Discord chatter)"
        )
    if not settings.relay_channel_ids and not any_channel:
        problems.append(
            f"{env_name('relay_channel_ids')}: not set (or pass --any-channel to import every "
            "export given)"
        )
    return problems


def cmd_import(args: argparse.Namespace) -> int:
    """``clanstats import PATH...``: import DiscordChatExporter JSON exports."""
    settings = settings_or_exit(args)
    problems = _config_problems(settings, args.any_channel, args.guild)
    if problems:
        print(str(ConfigError(problems)), file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings)

    async def go() -> int:
        # SIGTERM cancels the import: the batch being written rolls back, the reader process
        # is stopped, the database is closed; a rerun stores the rest (nothing twice).
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        terminated = False

        def on_sigterm() -> None:
            nonlocal terminated
            terminated = True
            task.cancel()

        # asyncio's event loops take signal handlers on Unix only (the bot runs on Linux).
        on_unix = sys.platform != "win32"
        if on_unix:
            loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        try:
            async with open_app(settings) as app:
                if args.guild is not None:
                    try:
                        clan = await chosen_clan(app, settings, args)
                    except ReportInputError as exc:
                        return report_failure(exc)
                    assert clan.wiring is not None  # chosen by its guild
                    wiring = clan.wiring
                    group_id, config = wiring.wom_group_id, clan_relay_base(wiring)
                    channel_ids = list(wiring.relay_channel_ids)
                    guild_id: int | None = wiring.guild_id
                else:
                    assert settings.wom_group_id is not None  # checked above
                    group_id, config = settings.wom_group_id, relay_config(settings)
                    channel_ids, guild_id = settings.relay_channel_ids, settings.guild_id
                report = await import_exports(
                    app,
                    list(args.paths),
                    group_id=group_id,
                    config=config,
                    channel_ids=channel_ids,
                    guild_id=guild_id,
                    any_channel=args.any_channel,
                    batch_size=args.batch_size,
                    progress=sys.stderr,
                )
        except asyncio.CancelledError:
            if not terminated:
                raise
            print(
                "import stopped (SIGTERM): every batch stored before it is kept; run the same "
                "import again to store the rest",
                file=sys.stderr,
            )
            return EXIT_TERMINATED
        finally:
            if on_unix:
                loop.remove_signal_handler(signal.SIGTERM)
        print(report.summary())
        return _exit_code(report)

    try:
        return asyncio.run(go())
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _exit_code(report: ImportReport) -> int:
    """1 when a file stopped part way, 2 when one was not an export (bad input), else 0.

    Each problem is also said on stderr, one line each.
    """
    for refused in report.refused:
        print(f"error: {refused}", file=sys.stderr)
    for failure in report.failures:
        print(f"error: {failure}", file=sys.stderr)
    if report.failures:
        return EXIT_FAILED
    return EXIT_CONFIG if report.refused else EXIT_OK


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="import DiscordChatExporter JSON exports of the relay channels"
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DCE JSON export file")
    p.add_argument(
        "--any-channel",
        action="store_true",
        help="import exports of channels not in CLANSTATS_RELAY_CHANNEL_IDS too",
    )
    p.add_argument(
        "--batch-size",
        type=_positive,
        default=DEFAULT_BATCH,
        help=f"messages per write transaction (default {DEFAULT_BATCH})",
    )
    add_guild_option(p)
    p.set_defaults(handler=cmd_import)
