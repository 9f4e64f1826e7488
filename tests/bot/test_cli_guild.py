"""``--guild ID``: the CLI answers for the clan of that Discord server; without it, for the
environment's clan or the only one, and with several clans and nothing to go by it lists
them (exit 2) instead of guessing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time
from typing import Any

import pytest

from bot.cli import main
from domain.clans import ClanWiring
from storage.engine import Database
from storage.repositories.clans import get_clan_by_group, save_wiring
from tests.bot.sync_helpers import AS_OF

GUILD_A = 900000000000000001  # the recorded clan (WOM group 11114, synced with data)
GUILD_B = 900000000000000002  # another clan, never synced
T0 = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)


def _wire(url: str) -> None:
    async def go() -> None:
        db = Database.from_url(url)
        try:
            async with db.write() as s:
                clan = await get_clan_by_group(s, 11114)
                assert clan is not None
                await save_wiring(
                    s,
                    ClanWiring(None, GUILD_A, 11114, ""),
                    by=None,
                    now=T0,
                )
                await save_wiring(
                    s,
                    ClanWiring(None, GUILD_B, 22222, "Other Clan", report_time=time(8, 0)),
                    by=None,
                    now=T0,
                )
        finally:
            await db.dispose()

    asyncio.run(go())


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_guild_picks_the_clan_and_several_clans_without_it_are_listed(
    synced_env: dict[str, Any],
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _wire(db_url)
    # The environment's clan (CLANSTATS_WOM_GROUP_ID) stays the default: unchanged installs.
    code, env_out, err = _run(capsys, "report", "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    code, a_out, err = _run(
        capsys, "report", "--as-of", AS_OF, "--format", "json", "--guild", str(GUILD_A)
    )
    assert code == 0, err
    assert json.loads(a_out) == json.loads(env_out)
    assert json.loads(a_out)["clan"] == "Nevr Lucky"

    # The other clan was set up but never synced: its own answer, exit 1.
    code, _, err = _run(capsys, "clan", "inactive", "--guild", str(GUILD_B))
    assert code == 1
    assert "no members stored for this clan: run `clanstats sync --once` first" in err

    # A server with no clan: exit 2, naming the clans there are.
    code, _, err = _run(capsys, "report", "--guild", "123456789012345678")
    assert code == 2
    assert "no clan is set up for the Discord server 123456789012345678" in err
    assert f"--guild {GUILD_A} (Nevr Lucky, WOM group 11114)" in err
    assert f"--guild {GUILD_B} (Other Clan, WOM group 22222)" in err

    # Without the environment's clan, two clans and no --guild: listed, not guessed.
    monkeypatch.delenv("CLANSTATS_WOM_GROUP_ID")
    code, out, err = _run(capsys, "report", "--as-of", AS_OF)
    assert (code, out) == (2, "")
    assert "this database serves 2 clans: say which with --guild" in err
    code, out, err = _run(capsys, "sync", "--once")
    assert code == 2
    assert "this database serves 2 clans" in err
