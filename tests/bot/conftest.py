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


class SyncedTemplates:
    """The synced database, built once per test process and backend (a SQLite file, a
    PostgreSQL template database); :meth:`copy_to` gives each test its own copy."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.built: dict[str, str] = {}

    def copy_to(self, db_url: str) -> None:
        """Make the database at ``db_url`` (a SQLite path, or the empty PostgreSQL database
        ``pg_url`` made) a copy of the synced one."""
        target = make_url(db_url).database or ""
        if db_url.startswith("sqlite"):
            if "sqlite" not in self.built:
                path = self.folder / "synced.sqlite3"
                asyncio.run(_sync_two_fixtures_and_relay(f"sqlite:///{path}", _chatter()))
                self.built["sqlite"] = str(path)
            shutil.copyfile(self.built["sqlite"], target)
            return
        if "postgresql" not in self.built:
            name = f"clanstats_tpl_{uuid.uuid4().hex[:12]}"
            pg_admin(f'CREATE DATABASE "{name}"')
            self.built["postgresql"] = name
            asyncio.run(_sync_two_fixtures_and_relay(pg_database_url(name), _chatter()))
        pg_admin(
            f'DROP DATABASE "{target}" WITH (FORCE)',
            f'CREATE DATABASE "{target}" TEMPLATE "{self.built["postgresql"]}"',
        )

    def drop(self) -> None:
        if "postgresql" in self.built:
            pg_admin(f'DROP DATABASE IF EXISTS "{self.built["postgresql"]}" WITH (FORCE)')


@pytest.fixture(scope="session")
def synced_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncedTemplates]:
    templates = SyncedTemplates(tmp_path_factory.mktemp("synced"))
    yield templates
    templates.drop()


@pytest.fixture
def synced_env(
    db_url: str, monkeypatch: pytest.MonkeyPatch, synced_templates: SyncedTemplates
) -> dict[str, Any]:
    chatter = _chatter()
    synced_templates.copy_to(db_url)
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", db_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    return {"chatter": chatter}
