"""``clanstats clan …``: the officer answers of ``/clan`` without Discord, for scripts and
for checking (the same use cases as the slash commands).

Exit codes: 0 done, 1 the clan was never synced, 2 bad input (window, ``--as-of``) or
configuration. Text or JSON on stdout only; logs go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.app import open_app
from bot.cli.common import (
    EXIT_OK,
    add_guild_option,
    chosen_clan_id,
    parse_as_of,
    report_failure,
    report_settings,
    run_async,
)
from bot.usecases.reports import (
    FINDINGS_KINDS,
    FINDINGS_WINDOWS,
    ClanNotSyncedError,
    ReportInputError,
    clan_drops,
    findings,
    inactive_window_label,
    unmatched,
)
from bot.usecases.reports.drops import DROPS_LIMIT, drops_json, drops_text
from bot.usecases.reports.exports import (
    findings_json,
    findings_text,
    unmatched_json,
    unmatched_text,
)

if TYPE_CHECKING:
    from bot.usecases.context import App
    from domain.rules import Finding

T = TypeVar("T")


def _answer(
    args: argparse.Namespace,
    ask: Callable[[App, int, datetime], Awaitable[T]],
    render: Callable[[T, datetime], str],
) -> int:
    """Open the clan's database, ``ask`` for one answer as of ``--as-of`` and print it."""
    settings = report_settings(args)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                as_of = parse_as_of(args.as_of, app.now())
                clan = await chosen_clan_id(app, settings, args)
                clan_id = clan.clan_id
                assert clan_id is not None
                found = await ask(app, clan_id, as_of)
            except (ReportInputError, ClanNotSyncedError) as exc:
                return report_failure(exc)
        sys.stdout.write(render(found, as_of))
        return EXIT_OK

    return run_async(go())


def cmd_findings(args: argparse.Namespace) -> int:
    """``clanstats clan inactive|audit|alerts|promotions``: one officer list."""
    render = findings_json if args.format == "json" else findings_text
    shown: list[str] = []

    async def ask(app: App, clan_id: int, as_of: datetime) -> list[Finding]:
        # The purge list's window is the clan's own (``inactive_window_days``).
        window = args.window or (
            await inactive_window_label(app, clan_id)
            if args.list == "inactive"
            else FINDINGS_WINDOWS[args.list]
        )
        shown.append(window)
        return await findings(app, clan_id, args.list, as_of, window=window)

    return _answer(args, ask, lambda found, as_of: render(args.list, shown[0], as_of, found))


def cmd_unmatched(args: argparse.Namespace) -> int:
    """``clanstats clan unmatched``: relay names no member held."""
    render = unmatched_json if args.format == "json" else unmatched_text
    return _answer(
        args,
        lambda app, clan_id, _as_of: unmatched(app, clan_id),
        lambda found, as_of: render(as_of, found),
    )


def cmd_drops(args: argparse.Namespace) -> int:
    """``clanstats clan drops [PERIOD]``: the biggest drops, pets, collection log and 99s."""
    return _answer(
        args,
        lambda app, clan_id, as_of: clan_drops(app, clan_id, args.period, as_of, limit=args.limit),
        drops_json if args.format == "json" else drops_text,
    )


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return number


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of", default=None, help="the moment to answer for, ISO-8601 (default: now)"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_guild_option(p)


def register(sub: Any) -> None:
    clan = sub.add_parser("clan", help="the officer answers of /clan, without Discord")
    lists = clan.add_subparsers(dest="list", metavar="LIST", required=True)
    help_of = {
        "inactive": "purge candidates: no chat and no progress (60d)",
        "audit": "staff against the clan median (30d)",
        "alerts": "slumps, churn risk, silent grinders, idle chatters (7d vs 30d)",
        "promotions": "who is due a promotion, and why (30d)",
    }
    for kind in FINDINGS_KINDS:
        p = lists.add_parser(kind, help=help_of[kind])
        _common(p)
        p.add_argument(
            "--window", default=None, help=f"another window (default {FINDINGS_WINDOWS[kind]})"
        )
        p.set_defaults(handler=cmd_findings)
    p = lists.add_parser("unmatched", help="relay names no member held when they were posted")
    _common(p)
    p.set_defaults(handler=cmd_unmatched)
    p = lists.add_parser(
        "drops", help="the biggest drops by value, pets, collection-log items and 99s"
    )
    p.add_argument(
        "period", nargs="?", default="7d", help="1d, 7d, 30d, 90d, 365d, 12h… (default 7d)"
    )
    p.add_argument(
        "--limit",
        type=_positive,
        default=DROPS_LIMIT,
        help=f"entries per list (default {DROPS_LIMIT})",
    )
    _common(p)
    p.set_defaults(handler=cmd_drops)
