"""The CLI: run without a token explains itself; migrate builds the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from bot.cli import main
from storage.models import Base


def test_run_without_a_token_exits_non_zero_and_explains_what_to_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "CLANSTATS_DISCORD_TOKEN" in err
    assert "clanstats demo" in err


def test_migrate_creates_a_database_whose_schema_matches_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fresh.sqlite3"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    assert main(["migrate"]) == 0
    assert "Migrated" in capsys.readouterr().out
    engine = create_engine(f"sqlite:///{path}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert main(["migrate"]) == 0
    assert "already at the newest schema" in capsys.readouterr().out


def test_python_dash_m_bot_runs_the_same_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "CLANSTATS_DISCORD_TOKEN" in result.stderr
