"""`clanstats check-config`: every problem in one pass, checked as the commands check them.

Database URLs by scheme (with the driver each one runs on), http(s) API URLs, relay formats
compiled by the relay parser's own function, Discord id shapes, unknown keys (with the
setting meant), and all of it reported at once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import ConfigError, Settings, load_settings
from bot.usecases.harvest import compile_relay_config

GUILD = "1100000000000000001"
CHANNEL = "1100000000000000010"
AUTHOR = "1100000000000000030"
TOKEN = "MTEwMDAwMDAwMDAwMDAwMDA1MA.check-config.token"


def _complete(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "DISCORD_TOKEN": TOKEN,
        "GUILD_ID": GUILD,
        "WOM_GROUP_ID": "11114",
        "RELAY_CHANNEL_IDS": CHANNEL,
        "RELAY_AUTHOR_IDS": AUTHOR,
    }.items():
        monkeypatch.setenv(f"CLANSTATS_{key}", value)


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check-config", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _problems(err: str) -> list[str]:
    return [line[4:] for line in err.splitlines() if line.startswith("  - ")]


def test_a_string_that_is_no_url_is_reported_not_a_crash() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--for", "report"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CLANSTATS_DATABASE_URL": "not a url"},
        cwd=Path(__file__).resolve().parent,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "  - CLANSTATS_DATABASE_URL: not a database URL; use sqlite:///" in result.stderr
    assert re.search(r"CLANSTATS_DATABASE_URL +\(invalid: see below\)\n", result.stdout)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("sqlite:///clan.sqlite3", "sqlite+aiosqlite:///clan.sqlite3"),
        ("sqlite+aiosqlite:///./clan.sqlite3", "sqlite+aiosqlite:///./clan.sqlite3"),
        ("postgresql://clan:pw@db/clan", "postgresql+asyncpg://clan:***@db/clan"),
        ("postgresql+asyncpg://clan@db:5433/clan", "postgresql+asyncpg://clan@db:5433/clan"),
        # What Heroku-style hosts hand out: it can only mean PostgreSQL, so it is read so.
        ("postgres://clan:pw@db/clan", "postgresql+asyncpg://clan:***@db/clan"),
    ],
)
def test_supported_database_urls_are_shown_on_the_driver_they_run_on(
    given: str,
    used: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", given)
    code, out, err = _check(capsys)
    assert code == 0, err
    assert re.search(rf"CLANSTATS_DATABASE_URL +{re.escape(used)}\n", out), out
    assert "pw" not in out + err


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("mysql://clan@db/clan", "mysql:// databases are not supported"),
        ("mongodb://db/clan", "mongodb:// databases are not supported"),
        ("postgresql://clan@db", "a PostgreSQL URL needs a database name"),
        ("sqlite:////no/such/folder/clan.sqlite3", "the folder /no/such/folder of the SQLite"),
        ("sqlite:///clan.sqlite3?timeout=soon", "?timeout= is SQLite's busy timeout in seconds"),
    ],
)
def test_database_urls_that_cannot_work_are_problems(
    given: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", given)
    code, _out, err = _check(capsys)
    assert code == 2
    assert [p for p in _problems(err) if p.startswith("CLANSTATS_DATABASE_URL: ")] == [
        p for p in _problems(err) if problem in p
    ]
    assert len(_problems(err)) == 1


@pytest.mark.parametrize("variable", ["CLANSTATS_WOM_BASE_URL", "CLANSTATS_DISCORD_API_URL"])
@pytest.mark.parametrize("value", ["api.wiseoldman.net/v2", "ftp://host/x", "https://"])
def test_api_urls_need_an_http_scheme_and_a_host(
    variable: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv(variable, value)
    code, _out, err = _check(capsys)
    assert code == 2
    assert _problems(err) == [
        f"{variable}: must be an http(s) URL with a host, such as "
        + ("https://api.wiseoldman.net/v2" if "WOM" in variable else "http://127.0.0.1:8080")
        + f" (got {value!r})"
    ]


def test_relay_formats_are_judged_by_the_parsers_own_compile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    formats = {
        "ok": r"^\[(?P<player>[^\]]+)\] (?P<text>.+)$",
        "no_text": r"^(?P<player>\w+): (?P<message>.+)$",
        "broken": r"^(?P<player>\w+: (?P<text>.+)$",
    }
    _complete(monkeypatch)
    monkeypatch.setenv(
        "CLANSTATS_RELAY_CUSTOM_FORMATS",
        '{"ok": "^\\\\[(?P<player>[^\\\\]]+)\\\\] (?P<text>.+)$", '
        '"no_text": "^(?P<player>\\\\w+): (?P<message>.+)$", '
        '"broken": "^(?P<player>\\\\w+: (?P<text>.+)$"}',
    )
    assert load_settings().relay_custom_formats == formats
    with pytest.raises(ConfigError) as parser:  # what `import` and the live relay say
        compile_relay_config([int(AUTHOR)], formats)
    code, _out, err = _check(capsys)
    assert code == 2
    assert _problems(err) == parser.value.problems
    assert [p.split(":", 1)[0] for p in parser.value.problems] == [
        "CLANSTATS_RELAY_CUSTOM_FORMATS[no_text]",
        "CLANSTATS_RELAY_CUSTOM_FORMATS[broken]",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CLANSTATS_GUILD_ID", "123", "123 is too short for a Discord id"),
        ("CLANSTATS_RELAY_CHANNEL_IDS", f"{CHANNEL},42", "42 is too short for a Discord id"),
        # 19 digits whose time bits lie decades ahead: no Discord id has them yet.
        ("CLANSTATS_OFFICER_ROLE_IDS", "9000000000000000000", "created in the future"),
    ],
)
def test_ids_that_cannot_be_discord_snowflakes_are_problems(
    variable: str,
    value: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv(variable, value)
    code, _out, err = _check(capsys)
    assert code == 2
    (found,) = _problems(err)
    assert found.startswith(f"{variable}: ") and problem in found


def test_an_id_beyond_64_bits_is_refused_by_every_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLANSTATS_GUILD_ID", str(2**64))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "CLANSTATS_GUILD_ID: Discord ids are at most 20 digits" in str(info.value)


def test_run_refuses_ids_that_cannot_be_discords(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv("CLANSTATS_GUILD_ID", "123")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "CLANSTATS_GUILD_ID: 123 is too short for a Discord id" in err


def test_unknown_keys_are_warned_about_with_the_setting_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _complete(monkeypatch)
    monkeypatch.setenv("CLANSTATS_REPORT_CHANEL_ID", CHANNEL)
    (tmp_path / ".env").write_text("CLANSTATS_TIMEZOME=Europe/London\nOTHER_TOOL=1\n")
    (tmp_path / "clanstats.toml").write_text('sync_interval_minute = 15\nlog_level = "INFO"\n')
    code, _out, err = _check(capsys)
    assert code == 0  # warnings, not problems: the rest is complete
    assert err.splitlines() == [
        "warning: CLANSTATS_REPORT_CHANEL_ID (environment variable) is not a setting and is "
        "ignored (did you mean CLANSTATS_REPORT_CHANNEL_ID?)",
        "warning: CLANSTATS_TIMEZOME (key in .env) is not a setting and is ignored (did you "
        "mean CLANSTATS_TIMEZONE?)",
        f"warning: 'sync_interval_minute' in {Path('clanstats.toml')} is not a setting and is "
        "ignored (did you mean sync_interval_minutes?)",
    ]


def test_every_problem_is_reported_in_one_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid values, missing settings, a bad relay format, a bad id: one run lists them all
    (the settings that failed validation do not hide the checks that come after)."""
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", "mysql://clan@db/clan")
    monkeypatch.setenv("CLANSTATS_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("CLANSTATS_WOM_BASE_URL", "api.wiseoldman.net")
    monkeypatch.setenv("CLANSTATS_RELAY_CUSTOM_FORMATS", '{"x": "(?P<player>.+)"}')
    monkeypatch.setenv("CLANSTATS_GUILD_ID", "77")
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", AUTHOR)
    monkeypatch.setenv("CLANSTATS_RELAY_CHANEL_IDS", CHANNEL)
    code, out, err = _check(capsys)
    assert code == 2
    assert [p.split(":", 1)[0] for p in _problems(err)] == [
        "CLANSTATS_DATABASE_URL",
        "CLANSTATS_WOM_BASE_URL",
        "CLANSTATS_TIMEZONE",
        "CLANSTATS_WOM_GROUP_ID",
        "CLANSTATS_DISCORD_TOKEN",
        "CLANSTATS_RELAY_CUSTOM_FORMATS[x]",
        "CLANSTATS_GUILD_ID",
    ]
    assert "did you mean CLANSTATS_RELAY_CHANNEL_IDS?" in err
    assert "Effective settings (secrets hidden):" in out


def test_settings_built_in_code_still_accept_what_tests_and_the_demo_pass() -> None:
    """Validation runs on Settings(...) too: an in-memory SQLite URL and a local fake's
    http URL stay valid (the fakes and tests build settings this way)."""
    settings = Settings(database_url="sqlite://", discord_api_url="http://127.0.0.1:8080/")
    assert settings.database_url == "sqlite+aiosqlite://"
    assert settings.discord_api_url == "http://127.0.0.1:8080"


@pytest.mark.parametrize(
    ("values", "missing"),
    [
        ({"DISCORD_TOKEN": TOKEN}, []),  # every clan comes from /setup
        ({}, ["CLANSTATS_DISCORD_TOKEN"]),
        ({"DISCORD_TOKEN": TOKEN, "GUILD_ID": GUILD}, ["CLANSTATS_WOM_GROUP_ID"]),
        ({"DISCORD_TOKEN": TOKEN, "WOM_GROUP_ID": "11114"}, ["CLANSTATS_GUILD_ID"]),
        (
            {
                "DISCORD_TOKEN": TOKEN,
                "GUILD_ID": GUILD,
                "WOM_GROUP_ID": "1",
                "RELAY_CHANNEL_IDS": CHANNEL,
            },
            ["CLANSTATS_RELAY_AUTHOR_IDS"],
        ),
    ],
)
def test_running_needs_only_the_token_or_a_whole_clan_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    values: dict[str, str],
    missing: list[str],
) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"CLANSTATS_{key}", value)
    code, _, err = _check(capsys, "--for", "run")
    assert [p.split(":", 1)[0] for p in _problems(err)] == missing
    assert code == (2 if missing else 0)
