"""``clanstats sync --once``: one Wise Old Man sync with no Discord, summary on stdout;
``clanstats sync confirm-departures``: an officer applies the departures a sync held back."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.app import open_app
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    add_guild_option,
    chosen_clan,
    report_failure,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.usecases.jobs import NOT_STARTED_UNAVAILABLE, SYNC_JOB
from bot.usecases.reports import ReportInputError
from bot.usecases.sync import SyncOptions, confirm_departures, run_sync


def cmd_sync(args: argparse.Namespace) -> int:
    # Which clan: --guild, the environment's (CLANSTATS_GUILD_ID / CLANSTATS_WOM_GROUP_ID),
    # or the only clan set up; chosen_clan says which there are when it cannot tell.
    settings = settings_or_exit(args)
    if args.action is None and not args.once:
        print("clanstats sync: say --once (one sync now) or confirm-departures", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings)
    confirming = args.action == "confirm-departures"

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                clan = await chosen_clan(app, settings, args)
            except ReportInputError as exc:
                return report_failure(exc)
            options = SyncOptions(
                group_id=clan.wom_group_id,
                interval_minutes=settings.sync_interval_minutes,
                max_departure_share=settings.max_departure_share,
                verification_code=(
                    settings.wom_verification_code
                    if clan.wom_group_id == settings.wom_group_id
                    else None
                ),
                # Counted as the bot counts this clan's syncs (its catch-up reads them).
                job=f"{SYNC_JOB}:{clan.label}" if clan.label else SYNC_JOB,
            )
            if confirming:
                done = await confirm_departures(app, options.group_id, by="cli")
                if done is None:
                    print(
                        "The clan was never synced: run `clanstats sync --once` first.",
                        file=sys.stderr,
                    )
                    return EXIT_FAILED
                print(done.summary())
                if not done.confirmed and not done.already_confirmed:
                    return EXIT_OK
            slot = f"cli-{app.now().strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
            # Confirmed departures are applied at once: by this sync.
            result = await run_sync(app, options, slot=slot)
        if result.outcome != "ok" or result.value is None:
            error = result.error or ""
            if error.startswith(NOT_STARTED_UNAVAILABLE):
                # Not a failed sync: it never started (the database is down, frozen or
                # locked past the busy timeout), a mistake of the install to fix: exit 2.
                reason = error.removeprefix(NOT_STARTED_UNAVAILABLE)
                print(f"clanstats sync: the database cannot be used: {reason}", file=sys.stderr)
                return EXIT_CONFIG
            print(f"Sync failed: {result.error}", file=sys.stderr)
            return EXIT_FAILED
        print(result.value.summary())
        return EXIT_OK

    return run_async(go())


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sync",
        help="sync the roster and stats from Wise Old Man",
        description="--once: one sync now. confirm-departures: apply the departures a sync "
        "held back (too many members missing at once or within 24 h), then sync once.",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["confirm-departures"],
        help="confirm-departures: an officer confirms the held departures; a sync applies them",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="run one sync now and exit (the bot schedules it otherwise)",
    )
    add_guild_option(p)
    p.set_defaults(handler=cmd_sync)
