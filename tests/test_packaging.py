"""Installable anywhere: the wheel carries everything the installed bot needs.

The wheel is built from a copy of the sources (as a release would be, with the lock's own
setuptools, no download), installed into a fresh virtualenv, and ``clanstats demo`` runs from
it in a folder outside the repository, with the repository on no path. The fresh venv gets its
third-party dependencies from the project venv through a ``.pth`` line (a plain path: that
venv's own ``.pth`` files, the editable install's among them, are not processed), so the run
needs no network and takes seconds; everything of ClanStats comes from the wheel, and the test
checks that too.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
# What goes into a wheel: pyproject.toml's package list, its metadata, nothing else.
SOURCES = ("pyproject.toml", "README.md", "bot", "cogs", "domain", "storage", "migrations", "fakes")
PACKAGES = ("bot", "cogs", "domain", "storage", "migrations", "fakes")
PIP = (sys.executable, "-m", "pip")
OFFLINE = ("--quiet", "--no-deps", "--no-index")


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: no path into the repository, no coverage hook, no
    ClanStats settings of whoever runs the tests."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("COV_", "COVERAGE_", "CLANSTATS_"))
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, src / name)
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [*PIP, "wheel", *OFFLINE, "--no-build-isolation", "--wheel-dir", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (built,) = dist.glob("clanstats-*.whl")
    return built


def test_the_wheel_carries_the_demo_data_and_the_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    recordings = sorted(p.name for p in (REPO / "fakes" / "data" / "wom").glob("*.json"))
    assert recordings, "no recordings in the checkout"
    for name in recordings:
        assert f"fakes/data/wom/{name}" in names
    migrations = sorted(p.name for p in (REPO / "migrations" / "versions").glob("0*.py"))
    for name in migrations:
        assert f"migrations/versions/{name}" in names
    assert "migrations/script.py.mako" in names
    assert {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info" not in n} == set(
        PACKAGES
    )
    (entry_points,) = (n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "clanstats = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_clanstats_demo_runs_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    install = subprocess.run(
        [*PIP, "--python", str(python), "install", *OFFLINE, str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_clean_env(),
    )
    assert install.returncode == 0, install.stderr[-3000:]
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The third-party dependencies, from the project venv; ClanStats itself only from the wheel.
    (site / "clanstats_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    where = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, bot, fakes.wom as w; print(bot.__file__, w.DATA_DIR);"
            "print(*sys.path, sep='\\n', file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_clean_env(),
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    bot_file, data_dir = where.stdout.split()
    assert Path(bot_file).is_relative_to(site)
    assert Path(data_dir) == site / "fakes" / "data" / "wom"
    # Nothing else on its path holds ClanStats' packages: not the checkout, not the project venv.
    path = [Path(p) for p in where.stderr.splitlines() if p]
    assert REPO not in path
    assert not [p for p in path if p != site and any((p / pkg).exists() for pkg in PACKAGES)]

    demo_dir = tmp_path / "demo"
    demo = subprocess.run(
        [str(venv / "bin" / "clanstats"), "demo", "--keep", str(demo_dir)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=_clean_env(),
        timeout=90,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    out = demo.stdout
    assert "Traceback" not in demo.stderr
    # The recorded clan was served (the data came out of the wheel), the bot ran and stopped.
    assert "Synced Nevr Lucky: 303 members" in out
    assert "Scheduled WOM sync ran" in out
    assert "The daily report job ran and posted" in out
    assert "Bot stopped cleanly" in out
    posted = re.search(r"What the bot posted \((\d+) messages\)", out)
    assert posted is not None and int(posted[1]) > 0
    assert (demo_dir / "demo.sqlite3").stat().st_size > 0


# --- the lock -------------------------------------------------------------------------------


@functools.cache
def _check_lock_module() -> ModuleType:
    """scripts/check_lock.py, which .ci/run runs (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location("check_lock", REPO / "scripts" / "check_lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lock_copy(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "requirements.lock", "requirements-dev.lock"):
        shutil.copy2(REPO / name, tmp_path / name)
    return tmp_path


def test_the_committed_lock_is_in_step_with_pyproject() -> None:
    assert _check_lock_module().check(REPO) == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        # A dependency added to pyproject.toml without re-locking.
        (
            "pyproject.toml",
            '"tzdata>=2024.1",',
            '"tzdata>=2024.1",\n    "humanize>=4",',
            "humanize is in pyproject.toml but not pinned",
        ),
        # A lower bound raised past the pinned version.
        ("pyproject.toml", '"ijson>=3.2"', '"ijson>=99"', "does not satisfy 'ijson>=99'"),
        # The dev lock drifting from the runtime lock.
        ("requirements-dev.lock", "\nijson==", "\nijson==0.0.1", "requirements.lock has"),
        # An entry without its hashes.
        ("requirements.lock", "ijson==", "ijson==3.6.0\nplain==1.0\nx==", "plain has no sha256"),
    ],
)
def test_the_lock_check_catches_drift(
    lock_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    _edit(lock_copy / file, old, new)
    problems = _check_lock_module().check(lock_copy, closure=False)
    assert any(expected in p for p in problems), problems


def test_the_lock_check_catches_a_missing_transitive_pin(lock_copy: Path) -> None:
    # yarl is what aiohttp needs, not something pyproject.toml names.
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (lock_copy / name).read_text()
        start = text.index("\nyarl==")
        end = text.index("\n", text.index("# via", start))
        rest = text[end + 1 :]
        while rest.startswith("    #"):  # the rest of a multi-line "# via" block
            rest = rest[rest.index("\n") + 1 :]
        (lock_copy / name).write_text(text[: start + 1] + rest)
    problems = _check_lock_module().check(lock_copy)
    assert any("yarl (needed by aiohttp) is not pinned" in p for p in problems), problems
