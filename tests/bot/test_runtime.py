"""Process tuning every ``clanstats`` command starts with (see :mod:`bot.core.runtime`)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.core.runtime import GC_THRESHOLDS

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> list[str]:
    # In the test's own empty folder (see conftest): never the developer's .env or TOML.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.split()


def test_tune_gc_freezes_what_is_alive_and_raises_the_thresholds_once() -> None:
    out = _python(
        """
        import gc
        from bot.core.runtime import tune_gc
        before = gc.get_threshold()
        first = tune_gc()
        frozen = gc.get_freeze_count()
        second = tune_gc()
        print(before[0], first, second, frozen > 0, gc.get_freeze_count() == frozen,
              *gc.get_threshold())
        """
    )
    assert out == ["700", "True", "False", "True", "True", *map(str, GC_THRESHOLDS)]


def test_a_clanstats_command_runs_with_the_tuned_collector() -> None:
    out = _python(
        """
        import gc
        from bot.cli import main
        code = main(["run"])  # no token: explains itself and returns 2
        print(code, gc.get_freeze_count() > 0, *gc.get_threshold())
        """
    )
    assert out == ["2", "True", *map(str, GC_THRESHOLDS)]


def test_a_job_ends_with_a_full_collection_at_most_once_a_minute() -> None:
    """Cyclic garbage that reached the old generation waits for a full collection, rare with
    the tuned thresholds; the long-running bot makes one after each job (the chaos soak grew
    by ~10,000 such objects a minute), but not more than once a minute."""
    import weakref

    from bot.core.runtime import FULL_COLLECTION_EVERY_S, collect_after_job

    class Node:
        partner: Node | None = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    gc.collect(1)  # they survive a middle collection: now in the old generation
    gone = weakref.ref(first)
    del first, second
    gc.collect(0)
    gc.collect(1)
    assert gone() is not None  # young and middle collections leave it

    later = 1e9  # far from any earlier call's time
    assert collect_after_job(now=later) is True
    assert gone() is None
    assert collect_after_job(now=later + FULL_COLLECTION_EVERY_S - 1) is False
    assert collect_after_job(now=later + FULL_COLLECTION_EVERY_S) is True


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's malloc_trim and /proc are Linux's"
)
def test_release_free_memory_gives_freed_holes_back_to_the_system() -> None:
    """Freed objects bigger than 512 bytes leave holes the C allocator keeps (RSS stays at
    its peak) until it is asked to give whole free pages back; the bot asks after each job."""
    out = _python(
        """
        import os
        from bot.core.runtime import release_free_memory

        def rss_mb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

        before = rss_mb()
        blocks = [bytes(1000) + bytes([i % 256]) for i in range(200_000)]  # ~200 MB
        kept = blocks[::50]  # one in fifty stays: the rest are holes, not a free top
        del blocks
        freed = rss_mb()
        asked = release_free_memory()
        after = rss_mb()
        print(asked, round(freed - before), round(after - before), len(kept))
        """
    )
    asked, held, left, _ = out
    assert asked == "True"
    assert int(held) > 150  # freed, yet still resident
    assert int(left) < 40  # given back: what is left is the kept fiftieth and its pages
