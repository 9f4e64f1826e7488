"""The rule settings store (``clans.settings`` + ``config_changes``) on SQLite and PostgreSQL:
changes made at the same moment both land (no lost update), each is recorded once, newest
first, and a clan's record goes with the clan."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from domain.clan_config import with_value
from storage.engine import Database
from storage.models import Clan, ConfigChange
from storage.repositories.clan_config import (
    ChangeIn,
    clan_rules,
    config_history,
    save_settings,
)
from storage.repositories.clans import ensure_clan

AT = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


async def _clan(db: Database) -> int:
    async with db.write() as s:
        clan = await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky", guild_id=77)
        clan.role_order = ["owner", "member"]
        return clan.id


async def _change(db: Database, clan_id: int, key: str, value: Any, who: str, at: datetime) -> None:
    async with db.write() as s:
        rules = await clan_rules(s, clan_id, for_update=True)
        assert rules is not None
        old = (rules.settings.get("rules") or {}).get(key)
        await asyncio.sleep(0.2)  # the other change reads meanwhile, if it can
        await save_settings(
            s,
            clan_id,
            with_value(rules.settings, key, value),
            [ChangeIn(key, old, value)],
            actor_id=None,
            actor_name=who,
            at=at,
        )


async def test_two_changes_at_once_both_land_and_are_recorded(db: Database) -> None:
    clan_id = await _clan(db)
    await asyncio.gather(
        _change(db, clan_id, "churn_ratio", 0.2, "Ada", AT),
        _change(db, clan_id, "chatter_min_lines", 80, "Bea", AT + timedelta(seconds=1)),
    )
    async with db.read() as s:
        rules = await clan_rules(s, clan_id)
        history = await config_history(s, clan_id)
    assert rules is not None
    assert rules.settings == {"rules": {"churn_ratio": 0.2, "chatter_min_lines": 80}}
    assert rules.role_order == ("owner", "member")
    assert [(h.actor_name, h.setting, h.old_value, h.new_value) for h in history] == [
        ("Bea", "chatter_min_lines", None, 80),
        ("Ada", "churn_ratio", None, 0.2),
    ]
    assert history[0].changed_at == AT + timedelta(seconds=1)


async def test_history_is_newest_first_limited_and_goes_with_the_clan(db: Database) -> None:
    clan_id = await _clan(db)
    for minute in range(5):
        await _change(
            db,
            clan_id,
            "churn_min_lines_30d",
            minute,
            f"admin {minute}",
            AT + timedelta(minutes=minute),
        )
    async with db.read() as s:
        latest = await config_history(s, clan_id, limit=2)
    assert [(h.actor_name, h.old_value, h.new_value) for h in latest] == [
        ("admin 4", 3, 4),
        ("admin 3", 2, 3),
    ]
    async with db.write() as s:
        await s.execute(delete(Clan).where(Clan.id == clan_id))
    async with db.read() as s:
        left = (await s.execute(select(func.count(ConfigChange.id)))).scalar_one()
    assert left == 0
