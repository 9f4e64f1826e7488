"""`clanstats health`: one line per check, exit 1 for anything unhealthy, never a new database.

The rule: the database must answer at the newest schema; the bot must have touched its
heartbeat file within ``--max-age`` whenever it is configured to run (a Discord token is set)
or a heartbeat file is configured, and with a token but no heartbeat file health cannot tell,
so it fails. Docker's HEALTHCHECK reserves exit 2, so every failure is exit 1.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from pathlib import Path

import pytest

from bot.cli import main
from storage.engine import Database
from storage.migrate import downgrade, head_revision

TOKEN = "MTIzNDU2Nzg5.health-token-value.xyz"


def _health(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["health", *args])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out.splitlines()


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clan.sqlite3"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    return path


def test_a_missing_sqlite_file_is_unhealthy_and_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "absent.sqlite3"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    code, lines = _health(capsys)
    assert code == 1
    assert lines[0] == (
        f"FAIL  database: no SQLite database at {path} "
        "(`clanstats run` or `clanstats migrate` creates it)"
    )
    assert lines[-1] == "unhealthy"
    assert list(tmp_path.iterdir()) == []  # no database, no -wal, no -shm


def test_an_empty_database_says_it_has_no_schema_never_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    code, lines = _health(capsys)
    assert code == 1
    assert "FAIL  schema: none yet (run `clanstats migrate`)" in lines
    assert not any("None" in line for line in lines)


def test_an_old_schema_names_the_revision_found_and_the_one_needed(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def back_one() -> None:
        db = Database.from_url(f"sqlite:///{migrated}")
        try:
            await downgrade(db, "-1")
        finally:
            await db.dispose()

    asyncio.run(back_one())
    code, lines = _health(capsys)
    assert code == 1
    head = head_revision()
    assert any(
        line.startswith("FAIL  schema: at ") and f"this version needs {head}" in line
        for line in lines
    )


def test_without_a_token_or_heartbeat_only_the_database_is_checked(
    migrated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = _health(capsys)
    assert code == 0
    assert lines == [
        f"ok    database: sqlite+aiosqlite:///{migrated} answers",
        f"ok    schema: at the newest revision ({head_revision()})",
        "ok    bot: not checked (no CLANSTATS_DISCORD_TOKEN: it is not set up to run)",
        "healthy",
    ]


def test_a_bot_configured_to_run_without_a_heartbeat_file_cannot_be_called_healthy(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", TOKEN)
    code, lines = _health(capsys)
    assert code == 1
    assert lines[2].startswith(
        "FAIL  bot: cannot tell whether it runs: CLANSTATS_HEARTBEAT_FILE is not set"
    )
    assert TOKEN not in "\n".join(lines)


def test_the_heartbeat_must_exist_and_be_fresh(
    migrated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CLANSTATS_HEARTBEAT_FILE", str(beat))

    code, lines = _health(capsys)
    assert code == 1
    assert lines[2] == f"FAIL  bot: no heartbeat at {beat}: it is not running or never connected"

    beat.write_text("now")
    code, lines = _health(capsys)
    assert code == 0 and lines[-1] == "healthy"
    assert lines[2].startswith("ok    bot: heartbeat ") and "(limit 120 s)" in lines[2]

    old = time.time() - 600
    os.utime(beat, (old, old))
    code, lines = _health(capsys, "--max-age", "120")
    assert code == 1
    stale = rf"FAIL  bot: last heartbeat 60\d s ago at {re.escape(str(beat))} \(limit 120 s\)"
    assert re.fullmatch(stale, lines[2])


def test_an_unreachable_database_is_unhealthy_exit_1_not_docker_reserved_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/clanstats")
    code, lines = _health(capsys)
    assert code == 1
    assert lines[0].startswith(
        "FAIL  database: postgresql+asyncpg://postgres@127.0.0.1:9/clanstats does not answer: "
        "the database server refused the connection"
    )


def test_invalid_settings_are_unhealthy_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", "mysql://clan@db/clan")
    code, lines = _health(capsys)
    assert code == 1
    assert lines[0].startswith("FAIL  configuration: CLANSTATS_DATABASE_URL: mysql://")
    assert lines[-1] == "unhealthy"


def _image_env_keys() -> set[str]:
    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    return set(re.findall(r"\b(CLANSTATS_[A-Z_]+)=", dockerfile))


def test_the_env_example_used_with_docker_env_file_keeps_the_images_settings() -> None:
    """`docker run --env-file .env` sets every `KEY=` line, blank ones included: a blank
    CLANSTATS_HEARTBEAT_FILE there would switch the heartbeat off and leave `health`
    unable to tell. `.env.example` leaves what the image sets commented out."""
    image_keys = _image_env_keys()
    assert "CLANSTATS_HEARTBEAT_FILE" in image_keys
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    assigned = {
        line.split("=", 1)[0].strip()
        for line in example.splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert image_keys & assigned == set()
    for key in image_keys:
        assert f"# {key}=" in example, f"{key} should be shown (commented out) in .env.example"
