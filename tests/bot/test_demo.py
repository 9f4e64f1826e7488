"""`clanstats demo` runs the real bot against the fakes and prints what it posted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_prints_the_bots_posts_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--keep", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert "What the bot posted" in out
    for expected in (
        "Synced Nevr Lucky: 303 members",
        "Roster changes",
        "ClanStats status",
        "ClanStats commands you can use here",
        "Officer commands are not listed",
        "Inactive members",
        # the ladder proposed from the clan's own ranks, saved by the admin, promotes members
        "Saved by Admin Ada",
        "Prospector → Short Green Guy",
        "daily report",
        "[attachment]",
    ):
        assert expected in out, expected
    chart = tmp_path / "demo" / "clan-activity.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
