"""Looking after an install: ``migrate``, ``check-config`` and ``health``."""

from __future__ import annotations

import argparse
import asyncio
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
    Settings,
    SettingsReport,
    discord_id_problems,
    env_name,
    inspect_settings,
    load_settings,
    redacted_view,
)

Purpose = Literal["run", "sync", "report"]
#: One health check: passed?, and what was checked (one line).
Check = tuple[bool, str]


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
    """One line per check on stdout, then the verdict; exit 0 only when every check passed.

    Every failure is exit 1, whatever its cause: Docker's HEALTHCHECK reads 0 as healthy and
    1 as unhealthy, and reserves 2.
    """
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print("FAIL  configuration: " + "; ".join(exc.problems))
        print("unhealthy")
        return EXIT_FAILED
    checks = asyncio.run(_database_checks(settings.database_url))
    checks.append(_heartbeat_check(settings, args.max_age))
    for ok, line in checks:
        print(f"{'ok  ' if ok else 'FAIL'}  {line}")
    healthy = all(ok for ok, _ in checks)
    print("healthy" if healthy else "unhealthy")
    return EXIT_OK if healthy else EXIT_FAILED


async def _database_checks(url: str) -> list[Check]:
    """Does the database answer, and at the schema this version needs? Never creates one."""
    from storage.engine import Database
    from storage.errors import database_problem
    from storage.migrate import current_revision, head_revision, sqlite_path

    try:
        db = Database.from_url(url)
    except Exception as exc:  # a URL the engine refuses: still a line, still exit 1
        return [(False, f"database: cannot be opened: {database_problem(exc) or exc}")]
    try:
        path = sqlite_path(db)
        if path is not None and not path.is_file():
            return [
                (
                    False,
                    f"database: no SQLite database at {path} (`clanstats run` or "
                    "`clanstats migrate` creates it)",
                )
            ]
        try:
            revision = await current_revision(db)
        except Exception as exc:
            reason = database_problem(exc) or f"{type(exc).__name__}: {exc}"
            return [(False, f"database: {db.url} does not answer: {reason}")]
    finally:
        await db.dispose()
    head = head_revision()
    answered = (True, f"database: {db.url} answers")
    if revision is None:
        return [answered, (False, "schema: none yet (run `clanstats migrate`)")]
    if revision != head:
        return [
            answered,
            (False, f"schema: at {revision}, this version needs {head} (run `clanstats migrate`)"),
        ]
    return [answered, (True, f"schema: at the newest revision ({head})")]


def _heartbeat_check(settings: Settings, max_age: float) -> Check:
    """Is the bot running? Asked whenever it is configured to run (a token is set) or a
    heartbeat file is configured; without that file there is no way to tell."""
    path = settings.heartbeat_file
    if path is None:
        if settings.discord_token is None:
            return (True, "bot: not checked (no CLANSTATS_DISCORD_TOKEN: it is not set up to run)")
        return (
            False,
            "bot: cannot tell whether it runs: CLANSTATS_HEARTBEAT_FILE is not set (the bot "
            "touches that file every 30 s; set it for both the bot and this check)",
        )
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return (False, f"bot: no heartbeat at {path}: it is not running or never connected")
    except OSError as exc:
        return (False, f"bot: cannot read the heartbeat {path}: {exc.strerror}")
    if age > max_age:
        return (False, f"bot: last heartbeat {age:.0f} s ago at {path} (limit {max_age:.0f} s)")
    return (True, f"bot: heartbeat {age:.0f} s old (limit {max_age:.0f} s)")


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
