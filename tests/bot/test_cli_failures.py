"""Every ordinary mistake of an install is one line on stderr and exit 2, never a traceback.

A bad or unreachable database, one that does not exist, a read-only file, a full disk, a lock
held past the busy timeout, a rejected Discord token. Where the process's own exit matters (a
file-size limit, dropped privileges, the bot's start) the real ``python -m bot`` runs; the
rest drive ``bot.cli.main`` in-process, which returns the exit code instead of raising.
A full disk is a file-size limit (RLIMIT_FSIZE) on the child: SQLite and the file system
then fail exactly as on a full disk (EFBIG / "disk I/O error"), with no root needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from bot.cli.common import ordinary_failure
from fakes.world import clan_world
from storage.engine import Database
from storage.migrate import current_revision, downgrade, head_revision
from tests.conftest import PG_ADMIN_URL, require_postgres

# Port 9 (discard) on loopback: nothing listens, a connection is refused at once.
UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:9/clanstats"
WRONG_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDA1MA.wrong.token-that-discord-rejects"


def _one_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"clanstats {command}: "), err
    assert "Traceback" not in err
    return lines[0]


def _revision(path: Path) -> str | None:
    async def go() -> str | None:
        db = Database.from_url(f"sqlite:///{path}")
        try:
            return await current_revision(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.fixture
def old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite database one revision behind: the next command migrates (and backs up)."""
    path = tmp_path / "data" / "clan.sqlite3"
    path.parent.mkdir()
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0

    async def back() -> None:
        db = Database.from_url(f"sqlite:///{path}")
        try:
            await downgrade(db, "-1")
        finally:
            await db.dispose()

    asyncio.run(back())
    assert _revision(path) != head_revision()
    for side in ("-wal", "-shm"):  # a closed database: only its file
        path.with_name(path.name + side).unlink(missing_ok=True)
    return path


def _leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def _child_env(url: str, *, measured: bool = True, **extra: str) -> dict[str, str]:
    """The child's environment; ``measured=False`` keeps coverage out of it (a child under a
    file-size limit cannot write coverage's data file, and would say so on stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    if not measured:
        env = {k: v for k, v in env.items() if not k.startswith(("COV_CORE_", "COVERAGE_"))}
    return env | {"CLANSTATS_DATABASE_URL": url, **extra}


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


# --- the database URL and the server -----------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [["migrate"], ["export", "members"], ["sync", "--once"], ["report"]],
    ids=["migrate", "export", "sync", "report"],
)
def test_an_unreachable_database_is_one_line_and_exit_2(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", UNREACHABLE_PG)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    assert main(command) == 2
    line = _one_line(capsys.readouterr().err, command[0])
    assert "the database server refused the connection: is it running?" in line


def test_a_postgresql_database_that_does_not_exist_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_postgres()
    name = f"clanstats_absent_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", url)
    assert main(["migrate"]) == 2
    line = _one_line(capsys.readouterr().err, "migrate")
    assert "the PostgreSQL database does not exist" in line and name in line


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "CLANSTATS_DATABASE_URL: not a database URL"),
        ("mysql://clan@db/clan", "CLANSTATS_DATABASE_URL: mysql:// databases are not supported"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_a_configuration_error(
    url: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", url)
    with pytest.raises(SystemExit) as exited:  # the settings are refused before any work
        main(["migrate"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert expected in _one_line(err, "migrate")
    assert url not in err  # a database URL may hold a password: never echoed


def test_a_sqlite_folder_that_does_not_exist_is_named_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{missing / 'clan.sqlite3'}")
    assert main(["migrate"]) == 2
    line = _one_line(capsys.readouterr().err, "migrate")
    assert line.endswith(f"the folder of the SQLite database does not exist: {missing}")
    assert not (tmp_path / "no").exists()


def test_an_export_to_a_folder_that_does_not_exist_fails_before_any_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", UNREACHABLE_PG)  # never reached
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    target = tmp_path / "missing" / "members.csv"
    assert main(["export", "members", "--format", "csv", "--output", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --output {target}: the folder {target.parent} does not exist\n"


# --- locks ---------------------------------------------------------------------------------


def test_a_lock_held_past_the_busy_timeout_stops_migrate_before_its_backup(
    old_schema: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _revision(old_schema)
    # ?timeout= sets SQLite's busy timeout (30 s by default): another writer holds the lock.
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{old_schema}?timeout=0.3")
    holder = sqlite3.connect(old_schema, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert main(["migrate"]) == 2
    finally:
        holder.close()
    line = _one_line(capsys.readouterr().err, "migrate")
    assert "locked by another process and stayed locked past the busy timeout" in line
    assert "nothing was changed" in line
    assert not [n for n in _leftovers(old_schema) if ".bak-" in n]
    assert _revision(old_schema) == before


def test_a_lock_held_past_the_busy_timeout_stops_a_sync_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clan.sqlite3"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}?timeout=0.3")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_WOM_BASE_URL", "http://127.0.0.1:9")
    assert main(["migrate"]) == 0
    capsys.readouterr()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert main(["sync", "--once"]) == 2
    finally:
        holder.close()
    err = capsys.readouterr().err
    # The sync job's own warning (job.not_started, for the running bot's log) comes first.
    last = err.strip().splitlines()[-1]
    assert last.startswith("clanstats sync: the database cannot be used: "), err
    assert "locked" in last and "busy timeout" in last
    assert "Traceback" not in err


# --- the disk: full, read-only --------------------------------------------------------------


def test_migrate_without_room_for_its_backup_stops_before_writing_anything(
    old_schema: Path,
) -> None:
    before = _revision(old_schema)
    size = old_schema.stat().st_size
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        capture_output=True,
        text=True,
        env=_child_env(f"sqlite:///{old_schema}", measured=False),
        preexec_fn=_file_size_limit(size // 2),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr, "migrate")
    assert "not enough space to back up the database before migrating" in line
    assert _leftovers(old_schema) == []  # no partial .bak, no journal
    assert _revision(old_schema) == before


def test_a_backup_that_fails_midway_leaves_no_partial_copy_and_no_journal(
    old_schema: Path,
) -> None:
    # The copy itself, past the space check, on a disk that fills while it writes.
    target = old_schema.with_name("clan.sqlite3.bak-test")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from storage.migrate import copy_sqlite\n"
        "from storage.errors import DatabaseProblem\n"
        "try:\n"
        f"    copy_sqlite(Path({str(old_schema)!r}), Path({str(target)!r}))\n"
        "except DatabaseProblem as exc:\n"
        "    print(exc)\n"
        "    sys.exit(2)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=_child_env(f"sqlite:///{old_schema}", measured=False),
        cwd=Path(__file__).resolve().parents[2],
        preexec_fn=_file_size_limit(old_schema.stat().st_size // 3),
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "could not back up the database" in result.stdout
    assert "no partial backup left behind" in result.stdout
    assert _leftovers(old_schema) == []


def test_a_full_disk_while_creating_the_database_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "clan.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        capture_output=True,
        text=True,
        env=_child_env(f"sqlite:///{path}", measured=False),
        preexec_fn=_file_size_limit(16 * 1024),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr, "migrate")
    assert "disk" in line


def _without_write_permission() -> list[str]:
    """The command prefix that makes a 0444 file read-only for the child: nothing for an
    ordinary user; for root, `setpriv` drops the capabilities that override permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a 0444 file stays writable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner"]


def test_a_read_only_database_file_is_named_before_any_backup(old_schema: Path) -> None:
    before = _revision(old_schema)
    old_schema.chmod(0o444)
    result = subprocess.run(
        [*_without_write_permission(), sys.executable, "-m", "bot", "migrate"],
        capture_output=True,
        text=True,
        env=_child_env(f"sqlite:///{old_schema}"),
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr, "migrate")
    assert f"the SQLite database file is not writable by this user: {old_schema}" in line
    assert not [n for n in _leftovers(old_schema) if ".bak-" in n]
    old_schema.chmod(0o644)
    assert _revision(old_schema) == before


# --- Discord ---------------------------------------------------------------------------------


async def _run_bot_process(tmp_path: Path, **overrides: str) -> tuple[int, str, list[str]]:
    """`clanstats run` as a process against the fake clan world; its exit, stderr and
    what the fake Discord counted as violations."""
    async with clan_world() as world:
        url = overrides.pop("database_url", f"sqlite:///{tmp_path / 'clan.sqlite3'}")
        settings = world.settings(url, **overrides)
        env = _child_env(settings.pop("database_url"), CLANSTATS_LOG_FORMAT="json")
        for key, value in settings.items():
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            env[f"CLANSTATS_{key.upper()}"] = text
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(child.communicate(), 120)
        violations = list(world.discord.violations)
    assert out == b""
    assert child.returncode is not None
    return child.returncode, err.decode(), violations


async def test_a_rejected_discord_token_is_one_line_without_the_token(tmp_path: Path) -> None:
    code, err, violations = await _run_bot_process(tmp_path, discord_token=WRONG_TOKEN)
    # Discord answers a wrong token with 401 on GET /users/@me: the fake recorded it.
    assert violations == ["GET /api/v10/users/@me: 401 Unauthorized: no or a wrong bot token"]
    assert code == 2, err
    assert [line for line in err.splitlines() if not _is_log_line(line)] == [
        "clanstats run: Discord rejected the bot token (CLANSTATS_DISCORD_TOKEN): copy the "
        "bot's token again from the Discord Developer Portal (Bot → Reset Token) and set it"
    ]
    assert WRONG_TOKEN not in err


async def test_the_bot_with_an_unreachable_database_stops_in_one_line(tmp_path: Path) -> None:
    code, err, violations = await _run_bot_process(tmp_path, database_url=UNREACHABLE_PG)
    assert violations == []
    assert code == 2, err
    (line,) = [line for line in err.splitlines() if not _is_log_line(line)]
    assert line.startswith("clanstats run: the database server refused the connection")


def _is_log_line(line: str) -> bool:
    try:
        return "event" in json.loads(line)
    except ValueError:
        return False


# --- what stays a traceback ------------------------------------------------------------------


def test_a_bug_is_not_mistaken_for_a_mistake_of_the_install() -> None:
    bug = IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed: members.id"))
    assert ordinary_failure(bug) is None
    assert ordinary_failure(ValueError("a bug")) is None
    assert ordinary_failure(KeyError("x")) is None
    # A refused connection is the database's only when it came up through the driver.
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as not_the_database:
        assert ordinary_failure(not_the_database) is None
