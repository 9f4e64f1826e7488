"""``clanstats invite-url``: exactly the scopes and permissions the bot checks for, the client id
from ``--client-id`` or the configured token, and never a trace of the token in the output."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from bot.channel_access import INVITE_PERMISSIONS, INVITE_SCOPES, LABELS, NEEDS
from bot.cli import main
from bot.cli.common import ordinary_failure
from bot.client import intents

ROOT = Path(__file__).resolve().parents[2]

#: Written by hand from Discord's table, not from discord.py: discord/discord-api-docs
#: ``developers/topics/permissions.mdx``, "Bitwise Permission Flags"
#: @ 1e05d164a0ac1ac7a7d3585fcc74f84a80443cbf (VIEW_CHANNEL is 1 << 10, and so on).
DISCORD_BITS = {
    "view_channel": 10,
    "send_messages": 11,
    "embed_links": 14,
    "attach_files": 15,
    "read_message_history": 16,
}

APP_ID = 1_234_567_890_123_456_789  # a snowflake created in 2021
SECRET_PARTS = ("GQx7Zk", "hUnt3r2-sEcReT_pArT_of_the_token_0123456789")


def token_for(user_id: int) -> str:
    """A token shaped like Discord's: base64 of the bot's id (no padding), then two secret
    parts."""
    head = base64.b64encode(str(user_id).encode()).decode().rstrip("=")
    return ".".join((head, *SECRET_PARTS))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def expected_integer() -> int:
    value = 0
    for name in INVITE_PERMISSIONS:
        value |= 1 << DISCORD_BITS[name]
    return value


def test_the_invite_asks_for_every_permission_a_job_checks_and_nothing_else() -> None:
    every_need = {name for needs in NEEDS.values() for name in needs}
    assert set(INVITE_PERMISSIONS) == every_need
    assert len(INVITE_PERMISSIONS) == len(every_need)  # each once
    assert set(DISCORD_BITS) == every_need
    assert INVITE_SCOPES == ("bot", "applications.commands")


def test_the_url_carries_the_id_the_scopes_and_the_or_of_the_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["invite-url", "--client-id", str(APP_ID)], capsys)
    assert code == 0, err
    url = out.splitlines()[0]
    assert url == (
        f"https://discord.com/oauth2/authorize?client_id={APP_ID}"
        f"&scope=bot+applications.commands&permissions={expected_integer()}"
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "client_id": [str(APP_ID)],
        "scope": ["bot applications.commands"],
        "permissions": [str(expected_integer())],
    }
    assert expected_integer() == 117_760  # 1024 + 2048 + 16384 + 32768 + 65536
    assert "View Channel, Read Message History, Send Messages, Embed Links, Attach Files" in out
    assert "Message Content" in out
    assert err == ""


def test_json_is_stdout_alone_with_url_scopes_names_and_integer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(["invite-url", "--client-id", str(APP_ID), "--format", "json"], capsys)
    assert code == 0
    assert err == ""
    doc = json.loads(out)
    assert doc["client_id"] == str(APP_ID)
    assert doc["client_id_from"] == "option"
    assert doc["scopes"] == ["bot", "applications.commands"]
    assert doc["permissions_integer"] == expected_integer()
    assert [p["name"] for p in doc["permissions"]] == list(INVITE_PERMISSIONS)
    for flag in doc["permissions"]:
        assert flag["value"] == 1 << DISCORD_BITS[flag["name"]]
        assert flag["label"] == LABELS[flag["name"]]
    assert parse_qs(urlsplit(doc["url"]).query)["permissions"] == [str(expected_integer())]


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_the_client_id_is_read_from_the_configured_token_which_is_never_shown(
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = token_for(APP_ID)
    if where == "environment":
        monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", token)
    else:
        (tmp_path / ".env").write_text(f"CLANSTATS_DISCORD_TOKEN={token}\n")
    for fmt in ("text", "json"):
        code, out, err = run(["invite-url", "--format", fmt], capsys)
        assert code == 0, err
        assert f"client_id={APP_ID}&" in out
        for secret in (token, token.split(".")[0], *SECRET_PARTS):
            assert secret not in out
            assert secret not in err
    assert json.loads(run(["invite-url", "--format", "json"], capsys)[1])["client_id_from"] == (
        "token"
    )


def test_client_id_wins_over_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", token_for(APP_ID))
    other = 987_654_321_098_765_432
    code, out, _ = run(["invite-url", "--client-id", str(other)], capsys)
    assert code == 0
    assert f"client_id={other}&" in out


def test_no_id_and_no_token_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["invite-url", "--format", "json"], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "--client-id" in err and "CLANSTATS_DISCORD_TOKEN" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token-at-all",
        base64.b64encode(b"hello world").decode() + ".abc.def",  # base64, but not of an id
        base64.b64encode(b"12345").decode().rstrip("=") + ".abc.def",  # too short for an id
    ],
)
def test_a_token_without_a_bot_id_is_one_line_without_the_token(
    token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", token)
    code, out, err = run(["invite-url"], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "--client-id" in err
    for part in token.split("."):
        assert part not in err


@pytest.mark.parametrize("value", ["123", "abc"])
def test_a_client_id_that_cannot_be_discords_is_refused(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["invite-url", "--client-id", value])
    except SystemExit as refused:  # argparse refuses "abc" itself, with the same exit code
        code = int(refused.code or 0)
    assert code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Application ID" in err


def test_docs_list_the_permissions_the_code_checks() -> None:
    """docs/discord.md's table and invite paragraph, and the README's guide, say what the code
    asks for: one list (``NEEDS``) behind the checks, the invite and the docs."""
    doc = (ROOT / "docs" / "discord.md").read_text(encoding="utf-8")
    for purpose, needs in NEEDS.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| {purpose} ("))
        assert row.split("|")[2].strip() == ", ".join(LABELS[n] for n in needs), purpose
    assert f"permissions={expected_integer()}" in doc
    assert "scope=bot+applications.commands" in doc
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "clanstats invite-url" in readme
    assert ", ".join(LABELS[n] for n in INVITE_PERMISSIONS) in readme


def test_message_content_is_the_only_privileged_intent_the_docs_name() -> None:
    """Discord's privileged intents are GUILD_PRESENCES, GUILD_MEMBERS and MESSAGE_CONTENT
    (``developers/events/gateway.mdx``, "Privileged Intents"): the bot asks for the last
    only, as the README says."""
    wanted = intents()
    assert wanted.message_content
    assert not wanted.members
    assert not wanted.presences
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert re.search(r"\*\*Message Content\*\* intent, which is the only privileged", readme)


def test_a_refused_intent_names_the_one_privileged_intent_the_bot_uses() -> None:
    message = ordinary_failure(discord.PrivilegedIntentsRequired(None))
    assert message is not None
    assert "Message Content" in message
    assert "Server Members" not in message and "Presence" not in message
    assert "\n" not in message
