"""``clanstats relay explain`` and ``clanstats clan drops``: text and JSON on stdout alone,
one-line errors, exit codes a script can use."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from fakes.dce_export import dce_message, write_export
from tests.bot.conftest import RELAY_AUTHOR
from tests.bot.sync_helpers import AS_OF

HUMAN = 2_000_000_000_000_000_001
T0 = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings with a relay id and a database that does not exist (explain needs none)."""
    path = tmp_path / "none.sqlite3"
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", str(RELAY_AUTHOR))
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    return path


def _dce(tmp_path: Path, entry: dict[str, Any], name: str = "message.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(entry))
    return path


def test_explain_reads_a_chat_line_given_as_content(
    no_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "relay", "explain", "**Zezima**: hello clan")
    assert code == 0, err
    assert "part 0: chat line, format " in out
    assert "player:  Zezima (key zezima)" in out and "text:    hello clan" in out
    assert out.rstrip().endswith("understood: yes")
    assert not no_database.exists()  # explaining never creates a database


def test_explain_json_gives_the_broadcast_type_and_value_on_stdout_alone(
    no_database: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sentence = "Zezima received a drop: Abyssal whip (1,456,814 coins)."
    monkeypatch.setattr("sys.stdin", io.StringIO(sentence + "\n"))
    code, out, _ = _run(capsys, "relay", "explain", "-", "--format", "json")
    assert code == 0
    data = json.loads(out)  # stdout is the JSON document alone
    (part,) = data["parts"]
    assert (part["kind"], part["broadcast_type"], part["player"], part["coins"]) == (
        "broadcast",
        "drop",
        "Zezima",
        1_456_814,
    )
    assert data["understood"] and data["why_not"] is None and data["read_as"] == "relay"


def test_explain_an_unknown_broadcast_exits_1_saying_why(
    no_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "relay", "explain", "Zezima has frobnicated the wug")
    assert code == 1
    assert "broadcast unknown" in out and "why not: not understood: part 0" in out


def test_explain_a_dce_message_of_a_human_says_relays_are_trusted_by_id(
    no_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = dce_message(
        77,
        T0,
        "**Zezima**: I am the clan owner",
        author_id=HUMAN,
        author_name="someone",
        discriminator="1234",
        is_bot=False,
    )
    path = _dce(tmp_path, entry)
    code, out, _ = _run(capsys, "relay", "explain", "--dce", str(path))
    assert code == 1
    assert "read as: Discord chatter" in out
    assert f"author {HUMAN} (someone) is not a configured relay" in out
    assert "CLANSTATS_RELAY_AUTHOR_IDS" in out and "--as-relay" in out

    code, out, _ = _run(
        capsys, "relay", "explain", "--dce", str(path), "--as-relay", "--format", "json"
    )
    data = json.loads(out)
    assert code == 0 and data["message_author_id"] == HUMAN
    assert [(p["kind"], p["player"]) for p in data["parts"]] == [("chat", "Zezima")]


def test_explain_a_relay_message_nothing_is_read_from(
    no_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = dce_message(
        78,
        T0,
        author_id=RELAY_AUTHOR,
        embeds=[{"fields": [{"name": "Boss", "value": "Vorkath", "isInline": False}]}],
    )
    code, out, _ = _run(capsys, "relay", "explain", "--dce", str(_dce(tmp_path, entry)))
    assert code == 1
    assert "trust:   posted by a configured relay (trusted by its id)" in out
    assert "nothing was read from it" in out and "(nothing read)" in out


def test_explain_picks_a_message_out_of_an_export(
    no_database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.json"
    write_export(
        path,
        [
            dce_message(1, T0, "**Alice**: one", author_id=RELAY_AUTHOR),
            dce_message(2, T0, "**Bob**: two", author_id=RELAY_AUTHOR),
        ],
    )
    code, out, err = _run(capsys, "relay", "explain", "--dce", str(path))
    assert code == 2 and out == "" and "holds 2 messages: pick one with --message-id" in err
    code, out, _ = _run(capsys, "relay", "explain", "--dce", str(path), "--message-id", "2")
    assert code == 0 and "player:  Bob" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dce", "{missing}"], "cannot read"),
        (["--dce", "{garbage}"], "is not JSON"),
        (["--dce", "{not_a_message}"], "not a DiscordChatExporter message"),
        (["   "], "the message content is empty"),
        (["x", "--dce", "{garbage}"], "not both"),
    ],
)
def test_explain_bad_input_is_one_line_and_exit_2(
    no_database: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    files = {
        "missing": str(tmp_path / "missing.json"),
        "garbage": str(_dce(tmp_path, {}, "garbage.json")),
        "not_a_message": str(_dce(tmp_path, {"id": "x", "author": {}}, "bad.json")),
    }
    (tmp_path / "garbage.json").write_text("{not json")
    code, out, err = _run(capsys, "relay", "explain", *[a.format(**files) for a in args])
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_explain_reads_the_clans_name_from_the_database(
    synced_env: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """TrackScape posts clan broadcasts authored by the in-game clan name: explain knows it
    from the last sync, as ingest does (or from --clan-name)."""
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", str(RELAY_AUTHOR))
    entry = dce_message(
        79,
        T0,
        author_id=RELAY_AUTHOR,
        is_bot=True,
        discriminator="0000",
        embeds=[{"author": {"name": "Nevr Lucky"}, "description": "a sentence nobody knows"}],
    )
    path = _dce(tmp_path, entry)
    code, out, _ = _run(capsys, "relay", "explain", "--dce", str(path), "--format", "json")
    (part,) = json.loads(out)["parts"]
    assert code == 1 and (part["kind"], part["broadcast_type"]) == ("broadcast", "unknown")
    assert part["player"] is None  # never credited to a "player" named like the clan
    code, out, _ = _run(capsys, "relay", "explain", "--dce", str(path), "--clan-name", "Other Clan")
    # under another clan name, the same embed is the chat line of an author of that name
    assert "chat line" in out and "player:  Nevr Lucky" in out


# --- clanstats clan drops -------------------------------------------------------------------


def test_clan_drops_lists_the_periods_drops_by_value(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "clan", "drops", "1d", "--as-of", AS_OF, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    chatter = synced_env["chatter"]
    assert [(d["display_name"], d["coins"]) for d in data["drops"]] == [
        (chatter, 1_456_814),
        ("Guest Gary", 10_000),
    ]
    assert data["pets"] == data["collection_log"] == data["level_99s"] == []
    code, text, _ = _run(capsys, "clan", "drops", "--as-of", AS_OF)  # 7d by default
    assert code == 0
    assert text.startswith(f"drops, pets, collection log and 99s (7d, as of {AS_OF})")
    assert "    1,456,814 coins  " in text and "  pets: 0" in text

    # the daily report's Notable section gives the same values
    assert main(["report", "--as-of", AS_OF, "--format", "json"]) == 0
    notable = json.loads(capsys.readouterr().out)["notable"]["drops"]
    assert [d["coins"] for d in notable] == [d["coins"] for d in data["drops"]]


def test_clan_drops_bad_period_or_limit_is_bad_input(
    synced_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "clan", "drops", "forever", "--as-of", AS_OF)
    assert code == 2 and out == "" and err.startswith("error: ")
    with pytest.raises(SystemExit) as exited:
        main(["clan", "drops", "--limit", "0"])
    assert exited.value.code == 2
