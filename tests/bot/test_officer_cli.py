"""The CLI twins of the officer answers (``clanstats clan …``, ``player``, ``leaderboard``)
on the recorded clan: the figures are checked against the recorded WOM data itself, and each
twin gives the answer its slash command's use case gives."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.app import open_app
from bot.cli import main
from bot.core.config import Settings
from bot.usecases.reports import configured_clan_id, findings
from tests.bot.sync_helpers import AS_OF, EVENING, MORNING, fixture_members

WHEN = datetime.fromisoformat(AS_OF)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _quiet_for_60_days() -> set[str]:
    """From the recordings alone: no XP between them and WOM never saw them change in 60
    days (nor at all), and no relay line (only the chatter talks, and he progressed)."""
    morning, evening = fixture_members(MORNING), fixture_members(EVENING)
    quiet = set()
    for pid, m in evening.items():
        player = m["player"]
        changed = player["lastChangedAt"]
        seen = datetime.fromisoformat(changed) if changed else None
        moved = player["exp"] != morning[pid]["player"]["exp"]
        if not moved and (seen is None or seen < WHEN - timedelta(days=60)):
            quiet.add(player["displayName"])
    return quiet


def test_clan_inactive_lists_exactly_the_members_the_recordings_show_quiet(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "clan", "inactive", "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    data = json.loads(out)  # stdout is the JSON document alone
    assert (data["list"], data["window"], data["as_of"]) == ("inactive", "60d", AS_OF)
    names = {f["display_name"] for f in data["findings"]}
    assert names == _quiet_for_60_days() and data["count"] == len(names) == 2
    code, text, _ = _run(capsys, "clan", "inactive", "--as-of", AS_OF)
    assert code == 0 and text.startswith(f"inactive (60d, as of {AS_OF}): 2")
    assert all(name in text for name in names)


@pytest.mark.parametrize("kind", ["inactive", "audit", "alerts", "promotions"])
def test_each_clan_list_is_the_answer_of_its_slash_command(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    code, out, err = _run(capsys, "clan", kind, "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    cli = [(f["display_name"], f["reason"]) for f in json.loads(out)["findings"]]

    async def direct() -> list[tuple[str, str]]:
        async with open_app(Settings()) as app:
            clan = await configured_clan_id(app, 11114)
            return [(f.display_name, f.reason) for f in await findings(app, clan, kind, WHEN)]

    assert cli == asyncio.run(direct())


def test_alerts_name_the_grinders_who_never_chat_with_their_recorded_xp(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "clan", "alerts", "--as-of", AS_OF, "--format", "json")
    assert code == 0
    morning, evening = fixture_members(MORNING), fixture_members(EVENING)
    gained = {
        m["player"]["displayName"]: m["player"]["exp"] - morning[pid]["player"]["exp"]
        for pid, m in evening.items()
    }
    silent = [f for f in json.loads(out)["findings"] if f["kind"] == "silent_grinder"]
    assert silent, "the recorded evening has members with millions of XP and no chat"
    for finding in silent:
        assert finding["numbers"]["xp"] == gained[finding["display_name"]]


def test_player_answers_from_the_recordings_and_the_relay(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    chatter = synced_env["chatter"]
    code, out, err = _run(capsys, "player", chatter, "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    profile = json.loads(out)
    recorded = next(
        m for m in fixture_members(EVENING).values() if m["player"]["displayName"] == chatter
    )
    before = fixture_members(MORNING)[recorded["player"]["id"]]["player"]["exp"]
    assert profile["display_name"] == chatter
    assert profile["joined_at"] == recorded["createdAt"].replace("Z", "000Z")
    assert profile["overall_xp"] == recorded["player"]["exp"]
    assert profile["gains"]["7d"]["xp"] == recorded["player"]["exp"] - before
    assert profile["chat_lines"] == {"7d": 3, "30d": 3}  # one relayed twice counts once
    assert profile["broadcasts"] == {"7d": 1, "30d": 1}
    code, text, _ = _run(capsys, "player", chatter.upper(), "--as-of", AS_OF)
    assert code == 0 and text.splitlines()[0] == chatter
    assert "3 chat lines, 1 broadcast" in text


def test_leaderboards_rank_the_recorded_gains_and_the_relay_lines(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "leaderboard", "xp", "1d", "--as-of", AS_OF, "--format", "json", "--limit", "5"
    )
    assert code == 0, err
    morning, evening = fixture_members(MORNING), fixture_members(EVENING)
    gains = sorted(
        (m["player"]["exp"] - morning[pid]["player"]["exp"] for pid, m in evening.items()),
        reverse=True,
    )
    board = json.loads(out)
    assert [e["value"] for e in board["entries"]] == gains[:5]
    assert [e["place"] for e in board["entries"]] == [1, 2, 3, 4, 5]
    code, out, _ = _run(capsys, "leaderboard", "chat", "7d", "--as-of", AS_OF, "--format", "json")
    assert [(e["display_name"], e["value"]) for e in json.loads(out)["entries"]] == [
        (synced_env["chatter"], 3)
    ]
    code, text, _ = _run(capsys, "leaderboard", "chat", "1d", "--as-of", AS_OF)
    assert code == 0 and f"1. {synced_env['chatter']}: 2" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["player", "nobody here"], "no clan member is or was called 'nobody here'"),
        (["leaderboard", "bogus", "7d"], "unknown metric 'bogus'"),
        (["leaderboard", "xp", "7x"], "window '7x' not understood"),
        (["clan", "inactive", "--window", "0d"], "between 1 hour"),
        (["clan", "audit", "--as-of", "yesterday"], "not an ISO-8601 time"),
    ],
)
def test_bad_input_exits_2_and_says_what_is_wrong(
    synced_env: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = _run(capsys, *args)
    assert (code, out) == (2, "")
    assert message in err


@pytest.mark.parametrize(
    "args",
    [["clan", "promotions"], ["clan", "unmatched"], ["player", "x"], ["leaderboard", "xp", "7d"]],
)
def test_a_clan_never_synced_exits_1_and_says_to_sync(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    code, out, err = _run(capsys, *args)
    assert (code, out) == (1, "")
    assert "clanstats sync --once" in err


def test_unmatched_counts_lines_and_broadcasts_apart(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "clan", "unmatched", "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert [(n["name"], n["chat_lines"], n["broadcasts"]) for n in data["names"]] == [
        ("Guest Gary", 1, 1)
    ]
    code, text, _ = _run(capsys, "clan", "unmatched", "--as-of", AS_OF)
    assert code == 0 and "Guest Gary" in text
