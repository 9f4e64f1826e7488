"""The ``clanstats`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import structlog

from bot.config import ConfigError, Settings, load_settings, redacted_view
from bot.logging import configure_logging
from bot.runtime import tune_gc

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

NO_TOKEN_HELP = """\
ClanStats cannot start: no Discord bot token is configured.
Set CLANSTATS_DISCORD_TOKEN (in the environment, a .env file or clanstats.toml) to the token
of your Discord application's bot, together with CLANSTATS_GUILD_ID, CLANSTATS_WOM_GROUP_ID,
CLANSTATS_RELAY_CHANNEL_IDS and CLANSTATS_RELAY_AUTHOR_IDS (see .env.example and
`clanstats check-config`). To see the bot work without a token or network first, run
`clanstats demo`: it runs the real bot against local fakes of Discord and Wise Old Man."""


def _settings_or_exit(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("Fix the variables above (see .env.example), then try again.", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _setup_logging(settings: Settings) -> None:
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=settings.secrets())


def _run_async(coro: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        return 130


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    width = max(len(k) for k in redacted_view(settings))
    print("Effective settings (secrets hidden):")
    for key, value in redacted_view(settings).items():
        print(f"  {key:<{width}}  {value}")
    missing = settings.missing_for(args.purpose)
    if missing:
        print(
            f"\ninvalid configuration for `{args.purpose}`: these required settings are not set:",
            file=sys.stderr,
        )
        for name in missing:
            print(f"  - {name}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"\nConfiguration is complete for `{args.purpose}`.")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(args)
    _setup_logging(settings)

    async def go() -> int:
        from storage.engine import Database
        from storage.migrate import upgrade

        db = Database.from_url(settings.database_url)
        try:
            result = await upgrade(db)
        finally:
            await db.dispose()
        if result.changed:
            print(f"Migrated {db.url} from {result.before or 'empty'} to {result.after}.")
        else:
            print(f"{db.url} is already at the newest schema ({result.after}).")
        if result.backup is not None:
            print(f"Backup of the previous database: {result.backup}")
        return EXIT_OK

    return _run_async(go())


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(args)
    if settings.discord_token is None:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    missing = settings.missing_for("run")
    if missing:
        print("ClanStats cannot start; these settings are required:", file=sys.stderr)
        for name in missing:
            print(f"  - {name}", file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(settings)
    from bot.runner import run_bot

    return _run_async(run_bot(settings))


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 0 when the database answers at the newest schema and the bot's heartbeat is fresh."""
    settings = _settings_or_exit(args)

    async def go() -> int:
        from storage.engine import Database
        from storage.migrate import current_revision, head_revision

        db = Database.from_url(settings.database_url)
        try:
            revision = await current_revision(db)
        except Exception as exc:
            print(f"unhealthy: database unreachable: {type(exc).__name__}", file=sys.stderr)
            return EXIT_FAILED
        finally:
            await db.dispose()
        if revision != head_revision():
            print(f"unhealthy: schema at {revision}, expected {head_revision()}", file=sys.stderr)
            return EXIT_FAILED
        path = settings.heartbeat_file
        if path is not None:
            import time

            age = time.time() - path.stat().st_mtime if path.exists() else None
            if age is None or age > args.max_age:
                print(f"unhealthy: no heartbeat in {path} for {args.max_age} s", file=sys.stderr)
                return EXIT_FAILED
        print("healthy")
        return EXIT_OK

    return _run_async(go())


Handler = Callable[[argparse.Namespace], int]


def build_parser(extra: Sequence[Callable[[Any], None]] = ()) -> argparse.ArgumentParser:
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

    p = sub.add_parser("run", help="start the bot (needs a Discord token)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("check-config", help="print the effective settings and every problem")
    p.add_argument(
        "--for",
        dest="purpose",
        choices=["run", "sync", "report"],
        default="run",
        help="which command the settings must be complete for (default: run)",
    )
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("health", help="exit 0 if the database and the running bot are healthy")
    p.add_argument("--max-age", type=float, default=120.0, help="heartbeat age limit, seconds")
    p.set_defaults(handler=cmd_health)

    for add in extra:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.commands import EXTRA_COMMANDS

    parser = build_parser(EXTRA_COMMANDS)
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    tune_gc()
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
