"""The database time limits, the leader retry and the relay buffer bound are settings with
documented defaults, reach the engine, and are validated."""

from __future__ import annotations

import pytest

from bot.app import db_timeouts, open_database
from bot.core.config import ConfigError, load_settings
from storage.engine import DbTimeouts


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert db_timeouts(settings) == DbTimeouts(connect_s=10.0, statement_s=60.0, busy_s=5.0)
    assert settings.leader_retry_s == 5.0
    assert settings.relay_buffer_max == 20_000


async def test_configured_limits_reach_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", "postgresql://u@127.0.0.1:9/x")
    monkeypatch.setenv("CLANSTATS_DB_CONNECT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("CLANSTATS_DB_STATEMENT_TIMEOUT_S", "30")
    monkeypatch.setenv("CLANSTATS_DB_BUSY_TIMEOUT_S", "1")
    db = open_database(load_settings())
    try:
        assert db.timeouts == DbTimeouts(connect_s=2.5, statement_s=30.0, busy_s=1.0)
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CLANSTATS_DB_BUSY_TIMEOUT_S", "30"),  # past the shutdown's grace
        ("CLANSTATS_DB_CONNECT_TIMEOUT_S", "0"),
        ("CLANSTATS_DB_STATEMENT_TIMEOUT_S", "-1"),
        ("CLANSTATS_LEADER_RETRY_S", "120"),  # a takeover would come too late
        ("CLANSTATS_RELAY_BUFFER_MAX", "0"),
    ],
)
def test_limits_out_of_range_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert any(p.startswith(variable) for p in caught.value.problems), caught.value.problems
