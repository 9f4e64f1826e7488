"""Helpers for tests that sync against the fake WOM: an App wired to it, a movable clock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.app import App, open_app
from bot.core.config import Settings
from bot.usecases.sync import SyncOptions
from fakes.wom import DEFAULT_API_KEYS, FakeWom
from storage.models import Member, Snapshot

FIXTURES = Path(__file__).resolve().parents[2] / "fakes" / "data" / "wom"
MORNING = "2025-12-23T0901Z"
EVENING = "2025-12-23T1935Z"
#: The moment CLI tests ask about: just after the evening recording.
AS_OF = "2025-12-23T20:00:00Z"
#: What the sync needs to know of the recorded clan (the settings' defaults otherwise).
SYNC = SyncOptions(group_id=11114)


def fixture_members(stamp: str) -> dict[int, dict[str, Any]]:
    data = json.loads((FIXTURES / f"group-11114-{stamp}.json").read_text())
    return {m["player"]["id"]: m for m in data["memberships"]}


@dataclass
class Clock:
    now: datetime = datetime(2025, 12, 23, 9, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def settings_for(wom: FakeWom, db_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "wom_group_id": 11114,
        "wom_base_url": wom.base_url,
        "wom_api_key": DEFAULT_API_KEYS[0],
        "wom_rate_window_s": wom.rate_window_s,
        "wom_timeout_s": 2.0,
    }
    values.update(extra)
    return Settings(**values)


@asynccontextmanager
async def app_on(wom: FakeWom, db_url: str, clock: Clock, **extra: Any) -> AsyncIterator[App]:
    async with open_app(settings_for(wom, db_url, **extra), clock=clock) as app:
        yield app


async def xp_by_player(app: App) -> dict[int, list[int]]:
    """Each member's stored total XP values, oldest snapshot first."""
    async with app.db.read() as s:
        rows = await s.execute(
            select(Member.wom_player_id, Snapshot.overall_xp)
            .join(Snapshot, Snapshot.member_id == Member.id)
            .order_by(Snapshot.taken_at)
        )
        out: dict[int, list[int]] = {}
        for pid, xp in rows:
            out.setdefault(pid, []).append(xp)
    return out


async def members(app: App) -> dict[int, Member]:
    async with app.db.read() as s:
        return {m.wom_player_id: m for m in (await s.execute(select(Member))).scalars()}
