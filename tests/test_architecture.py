"""The layer rules in ``pyproject.toml`` hold, and breaking one fails ``lint-imports``.

Each case copies the project's packages into a scratch folder, breaks one rule there, and
runs the same ``lint-imports`` that ``.ci/run`` runs: it must fail and name the import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "cogs", "domain", "storage", "fakes", "migrations")


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--no-cache",
            "--config",
            str(project / "pyproject.toml"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's packages and settings, to break on purpose."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_line(path: Path, line: str) -> None:
    text = path.read_text()
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, marker + line + "\n", 1))


def test_the_project_keeps_every_contract(project: Path) -> None:
    done = _lint(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "named"),
    [
        (
            "cogs/admin.py",
            "import sqlalchemy",
            "cogs translate Discord",
            "cogs.admin -> sqlalchemy",
        ),
        (
            "cogs/relay.py",
            "from bot.adapters.wom import HttpWomClient",
            "cogs translate Discord",
            "cogs.relay -> bot.adapters.wom",
        ),
        (
            "domain/names.py",
            "import discord",
            "domain is pure",
            "domain.names -> discord",
        ),
        (
            "storage/bulk.py",
            "from bot.core import config",
            "storage imports only domain",
            "storage.bulk -> bot.core.config",
        ),
        (
            "bot/usecases/status.py",
            "import discord",
            "use cases know no Discord",
            "bot.usecases.status -> discord",
        ),
        (
            "fakes/world.py",
            "from bot import client",
            "fakes import nothing from bot",
            "fakes.world -> bot.client",
        ),
        (
            "bot/cli/sync.py",
            "from bot.cli import report",
            "CLI command modules share only bot.cli.common",
            "bot.cli.sync -> bot.cli.report",
        ),
    ],
)
def test_a_forbidden_import_fails_the_check_and_is_named(
    project: Path, module: str, line: str, contract: str, named: str
) -> None:
    _add_line(project / module, line)
    done = _lint(project)
    assert done.returncode != 0
    assert f"{contract}" in done.stdout.replace("\n", " ")
    assert "BROKEN" in done.stdout
    assert named in done.stdout


def test_an_import_cycle_fails_the_check(project: Path) -> None:
    # usecases.jobs already imports usecases.context: make context import jobs back.
    _add_line(project / "bot/usecases/context.py", "from bot.usecases import jobs  # noqa")
    done = _lint(project)
    assert done.returncode != 0
    assert "No import cycles inside any package BROKEN" in done.stdout.replace("\n", " ")
