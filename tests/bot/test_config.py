"""Settings: precedence, every problem at once, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import ConfigError, load_settings, redacted_view

TOKEN = "MTIzNDU2Nzg5.discord-token-value.xyz"
KEY = "wom-api-key-123456"
CODE = "123-456-789"


def test_empty_environment_lists_every_missing_required_setting_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Running needs the token alone (each server's clan comes from /setup); a WOM sync from
    the command line needs the group."""
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    assert "CLANSTATS_DISCORD_TOKEN: not set (required for `run`)" in err
    for name in ("GUILD_ID", "WOM_GROUP_ID", "RELAY_CHANNEL_IDS", "RELAY_AUTHOR_IDS"):
        assert f"CLANSTATS_{name}" not in err
    assert main(["check-config", "--for", "sync"]) == 2
    assert "CLANSTATS_WOM_GROUP_ID: not set (required for `sync`)" in capsys.readouterr().err


def test_every_invalid_value_is_reported_at_once_with_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_GUILD_ID", "not-a-number")
    monkeypatch.setenv("CLANSTATS_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("CLANSTATS_SYNC_INTERVAL_MINUTES", "0")
    monkeypatch.setenv("CLANSTATS_RELAY_CHANNEL_IDS", "12,abc")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err
    for name in (
        "CLANSTATS_GUILD_ID",
        "CLANSTATS_TIMEZONE",
        "CLANSTATS_SYNC_INTERVAL_MINUTES",
        "CLANSTATS_RELAY_CHANNEL_IDS",
    ):
        assert name in err


def test_check_config_hides_secrets_and_passes_when_complete(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CLANSTATS_WOM_API_KEY", KEY)
    monkeypatch.setenv("CLANSTATS_WOM_VERIFICATION_CODE", CODE)
    monkeypatch.setenv("CLANSTATS_GUILD_ID", "1100000000000000001")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_RELAY_CHANNEL_IDS", "1100000000000000222, 1100000000000000333")
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", "1100000000000000444")
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", "postgresql://clan:dbpassword9@db/clan")
    assert main(["check-config"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    for secret in (TOKEN, KEY, CODE, "dbpassword9"):
        assert secret not in text
    assert "(set, hidden)" in text
    assert "1100000000000000222,1100000000000000333" in text


def test_secret_with_invalid_neighbour_is_not_echoed_in_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLANSTATS_DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("CLANSTATS_GUILD_ID", "x")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert TOKEN not in str(info.value)
    assert "CLANSTATS_GUILD_ID" in str(info.value)


def test_precedence_is_env_then_dotenv_then_toml_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "clanstats.toml"
    toml.write_text(
        'wom_group_id = 1\nguild_id = 10\ntimezone = "Europe/London"\n'
        "relay_channel_ids = [5, 6]\nsync_interval_minutes = 15\n"
    )
    (tmp_path / ".env").write_text("CLANSTATS_GUILD_ID=20\nCLANSTATS_WOM_GROUP_ID=2\n")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "3")
    settings = load_settings()
    assert settings.wom_group_id == 3  # env beats .env and toml
    assert settings.guild_id == 20  # .env beats toml
    assert settings.timezone == "Europe/London"  # toml beats default
    assert settings.relay_channel_ids == [5, 6]
    assert settings.sync_interval_minutes == 15
    assert settings.log_level == "INFO"  # default


def test_config_file_path_can_be_overridden_and_must_exist(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("wom_group_id = 77\n")
    assert load_settings(other).wom_group_id == 77
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "missing.toml")
    assert "does not exist" in str(info.value)


def test_redacted_view_names_every_setting() -> None:
    view = redacted_view(load_settings())
    assert view["CLANSTATS_DISCORD_TOKEN"] == "(not set)"
    assert view["CLANSTATS_DATABASE_URL"].startswith("sqlite")


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    for name in redacted_view(load_settings()):
        assert name in example, f"{name} missing from .env.example"
