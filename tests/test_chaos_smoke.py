"""The chaos suite (``benchmarks/chaos.py``) is run on demand, not in CI: these keep it from
rotting. It imports, its options and table hold, and one tiny scenario runs for real: a
``clanstats sync --once`` against the fake WOM SIGKILLed once and run again, compared with
a clean sync (0 lost, 0 doubled)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def chaos() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chaos", ROOT / "benchmarks" / "chaos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["chaos"] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_every_scenario_is_listed_and_selection_refuses_unknown_names(
    chaos: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert chaos.main(["--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == list(chaos.SCENARIOS)
    for needed in ("kill-import", "kill-backfill", "kill-sync", "kill-report", "pg-restart"):
        assert needed in listed
    assert {"failover", "migration-race", "soak", "cases"} <= set(listed)
    args = chaos.parse_args(["--quick", "--only", "kill-sync,soak", "--skip", "soak"])
    assert (args.runs, args.soak_minutes) == (3, 1.0)
    assert chaos.selected(args) == ["kill-sync"]
    assert (chaos.parse_args([]).runs, chaos.parse_args([]).soak_minutes) == (20, 30.0)
    with pytest.raises(SystemExit, match="unknown scenario"):
        chaos.selected(chaos.parse_args(["--only", "kill-everything"]))


def test_the_table_has_one_line_per_row_and_a_verdict_word(chaos: ModuleType) -> None:
    rows = [
        chaos.Row("a", 2, "lost 0", True, "0 lost"),
        chaos.Row("b longer", 1, "lost 3", False, "0 lost"),
        chaos.Row("c", 0, "no pg_ctl", None, "0 lost"),
    ]
    lines = chaos.table(rows, "note").splitlines()
    assert lines[0] == "note"
    assert lines[1].split("|")[1:5] == [
        " scenario ",
        " runs ",
        " result figures ",
        " verdict vs target ",
    ]
    assert [line.split("|")[4].strip() for line in lines[3:]] == [
        "PASS (0 lost)",
        "FAIL (0 lost)",
        "SKIP (0 lost)",
    ]
    assert len({len(line) for line in lines[1:]}) == 1  # aligned columns


def test_p95_is_the_value_95_percent_of_samples_do_not_exceed(chaos: ModuleType) -> None:
    assert chaos.p95([float(i) for i in range(1, 101)]) == 95.0
    assert chaos.p95([2.0]) == 2.0


async def test_one_sigkilled_sync_rerun_matches_a_clean_sync(
    chaos: ModuleType, tmp_path: Path
) -> None:
    ctx = chaos.Ctx(quick=True, runs=1, seed=3, soak_minutes=1.0, work=tmp_path)
    ctx.rng = random.Random(3)
    row = await chaos.kill_sync(ctx)
    assert row.runs == 1
    assert "lost 0, doubled 0 rows" in row.figures, row.figures
    assert row.ok is True, row.figures
