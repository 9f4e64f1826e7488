"""Relay formats: how well the parser reads every shape each relay tool posts.

Reads the fixtures in ``tests/fixtures/relay/`` (one example of every shape each tool posts,
written from the tool's own formatting code, with the reading expected) and prints, per tool:
messages, readings, player right, wrong-player credits (a player credited who is neither the
line's author nor the broadcast's subject: must be 0), broadcast type right and value right.
Exit 1 when any wrong-player credit is found or any reading differs from the expected one.

    python benchmarks/relay_formats_benchmark.py [--verbose]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.relay_fixtures import Score, examples, score  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every differing reading")
    args = parser.parse_args()

    scores: dict[str, Score] = defaultdict(Score)
    for example in examples():
        score(example, scores[example.tool])

    header = (
        f"{'tool':<14}{'messages':>9}{'readings':>9}{'player right':>14}"
        f"{'wrong player':>14}{'broadcasts':>11}{'type right':>11}{'value right':>12}"
    )
    print(header)
    print("-" * len(header))
    total = Score()
    for tool in sorted(scores):
        s = scores[tool]
        print(
            f"{tool:<14}{s.messages:>9}{s.readings:>9}{s.player_right:>14}"
            f"{s.wrong_player:>14}{s.broadcasts:>11}{s.type_right:>11}{s.value_right:>12}"
        )
        for name in (
            "messages",
            "readings",
            "player_right",
            "wrong_player",
            "broadcasts",
            "type_right",
            "value_right",
        ):
            setattr(total, name, getattr(total, name) + getattr(s, name))
        total.failures.extend(s.failures)
    print("-" * len(header))
    print(
        f"{'all':<14}{total.messages:>9}{total.readings:>9}{total.player_right:>14}"
        f"{total.wrong_player:>14}{total.broadcasts:>11}{total.type_right:>11}"
        f"{total.value_right:>12}"
    )
    ok = total.wrong_player == 0 and not total.failures
    verdict = "OK" if not total.wrong_player else "MISSED"
    print(f"\nwrong-player credits: {total.wrong_player} [target 0: {verdict}]")
    print(f"readings differing from the expected: {len(total.failures)}")
    if args.verbose or not ok:
        for failure in total.failures:
            print(f"  {failure}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
