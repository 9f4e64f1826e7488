"""``clanstats player`` and ``clanstats leaderboard``: ``/player`` and ``/leaderboard``
without Discord (the same use cases). Exit codes as ``clanstats clan``; an unknown player or
metric is bad input (2)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

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
    ReportError,
    leaderboard,
    player_profile,
)
from bot.usecases.reports.exports import (
    leaderboard_json,
    leaderboard_text,
    profile_json,
    profile_text,
)


def cmd_player(args: argparse.Namespace) -> int:
    settings = report_settings(args)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                as_of = parse_as_of(args.as_of, app.now())
                clan = await chosen_clan_id(app, settings, args)
                clan_id = clan.clan_id
                assert clan_id is not None
                profile = await player_profile(app, clan_id, args.name, as_of)
            except ReportError as exc:
                return report_failure(exc)
        render = profile_json if args.format == "json" else profile_text
        sys.stdout.write(render(profile, as_of))
        return EXIT_OK

    return run_async(go())


def cmd_leaderboard(args: argparse.Namespace) -> int:
    settings = report_settings(args)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                as_of = parse_as_of(args.as_of, app.now())
                clan = await chosen_clan_id(app, settings, args)
                clan_id = clan.clan_id
                assert clan_id is not None
                board = await leaderboard(
                    app, clan_id, args.metric, args.period, as_of, limit=args.limit
                )
            except ReportError as exc:
                return report_failure(exc)
        render = leaderboard_json if args.format == "json" else leaderboard_text
        sys.stdout.write(render(board, as_of))
        return EXIT_OK

    return run_async(go())


def register(sub: Any) -> None:
    p = sub.add_parser("player", help="a member's stats, gains, chat and names (like /player)")
    p.add_argument("name", help="in-game name, current or earlier")
    p.add_argument("--as-of", default=None, help="the moment to answer for, ISO-8601")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_guild_option(p)
    p.set_defaults(handler=cmd_player)

    p = sub.add_parser("leaderboard", help="top gains of a metric in a period (like /leaderboard)")
    p.add_argument("metric", help="xp, ehp, ehb, chat, a boss (cox, tob, zulrah…) or an activity")
    p.add_argument("period", help="1d, 7d, 30d, 90d, 365d, 12h, 2w or YYYY-MM-DD..YYYY-MM-DD")
    p.add_argument("--limit", type=int, default=10, help="places shown (default 10)")
    p.add_argument("--as-of", default=None, help="the moment to answer for, ISO-8601")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_guild_option(p)
    p.set_defaults(handler=cmd_leaderboard)
