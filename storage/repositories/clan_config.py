"""A clan's rule settings (``clans.settings``) and the record of their changes
(``config_changes``): read them, save a new version with the changes that made it, list the
history. What the settings mean and which values are allowed is :mod:`domain.clan_config`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Clan, ConfigChange


@dataclass(frozen=True, slots=True)
class ClanRules:
    """What ``/config`` needs from the clan row: its WOM rank order and its settings."""

    clan_id: int
    name: str
    role_order: tuple[str, ...]
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChangeIn:
    """One setting changed, as recorded: null values mean "the default"."""

    setting: str
    old_value: Any | None
    new_value: Any | None


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One recorded change, as ``/config history`` lists it."""

    changed_at: datetime
    actor_id: int | None
    actor_name: str
    setting: str
    old_value: Any | None
    new_value: Any | None


async def clan_rules(
    session: AsyncSession, clan_id: int, *, for_update: bool = False
) -> ClanRules | None:
    """The clan's rank order and settings (a copy), or None when there is no such clan.

    ``for_update`` locks the row on PostgreSQL until the transaction ends, so two changes
    made at once cannot each save a version missing the other's (SQLite's write transactions
    are serial already).
    """
    query = select(Clan).where(Clan.id == clan_id)
    if for_update:
        query = query.with_for_update()
    clan = (await session.execute(query)).scalar_one_or_none()
    if clan is None:
        return None
    return ClanRules(
        clan.id,
        clan.name,
        tuple(clan.role_order or ()),
        copy.deepcopy(dict(clan.settings or {})),
    )


async def save_settings(
    session: AsyncSession,
    clan_id: int,
    settings: Mapping[str, Any],
    changes: Sequence[ChangeIn],
    *,
    actor_id: int | None,
    actor_name: str,
    at: datetime,
) -> None:
    """Store ``settings`` as the clan's and record each of ``changes``, in the caller's
    transaction (both or neither)."""
    clan = await session.get(Clan, clan_id)
    if clan is None:
        raise LookupError(f"no clan {clan_id}")
    clan.settings = copy.deepcopy(dict(settings))  # a new object: the JSON column notices
    clan.updated_at = at
    session.add_all(
        ConfigChange(
            clan_id=clan_id,
            changed_at=at,
            actor_id=actor_id,
            actor_name=actor_name[:100],
            setting=change.setting,
            old_value=change.old_value,
            new_value=change.new_value,
        )
        for change in changes
    )
    await session.flush()


async def config_history(session: AsyncSession, clan_id: int, limit: int = 25) -> list[ChangeRow]:
    """The clan's latest ``limit`` changes, newest first."""
    rows = await session.execute(
        select(ConfigChange)
        .where(ConfigChange.clan_id == clan_id)
        .order_by(ConfigChange.changed_at.desc(), ConfigChange.id.desc())
        .limit(limit)
    )
    return [
        ChangeRow(r.changed_at, r.actor_id, r.actor_name, r.setting, r.old_value, r.new_value)
        for r in rows.scalars()
    ]
