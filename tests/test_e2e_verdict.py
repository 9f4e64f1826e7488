"""No end-to-end test can forget the verdict: the shared ``world`` fixture fails a test at
teardown when the fake Discord recorded a violation, an unknown request or a pinging message,
and a test that expects violations must name them (and they must then happen).

Proven by running a real pytest, in a subprocess, on tests that use the real fixture.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fakes.discord import SentMessage
from fakes.world import clan_world
from tests.conftest import E2E_RATE_S, cpu_seconds, e2e_budget, e2e_database
from tests.e2e.checks import time_text_problems, verdict_problems

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """
import pytest

from tests.e2e.conftest import world  # noqa: F401  (the fixture every e2e test uses)


async def test_forgets_a_violation(world):
    world.discord.violations.append("POST /api/v10/channels/1/messages: too long")


async def test_makes_an_unknown_request(world):
    world.discord.unknown_requests.append("GET /api/v10/nope")


@pytest.mark.expect_violations("too long")
async def test_expects_a_violation_that_never_happens(world):
    pass


@pytest.mark.expect_violations("too long")
async def test_expects_one_violation_and_gets_another_too(world):
    world.discord.violations.append("POST /x: too long")
    world.discord.violations.append("POST /x: Missing Permissions")


@pytest.mark.expect_violations("too long")
async def test_expects_and_gets_a_violation(world):
    world.discord.violations.append("POST /x: too long")


async def test_is_clean(world):
    pass
"""


def test_the_world_fixture_fails_every_test_that_broke_a_rule_unexpectedly(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "test_sample_e2e.py"
    sample.write_text(SAMPLE)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(sample),
            "-c",
            str(ROOT / "pyproject.toml"),
            "-p",
            "no:cacheprovider",
            "-q",
            "-rE",
            "--no-header",
            "--no-cov",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "6 passed, 4 errors" in out, out
    errors = {
        line.split("::")[1].split(" ")[0]
        for line in out.splitlines()
        if line.startswith("ERROR ") and "::" in line
    }
    assert errors == {
        "test_forgets_a_violation",
        "test_makes_an_unknown_request",
        "test_expects_a_violation_that_never_happens",
        "test_expects_one_violation_and_gets_another_too",
    }
    assert "Discord would have rejected what the bot sent" in out
    assert "requests Discord has no route for" in out
    assert "expected violations that never happened: ['too long']" in out


async def test_a_message_that_could_ping_fails_the_verdict() -> None:
    async with clan_world() as world:
        quiet = SentMessage("message", 1, 2, "hi", [], [], [], 0, {"parse": []})
        loud = SentMessage("message", 3, 2, "@everyone hi", [], [], [], 0, None)
        world.discord.sent_messages.append(quiet)
        assert verdict_problems(world) == []
        world.discord.sent_messages.append(loud)
        (problem,) = verdict_problems(world)
    assert "1 message(s) could ping" in problem and "@everyone hi" in problem


async def test_a_time_discord_would_show_wrongly_fails_the_verdict() -> None:
    quiet = {"parse": []}
    async with clan_world() as world:
        good = SentMessage(
            "message", 1, 2, "", [{"description": "since <t:1766520000:d>"}], [], [], 0, quiet
        )
        world.discord.sent_messages.append(good)
        assert verdict_problems(world) == []
        for content, embeds in (
            ("last post 2025-12-23 20:00", []),
            ("", [{"footer": {"text": "<t:1766520000:f>"}}]),
            ("", [{"fields": [{"name": "x", "value": "last <t:17665"}]}]),
        ):
            world.discord.sent_messages[:] = [
                good,
                SentMessage("message", 3, 2, content, embeds, [], [], 0, quiet),
            ]
            (problem,) = verdict_problems(world)
            assert problem.startswith(("content:", "embeds[0]")), problem
    assert "not timestamp markup" in time_problems("at 20:00 UTC")
    assert "raw text" in time_problems("", [{"title": "since <t:1:d>"}])
    assert "cut short" in time_problems("<t:1:R> and <t:2")


def time_problems(content: str, embeds: list[dict[str, object]] | None = None) -> str:
    return "\n".join(time_text_problems(content, embeds or []))


def test_each_database_has_its_own_e2e_budget() -> None:
    assert e2e_database("tests/e2e/test_x.py::test_y[postgresql]") == "postgresql"
    assert e2e_database("tests/e2e/test_x.py::test_y[sqlite-per-player]") == "sqlite"
    assert e2e_database("tests/e2e/test_x.py::test_y") == "other"
    assert E2E_RATE_S["sqlite"] == 2.9  # issue 3's minute for 21 tests
    assert round(e2e_budget("postgresql", 26), 6) == 113.1
    assert e2e_budget("sqlite", 1) == e2e_budget("sqlite", 26)  # a subset: the suite's floor
    assert e2e_budget("sqlite", 42) == 2.9 * 42  # more tests, more budget, at the same rate


def test_the_budget_benchmark_reads_the_line_the_suite_prints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """benchmarks/e2e_budget.py judges the figures the suite prints: the line it reads."""
    import tests.conftest as suite
    from benchmarks.e2e_budget import LINE

    tallies = {
        "sqlite": {"cpu": 101.5, "seconds": 230.25, "tests": 42, "failed": 0},
        "postgresql": {"cpu": 99.0, "seconds": 280.0, "tests": 42, "failed": 1},
        "other": {"cpu": 0.0, "seconds": 0.0, "tests": 0, "failed": 0},
    }
    monkeypatch.setattr(suite, "_e2e", tallies)
    printed: list[str] = []

    class Reporter:
        def write_line(self, line: str, **_markup: bool) -> None:
            printed.append(line)

    suite.pytest_terminal_summary(Reporter(), None)  # type: ignore[arg-type]
    found = [m.groupdict() for m in LINE.finditer("\n".join(printed))]
    assert [(f["db"], f["tests"], f["failed"], f["cpu"], f["wall"]) for f in found] == [
        ("sqlite", "42", "0", "101.5", "230.2"),
        ("postgresql", "42", "1", "99.0", "280.0"),
    ]


def test_cpu_seconds_count_this_process_and_its_finished_children() -> None:
    before = cpu_seconds()
    subprocess.run([sys.executable, "-c", "s = 0\nfor i in range(3_000_000): s += i"], check=True)
    assert cpu_seconds() - before > 0.05
