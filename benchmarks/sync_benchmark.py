"""WOM requests per sync of the recorded 303-member clan, against the targets.

Runs the real sync use case against the local fake WOM (real sockets, recorded payloads):
the morning recording, then the evening one (157 members gained XP in between), with the
bulk endpoints and without them (older WOM deployments). Prints requests and time per sync.

    python benchmarks/sync_benchmark.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bot.app import open_app
from bot.core.config import Settings
from bot.core.logging import configure_logging
from bot.usecases.sync import SyncOptions, sync_clan
from fakes.wom import DATA_DIR, DEFAULT_API_KEYS, FakeWom

MORNING, EVENING = "2025-12-23T0901Z", "2025-12-23T1935Z"
BULK_TARGET = 5
CONSTANT = 3  # group + activity + name changes (+ the bulk endpoint's 404)


def moved_members() -> int:
    def load(stamp: str) -> dict[int, str | None]:
        data = json.loads((DATA_DIR / f"group-11114-{stamp}.json").read_text())
        return {m["player"]["id"]: m["player"]["lastChangedAt"] for m in data["memberships"]}

    before, after = load(MORNING), load(EVENING)
    return sum(1 for pid, changed in after.items() if changed != before.get(pid))


async def run(bulk: bool) -> list[tuple[str, int, float, int]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeWom(rate_window_s=1.0, bulk_enabled=bulk) as wom:
            settings = Settings(
                database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                wom_group_id=11114,
                wom_base_url=wom.base_url,
                wom_api_key=DEFAULT_API_KEYS[0],
                wom_rate_window_s=1.0,
            )
            async with open_app(settings) as app:
                for stamp in (MORNING, EVENING, EVENING):
                    wom.use_fixture(stamp)
                    started = time.perf_counter()
                    report = await sync_clan(app, SyncOptions(group_id=11114))
                    rows.append(
                        (
                            stamp,
                            report.wom_requests,
                            time.perf_counter() - started,
                            report.snapshots_stored,
                        )
                    )
    return rows


def main() -> int:
    configure_logging(level="WARNING", fmt="console")
    moved = moved_members()
    failed = False
    print(f"members whose lastChangedAt moved between the recordings: {moved}")
    header = f"{'endpoints':<10} {'sync':<22} {'requests':>8} {'target':>8} {'seconds':>8}"
    print(f"{header} {'new snapshots':>14}")
    for bulk in (True, False):
        results = asyncio.run(run(bulk))
        labels = ("first (empty database)", "second (evening)", "third (nothing moved)")
        for (_stamp, requests, seconds, stored), label in zip(results, labels, strict=True):
            if bulk:
                target = BULK_TARGET
            elif label.startswith("second"):
                target = 1 + moved + CONSTANT
            elif label.startswith("third"):
                target = 1 + CONSTANT
            else:
                target = 0  # a first sync fetches everyone: no target
            ok = target == 0 or requests <= target
            failed |= not ok
            shown = str(target) if target else "-"
            verdict = "" if target == 0 else (" ok" if ok else " MISSED")
            print(
                f"{'bulk' if bulk else 'per-player':<10} {label:<22} {requests:>8} {shown:>8}"
                f" {seconds:>8.2f} {stored:>14}{verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
