"""Chaos suite: the faults of issue 14, tried on the real processes, with figures.

On demand, not in CI (a full run takes about an hour, half of it the soak). Every scenario
runs the real ``clanstats`` commands as processes against the fakes (``fakes/``) over real
sockets, on real SQLite files and real PostgreSQL, and prints ONE table: scenario, runs,
what was measured, and the verdict against the target. What each row means is in
``docs/testing.md`` ("Chaos suite").

    python benchmarks/chaos.py                  # everything: 20 kills each, 30-minute soak
    python benchmarks/chaos.py --quick          # few runs, 1-minute soak (development)
    python benchmarks/chaos.py --only kill-import,kill-sync --runs 5 --seed 3
    python benchmarks/chaos.py --list           # the scenario names

Kill points are drawn from ``random.Random(seed)``: a run is repeatable up to the timing of
the machine. Logs go to stderr; the table alone to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SELF = Path(__file__).resolve()
ROOT = SELF.parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from fakes.chat_script import chat  # noqa: E402
from fakes.dce_export import (  # noqa: E402
    CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    WEBHOOK_ID,
    player_names,
    relay_traffic,
    write_export,
)
from fakes.discord import FakeInteraction  # noqa: E402
from fakes.world import (  # noqa: E402
    GUILD_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
    clan_world,
)
from storage.engine import Database  # noqa: E402
from tests.e2e.checks import verdict_problems  # noqa: E402
from tests.faults.processes import subprocess_env  # noqa: E402

PG_ADMIN_URL = os.environ.get("CLANSTATS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_BIN = Path(os.environ.get("CLANSTATS_PG_BIN", "/usr/lib/postgresql/15/bin"))
TAKEOVER_TARGET_S = 30.0
STOP_GRACE_S = 10.0
# Jobs run per clan; the environment's clan is the first one a fresh database stores.
REPORT_JOB = "report.daily:clan-1"
SYNC_JOB = "wom.sync:clan-1"
OFFICER_SUBCOMMANDS = ("report", "inactive", "audit", "alerts", "promotions", "unmatched")
NAMES = ("partymarty94", "DocOfMed", "Jbwell", "vanvolter ii", "hai ku", "Hi Ku", "llo6")
#: What a sync writes: compared after a killed sync and its rerun with one and two clean syncs.
SYNC_TABLES = (
    "clans",
    "members",
    "member_aliases",
    "member_events",
    "held_departures",
    "snapshots",
    "snapshot_gains",
)
IMPORT_TABLES = ("relay_messages", "relay_unread", "unmatched_names", "members")


def say(message: str) -> None:
    """Progress, to stderr (stdout is the table alone)."""
    print(f"[chaos {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Rows and the table


@dataclass
class Row:
    scenario: str
    runs: int
    figures: str
    ok: bool | None  # None: not run (skipped, with the reason in figures)
    target: str

    @property
    def verdict(self) -> str:
        word = {True: "PASS", False: "FAIL", None: "SKIP"}[self.ok]
        return f"{word} ({self.target})"


def table(rows: Sequence[Row], header_note: str) -> str:
    head = ("scenario", "runs", "result figures", "verdict vs target")
    cells = [head] + [(r.scenario, str(r.runs), r.figures, r.verdict) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = [header_note]
    for index, cell in enumerate(cells):
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " |"
        )
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


@dataclass
class Ctx:
    """What every scenario gets: options, a work folder, a seeded random source."""

    quick: bool
    runs: int
    seed: int
    soak_minutes: float
    work: Path
    import_messages: int = 0  # 0: the default for the mode
    backfill_messages: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def folder(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path


# ---------------------------------------------------------------------------------------------
# Processes and databases


def cli_env(world: ClanWorld | None, url: str, **overrides: object) -> dict[str, str]:
    """The environment of a ``clanstats`` process: in ``world`` when given, else import-only."""
    if world is not None:
        env = subprocess_env(world, url, **overrides)
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
        env.update(
            {
                "CLANSTATS_DATABASE_URL": url,
                "CLANSTATS_WOM_GROUP_ID": "11114",
                "CLANSTATS_RELAY_CHANNEL_IDS": str(CHANNEL_ID),
                "CLANSTATS_RELAY_AUTHOR_IDS": f"{WEBHOOK_ID},{TRACKSCAPE_BOT_ID}",
                "CLANSTATS_LOG_FORMAT": "json",
                "CLANSTATS_LOG_LEVEL": "INFO",
            }
        )
    env["PYTHONPATH"] = str(ROOT)
    return env


async def spawn(args: Sequence[str], env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """``python -m bot ARGS`` with stdout and stderr appended to ``log``."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=env, stdout=out, stderr=out, cwd=log.parent
        )


async def run_to_end(
    args: Sequence[str], env: dict[str, str], log: Path, limit_s: float = 300
) -> tuple[int, float]:
    """Run ``python -m bot ARGS`` to its end: (exit code, seconds)."""
    began = time.monotonic()
    proc = await spawn(args, env, log)
    code = await asyncio.wait_for(proc.wait(), limit_s)
    return code, time.monotonic() - began


async def stop(proc: asyncio.subprocess.Process, limit_s: float = 30) -> int | None:
    """SIGTERM, then SIGKILL after ``limit_s``: the exit code of the SIGTERM (None if killed)."""
    if proc.returncode is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None


async def kill_at(proc: asyncio.subprocess.Process, delay_s: float) -> bool:
    """SIGKILL ``proc`` after ``delay_s``: True when it was still running (the kill landed)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), delay_s)
    if proc.returncode is not None:
        return False
    proc.kill()
    await proc.wait()
    return True


#: How long after its parent's SIGKILL a process the import started may take to end.
ORPHAN_GRACE_S = 10.0


def descendants(root: int) -> set[int]:
    """Every process below ``root`` (read from /proc)."""
    table_: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                table_[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in table_.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat[stat.rindex(")") + 2 :].split()[0] != "Z":
                living.add(pid)
    return living


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on ``url``, through a connection of its own ([] if not migrated yet)."""
    db = Database.from_url(url)
    try:
        async with db.read() as s:
            return [tuple(r) for r in await s.execute(text(sql), params)]
    except Exception as exc:  # not migrated yet, or the server is down: nothing to count
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return []
        raise
    finally:
        await db.dispose()


async def counts(url: str, tables: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in tables:
        rows = await query(url, f"SELECT count(*) FROM {name}")
        found[name] = int(rows[0][0]) if rows else 0
    return found


async def relay_ids(url: str) -> list[int]:
    return [int(r[0]) for r in await query(url, "SELECT message_id FROM relay_messages")]


async def relay_rows(url: str) -> set[tuple[Any, ...]]:
    """Each stored relay row as (message, part, kind, counted, player): what a report counts."""
    sql = (
        "SELECT message_id, part, kind, duplicate_of IS NULL, rsn_key, deleted_at IS NULL"
        " FROM relay_messages"
    )
    return {
        (int(r[0]), int(r[1]), r[2], bool(r[3]), r[4], bool(r[5])) for r in await query(url, sql)
    }


async def job_rows(url: str, job: str) -> list[tuple[str, str]]:
    rows = await query(
        url, "SELECT slot, outcome FROM job_runs WHERE job = :job ORDER BY id", job=job
    )
    return [(str(r[0]), str(r[1])) for r in rows]


@contextlib.asynccontextmanager
async def scratch_pg(name: str, admin_url: str = PG_ADMIN_URL) -> AsyncIterator[str]:
    """A fresh database ``clanstats_chaos_<name>_<pid>`` on the shared server, dropped after."""
    import asyncpg

    db_name = f"clanstats_chaos_{name}_{os.getpid()}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{db_name}"')
    try:
        yield make_url(admin_url).set(database=db_name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own (initdb into a temp folder, its own port) that a
    scenario may kill (``pg_ctl stop -m immediate``) and start again. As root it runs as the
    ``postgres`` user (initdb refuses root)."""

    def __init__(self, port: int, bin_dir: Path = PG_BIN) -> None:
        self.port = port
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="clanstats-chaos-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _as_owner(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    def _run(self, args: list[str]) -> None:
        subprocess.run(self._as_owner(args), check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"])
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        server_log = str(self.dir / "server.log")
        pg_ctl = str(self.bin / "pg_ctl")
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", server_log, "-w", "start"])

    def kill(self) -> None:
        """The server dies at once (no checkpoint, connections cut): a crash."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port(start: int = 55432) -> int:
    import socket

    for port in range(start, start + 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port from 55432 on")


async def wait_for(
    check: Callable[[], Awaitable[bool]], limit_s: float, poll_s: float = 0.2
) -> float | None:
    """Seconds until ``check`` holds, or None if it did not within ``limit_s``."""
    began = time.monotonic()
    while True:
        if await check():
            return time.monotonic() - began
        if time.monotonic() - began > limit_s:
            return None
        await asyncio.sleep(poll_s)


def logged(log: Path, event: str, offset: int = 0) -> list[dict[str, Any]]:
    """The JSON log lines of ``event`` in ``log`` after byte ``offset``."""
    found = []
    with log.open("rb") as f:
        f.seek(offset)
        for raw in f.read().decode(errors="replace").splitlines():
            if raw.startswith("{") and f'"{event}"' in raw:
                with contextlib.suppress(json.JSONDecodeError):
                    line = json.loads(raw)
                    if line.get("event") == event:
                        found.append(line)
    return found


def p95(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def world_problems(world: ClanWorld) -> list[str]:
    """What the fakes saw the bot do wrong (every scenario ends by asking)."""
    return verdict_problems(world, [])


# ---------------------------------------------------------------------------------------------
# SIGKILL at random points, then a rerun to completion, against a clean run


@dataclass
class KillTally:
    """What the runs of one kill scenario found."""

    runs: int = 0
    landed: int = 0  # kills that hit a running process (the rest came after it had ended)
    lost: int = 0
    doubled: int = 0
    failed_reruns: int = 0
    orphans: int = 0  # processes it started still alive ORPHAN_GRACE_S after the kill
    slowest_exit_s: float = 0.0  # the longest those took to end after it
    notes: list[str] = field(default_factory=list)

    def figures(self, unit: str) -> str:
        text_ = (
            f"{self.landed}/{self.runs} kills mid-run; lost {self.lost}, doubled {self.doubled}"
            f" {unit}; reruns failed {self.failed_reruns}"
        )
        if self.orphans:
            text_ += f"; orphans {self.orphans} (alive {ORPHAN_GRACE_S:g} s after the kill)"
        elif self.slowest_exit_s:
            text_ += f"; its processes all ended, the slowest {self.slowest_exit_s:.1f} s after"
        if self.notes:
            text_ += "; " + "; ".join(sorted(set(self.notes))[:3])
        return text_

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.failed_reruns or self.orphans)


async def kill_import(ctx: Ctx) -> Row:
    """``clanstats import`` of a DCE export, SIGKILLed at a random point, then run again."""
    work = ctx.folder("kill-import")
    export = work / "export.json"
    messages = ctx.import_messages or (10_000 if ctx.quick else 30_000)
    write_export(
        export, relay_traffic(messages, players=player_names(300, seed=ctx.seed), seed=ctx.seed)
    )
    template = work / "template.sqlite3"
    code, _ = await run_to_end(
        ["migrate"], cli_env(None, f"sqlite:///{template}"), work / "migrate.log"
    )
    assert code == 0, (work / "migrate.log").read_text()[-2000:]

    async def fresh(name: str) -> str:
        path = work / f"{name}.sqlite3"
        shutil.copy(template, path)
        return f"sqlite:///{path}"

    clean_url = await fresh("clean")
    code, clean_s = await run_to_end(
        ["import", str(export)], cli_env(None, clean_url), work / "clean.log"
    )
    assert code == 0, (work / "clean.log").read_text()[-2000:]
    want_rows = await relay_rows(clean_url)
    want = await counts(clean_url, IMPORT_TABLES)
    say(
        f"kill-import: clean import of {messages:,} messages in {clean_s:.1f} s, "
        f"{len(want_rows):,} rows"
    )
    tally = KillTally()
    for run in range(ctx.runs):
        url = await fresh(f"run{run}")
        log = work / f"run{run}.log"
        proc = await spawn(["import", str(export)], cli_env(None, url), log)
        delay = ctx.rng.uniform(0.2, clean_s)
        seen: set[int] = set()
        began = time.monotonic()
        while time.monotonic() - began < delay and proc.returncode is None:
            seen |= descendants(proc.pid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.05)
        seen |= descendants(proc.pid) if proc.returncode is None else set()
        tally.landed += await kill_at(proc, 0)
        # The import's processes end with it (its reader binds itself to its parent before
        # anything else); whatever still runs ORPHAN_GRACE_S later was left behind.
        killed = time.monotonic()
        left = alive(seen)
        while left and time.monotonic() - killed < ORPHAN_GRACE_S:
            await asyncio.sleep(0.25)
            left = alive(seen)
        if seen:
            tally.slowest_exit_s = max(tally.slowest_exit_s, time.monotonic() - killed)
        tally.orphans += len(left)
        for pid in left:  # ours: started by the import this scenario ran
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        code, _ = await run_to_end(["import", str(export)], cli_env(None, url), log)
        tally.runs += 1
        if code != 0:
            tally.failed_reruns += 1
            tally.notes.append(f"rerun exit {code}")
        got_rows = await relay_rows(url)
        got = await counts(url, IMPORT_TABLES)
        tally.lost += len(want_rows - got_rows)  # missing, or counted differently
        tally.doubled += len(got_rows - want_rows)
        for name in IMPORT_TABLES:
            if got[name] != want[name]:
                tally.notes.append(f"{name} {got[name]} vs clean {want[name]}")
                if got[name] > want[name]:
                    tally.doubled += got[name] - want[name]
                elif name != "relay_messages":
                    tally.lost += want[name] - got[name]
        say(f"kill-import run {run + 1}/{ctx.runs}: killed after {delay:.2f} s, rerun exit {code}")
    figures = f"{messages:,} msgs, clean {clean_s:.1f} s; " + tally.figures("rows")
    return Row(
        "SIGKILL × N during import (DCE export)",
        tally.runs,
        figures,
        tally.ok,
        "0 lost, 0 doubled, 0 orphans",
    )


async def kill_sync(ctx: Ctx) -> Row:
    """``clanstats sync --once`` against the fake WOM, SIGKILLed at a random point, run again."""
    work = ctx.folder("kill-sync")
    async with clan_world(wom_rate_window_s=1.0) as world:
        template = work / "template.sqlite3"
        env0 = cli_env(world, f"sqlite:///{template}")
        code, _ = await run_to_end(["migrate"], env0, work / "migrate.log")
        assert code == 0, (work / "migrate.log").read_text()[-2000:]

        async def fresh(name: str) -> str:
            path = work / f"{name}.sqlite3"
            shutil.copy(template, path)
            return f"sqlite:///{path}"

        once_url = await fresh("clean-once")
        code, clean_s = await run_to_end(
            ["sync", "--once"], cli_env(world, once_url), work / "clean.log"
        )
        assert code == 0, (work / "clean.log").read_text()[-2000:]
        once = await counts(once_url, SYNC_TABLES)
        twice_path = work / "clean-twice.sqlite3"
        shutil.copy(work / "clean-once.sqlite3", twice_path)
        code, _ = await run_to_end(
            ["sync", "--once"], cli_env(world, f"sqlite:///{twice_path}"), work / "clean.log"
        )
        assert code == 0, (work / "clean.log").read_text()[-2000:]
        twice = await counts(f"sqlite:///{twice_path}", SYNC_TABLES)
        say(f"kill-sync: clean sync in {clean_s:.1f} s: {once}; after a second: {twice}")
        tally = KillTally()
        for run in range(ctx.runs):
            url = await fresh(f"run{run}")
            env = cli_env(world, url)
            log = work / f"run{run}.log"
            proc = await spawn(["sync", "--once"], env, log)
            delay = ctx.rng.uniform(0.1, clean_s)
            tally.landed += await kill_at(proc, delay)
            code, _ = await run_to_end(["sync", "--once"], env, log)
            tally.runs += 1
            if code != 0:
                tally.failed_reruns += 1
                tally.notes.append(f"rerun exit {code}")
            got = await counts(url, SYNC_TABLES)
            for name in SYNC_TABLES:
                # between one clean sync and two: a killed sync may have kept some of its work
                if got[name] < once[name]:
                    tally.lost += once[name] - got[name]
                    tally.notes.append(f"{name} {got[name]} < {once[name]}")
                if got[name] > twice[name]:
                    tally.doubled += got[name] - twice[name]
                    tally.notes.append(f"{name} {got[name]} > {twice[name]}")
            say(
                f"kill-sync run {run + 1}/{ctx.runs}: killed after {delay:.2f} s, rerun exit {code}"
            )
        problems = world_problems(world)
    figures = (
        f"clean {clean_s:.1f} s, {once['members']} members, {once['snapshots']} snapshots; "
        + tally.figures("rows")
        + (f"; fake saw {len(problems)} problems" if problems else "")
    )
    return Row(
        "SIGKILL × N during sync (fake WOM)",
        tally.runs,
        figures,
        tally.ok and not problems,
        "0 lost, 0 doubled",
    )


def report_posts(world: ClanWorld) -> int:
    return sum(
        1
        for m in world.discord.sent_messages
        if m.channel_id == REPORT_CHANNEL_ID and m.kind == "message"
    )


async def until_logged(
    log: Path, event: str, proc: asyncio.subprocess.Process, limit_s: float, offset: int = 0
) -> float | None:
    """Seconds until ``event`` is in ``log`` (after ``offset``); None if the process ended or
    it did not come within ``limit_s``."""

    async def seen() -> bool:
        return proc.returncode is not None or bool(logged(log, event, offset))

    took = await wait_for(seen, limit_s)
    return took if took is not None and logged(log, event, offset) else None


async def kill_backfill(ctx: Ctx) -> Row:
    """``clanstats run`` reading a channel's history (backfill), SIGKILLed at a random point,
    started again until its backfill finished: the store must hold exactly the source."""
    work = ctx.folder("kill-backfill")
    source_size = ctx.backfill_messages or (1_500 if ctx.quick else 3_000)
    async with clan_world(wom_rate_window_s=1.0) as world:
        start = datetime.now(UTC) - timedelta(days=3)
        world.discord.seed_history(
            RELAY_CHANNEL_ID,
            (
                chat(0, NAMES[i % len(NAMES)], f"message number {i}").post_kwargs(
                    start + timedelta(seconds=4 * i)
                )
                for i in range(source_size)
            ),
        )
        source = {int(m["id"]) for m in world.discord.history(RELAY_CHANNEL_ID)}

        async def clean_run() -> float:
            url = f"sqlite:///{work / 'clean.sqlite3'}"
            log = work / "clean.log"
            proc = await spawn(["run"], cli_env(world, url), log)
            took = await until_logged(log, "backfill.finished", proc, 180)
            await stop(proc)
            assert took is not None, log.read_text()[-3000:]
            assert set(await relay_ids(url)) == source, (
                "the clean backfill did not store the source"
            )
            return took

        clean_s = await clean_run()
        say(f"kill-backfill: clean start + backfill of {source_size:,} messages in {clean_s:.1f} s")
        tally = KillTally()
        mid_backfill = 0
        for run in range(ctx.runs):
            url = f"sqlite:///{work / f'run{run}.sqlite3'}"
            env = cli_env(world, url)
            log = work / f"run{run}.log"
            proc = await spawn(["run"], env, log)
            delay = ctx.rng.uniform(0.5, clean_s)
            tally.landed += await kill_at(proc, delay)
            stored_at_kill = len(await relay_ids(url))
            mid_backfill += 0 < stored_at_kill < source_size
            offset = log.stat().st_size
            proc = await spawn(["run"], env, log)
            took = await until_logged(log, "backfill.finished", proc, 180, offset)
            code = await stop(proc)
            tally.runs += 1
            if took is None or code != 0:
                tally.failed_reruns += 1
                tally.notes.append(f"restart: backfill finished {took is not None}, exit {code}")
            ids = await relay_ids(url)
            tally.lost += len(source - set(ids))
            tally.doubled += len(ids) - len(set(ids))
            say(
                f"kill-backfill run {run + 1}/{ctx.runs}: killed after {delay:.2f} s with "
                f"{stored_at_kill:,} stored; after restart {len(ids):,}"
            )
        problems = world_problems(world)
    figures = (
        f"{source_size:,} msgs, clean {clean_s:.1f} s; {mid_backfill} kills with part stored; "
        + tally.figures("messages")
        + (f"; fake saw {len(problems)} problems" if problems else "")
    )
    return Row(
        "SIGKILL × N during backfill",
        tally.runs,
        figures,
        tally.ok and not problems,
        "0 lost, 0 doubled",
    )


async def prepare_report_template(world: ClanWorld, path: Path, log: Path) -> None:
    """A synced database whose daily report ran yesterday (so a missed one is caught up)."""
    from storage.repositories import job_runs

    env = cli_env(world, f"sqlite:///{path}")
    code, _ = await run_to_end(["sync", "--once"], env, log)
    assert code == 0, f"the template's sync failed: see {log}"
    db = Database.from_url(f"sqlite:///{path}")
    try:
        now = datetime.now(UTC)
        async with db.write() as session:
            yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%d")
            run_id = await job_runs.claim(
                session, job=REPORT_JOB, slot=yesterday, now=now - timedelta(days=1)
            )
            assert run_id is not None
            await job_runs.finish(
                session, run_id, outcome="ok", now=now - timedelta(days=1), counts={}
            )
    finally:
        await db.dispose()


async def kill_report(ctx: Ctx) -> Row:
    """``clanstats run`` posting the day's report (caught up at startup: report time 00:00
    UTC has passed), SIGKILLed at a random point and started again: one post, one run."""
    work = ctx.folder("kill-report")
    async with clan_world(wom_rate_window_s=1.0) as world:
        template = work / "template.sqlite3"
        await prepare_report_template(world, template, work / "template.log")
        today = datetime.now(UTC).strftime("%Y-%m-%d")

        def env_for(path: Path) -> dict[str, str]:
            return cli_env(world, f"sqlite:///{path}", report_time="00:00", timezone="UTC")

        async def reported(url: str) -> bool:
            return (today, "ok") in await job_rows(url, REPORT_JOB)

        path = work / "clean.sqlite3"
        shutil.copy(template, path)
        before = report_posts(world)
        proc = await spawn(["run"], env_for(path), work / "clean.log")
        clean_s = await wait_for(lambda: reported(f"sqlite:///{path}"), 120)
        await asyncio.sleep(1)
        await stop(proc)
        assert clean_s is not None, (work / "clean.log").read_text()[-3000:]
        per_report = report_posts(world) - before
        say(f"kill-report: clean start + report in {clean_s:.1f} s ({per_report} messages)")
        tally = KillTally()
        states: Counter[str] = Counter()
        for run in range(ctx.runs):
            path = work / f"run{run}.sqlite3"
            shutil.copy(template, path)
            url = f"sqlite:///{path}"
            log = work / f"run{run}.log"
            before = report_posts(world)
            proc = await spawn(["run"], env_for(path), log)
            # Around the report: its claim, its post, its record (startup takes the rest).
            delay = ctx.rng.uniform(max(0.5, clean_s - 2.0), clean_s + 0.3)
            tally.landed += await kill_at(proc, delay)
            at_kill = [o for s, o in await job_rows(url, REPORT_JOB) if s == today]
            states[at_kill[0] if at_kill else "unclaimed"] += 1
            offset = log.stat().st_size
            proc = await spawn(["run"], env_for(path), log)
            took = await wait_for(lambda url=url: reported(url), 60)  # type: ignore[misc]
            await until_logged(log, "bot.ready", proc, 60, offset)  # stopped once running
            await asyncio.sleep(1.5)  # a second post would come now
            code = await stop(proc)
            tally.runs += 1
            posts = report_posts(world) - before
            runs = [r for r in await job_rows(url, REPORT_JOB) if r[0] == today]
            if took is None:
                tally.lost += 1
                tally.notes.append(f"no report within 60 s of the restart ({runs})")
            if posts > per_report:
                tally.doubled += (posts - per_report) // max(per_report, 1)
                tally.notes.append("report posted twice")
            if code != 0:
                tally.failed_reruns += 1
                tally.notes.append(f"SIGTERM exit {code}")
            say(
                f"kill-report run {run + 1}/{ctx.runs}: killed after {delay:.2f} s; "
                f"{posts} messages posted, job_runs {runs}"
            )
        problems = world_problems(world)
    figures = (
        f"clean {clean_s:.1f} s; report at kill: "
        + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
        + "; "
        + tally.figures("reports")
        + (f"; fake saw {len(problems)} problems" if problems else "")
    )
    return Row(
        "SIGKILL × N during daily report",
        tally.runs,
        figures,
        tally.ok and not problems,
        "1 post + 1 job_runs row per day",
    )


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a crash and restart mid-ingest, three instances, the migration race


class Poster:
    """Relay messages into the fake Discord at a steady rate, keeping the ids sent."""

    def __init__(self, world: ClanWorld, per_s: float) -> None:
        self.world = world
        self.per_s = per_s
        self.sent: list[int] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        began = time.monotonic()
        while not self._stop.is_set():
            due = began + len(self.sent) / self.per_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            i = len(self.sent)
            post = chat(0, NAMES[i % len(NAMES)], f"live line {i}").post_kwargs(datetime.now(UTC))
            message = await self.world.discord.post_message(RELAY_CHANNEL_ID, **post)
            self.sent.append(int(message["id"]))

    async def finish(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


async def pg_restart(ctx: Ctx) -> Row:
    """A throwaway PostgreSQL (its own cluster and port) killed with ``pg_ctl stop -m
    immediate`` and started again while the bot ingests 20 relay messages/s."""
    if not (PG_BIN / "pg_ctl").exists():
        return Row(
            "PostgreSQL killed + restarted mid-ingest", 0, f"no {PG_BIN}/pg_ctl", None, "0 lost"
        )
    work = ctx.folder("pg-restart")
    pg = ThrowawayPostgres(free_port())
    restarts = 1 if ctx.quick else 3
    down_s = 5.0 if ctx.quick else 10.0
    recoveries: list[float] = []
    try:
        await asyncio.to_thread(pg.init)
        async with clan_world(wom_rate_window_s=1.0) as world:
            env = cli_env(
                world, pg.url, leader_retry_s=1, db_connect_timeout_s=1, db_statement_timeout_s=2
            )
            log = work / "bot.log"
            bot = await spawn(["run"], env, log)
            assert await until_logged(log, "backfill.finished", bot, 120) is not None, (
                log.read_text()[-3000:]
            )
            poster = Poster(world, 20)
            poster.start()
            for _ in range(restarts):
                await asyncio.sleep(8)
                await asyncio.to_thread(pg.kill)
                say(f"pg-restart: server killed at {len(poster.sent)} messages sent")
                await asyncio.sleep(down_s)
                await asyncio.to_thread(pg.start)
                sent_before = set(poster.sent)

                async def caught_up(sent: set[int] = sent_before) -> bool:
                    with contextlib.suppress(Exception):
                        return sent <= set(await relay_ids(pg.url))
                    return False

                took = await wait_for(caught_up, 120, poll_s=0.5)
                recoveries.append(took if took is not None else math.inf)
                say(f"pg-restart: the outage's messages stored {took} s after the restart")
            await asyncio.sleep(5)
            await poster.finish()

            async def all_stored() -> bool:
                return set(poster.sent) <= set(await relay_ids(pg.url))

            await wait_for(all_stored, 60, poll_s=0.5)
            ids = await relay_ids(pg.url)
            began = time.monotonic()
            code = await stop(bot)
            stop_s = time.monotonic() - began
            unavailable = len(logged(log, "relay.database_unavailable"))
            errors = sum(
                1 for line in _json_lines(log) if line.get("level") in ("error", "critical")
            )
            problems = world_problems(world)
    finally:
        await asyncio.to_thread(pg.remove)
    lost = len(set(poster.sent) - set(ids))
    doubled = len(ids) - len(set(ids))
    worst = max(recoveries) if recoveries else math.nan
    figures = (
        f"{restarts} crash(es), {down_s:.0f} s down each; sent {len(poster.sent):,}, stored "
        f"{len(set(ids)):,}, lost {lost}, doubled {doubled}; caught up "
        + ", ".join(f"{r:.1f}" for r in recoveries)
        + f" s after restart; {unavailable} outage warnings, {errors} error lines; SIGTERM exit "
        f"{code} in {stop_s:.1f} s" + (f"; fake saw {len(problems)} problems" if problems else "")
    )
    ok = (
        lost == 0
        and doubled == 0
        and code == 0
        and not problems
        and worst < 60
        and errors == 0
        and unavailable <= restarts  # one warning per outage, not one per message
    )
    return Row(
        "PostgreSQL killed + restarted mid-ingest (pg_ctl)",
        restarts,
        figures,
        ok,
        "0 lost, caught up < 60 s, exit 0",
    )


def _json_lines(log: Path) -> list[dict[str, Any]]:
    found = []
    for raw in log.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                found.append(json.loads(raw))
    return found


async def failover(ctx: Ctx) -> Row:
    """Three ``clanstats run`` on one PostgreSQL database; the leader SIGKILLed just before
    the daily report time: takeover time, and every sync slot and the report exactly once."""
    work = ctx.folder("failover")
    async with scratch_pg("failover") as url, clan_world(wom_rate_window_s=1.0) as world:
        now = datetime.now(UTC)
        report_at = (now + timedelta(seconds=90)).replace(second=0, microsecond=0) + timedelta(
            minutes=1
        )
        env = cli_env(
            world,
            url,
            sync_interval_minutes=1,
            report_time=report_at.strftime("%H:%M"),
            timezone="UTC",
        )
        logs = [work / f"instance{i}.log" for i in range(3)]
        procs = []
        for log in logs:
            procs.append(await spawn(["run"], env, log))
            await asyncio.sleep(1.0)
        try:
            for proc, log in zip(procs, logs, strict=True):
                assert await until_logged(log, "bot.ready", proc, 120) is not None, log.read_text()[
                    -3000:
                ]

            async def first_sync() -> bool:
                return any(o == "ok" for _, o in await job_rows(url, SYNC_JOB))

            assert await wait_for(first_sync, 120) is not None
            leaders = [
                i for i, log in enumerate(logs) if not logged(log, "bot.not_scheduler_leader")
            ]
            assert len(leaders) == 1, f"leaders: {leaders}"
            leader = leaders[0]
            wait = (report_at - timedelta(seconds=8) - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.0, wait))
            offsets = [log.stat().st_size for log in logs]
            posts_before = report_posts(world)
            procs[leader].kill()
            await procs[leader].wait()

            async def taken_over() -> bool:
                return any(
                    logged(log, "scheduler.took_over", offsets[i])
                    for i, log in enumerate(logs)
                    if i != leader
                )

            took = await wait_for(taken_over, 60, poll_s=0.1)
            takeover_s = took if took is not None else math.inf
            # Two more sync slots and the report, then stop the followers.
            end = report_at + timedelta(seconds=130)
            await asyncio.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()))
            codes = [await stop(p) for i, p in enumerate(procs) if i != leader]
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()
        syncs = await job_rows(url, SYNC_JOB)
        reports = await job_rows(url, REPORT_JOB)
        problems = world_problems(world)
    posts = report_posts(world) - posts_before
    slots = sorted(datetime.strptime(s, "%Y-%m-%dT%H:%MZ") for s, _ in syncs)
    missed = sum(int((b - a).total_seconds() // 60) - 1 for a, b in itertools.pairwise(slots))
    doubled = len(syncs) - len({s for s, _ in syncs})
    new_leaders = sum(
        1
        for i, log in enumerate(logs)
        if i != leader and logged(log, "scheduler.took_over", offsets[i])
    )
    report_ok = [o for s, o in reports] == ["ok"]
    figures = (
        f"takeover {takeover_s:.1f} s after SIGKILL ({new_leaders} new leader); sync slots "
        f"{len(syncs)} ({', '.join(o for _, o in syncs)}), missed {missed}, doubled {doubled}; "
        f"report runs {[o for _, o in reports]}, {posts} messages posted; followers' exit {codes}"
        + (f"; fake saw {len(problems)} problems" if problems else "")
    )
    ok = (
        takeover_s <= TAKEOVER_TARGET_S
        and new_leaders == 1
        and missed == 0
        and doubled == 0
        and all(o == "ok" for _, o in syncs)
        and report_ok
        and codes == [0, 0]
        and not problems
    )
    return Row(
        "3 instances, leader SIGKILLed",
        1,
        figures,
        ok,
        f"takeover <= {TAKEOVER_TARGET_S:.0f} s, every slot once",
    )


async def migration_race(ctx: Ctx) -> Row:
    """N ``clanstats migrate`` started together on one fresh PostgreSQL database."""
    work = ctx.folder("migration-race")
    count = 5 if ctx.quick else 15
    async with scratch_pg("race") as url:
        env = cli_env(None, url)
        began = time.monotonic()
        results = await asyncio.gather(
            *(run_to_end(["migrate"], env, work / f"migrate{i}.log") for i in range(count))
        )
        took = time.monotonic() - began
        versions = await query(url, "SELECT version_num FROM alembic_version")
    failed = sum(1 for code, _ in results if code != 0)
    tracebacks = sum(
        1 for i in range(count) if "Traceback" in (work / f"migrate{i}.log").read_text()
    )
    figures = (
        f"{count} at once: {count - failed} exit 0, {failed} failed, {tracebacks} tracebacks; "
        f"alembic_version {[v[0] for v in versions]}; all done in {took:.1f} s"
    )
    return Row(
        "migration race (N instances, fresh PostgreSQL)",
        count,
        figures,
        failed == 0 and len(versions) == 1,
        "all exit 0, migrated once",
    )


# ---------------------------------------------------------------------------------------------
# Soak


async def soak(ctx: Ctx) -> Row:
    """``clanstats run`` for ``--soak-minutes`` at 20 relay messages/s, a sync every minute
    and an officer slash command every second: RSS, command latency, messages stored."""
    work = ctx.folder("soak")
    minutes = ctx.soak_minutes
    async with clan_world(wom_rate_window_s=1.0) as world:
        url = f"sqlite:///{work / 'soak.sqlite3'}"
        log = work / "bot.log"
        bot = await spawn(["run"], cli_env(world, url, sync_interval_minutes=1), log)
        assert await until_logged(log, "backfill.finished", bot, 120) is not None, log.read_text()[
            -3000:
        ]
        await asyncio.sleep(2)
        rss_start = rss_mb(bot.pid)
        rss_peak = rss_start
        first: list[float] = []
        answer: list[float] = []
        failures: list[str] = []

        async def officer(i: int) -> None:
            began = time.monotonic()
            sub = OFFICER_SUBCOMMANDS[i % len(OFFICER_SUBCOMMANDS)]
            try:
                asked: FakeInteraction = await world.discord.invoke_slash(
                    GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand=sub
                )
                await asked.wait_response(timeout=30)
                first.append(time.monotonic() - began)
                await asked.wait_responses(2, timeout=60)
                answer.append(time.monotonic() - began)
            except TimeoutError as exc:
                failures.append(f"{sub}: {exc}"[:120])

        poster = Poster(world, 20)
        poster.start()
        commands: list[asyncio.Task[None]] = []
        began = time.monotonic()
        i = 0
        while time.monotonic() - began < minutes * 60:
            commands.append(asyncio.create_task(officer(i)))
            i += 1
            if i % 10 == 0:
                rss_peak = max(rss_peak, rss_mb(bot.pid))
                assert bot.returncode is None, log.read_text()[-3000:]
            if i % 300 == 0:
                say(
                    f"soak: {i} commands, {len(poster.sent):,} messages, "
                    f"RSS {rss_mb(bot.pid):.0f} MB"
                )
            await asyncio.sleep(max(0.0, began + i - time.monotonic()))
        await poster.finish()
        await asyncio.gather(*commands)
        rss_end = rss_mb(bot.pid)

        async def all_stored() -> bool:
            return len(set(await relay_ids(url))) >= len(poster.sent)

        await wait_for(all_stored, 60, poll_s=0.5)
        ids = await relay_ids(url)
        syncs = [o for _, o in await job_rows(url, SYNC_JOB)]
        code = await stop(bot)
        problems = world_problems(world)
    lost = len(set(poster.sent) - set(ids))
    growth = rss_end - rss_start
    figures = (
        f"{minutes:g} min: sent {len(poster.sent):,}, stored {len(set(ids)):,} (lost {lost}); "
        f"syncs {syncs.count('ok')} ok / {len(syncs)}; {len(answer):,} of {i:,} commands answered, "
        f"p95 first response {p95(first):.2f} s, p95 answer {p95(answer):.2f} s "
        f"(median {statistics.median(answer) if answer else math.nan:.2f} s); "
        f"RSS {rss_start:.0f} -> {rss_end:.0f} MB (growth {growth:+.0f}, peak {rss_peak:.0f}); "
        f"exit {code}"
        + (f"; {len(failures)} commands timed out" if failures else "")
        + (f"; fake saw {len(problems)} problems: {problems[0][:200]}" if problems else "")
    )
    ok = (
        lost == 0
        and not failures
        and p95(first) < 3.0
        and growth < 50
        and code == 0
        and not problems
        and syncs.count("ok") >= max(1, int(minutes) - 1)
    )
    return Row(
        "soak: 20 msg/s, sync/min, officer cmd/s",
        1,
        figures,
        ok,
        "0 lost, p95 first response < 3 s, RSS growth < 50 MB",
    )


# ---------------------------------------------------------------------------------------------
# The fault cases of issue 14 points 1-8: their tests, run as they are, with their figures

#: (row, pytest targets, lines of the test output worth reporting)
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "1 hostile imports (nesting, huge, poisoned, no messages)",
        ("tests/bot/test_import_hostile.py",),
    ),
    (
        "2 WOM drift payloads + rolling departure guard",
        ("tests/bot/test_sync_drift.py", "tests/e2e/test_departures_e2e.py"),
    ),
    (
        "3 leader failover + lease (tests)",
        (
            "tests/faults/test_failover.py",
            "tests/storage/test_scheduler_lease.py",
            "tests/storage/test_scheduler_lease_lost.py",
        ),
    ),
    ("3 migration race (tests)", ("tests/storage/test_migration_race.py",)),
    (
        "3 DB outage buffer + timeouts",
        (
            "tests/faults/test_database_outage.py",
            "tests/storage/test_db_timeouts.py",
            "tests/storage/test_sqlite_concurrency.py",
        ),
    ),
    ("4 clean output / closed pipe", ("tests/bot/test_cli_output.py",)),
    (
        "5 installable (wheel, Docker files, lock)",
        ("tests/test_packaging.py", "tests/test_container_files.py"),
    ),
    (
        "6 one clear line for ordinary mistakes",
        ("tests/bot/test_cli_failures.py", "tests/bot/test_check_config.py"),
    ),
    ("7 honest health", ("tests/bot/test_health_cli.py",)),
    (
        "8 shutdown < 10 s, nothing lost",
        ("tests/faults/test_shutdown_deadline.py", "tests/e2e/test_shutdown_e2e.py"),
    ),
)

#: Figures the tests print (with -s, a line may start after pytest's progress dots).
FIGURE_LINE = re.compile(
    r"^\.*((?:takeover after|shutdown with|SIGTERM with|hostile import)[^\n]*)", re.MULTILINE
)
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors)\b")


async def case_row(name: str, targets: Sequence[str], work: Path) -> Row:
    log = work / (re.sub(r"\W+", "-", name)[:40] + ".log")
    began = time.monotonic()
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", "-q", "-s",
            "--no-cov", *targets,
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        code = await proc.wait()
    return case_figures(name, log.read_text(errors="replace"), time.monotonic() - began, code)


def case_figures(name: str, output: str, took: float, code: int | None) -> Row:
    """A point's row from its pytest output (``code`` None: judged by the summary alone)."""
    tail = output.splitlines()[-1] if output.strip() else ""
    tallies = {kind: int(n) for n, kind in SUMMARY.findall(tail)}
    passed = tallies.get("passed", 0)
    figures = f"{passed} tests passed"
    for kind in ("failed", "error", "errors", "skipped"):
        if tallies.get(kind):
            figures += f", {tallies[kind]} {kind}"
    figures += f" in {took:.0f} s"
    found = [m.group(1).strip() for m in FIGURE_LINE.finditer(output)]
    if found:
        figures += "; " + "; ".join(found)
    clean = not any(tallies.get(k) for k in ("failed", "error", "errors"))
    if not clean:  # say what failed: a name and the first error line
        failed = re.findall(r"^(?:FAILED|ERROR) \S+::(\S+)", output, re.MULTILINE)
        first = re.search(r"^E +(\S.*)$", output, re.MULTILINE)
        figures += f"; failed: {', '.join(failed)}" + (f" ({first.group(1)[:90]})" if first else "")
    ok = (code == 0 if code is not None else clean) and passed > 0
    return Row(name, passed, figures, ok, "all its tests pass")


async def cases(ctx: Ctx) -> list[Row]:
    work = ctx.folder("cases")
    rows = []
    for name, targets in CASES:
        say(f"cases: {name}")
        rows.append(await case_row(name, targets, work))
    return rows


# ---------------------------------------------------------------------------------------------
# Main

Scenario = Callable[[Ctx], Awaitable[Row | list[Row]]]
SCENARIOS: dict[str, Scenario] = {
    "cases": cases,
    "migration-race": migration_race,
    "kill-import": kill_import,
    "kill-sync": kill_sync,
    "kill-backfill": kill_backfill,
    "kill-report": kill_report,
    "pg-restart": pg_restart,
    "failover": failover,
    "soak": soak,
}


async def run_one(name: str, ctx: Ctx) -> list[Row]:
    say(f"{name}: started")
    began = time.monotonic()
    try:
        found = await SCENARIOS[name](ctx)
    except Exception as exc:  # one broken scenario must not hide the others' figures
        import traceback

        traceback.print_exc(file=sys.stderr)
        found = Row(
            name, 0, f"crashed: {type(exc).__name__}: {exc}"[:300], False, "runs to the end"
        )
    say(f"{name}: done in {time.monotonic() - began:.0f} s")
    return found if isinstance(found, list) else [found]


async def soak_alongside(args: argparse.Namespace, work: Path) -> list[Row]:
    """The soak in a process of its own (its own event loop), while the rest runs here."""
    out = work / "soak-rows.json"
    command = [
        sys.executable, str(SELF), "--only", "soak", "--seed", str(args.seed),
        "--soak-minutes", str(args.soak_minutes), "--rows-json", str(out),
        "--work", str(work / "soak-process"),
    ]  # fmt: skip
    if args.quick:
        command.append("--quick")
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
    await proc.wait()
    if not out.exists():
        return [
            Row(
                "soak",
                0,
                f"the soak process ended with {proc.returncode} and no rows",
                False,
                "runs",
            )
        ]
    return [Row(**row) for row in json.loads(out.read_text())["rows"]]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="3 kills a scenario, a 1-minute soak")
    p.add_argument("--runs", type=int, default=None, help="kills per kill scenario (20; quick: 3)")
    p.add_argument("--seed", type=int, default=14, help="seed of the kill points and the data")
    p.add_argument("--soak-minutes", type=float, default=None, help="soak length (30; quick: 1)")
    p.add_argument("--only", default="", help="comma-separated scenarios to run (see --list)")
    p.add_argument("--skip", default="", help="comma-separated scenarios to leave out")
    p.add_argument(
        "--soak-alongside",
        action="store_true",
        help="run the soak in a second process while the rest runs (saves its length; "
        "the figures of both then share the machine)",
    )
    p.add_argument("--work", type=Path, default=None, help="folder for databases and logs (kept)")
    p.add_argument("--rows-json", type=Path, default=None, help="also write the rows as JSON")
    p.add_argument("--list", action="store_true", help="print the scenario names and exit")
    p.add_argument("--import-messages", type=int, default=0, help="export size (30,000)")
    p.add_argument("--backfill-messages", type=int, default=0, help="history size (3,000)")
    p.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="print one table from the --rows-json files of runs made in parallel, and exit",
    )
    args = p.parse_args(argv)
    if args.runs is None:
        args.runs = 3 if args.quick else 20
    if args.soak_minutes is None:
        args.soak_minutes = 1.0 if args.quick else 30.0
    return args


def selected(args: argparse.Namespace) -> list[str]:
    only = [s for s in args.only.split(",") if s]
    skip = {s for s in args.skip.split(",") if s}
    unknown = (set(only) | skip) - set(SCENARIOS)
    if unknown:
        raise SystemExit(
            f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}"
        )
    return [s for s in (only or list(SCENARIOS)) if s not in skip]


async def main_async(args: argparse.Namespace) -> int:
    names = selected(args)
    work = args.work or Path(tempfile.mkdtemp(prefix="clanstats-chaos-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(
        args.quick,
        args.runs,
        args.seed,
        args.soak_minutes,
        work,
        import_messages=args.import_messages,
        backfill_messages=args.backfill_messages,
    )
    say(f"work folder {work}; scenarios {', '.join(names)}")
    began = time.monotonic()
    alongside: asyncio.Task[list[Row]] | None = None
    if args.soak_alongside and "soak" in names and names != ["soak"]:
        names.remove("soak")
        alongside = asyncio.create_task(soak_alongside(args, work))
    rows: list[Row] = []
    for name in names:
        rows += await run_one(name, ctx)
    if alongside is not None:
        rows += await alongside
    minutes = (time.monotonic() - began) / 60
    load = os.getloadavg()
    note = (
        f"ClanStats chaos suite: seed {args.seed}, {args.runs} kills per kill scenario, "
        f"{'quick' if args.quick else 'full'}; {minutes:.0f} min on {os.cpu_count()} cores, "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        + (" (soak ran alongside)" if alongside is not None else "")
    )
    print(table(rows, note), flush=True)
    if args.rows_json is not None:
        args.rows_json.write_text(json.dumps({"note": note, "rows": [r.__dict__ for r in rows]}))
    return 0 if all(r.ok is not False for r in rows) else 1


def print_merged(paths: Sequence[Path]) -> int:
    """One table from the rows several runs of the suite wrote (``--rows-json``)."""
    rows: list[Row] = []
    notes: list[str] = []
    for path in paths:
        data = json.loads(path.read_text())
        if isinstance(data, list):  # the rows alone
            data = {"note": f"{path}", "rows": data}
        notes.append(str(data["note"]))
        rows += [Row(**row) for row in data["rows"]]
    print(table(rows, "\n".join(["ClanStats chaos suite, merged from:", *notes])), flush=True)
    return 0 if all(r.ok is not False for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.merge:
        return print_merged(args.merge)
    from bot.core.logging import configure_logging

    configure_logging(level="WARNING", fmt="console")  # the fakes' own logs, to stderr
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
