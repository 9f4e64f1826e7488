"""Looking after an install: ``migrate``, ``check-config`` and ``health``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.core.config import ConfigError, load_settings, redacted_view


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
    settings = settings_or_exit(args)
    setup_logging(settings)

    async def go() -> int:
        from bot.app import open_database
        from storage.migrate import upgrade

        db = open_database(settings)
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

    return run_async(go())


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 0 when the database answers at the newest schema and the bot's heartbeat is fresh."""
    settings = settings_or_exit(args)

    async def go() -> int:
        from bot.app import open_database
        from storage.migrate import current_revision, head_revision

        db = open_database(settings)
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

    return run_async(go())


def register(sub: Any) -> None:
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
