"""Benchmark of one process serving many clans: 20 clans of 500 members, 10,000,000 relayed
lines in all (issue 15).

Generates (once, cached under ``benchmarks/results/`` keyed by the parameters, the generator
versions and the schema revision) one SQLite database holding ``--clans`` clans: the first is
built by the report benchmark's generator (``benchmarks/report_benchmark.py``: members with
ranks, renames, joins and leaves, relayed lines with a daily rhythm, daily snapshots with
every metric WOM stores), the others are copies of it under their own ids (their own members,
lines and snapshots), each wired to a guild of its own as ``/setup`` stores it. Then:

1. **Officer commands**: every officer query of every clan (the use cases the slash commands
   call), one warm-up then ``--runs`` timed runs each; median and p95 per query over all
   clans. Target: < 100 ms.
2. **Daily reports**: all clans' daily reports built (report and PNG chart, as the job does)
   one after the other in one process, cold. Target: all of them in < 10 s.
3. **Idle RSS**: ``clanstats run`` started as a child process against the local fakes
   (a fake Discord with one guild per clan, a fake WOM), every clan loaded and its jobs
   scheduled; once it is connected and its backfills are done, its resident memory
   (``VmRSS``, the peak of a few samples). Target: < 400 MB.

    python -m benchmarks.multiclan_benchmark [--clans 20] [--members 500]
        [--lines 10000000] [--days 90] [--runs 3] [--skip-rss]

``--lines`` is the total over all clans. The figures depend on the machine and on what else
runs on it: say so next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report_benchmark import END  # noqa: E402
from benchmarks.report_benchmark import GENERATOR_VERSION as REPORT_GENERATOR  # noqa: E402
from benchmarks.report_benchmark import GROUP_ID as TEMPLATE_GROUP  # noqa: E402
from benchmarks.report_benchmark import generate as generate_clan  # noqa: E402
from bot.adapters.charts import render_activity_chart  # noqa: E402
from bot.app import App, open_app  # noqa: E402
from bot.core.config import Settings  # noqa: E402
from bot.core.runtime import tune_gc  # noqa: E402
from bot.usecases.clans import load_wirings  # noqa: E402
from bot.usecases.reports import (  # noqa: E402
    daily_report,
    findings,
    leaderboard,
    player_profile,
    unmatched,
)
from domain.clans import ClanWiring  # noqa: E402
from fakes.discord import ALL_PERMISSIONS, FakeDiscord  # noqa: E402
from fakes.wom import DEFAULT_API_KEYS, FakeWom  # noqa: E402
from storage.engine import Database  # noqa: E402
from storage.migrate import head_revision  # noqa: E402
from storage.repositories.clans import save_wiring  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: Bump when the copied or wired data changes, so an old cached database is not reused.
GENERATOR_VERSION = 1
TARGET_QUERY_MS = 100.0
TARGET_REPORTS_S = 10.0
TARGET_RSS_MB = 400.0
# Ids as Discord makes them (17+ digits, created in the past): clan k lives in guild
# GUILD_BASE + k, its relay channel is CHANNEL_BASE + 10 k, its report channel that + 1.
GUILD_BASE = 1_100_000_000_000_000_000
CHANNEL_BASE = 1_110_000_000_000_000_000
ROLE_BASE = 1_120_000_000_000_000_000
WEBHOOK_BASE = 1_130_000_000_000_000_000
ADMIN_ROLE_BASE = 1_140_000_000_000_000_000
ADMIN_USER_ID = 1_150_000_000_000_000_001
GROUP_BASE = 50_000
# Message ids of clan k are the template's plus k × this (unique across clans).
MESSAGE_STRIDE = 1_000_000_000
# The tables a clan's data lives in, copied per clan (ids shifted, clan_id replaced).
CLAN_TABLES = (
    "members",
    "member_aliases",
    "member_events",
    "unmatched_names",
    "relay_messages",
    "snapshots",
    "snapshot_gains",
)
TIMEZONES = ("UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Tokyo")


def guild_of(k: int) -> int:
    return GUILD_BASE + k


def wiring_of(k: int) -> ClanWiring:
    channel = CHANNEL_BASE + 10 * k
    return ClanWiring(
        clan_id=None,
        guild_id=guild_of(k),
        wom_group_id=GROUP_BASE + k,
        name=f"Bench Clan {k}",
        relay_channel_ids=(channel,),
        relay_author_ids=(WEBHOOK_BASE + k,),
        report_channel_id=channel + 1,
        announce_channel_id=channel + 2,
        officer_role_ids=(ROLE_BASE + k,),
        timezone=TIMEZONES[k % len(TIMEZONES)],
    )


# -- generating ----------------------------------------------------------------------------


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f"PRAGMA table_info({table})")]


def _copy_clan(con: sqlite3.Connection, k: int, offsets: dict[str, int]) -> None:
    """Clan ``k``: a copy of the template clan (clan 1 of the attached ``t``) under new ids."""
    con.execute(
        "INSERT INTO clans (id, wom_group_id, guild_id, name, role_order, settings,"
        " created_at, updated_at) SELECT ?, ?, NULL, ?, role_order, settings, created_at,"
        " updated_at FROM t.clans WHERE id = 1",
        (k, GROUP_BASE + k, f"Bench Clan {k}"),
    )
    for table in CLAN_TABLES:
        shift = offsets[table] * (k - 1)
        exprs = []
        for column in _columns(con, table):
            if column == "id":
                exprs.append(f"id + {shift}")
            elif column == "clan_id":
                exprs.append(str(k))
            elif column == "member_id":
                exprs.append(f"member_id + {offsets['members'] * (k - 1)}")
            elif column == "message_id" and table == "relay_messages":
                exprs.append(f"message_id + {MESSAGE_STRIDE * (k - 1)}")
            elif column == "duplicate_of":
                exprs.append(f"duplicate_of + {shift}")
            else:
                exprs.append(column)
        names = ", ".join(_columns(con, table))
        con.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} FROM t.{table}")


def generate(path: Path, clans: int, members: int, lines: int, days: int, seed: int) -> None:
    """The benchmark database at ``path``: ``clans`` clans, ``lines`` relayed lines in all."""
    work = Path(tempfile.mkdtemp(dir=RESULTS, prefix="multiclan-"))
    try:
        template = work / "template.sqlite3"
        began = time.perf_counter()
        generate_clan(template, members, lines // clans, days, seed)
        print(f"  template clan generated in {time.perf_counter() - began:.1f} s", flush=True)
        tmp = work / "all.sqlite3"
        shutil.copyfile(template, tmp)
        con = sqlite3.connect(tmp, isolation_level=None)
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("ATTACH DATABASE ? AS t", (str(template),))
        con.execute(
            "UPDATE clans SET wom_group_id = ?, name = ? WHERE id = 1",
            (GROUP_BASE + 1, "Bench Clan 1"),
        )
        indexes = con.execute(
            "SELECT name, sql FROM main.sqlite_master WHERE type='index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({', '.join(repr(t) for t in CLAN_TABLES)})"
        ).fetchall()
        for name, _sql in indexes:
            con.execute(f'DROP INDEX "{name}"')
        offsets = {
            table: con.execute(f"SELECT coalesce(max(id), 0) FROM t.{table}").fetchone()[0]
            for table in CLAN_TABLES
        }
        for k in range(2, clans + 1):
            con.execute("BEGIN")
            _copy_clan(con, k, offsets)
            con.execute("COMMIT")
            print(f"  clan {k} of {clans} copied", flush=True)
        con.execute("DETACH DATABASE t")
        for _name, index_sql in indexes:
            con.execute(index_sql)
        con.execute("ANALYZE")
        con.execute("PRAGMA journal_mode=WAL")
        con.close()
        asyncio.run(_wire(tmp, clans))
        tmp.replace(path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _wire(path: Path, clans: int) -> None:
    """Each clan set up in its own guild, as ``/setup`` saves it."""
    db = Database.from_url(f"sqlite:///{path}")
    try:
        async with db.write() as session:
            for k in range(1, clans + 1):
                await save_wiring(session, wiring_of(k), by=None, now=END - timedelta(days=1))
    finally:
        await db.dispose()


# -- timing --------------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _officer_cases(app: App, clan_id: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    """The officer commands' use cases for one clan (what the slash commands call)."""
    return {
        "/clan inactive (60d)": lambda: findings(app, clan_id, "inactive", END),
        "/clan audit (30d)": lambda: findings(app, clan_id, "audit", END),
        "/clan alerts (7d vs 30d)": lambda: findings(app, clan_id, "alerts", END),
        "/clan promotions (30d)": lambda: findings(app, clan_id, "promotions", END),
        "/clan unmatched": lambda: unmatched(app, clan_id),
        "/player (old name)": lambda: player_profile(app, clan_id, "Old name 10", END),
        "/leaderboard xp 30d": lambda: leaderboard(app, clan_id, "xp", "30d", END, 10),
        "/leaderboard chat 7d": lambda: leaderboard(app, clan_id, "chat", "7d", END, 10),
    }


async def officer_queries(
    path: Path, runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Every officer query of every clan, ms per timed run by query (warm-up not counted):
    wall-clock times, and the process's CPU times (on a shared machine the wall clock also
    counts the time other processes had the CPU)."""
    settings = Settings(database_url=f"sqlite:///{path}")
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    async with open_app(settings, migrate=False) as app:
        for wiring in await load_wirings(app):
            clan_id = wiring.clan_id
            assert clan_id is not None
            cases = _officer_cases(app, clan_id)
            for name, call in cases.items():
                await call()  # warm-up
                for _ in range(runs):
                    began, began_cpu = time.perf_counter(), time.process_time()
                    await call()
                    times.setdefault(name, []).append((time.perf_counter() - began) * 1000)
                    cpu.setdefault(name, []).append((time.process_time() - began_cpu) * 1000)
    return times, cpu


async def daily_reports(path: Path) -> dict[str, float]:
    """All clans' daily reports, their data cold, as the job builds them: the report (its
    queries and figures), then its PNG chart, in a process that has drawn a chart before
    (the bot has). Wall and CPU seconds of each part in all, the slowest clan, the count."""
    settings = Settings(database_url=f"sqlite:///{path}")
    render_activity_chart(  # matplotlib imported and its fonts loaded, as in a running bot
        [[0] * 24 for _ in range(7)], [], title="warm-up", timezone="UTC"
    )
    out = dict.fromkeys(("build", "build_cpu", "chart", "chart_cpu", "slowest"), 0.0)
    async with open_app(settings, migrate=False) as app:
        wirings = await load_wirings(app)
        for wiring in wirings:
            assert wiring.clan_id is not None
            began, began_cpu = time.perf_counter(), time.process_time()
            report = await daily_report(app, wiring.clan_id, END, wiring.tz)
            built, built_cpu = time.perf_counter(), time.process_time()
            render_activity_chart(
                report.heatmap,
                [(d.day, d.chat_lines, d.xp_gained) for d in report.trend],
                title=f"{report.clan_name}: clan activity",
                timezone=report.timezone,
            )
            drawn, drawn_cpu = time.perf_counter(), time.process_time()
            out["build"] += built - began
            out["build_cpu"] += built_cpu - began_cpu
            out["chart"] += drawn - built
            out["chart_cpu"] += drawn_cpu - built_cpu
            out["slowest"] = max(out["slowest"], drawn - began)
        out["count"] = len(wirings)
    return out


# -- the bot's memory ----------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _mark_synced(path: Path, clans: int) -> None:
    """A good sync of every clan just now: the bot starts without a catch-up sync (which
    would replace the generated rosters with the fake WOM's)."""
    con = sqlite3.connect(path)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    slot = datetime.now(UTC).strftime("bench-%Y-%m-%dT%H:%M:%S.%f")
    con.executemany(
        "INSERT INTO job_runs (job, slot, started_at, finished_at, outcome, counts)"
        " VALUES (?, ?, ?, ?, 'ok', '{}')",
        [(f"wom.sync:clan-{k}", slot, now, now) for k in range(1, clans + 1)],
    )
    con.commit()
    con.close()


async def idle_rss(path: Path, clans: int, settle_s: float) -> tuple[float, float, int, float]:
    """Start ``clanstats run`` against the fakes; its RSS once idle (peak of samples, and
    the first sample), how many clans it loaded, and its RSS once every clan answered an
    officer command."""
    _mark_synced(path, clans)
    async with FakeDiscord() as discord, FakeWom(rate_window_s=1.0) as wom:
        for k in range(1, clans + 1):
            wiring = wiring_of(k)
            guild = discord.add_guild(wiring.guild_id, f"Bench Clan {k} Server")
            relay = wiring.relay_channel_ids[0]
            guild.add_channel(relay, "clan-chat")
            guild.add_channel(relay + 1, "officer-reports")
            guild.add_channel(relay + 2, "roster")
            guild.add_role(wiring.officer_role_ids[0], "Officer")
            guild.add_role(ADMIN_ROLE_BASE + k, "Admin", ALL_PERMISSIONS)
            guild.add_member(ADMIN_USER_ID, "Admin", [ADMIN_ROLE_BASE + k])
            discord.add_webhook_user(wiring.relay_author_ids[0], "Osrs clanchat", relay)
            wom.add_group(wiring.wom_group_id, f"Bench Clan {k}")
        first = wiring_of(1)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")},
            "CLANSTATS_DATABASE_URL": f"sqlite:///{path}",
            "CLANSTATS_DISCORD_TOKEN": discord.token,
            "CLANSTATS_DISCORD_API_URL": discord.base_url,
            # What `run` requires of a single-clan install; the database's wiring of this
            # guild wins (it was set up already), the other clans come from the database.
            "CLANSTATS_GUILD_ID": str(first.guild_id),
            "CLANSTATS_WOM_GROUP_ID": str(first.wom_group_id),
            "CLANSTATS_RELAY_CHANNEL_IDS": str(first.relay_channel_ids[0]),
            "CLANSTATS_RELAY_AUTHOR_IDS": str(first.relay_author_ids[0]),
            "CLANSTATS_WOM_BASE_URL": wom.base_url,
            "CLANSTATS_WOM_API_KEY": DEFAULT_API_KEYS[0],
            "CLANSTATS_WOM_RATE_WINDOW_S": "1",
            "CLANSTATS_LOG_FORMAT": "json",
        }
        log_path = RESULTS / "multiclan-bot.log"
        with log_path.open("w") as log:
            child = subprocess.Popen(  # noqa: ASYNC220 - the fakes serve it from this loop
                [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                deadline = time.monotonic() + 180
                # Ready: every guild has its commands (the bot registers them per guild).
                while len(discord.registered_commands) < clans or not discord.identify_count:
                    if child.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the bot did not get ready: see {log_path}")
                    await asyncio.sleep(0.5)
                first_sample = _rss_mb(child.pid)
                samples = [first_sample]
                end = time.monotonic() + settle_s
                while time.monotonic() < end:
                    await asyncio.sleep(1.0)
                    samples.append(_rss_mb(child.pid))
                loaded = sum(
                    1 for line in log_path.read_text().splitlines() if '"backfill.finished"' in line
                )
                # Then an admin of every server asks its clan a question (/clan inactive):
                # each clan's members and timelines are loaded and kept (the app's memo).
                for k in range(1, clans + 1):
                    wiring = wiring_of(k)
                    asked = await discord.invoke_slash(
                        wiring.guild_id,
                        wiring.relay_channel_ids[0],
                        ADMIN_USER_ID,
                        "clan",
                        subcommand="inactive",
                    )
                    await asyncio.wait_for(asked.wait_settled(timeout=120), 150)
                answered = _rss_mb(child.pid)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
        return max(samples), first_sample, loaded, answered


# -- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clans", type=int, default=20)
    parser.add_argument("--members", type=int, default=500, help="members per clan")
    parser.add_argument("--lines", type=int, default=10_000_000, help="relayed lines in all")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=15.0, help="idle seconds sampled")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)

    RESULTS.mkdir(parents=True, exist_ok=True)
    key = (
        f"c{args.clans}-m{args.members}-l{args.lines}-d{args.days}-s{args.seed}"
        f"-g{GENERATOR_VERSION}.{REPORT_GENERATOR}-r{head_revision()}"
    )
    path = RESULTS / f"multiclan-bench-{key}.sqlite3"
    if args.regenerate or not path.exists():
        began = time.perf_counter()
        print(f"generating {path.name} …", flush=True)
        generate(path, args.clans, args.members, args.lines, args.days, args.seed)
        print(f"generated in {time.perf_counter() - began:.1f} s", flush=True)
    else:
        print(f"using cached {path.name}")
    if args.generate_only:
        return 0
    con = sqlite3.connect(path)
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("clans", "members", "relay_messages", "snapshots")
    }
    con.close()
    print(", ".join(f"{t}: {n:,}" for t, n in counts.items()))
    print(f"as_of {END.isoformat()}; template group {TEMPLATE_GROUP} copied per clan\n")

    tune_gc()  # as every `clanstats` command runs
    times, cpu = asyncio.run(officer_queries(path, args.runs))
    reports = asyncio.run(daily_reports(path))
    rss: tuple[float, float, int, float] | None = None
    if not args.skip_rss:
        rss = asyncio.run(idle_rss(path, args.clans, args.settle))

    rows: list[tuple[str, str, str, bool]] = []
    for name, values in times.items():
        median, p95 = statistics.median(values), _p95(values)
        cpu_median, cpu_p95 = statistics.median(cpu[name]), _p95(cpu[name])
        rows.append(
            (
                f"{name}: median / p95 of {len(values)}",
                f"{median:.1f} / {p95:.1f} ms (CPU {cpu_median:.1f} / {cpu_p95:.1f})",
                f"< {TARGET_QUERY_MS:.0f} ms",
                p95 < TARGET_QUERY_MS,
            )
        )
    built = int(reports["count"])
    total_s = reports["build"] + reports["chart"]
    rows.append(
        (
            f"all {built} daily reports, with their charts, in all",
            f"{total_s:.2f} s (CPU {reports['build_cpu'] + reports['chart_cpu']:.2f} s; "
            f"slowest clan {reports['slowest']:.2f} s)",
            f"< {TARGET_REPORTS_S:.0f} s",
            total_s < TARGET_REPORTS_S,
        )
    )
    rows.append(
        (
            "  of which the reports (queries, figures)",
            f"{reports['build']:.2f} s (CPU {reports['build_cpu']:.2f} s)",
            "",
            True,
        )
    )
    rows.append(
        (
            "  of which the PNG charts (matplotlib)",
            f"{reports['chart']:.2f} s (CPU {reports['chart_cpu']:.2f} s)",
            "",
            True,
        )
    )
    if rss is not None:
        peak, first, backfilled, answered = rss
        rows.append(
            (
                f"bot idle RSS, {args.clans} clans loaded ({backfilled} backfills done)",
                f"{peak:.0f} MB (at ready {first:.0f} MB)",
                f"< {TARGET_RSS_MB:.0f} MB",
                peak < TARGET_RSS_MB,
            )
        )
        rows.append(
            (
                "  then, every clan having answered /clan inactive",
                f"{answered:.0f} MB",
                "",
                True,
            )
        )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'measured':>{value_width}}  {'target':>8}  ok")
    for name, value, target, ok in rows:
        verdict = ("yes" if ok else "NO") if target else ""
        print(f"{name:<{width}}  {value:>{value_width}}  {target:>8}  {verdict}")
    missed = sum(1 for r in rows if not r[3])
    targeted = sum(1 for r in rows if r[2])
    print(f"\n{targeted - missed} of {targeted} within target (wall clock)")
    load = os.getloadavg()
    print(
        f"load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on "
        f"{os.cpu_count()} CPUs (a shared machine: wall-clock figures include waiting for "
        "the CPU; the CPU figures do not)"
    )
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
