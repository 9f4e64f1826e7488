"""`clanstats export members` and `clanstats report` on data synced from the recorded WOM group.

The two recorded group snapshots (09:01 and 19:35 on 2025-12-23) are synced through the fake
WOM over real sockets, a few relay lines are ingested, then the CLI is driven in-process with
``bot.cli.main`` against the same database.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.cli import main
from domain.names import name_key
from tests.bot.sync_helpers import AS_OF, EVENING, MORNING, fixture_members


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["export", "members", "--as-of", AS_OF, *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_json_gives_every_member_their_exp_difference_and_only_in_game_chat(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _export(capsys, "--windows", "1d,7d", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    morning, evening = fixture_members(MORNING), fixture_members(EVENING)
    expected = {
        name_key(evening[pid]["player"]["displayName"]): evening[pid]["player"]["exp"]
        - morning[pid]["player"]["exp"]
        for pid in evening
    }
    assert len(rows) == 303
    assert {r["rsn"]: r["xp_gained"]["1d"] for r in rows} == expected
    assert sum(1 for v in expected.values() if v) == 157
    chatter = next(r for r in rows if r["display_name"] == synced_env["chatter"])
    assert chatter["messages"] == {"1d": 2, "7d": 3}
    assert chatter["broadcasts"]["1d"] == 1
    assert chatter["last_chat_at"] == "2025-12-23T18:05:00Z"
    assert sum(r["messages"]["7d"] for r in rows) == 3
    assert all(r["joined_at"] is None or r["joined_at"].endswith("Z") for r in rows)


def test_csv_and_xlsx_hold_the_same_numbers_as_json(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, out, _ = _export(capsys, "--windows", "1d,30d", "--format", "json")
    by_rsn = {r["rsn"]: r for r in json.loads(out)}

    code, out, err = _export(capsys, "--windows", "1d,30d", "--format", "csv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 303
    for row in table:
        assert int(row["xp_gained_1d"]) == by_rsn[row["rsn"]]["xp_gained"]["1d"]
        assert int(row["messages_30d"]) == by_rsn[row["rsn"]]["messages"]["30d"]

    target = tmp_path / "members.xlsx"
    code, _, err = _export(
        capsys, "--windows", "1d,30d", "--format", "xlsx", "--output", str(target)
    )
    assert code == 0 and str(target) in err
    sheet = load_workbook(target).active
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert sheet.cell(row=1, column=1).font.bold
    assert header[:4] == ["rsn", "display_name", "role", "joined_at"]
    assert "messages_30d" in header and "xp_gained_1d" in header
    assert len(values) == 304
    for line in values[1:]:
        record = dict(zip(header, line, strict=True))
        assert record["xp_gained_1d"] == by_rsn[record["rsn"]]["xp_gained"]["1d"]
        assert record["messages_30d"] == by_rsn[record["rsn"]]["messages"]["30d"]


def test_xlsx_without_output_writes_a_dated_file_and_says_where(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = _export(capsys, "--windows", "7d", "--format", "xlsx")
    assert code == 0
    assert (tmp_path / "clanstats-members-2025-12-23.xlsx").exists()
    assert "clanstats-members-2025-12-23.xlsx" in err


def test_report_prints_the_daily_report_as_text_and_json(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--as-of", AS_OF, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # Two lines from the member, one from a guest: shown apart from "1 of 303 chatted".
    assert (data["pulse"]["chat_lines"], data["pulse"]["guest_lines"]) == (3, 1)
    assert data["pulse"]["active_chatters"] == 1
    assert data["pulse"]["members"] == 303
    assert data["notable"]["drops"][0]["coins"] == 1_456_814
    assert len(data["charts"]["trend"]) == 14
    assert data["charts"]["trend"][-1]["date"] == "2025-12-23"
    # Snapshots start on 21 December: the days before it have no XP figure, not 0.
    assert [d["xp_gained"] for d in data["charts"]["trend"][:10]] == [None] * 10
    assert main(["report", "--as-of", AS_OF]) == 0
    text = capsys.readouterr().out
    assert "Chat: 3 lines" in text and "Abyssal whip" in text
    assert "guests and departed members: 1 line\n" in text
    assert "2025-12-10: 0 lines, XP not tracked yet" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--windows", "7x"], "window '7x' not understood"),
        (["--windows", ""], "no window given"),
        (["--windows", "0d"], "between 1 hour"),
        (["--windows", "7d", "--as-of", "yesterday"], "not an ISO-8601 time"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    code = main(["export", "members", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_bad_format_exits_2(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "members", "--format", "pdf"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_a_clan_never_synced_exits_1_and_says_to_sync(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    assert main(["export", "members", "--format", "csv"]) == 1
    captured = capsys.readouterr()
    assert "clanstats sync --once" in captured.err
    assert captured.out == ""  # the migration's log line went to stderr, not into the CSV
    assert main(["report"]) == 1
    assert "clanstats sync --once" in capsys.readouterr().err
