"""The real `clanstats` process: answers alone on stdout, logs on stderr, a closed pipe quiet.

Each test runs ``python -m bot`` as an admin's shell would, on a SQLite database synced from
the recorded WOM group through the fake WOM (tests/bot/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.engine import Database
from storage.migrate import current_revision, downgrade, head_revision
from tests.bot.conftest import SyncedTemplates
from tests.bot.sync_helpers import AS_OF

#: What a shell reports for a writer whose reader went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


@pytest.fixture
def synced_sqlite(synced_templates: SyncedTemplates, tmp_path: Path) -> str:
    """A copy of the synced database (tests/bot/conftest.py) for one test."""
    url = f"sqlite:///{tmp_path / 'clan.sqlite3'}"
    synced_templates.copy_to(url)
    return url


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    env |= {
        "CLANSTATS_DATABASE_URL": url,
        "CLANSTATS_WOM_GROUP_ID": "11114",
        "CLANSTATS_LOG_FORMAT": "json",
        "CLANSTATS_LOG_LEVEL": "INFO",
        **extra,
    }
    return env


def _one_revision_back(url: str) -> str:
    async def go() -> str:
        db = Database.from_url(url)
        try:
            await downgrade(db, "-1")
            revision = await current_revision(db)
        finally:
            await db.dispose()
        assert revision is not None and revision != head_revision()
        return revision

    return asyncio.run(go())


def test_export_json_after_an_implicit_migration_is_json_alone_on_stdout(
    synced_sqlite: str, tmp_path: Path
) -> None:
    before = _one_revision_back(synced_sqlite)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", "members", "--as-of", AS_OF, "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(synced_sqlite),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)  # nothing but the answer on stdout
    assert len(rows) == 303
    # The migration did happen, and said so on stderr, as JSON log lines.
    events = [json.loads(line)["event"] for line in result.stderr.splitlines() if line]
    assert "db.migrated" in events and "db.backup_created" in events
    assert f"{before}" in result.stderr


def test_export_on_a_brand_new_database_migrates_it_with_nothing_on_stdout(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", "members", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(f"sqlite:///{path}"),
        timeout=120,
    )
    assert result.returncode == 1  # the clan was never synced: nothing to export yet
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert "db.migrated" in [json.loads(line)["event"] for line in lines[:-1]]
    assert lines[-1] == "error: WOM group 11114 was never synced: run `clanstats sync --once` first"
    assert path.exists()


def test_a_reader_that_closed_stdout_ends_the_command_quietly(
    synced_sqlite: str, tmp_path: Path
) -> None:
    # The read end is closed before the command writes a byte: its first write fails.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "report", "--as-of", AS_OF],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=_env(synced_sqlite, CLANSTATS_LOG_LEVEL="WARNING"),
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_head_reading_the_first_line_of_a_large_export_ends_it_quietly(
    synced_sqlite: str, tmp_path: Path
) -> None:
    # As `clanstats export members | head -1`: the JSON export (~170 KB, more than a pipe
    # holds) is still writing when its reader goes away.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "export", "members", "--as-of", AS_OF, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_env(synced_sqlite, CLANSTATS_LOG_LEVEL="WARNING"),
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    code = process.wait(timeout=120)
    assert first == b"[\n"
    assert err == b""
    assert code == EXIT_BROKEN_PIPE
