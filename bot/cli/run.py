"""``clanstats run``: start the bot (needs a Discord token)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bot.cli.common import EXIT_CONFIG, run_async, settings_or_exit, setup_logging
from bot.core.config import Settings, discord_id_problems, unknown_keys

NO_TOKEN_HELP = """\
ClanStats cannot start: no Discord bot token is configured.
Set CLANSTATS_DISCORD_TOKEN (in the environment, a .env file or clanstats.toml) to the token
of your Discord application's bot; then run /setup in your Discord server to set its clan
up (or describe one clan with CLANSTATS_GUILD_ID, CLANSTATS_WOM_GROUP_ID,
CLANSTATS_RELAY_CHANNEL_IDS and CLANSTATS_RELAY_AUTHOR_IDS: see .env.example and
`clanstats check-config`). To see the bot work without a token or network first, run
`clanstats demo`: it runs the real bot against local fakes of Discord and Wise Old Man."""


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_or_exit(args)
    if settings.discord_token is None:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    for warning in unknown_keys(args.config):
        print(f"warning: {warning}", file=sys.stderr)
    problems = [f"{name}: not set (required)" for name in settings.missing_for("run")]
    problems += discord_id_problems(settings, now_ms=int(time.time() * 1000))
    if problems:
        print("ClanStats cannot start:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("`clanstats check-config` lists every problem (see .env.example).", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings)
    return run_async(_run(settings))


async def _run(settings: Settings) -> int:
    import asyncio

    from bot.runner import quiet_stray_database_errors, run_bot

    # For the whole life of the process's loop, not only while the bot runs: a future the
    # driver orphaned in an outage can be collected after the bot closed, as the loop ends.
    quiet_stray_database_errors(asyncio.get_running_loop())
    return await run_bot(settings)


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="start the bot (needs a Discord token)")
    p.set_defaults(handler=cmd_run)
