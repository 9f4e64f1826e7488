"""A database synced from the two recorded WOM snapshots of 2025-12-23 (09:01 and 19:35)
through the fake WOM, with a few relay lines, for tests that drive the CLI in-process."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.usecases.harvest import compile_relay_config, ingest
from bot.usecases.sync import run_sync
from domain.relay import RelayMessageIn
from fakes.wom import FakeWom
from tests.bot.sync_helpers import EVENING, SYNC, Clock, app_on, fixture_members
from tests.conftest import pg_admin, pg_database_url

RELAY_AUTHOR = 1_144_000_000_000_000_001
PLAYER = 2_000_000_000_000_000_001


def _message(message_id: int, content: str, at: datetime, *, relay: bool = True) -> RelayMessageIn:
    author = RELAY_AUTHOR if relay else PLAYER
    return RelayMessageIn(
        message_id=message_id,
        channel_id=10,
        author_id=author,
        author_name="Osrs clanchat" if relay else "someone",
        is_bot=relay,
        webhook_id=RELAY_AUTHOR if relay else None,
        content=content,
        embeds=(),
        posted_at=at,
    )


async def _sync_two_fixtures_and_relay(db_url: str, chatter: str) -> None:
    async with FakeWom(rate_window_s=1.0) as wom:
        clock = Clock()
        async with app_on(wom, db_url, clock, relay_author_ids=[RELAY_AUTHOR]) as app:
            first = await run_sync(app, SYNC)
            wom.use_fixture(EVENING)
            clock.advance(hours=10, minutes=30)
            second = await run_sync(app, SYNC)
            assert first.outcome == second.outcome == "ok"
            clan_id = second.value.clan_id
            at = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)
            messages = [
                _message(1, f"**{chatter}**: hello clan", at),
                _message(2, f"**{chatter}**: anyone for cox?", at + timedelta(minutes=5)),
                # the same line relayed twice within seconds: one line
                _message(
                    3, f"**{chatter}**: anyone for cox?", at + timedelta(minutes=5, seconds=3)
                ),
                # a broadcast about them is not a chat line
                _message(4, f"{chatter} received a drop: Abyssal whip (1,456,814 coins).", at),
                # a Discord user talking in the relay channel is not in-game chat
                _message(5, f"{chatter}: hi from discord", at, relay=False),
                # a guest in the clan chat: an unmatched name, never a member's line
                _message(7, "**Guest Gary**: hi all", at),
                _message(8, "Guest Gary received a drop: Coins (10,000 coins).", at),
                # outside the 1d window: counted in 7d only
                _message(6, f"**{chatter}**: old line", at - timedelta(days=3)),
            ]
            await ingest(
                app,
                clan_id,
                messages,
                source="import",
                config=compile_relay_config([RELAY_AUTHOR], {}),
            )


def _chatter() -> str:
    first = next(iter(fixture_members(EVENING)))
    return str(fixture_members(EVENING)[first]["player"]["displayName"])


@pytest.fixture(scope="session")
def _synced_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The synced database, built once per test process and backend: a SQLite file to copy,
    a PostgreSQL template database to clone. Each test still gets its own copy."""
    built: dict[str, str] = {}
    yield built
    if "postgresql" in built:
        pg_admin(f'DROP DATABASE IF EXISTS "{built["postgresql"]}" WITH (FORCE)')


def _copy_synced(db_url: str, templates: dict[str, str], tmp: Path) -> None:
    if db_url.startswith("sqlite"):
        if "sqlite" not in templates:
            path = tmp / "synced.sqlite3"
            asyncio.run(_sync_two_fixtures_and_relay(f"sqlite:///{path}", _chatter()))
            templates["sqlite"] = str(path)
        shutil.copyfile(templates["sqlite"], make_url(db_url).database or "")
        return
    if "postgresql" not in templates:
        name = f"clanstats_tpl_{uuid.uuid4().hex[:12]}"
        pg_admin(f'CREATE DATABASE "{name}"')
        templates["postgresql"] = name
        asyncio.run(_sync_two_fixtures_and_relay(pg_database_url(name), _chatter()))
    # pg_url made an empty database: put the synced one in its place, under the same name.
    target = make_url(db_url).database
    pg_admin(
        f'DROP DATABASE "{target}" WITH (FORCE)',
        f'CREATE DATABASE "{target}" TEMPLATE "{templates["postgresql"]}"',
    )


@pytest.fixture
def synced_env(
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    _synced_templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    chatter = _chatter()
    _copy_synced(db_url, _synced_templates, tmp_path_factory.getbasetemp())
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", db_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    return {"chatter": chatter}
