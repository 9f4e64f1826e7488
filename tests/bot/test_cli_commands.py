"""`clanstats sync --once` as an admin runs it (`health`: tests/bot/test_health_cli.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.cli import main
from fakes.wom import DEFAULT_API_KEYS, FakeWom, Fault


@pytest.fixture
async def wom() -> AsyncIterator[FakeWom]:
    async with FakeWom(rate_window_s=1.0) as fake:
        yield fake


def _env(monkeypatch: pytest.MonkeyPatch, wom: FakeWom, url: str) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_WOM_BASE_URL", wom.base_url)
    monkeypatch.setenv("CLANSTATS_WOM_API_KEY", DEFAULT_API_KEYS[0])
    monkeypatch.setenv("CLANSTATS_WOM_RATE_WINDOW_S", "1")
    # Generous: a loaded CI machine must not turn a slow answer into a retry (and a 6th request).
    monkeypatch.setenv("CLANSTATS_WOM_TIMEOUT_S", "10")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "ERROR")


async def _main(*argv: str) -> int:
    import asyncio

    # The CLI runs its own event loop: give it a thread, the fake keeps serving on ours.
    return await asyncio.to_thread(main, list(argv))


async def test_sync_once_prints_a_summary_and_exits_0(
    wom: FakeWom,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, wom, sqlite_url)
    assert await _main("sync", "--once") == 0
    out = capsys.readouterr().out
    assert "Synced Nevr Lucky: 303 members (303 imported" in out
    requests = int(re.search(r"WOM requests: (\d+)\.", out)[1])  # type: ignore[index]
    assert requests <= 5


async def test_sync_once_exits_1_and_says_why_when_wom_is_down(
    wom: FakeWom,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env(monkeypatch, wom, sqlite_url)
    wom.inject(Fault.html_error(502), path_prefix="/groups", times=100)
    assert await _main("sync", "--once") == 1
    assert "Sync failed: WomUnavailable" in capsys.readouterr().err


def test_sync_once_without_a_group_id_is_a_config_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync", "--once"]) == 2
    assert "CLANSTATS_WOM_GROUP_ID" in capsys.readouterr().err
