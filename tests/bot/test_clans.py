"""The clan directory (the bot's view of its clans) and the one-time import of a single-clan
install's environment settings into the database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from pathlib import Path

from bot.app import env_wiring
from bot.core.config import Settings
from bot.usecases.clans import ClanDirectory, import_env_wiring, load_wirings, mark_active
from bot.usecases.context import App
from domain.clans import ClanWiring
from storage.engine import Database

GUILD = 900000000000000001
T0 = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


class _NoWom:
    async def close(self) -> None:
        return None


def _app(db: Database) -> App:
    return App(db=db, wom=_NoWom(), clock=lambda: T0)  # type: ignore[arg-type]


def _settings(tmp_path: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "guild_id": GUILD,
        "wom_group_id": 11114,
        "relay_channel_ids": [700000000000000001],
        "relay_author_ids": [600000000000000001],
        "report_channel_id": 700000000000000009,
        "officer_role_ids": [500000000000000001],
        "timezone": "Europe/London",
        "report_time": time(21, 15),
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def test_env_wiring_is_the_settings_of_the_one_guild(tmp_path: Path) -> None:
    wiring = env_wiring(_settings(tmp_path))
    assert wiring == ClanWiring(
        clan_id=None,
        guild_id=GUILD,
        wom_group_id=11114,
        name="",
        relay_channel_ids=(700000000000000001,),
        relay_author_ids=(600000000000000001,),
        report_channel_id=700000000000000009,
        report_time=time(21, 15),
        officer_role_ids=(500000000000000001,),
        timezone="Europe/London",
    )
    assert env_wiring(_settings(tmp_path, guild_id=None)) is None
    assert env_wiring(_settings(tmp_path, wom_group_id=None)) is None


async def test_the_environment_is_imported_once_then_the_database_wins(
    db: Database, tmp_path: Path
) -> None:
    app = _app(db)
    first = await import_env_wiring(app, env_wiring(_settings(tmp_path)))  # type: ignore[arg-type]
    assert first.clan_id is not None and first.report_time == time(21, 15)
    # The .env changes later: the stored wiring stays (it may have been edited by /setup).
    later = env_wiring(_settings(tmp_path, report_time=time(6, 0)))
    again = await import_env_wiring(app, later)  # type: ignore[arg-type]
    assert again == first
    assert await load_wirings(app) == [first]


def _wiring(guild: int, clan_id: int, channels: tuple[int, ...]) -> ClanWiring:
    return ClanWiring(
        clan_id=clan_id,
        guild_id=guild,
        wom_group_id=clan_id,
        name=f"clan {clan_id}",
        relay_channel_ids=channels,
        relay_author_ids=(1,),
    )


async def test_the_directory_answers_by_guild_and_relay_channel_and_tells_listeners() -> None:
    a, b = _wiring(1, 10, (100, 101)), _wiring(2, 20, (200,))
    clans = ClanDirectory([a, b])
    heard: list[tuple[int | None, int | None]] = []

    async def listener(old: ClanWiring | None, new: ClanWiring | None) -> None:
        heard.append((old.clan_id if old else None, new.clan_id if new else None))

    clans.listen(listener)
    assert clans.for_guild(1) is a and clans.for_guild(3) is None and clans.for_guild(None) is None
    assert clans.for_relay_channel(101) is a and clans.for_relay_channel(200) is b
    assert clans.for_relay_channel(300) is None
    assert clans.all() == [a, b] and clans.for_clan(20) is b

    # /setup moves channel 101 from a to ... nowhere; a keeps 100 only.
    a2 = replace(a, relay_channel_ids=(100,))
    await clans.saved(a2)
    assert clans.for_relay_channel(101) is None and clans.for_relay_channel(100) is a2
    # The bot leaves guild 2: its clan is gone from the view; leaving twice says nothing.
    assert await clans.stopped(2) is b
    assert await clans.stopped(2) is None
    assert clans.for_guild(2) is None and clans.for_relay_channel(200) is None
    await clans.saved(b)  # rejoined
    assert clans.for_guild(2) is b
    assert heard == [(10, 10), (20, None), (None, 20)]


async def test_mark_active_keeps_the_clan_and_reports_its_state(
    db: Database, tmp_path: Path
) -> None:
    app = _app(db)
    saved = await import_env_wiring(app, env_wiring(_settings(tmp_path)))  # type: ignore[arg-type]
    left = await mark_active(app, GUILD, False)
    assert left == replace(saved, active=False)
    assert await load_wirings(app) == []
    back = await mark_active(app, GUILD, True)
    assert back == saved
    assert await mark_active(app, 123456789012345678, False) is None
