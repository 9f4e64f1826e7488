"""Roster-change announcements: what changed since the last post, announced exactly once;
and held departures, told to officers once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from storage.repositories import departures
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


@dataclass(frozen=True)
class HeldDeparturesNotice:
    """Departures a sync held that officers have not been told about yet (once each)."""

    hold_ids: list[int]
    #: Names of the members newly held, as stored.
    names: list[str]
    #: Every departure still held (these and earlier ones), and why the latest were held.
    pending: int
    reason: str


async def pending_hold_notice(app: App, clan_id: int) -> HeldDeparturesNotice | None:
    """The held departures officers were not told about yet (None: nothing new)."""
    async with app.db.read() as session:
        holds = await departures.pending_holds(session, clan_id)
        fresh = [h for h in holds if h.announced_at is None and h.confirmed_at is None]
        if not fresh:
            return None
        names = await departures.member_names(session, [h.member_id for h in fresh])
    return HeldDeparturesNotice(
        [h.id for h in fresh],
        [names.get(h.member_id, "(unknown)") for h in fresh],
        len(holds),
        fresh[-1].reason,
    )


async def mark_hold_notice_announced(app: App, notice: HeldDeparturesNotice) -> None:
    async with app.db.write() as session:
        await departures.mark_announced(session, notice.hold_ids, app.now())
