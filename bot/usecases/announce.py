"""Roster-change announcements: what changed since the last post, announced exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from storage.repositories.roster import mark_announced, unannounced_events


@dataclass(frozen=True)
class RosterChangeLine:
    event_id: int
    kind: str
    display_name: str
    old_value: str | None
    new_value: str | None
    occurred_at: datetime


async def pending_roster_changes(app: App, clan_id: int) -> list[RosterChangeLine]:
    async with app.db.read() as session:
        rows = await unannounced_events(session, clan_id)
    return [
        RosterChangeLine(
            e.id,
            e.kind,
            name or e.new_value or "(unknown)",
            e.old_value,
            e.new_value,
            e.occurred_at,
        )
        for e, name in rows
    ]


async def mark_changes_announced(app: App, lines: list[RosterChangeLine]) -> None:
    async with app.db.write() as session:
        await mark_announced(session, [line.event_id for line in lines], app.now())
