"""``clanstats report`` and ``clanstats export members``: the report use cases without Discord.

Exit codes: 0 done, 1 nothing to report yet (the clan was never synced), 2 bad input
(window, format, ``--as-of``) or configuration.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
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
    ClanNotSyncedError,
    MemberRow,
    ReportInputError,
    daily_report,
    member_rows,
    parse_windows,
)
from bot.usecases.reports.exports import (
    EXPORT_FORMATS,
    daily_report_json,
    daily_report_text,
    default_xlsx_name,
    members_json,
    write_members_csv,
    write_members_xlsx,
)


def cmd_report(args: argparse.Namespace) -> int:
    """``clanstats report``: the daily report of the 24 h before ``--as-of``, on stdout."""
    settings = report_settings(args)

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                as_of = parse_as_of(args.as_of, app.now())
                clan = await chosen_clan_id(app, settings, args)
                clan_id = clan.clan_id
                assert clan_id is not None
                report = await daily_report(app, clan_id, as_of, clan.tz)
            except (ReportInputError, ClanNotSyncedError) as exc:
                return report_failure(exc)
        if args.format == "json":
            sys.stdout.write(daily_report_json(report))
        else:
            sys.stdout.write(daily_report_text(report, clan.tz))
        return EXIT_OK

    return run_async(go())


def cmd_export_members(args: argparse.Namespace) -> int:
    """``clanstats export members``: member rows as JSON, CSV (stdout or file) or XLSX."""
    settings = report_settings(args)
    labels = [w.strip() for w in args.windows.split(",") if w.strip()]
    fetched: list[tuple[list[MemberRow], datetime]] = []

    async def go() -> int:
        async with open_app(settings) as app:
            try:
                as_of = parse_as_of(args.as_of, app.now())
                parse_windows(labels, as_of)  # bad windows fail before any query
                clan = await chosen_clan_id(app, settings, args)
                clan_id = clan.clan_id
                assert clan_id is not None
                fetched.append((await member_rows(app, clan_id, labels, as_of), as_of))
            except (ReportInputError, ClanNotSyncedError) as exc:
                return report_failure(exc)
        return EXIT_OK

    if args.output is not None and not args.output.parent.is_dir():  # before any query
        return report_failure(
            ReportInputError(
                f"--output {args.output}: the folder {args.output.parent} does not exist"
            )
        )
    code = run_async(go())
    if code != EXIT_OK:
        return code
    rows, as_of = fetched[0]
    try:
        _write_members(rows, args.format, args.output, as_of)
    except BrokenPipeError:
        raise  # stdout's reader went away: the CLI ends quietly
    except OSError as exc:  # a file that cannot be written: say which, and why
        where = exc.filename or args.output
        return report_failure(ReportInputError(f"cannot write {where}: {exc.strerror or exc}"))
    return EXIT_OK


def _write_members(rows: list[MemberRow], fmt: str, output: Path | None, as_of: datetime) -> None:
    if fmt == "xlsx":
        path = output or Path(default_xlsx_name(as_of))
        write_members_xlsx(rows, path)
        print(f"Wrote {len(rows)} members to {path.resolve()}", file=sys.stderr)
        return
    if output is None:
        if fmt == "json":
            sys.stdout.write(members_json(rows))
        else:
            write_members_csv(rows, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        if fmt == "json":
            handle.write(members_json(rows))
        else:
            write_members_csv(rows, handle)
    print(f"Wrote {len(rows)} members to {output.resolve()}", file=sys.stderr)


def register(sub: Any) -> None:
    _add_report(sub)
    _add_export(sub)


def _add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="print the daily report (the 24 h before --as-of)")
    p.add_argument("--as-of", default=None, help="end of the report, ISO-8601 (default: now)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_guild_option(p)
    p.set_defaults(handler=cmd_report)


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export data as JSON, CSV or XLSX")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    m = what.add_parser("members", help="every member with chat and gains per window")
    m.add_argument(
        "--windows",
        default="7d,30d",
        help="comma-separated windows: 12h, 1d, 7d, 30d, 2w, YYYY-MM-DD..YYYY-MM-DD",
    )
    m.add_argument("--as-of", default=None, help="end of the windows, ISO-8601 (default: now)")
    m.add_argument("--format", choices=list(EXPORT_FORMATS), default="json")
    m.add_argument(
        "--output",
        type=Path,
        default=None,
        help="file to write (default: stdout; xlsx: clanstats-members-<date>.xlsx)",
    )
    add_guild_option(m)
    m.set_defaults(handler=cmd_export_members)
