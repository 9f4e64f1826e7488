"""Looking after an install: ``migrate``, ``check-config`` and ``health``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url

from bot.app import relay_config
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.core.config import (
    ENV_PREFIX,
    ConfigError,
    SettingsReport,
    discord_id_problems,
    env_name,
    inspect_settings,
    redacted_view,
)

Purpose = Literal["run", "sync", "report"]


def config_problems(report: SettingsReport, purpose: Purpose) -> list[str]:
    """Every problem of the settings for ``purpose``, found in one pass: invalid values,
    missing required settings, relay formats the parser rejects, ids that cannot be
    Discord's, a SQLite folder that does not exist."""
    problems = list(report.problems)
    settings = report.settings
    if settings is None:
        return problems
    problems += [
        f"{name}: not set (required for `{purpose}`)"
        for name in settings.missing_for(purpose)
        if name.removeprefix(ENV_PREFIX).lower() not in report.invalid
    ]
    if "relay_custom_formats" not in report.invalid:
        try:  # compiled by the very function the relay parser and `import` use
            relay_config(settings)
        except ConfigError as exc:
            problems += exc.problems
    problems += [
        p
        for p in discord_id_problems(settings, now_ms=int(time.time() * 1000))
        if p.split(":", 1)[0].removeprefix(ENV_PREFIX).lower() not in report.invalid
    ]
    if "database_url" not in report.invalid:
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            folder = Path(url.database).parent
            if not url.database.startswith("file:") and not folder.is_dir():
                problems.append(
                    f"{env_name('database_url')}: the folder {folder} of the SQLite database "
                    "does not exist"
                )
    return problems


def cmd_check_config(args: argparse.Namespace) -> int:
    """Print the effective settings (secrets hidden), then every problem at once (exit 2)."""
    report = inspect_settings(args.config)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    problems = config_problems(report, args.purpose)
    if report.settings is not None:
        view = redacted_view(report.settings)
        width = max(len(k) for k in view)
        print("Effective settings (secrets hidden):")
        for key, value in view.items():
            if key.removeprefix(ENV_PREFIX).lower() in report.invalid:
                value = "(invalid: see below)"
            print(f"  {key:<{width}}  {value}")
    if problems:
        print(f"\ninvalid configuration for `{args.purpose}`:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Fix the settings above (see .env.example), then try again.", file=sys.stderr)
        return EXIT_CONFIG
    print(f"\nConfiguration is complete for `{args.purpose}`.")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    setup_logging(settings)

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

    return run_async(go())


def cmd_health(args: argparse.Namespace) -> int:
    """Exit 0 when the database answers at the newest schema and the bot's heartbeat is fresh."""
    settings = settings_or_exit(args)

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
