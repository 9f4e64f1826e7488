"""``clanstats config show|set|history|propose --guild ID``: a clan's rule settings for an
admin on the host, the twins of ``/config`` (the same use cases, the same checks).

``set`` saves at once (the host admin is trusted; ``show`` first to see the value in use) and
is recorded as made by "host admin"; ``propose`` prints the ladder and tiers proposed from
the clan's WOM rank order and ``--apply`` saves them as one recorded change.

Exit codes: 0 done, 1 no clan for that server (never synced), 2 bad input (an unknown
setting, a value refused: the reason is on stderr) or configuration. Text or JSON on stdout
only; logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.app import open_app
from bot.cli.common import (
    EXIT_OK,
    chosen_clan_id,
    report_failure,
    report_settings,
    run_async,
)
from bot.usecases.clan_config import (
    HOST_ADMIN,
    ChangePreview,
    ConfigError,
    apply_change,
    config_history,
    config_show,
    preview_change,
    propose_change,
)
from bot.usecases.reports import ClanNotSyncedError, ReportInputError
from domain.clan_config import SETTINGS, parse_text

if TYPE_CHECKING:
    from bot.usecases.context import App


def _with_clan(args: argparse.Namespace, work: Callable[[App, int], Awaitable[int]]) -> int:
    """Open the database, find the clan of ``--guild`` and run ``work`` on it."""
    settings = report_settings(args)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                clan = await chosen_clan_id(app, settings, args)
                assert clan.clan_id is not None
                return await work(app, clan.clan_id)
            except (ConfigError, ReportInputError, ClanNotSyncedError) as exc:
                return report_failure(exc)

    return run_async(go())


def cmd_show(args: argparse.Namespace) -> int:
    async def work(app: App, clan_id: int) -> int:
        view = await config_show(app, clan_id)
        if args.format == "json":
            payload = {
                "clan": view.clan_name,
                "role_order": list(view.role_order),
                "settings": [
                    {
                        "key": s.key,
                        "value": s.value,
                        "set": s.is_set,
                        "stored": s.stored,
                        "meaning": SETTINGS[s.key].meaning,
                    }
                    for s in view.settings
                ],
            }
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
            return EXIT_OK
        lines = [f"Rules of {view.clan_name or 'the clan'} (* = set by the clan):"]
        for shown in view.settings:
            mark = "*" if shown.is_set else " "
            lines.append(f"{mark} {shown.key}: {shown.value}")
        sys.stdout.write("\n".join(lines) + "\n")
        return EXIT_OK

    return _with_clan(args, work)


def _preview_lines(preview: ChangePreview) -> list[str]:
    return [f"{i.setting}: {i.old_text} → {i.new_text}" for i in preview.items]


async def _save(app: App, preview: ChangePreview) -> int:
    if preview.changes_nothing:
        sys.stdout.write("Nothing to change: the clan already has these values.\n")
        return EXIT_OK
    await apply_change(app, preview, actor_id=None, actor_name=HOST_ADMIN)
    sys.stdout.write("\n".join(["Saved:", *_preview_lines(preview)]) + "\n")
    return EXIT_OK


def cmd_set(args: argparse.Namespace) -> int:
    async def work(app: App, clan_id: int) -> int:
        value = parse_text(args.key, args.value)
        return await _save(app, await preview_change(app, clan_id, {args.key: value}))

    try:
        parse_text(args.key, args.value)  # a typo is said before the database is opened
    except ConfigError as exc:
        return report_failure(exc)
    return _with_clan(args, work)


def cmd_history(args: argparse.Namespace) -> int:
    async def work(app: App, clan_id: int) -> int:
        entries = await config_history(app, clan_id, args.limit)
        if args.format == "json":
            payload = [
                {
                    "changed_at": e.changed_at.isoformat(),
                    "actor_id": None if e.actor_id is None else str(e.actor_id),
                    "actor": e.actor_name,
                    "setting": e.setting,
                    "old": e.old_text,
                    "new": e.new_text,
                }
                for e in entries
            ]
            sys.stdout.write(json.dumps(payload, indent=2) + "\n")
            return EXIT_OK
        if not entries:
            sys.stdout.write("No change recorded yet: every rule has its default.\n")
            return EXIT_OK
        for e in entries:
            sys.stdout.write(
                f"{e.changed_at:%Y-%m-%d %H:%M} UTC  {e.actor_name}  "
                f"{e.setting}: {e.old_text} → {e.new_text}\n"
            )
        return EXIT_OK

    return _with_clan(args, work)


def cmd_propose(args: argparse.Namespace) -> int:
    async def work(app: App, clan_id: int) -> int:
        preview = await propose_change(app, clan_id)
        if args.apply:
            return await _save(app, preview)
        if preview.changes_nothing:
            sys.stdout.write("The clan already has the proposed ladder and tiers.\n")
            return EXIT_OK
        sys.stdout.write(
            "\n".join(
                [
                    "Proposed from the clan's Wise Old Man rank order (--apply saves it):",
                    *_preview_lines(preview),
                ]
            )
            + "\n"
        )
        return EXIT_OK

    return _with_clan(args, work)


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="a clan's rule settings: show, set, history, propose")
    group = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--guild",
            type=int,
            default=None,
            help="the Discord server (id) of the clan (default: CLANSTATS_GUILD_ID)",
        )

    show = group.add_parser("show", help="every rule setting and the value in use")
    common(show)
    show.add_argument("--format", choices=("text", "json"), default="text")
    show.set_defaults(handler=cmd_show)

    set_ = group.add_parser("set", help="change one setting (recorded as made by 'host admin')")
    common(set_)
    set_.add_argument("key", help=f"one of: {', '.join(SETTINGS)}")
    set_.add_argument(
        "value",
        help="a number (30, 0.5, 50%%, 1m); ranks comma-separated; a ladder as "
        "'from > to 14d xp=500k chat=50 boss=10 any; …' or JSON; 'default' resets",
    )
    set_.set_defaults(handler=cmd_set)

    history = group.add_parser("history", help="the recorded changes, newest first")
    common(history)
    history.add_argument("--limit", type=int, default=25)
    history.add_argument("--format", choices=("text", "json"), default="text")
    history.set_defaults(handler=cmd_history)

    propose = group.add_parser(
        "propose", help="the ladder and tiers proposed from the clan's WOM rank order"
    )
    common(propose)
    propose.add_argument("--apply", action="store_true", help="save the proposal")
    propose.set_defaults(handler=cmd_propose)
