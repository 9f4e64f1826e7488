"""The end-to-end suite's time against its budget, measured alone on this machine.

Issue 3 set the e2e suite's bound ("passes in .ci/run in under a minute", then 21 tests on
SQLite: 2.9 s a test); the suite has grown with the features it proves, so the budget is
that rate times the tests (4.35 s a test on PostgreSQL, where each test also creates and
drops a database). Inside the full suite (four workers on two cores, beside every other
test) a test's time measures its neighbours as much as itself, and CI's shared machine can
be twice as slow from one run to the next, so the full suite only prints its e2e figures.
This script gives the figure the budget is about: ``tests/e2e`` run on its own, as
``scripts/test`` runs it (coverage on), one worker per core, each database's tests' wall
time (setup and teardown included) against its budget. Exit 1 when one is over.

    python benchmarks/e2e_budget.py            # both databases (PostgreSQL must answer)
    python benchmarks/e2e_budget.py -k sqlite  # pytest's own options pass through
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import E2E_RATE_S, e2e_budget  # noqa: E402

#: ``e2e suite (tests/e2e/) on sqlite: 42 tests, 0 failed, 110.2 s of CPU ...; 230.1 s of
#: wall time``: the line the suite prints per database.
LINE = re.compile(
    r"e2e suite \(tests/e2e/\) on (?P<db>\w+): (?P<tests>\d+) tests, (?P<failed>\d+) failed, "
    r"(?P<cpu>[\d.]+) s of CPU.*; (?P<wall>[\d.]+) s of wall time"
)


def main(argv: list[str]) -> int:
    workers = str(os.cpu_count() or 1)
    command = [
        sys.executable, "-m", "pytest", "tests/e2e", "-n", workers, "--cov", "--cov-report=",
        "-q", "-p", "no:cacheprovider", *argv,
    ]  # fmt: skip
    print(f"running {' '.join(command[2:])} ...", file=sys.stderr)
    began = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - began
    found = [m.groupdict() for m in LINE.finditer(run.stdout)]
    if run.returncode not in (0, 1) or not found:
        print(run.stdout[-3000:] + run.stderr[-3000:], file=sys.stderr)
        print(f"the e2e suite did not run (pytest exit {run.returncode})", file=sys.stderr)
        return 1
    print(f"e2e suite alone, {workers} workers, coverage on: {elapsed:.0f} s in all")
    print(f"{'database':<11} {'tests':>5} {'failed':>6} {'wall s':>8} {'CPU s':>7} {'budget s':>9}")
    over = False
    for row in found:
        tests = int(row["tests"])
        # One worker per core: a test's wall time is its own (the budget is per core).
        wall = float(row["wall"])
        budget = e2e_budget(row["db"], tests)
        verdict = "ok" if wall <= budget else "OVER"
        over |= wall > budget or int(row["failed"]) > 0
        print(
            f"{row['db']:<11} {tests:>5} {row['failed']:>6} {wall:>8.1f} {float(row['cpu']):>7.1f}"
            f" {budget:>9.0f}  {verdict} ({E2E_RATE_S[row['db']]:g} s a test)"
        )
    if run.returncode != 0:
        print("some e2e tests failed: see pytest's output", file=sys.stderr)
        print(run.stdout[-3000:], file=sys.stderr)
    return 1 if over or run.returncode != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
