"""Members, names and roster events as the reports see them at a moment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    String,
    func,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.activity import MemberInfo
from domain.membership import TIMELINE_KINDS, RosterEventIn, build_timeline
from domain.rules import UnmatchedFinding
from storage.models import (
    Clan,
    Member,
    MemberAlias,
    MemberEvent,
    UnmatchedName,
)
from storage.repositories.reports._common import utc

# ---------------------------------------------------------------------------------------------
# Clan and members


@dataclass(frozen=True, slots=True)
class ClanFacts:
    """What a report needs from the clan row."""

    id: int
    name: str
    role_order: tuple[str, ...]
    settings: Mapping[str, Any]


async def clan_facts(session: AsyncSession, clan_id: int) -> ClanFacts | None:
    """The clan's name, rank order and settings, or None when it does not exist (four
    columns, not an ORM object: every report asks this once)."""
    row = (
        await session.execute(
            select(Clan.id, Clan.name, Clan.role_order, Clan.settings).where(Clan.id == clan_id)
        )
    ).first()
    if row is None:
        return None
    found_id, name, role_order, settings = row
    return ClanFacts(found_id, name, tuple(role_order or ()), dict(settings or {}))


async def member_infos(
    session: AsyncSession, clan_id: int, *, member_ids: Sequence[int] | None = None
) -> list[MemberInfo]:
    """Every member the clan ever had (or those of ``member_ids``), each with their timeline
    in the clan (periods and ranks, from their roster events), ordered by id.

    Who was a member *as of* a moment is the caller's question: ``info.is_member(as_of)``.
    """
    query = select(
        Member.id,
        Member.rsn_key,
        Member.display_name,
        Member.role,
        type_coerce(Member.joined_at, String),
        type_coerce(Member.left_at, String),
        type_coerce(Member.last_changed_at, String),
    ).where(Member.clan_id == clan_id)
    events = select(
        MemberEvent.member_id,
        MemberEvent.kind,
        type_coerce(MemberEvent.occurred_at, String),
        MemberEvent.new_value,
        MemberEvent.id,
    ).where(
        MemberEvent.clan_id == clan_id,
        MemberEvent.kind.in_(sorted(TIMELINE_KINDS)),
        MemberEvent.member_id.is_not(None),
    )
    if member_ids is not None:
        wanted = list(member_ids)
        query = query.where(Member.id.in_(wanted))
        events = events.where(MemberEvent.member_id.in_(wanted))
    by_member: dict[int, list[RosterEventIn]] = defaultdict(list)
    for mid, kind, at, new, order in (await session.execute(events)).all():
        moment = utc(at)
        if mid is not None and moment is not None:
            by_member[int(mid)].append(RosterEventIn(kind, moment, new, int(order)))
    out: list[MemberInfo] = []
    for mid, key, name, role, joined, left, changed in (
        await session.execute(query.order_by(Member.id))
    ).all():
        timeline = build_timeline(
            by_member.get(mid, ()),
            current_rank=role,
            fallback_joined_at=utc(joined),
            fallback_left_at=utc(left),
        )
        out.append(MemberInfo(mid, key, name, role, timeline, utc(changed)))
    return out


async def members_stamp(session: AsyncSession, clan_id: int) -> tuple[Any, ...]:
    """What changes whenever a clan's members or their roster events change (new events,
    a member added, a member row updated): a cache of :func:`member_infos` checks it."""
    row = (
        await session.execute(
            select(
                select(func.max(MemberEvent.id))
                .where(MemberEvent.clan_id == clan_id)
                .scalar_subquery(),
                select(func.count(Member.id)).where(Member.clan_id == clan_id).scalar_subquery(),
                select(type_coerce(func.max(Member.updated_at), String))
                .where(Member.clan_id == clan_id)
                .scalar_subquery(),
            )
        )
    ).one()
    return tuple(row)


async def member_info(session: AsyncSession, clan_id: int, member_id: int) -> MemberInfo:
    """One member with their timeline, whether or not in the clan now."""
    found = await member_infos(session, clan_id, member_ids=[member_id])
    if not found:
        raise LookupError(f"no member {member_id}")
    return found[0]


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member found by name, with whether the name is their current one."""

    member_id: int
    display_name: str
    matched_old_name: bool


async def find_member_by_key(session: AsyncSession, clan_id: int, key: str) -> MemberRef | None:
    """The member whose current name, else an earlier name, has ``key``.

    Current members win over members who left; among old names the most recent change wins.
    """
    current = (
        await session.execute(
            select(Member.id, Member.display_name)
            .where(Member.clan_id == clan_id, Member.rsn_key == key)
            .order_by(Member.left_at.is_not(None), Member.id.desc())
            .limit(1)
        )
    ).first()
    if current is not None:
        return MemberRef(current.id, current.display_name, False)
    old = (
        await session.execute(
            select(Member.id, Member.display_name)
            .join(MemberAlias, MemberAlias.member_id == Member.id)
            .where(MemberAlias.clan_id == clan_id, MemberAlias.rsn_key == key)
            .order_by(Member.left_at.is_not(None), MemberAlias.changed_at.desc(), Member.id.desc())
            .limit(1)
        )
    ).first()
    return None if old is None else MemberRef(old.id, old.display_name, True)


@dataclass(frozen=True, slots=True)
class NameChange:
    """One earlier name of a member."""

    old_name: str
    new_name: str | None
    changed_at: datetime | None


async def name_history(session: AsyncSession, clan_id: int, member_id: int) -> list[NameChange]:
    """A member's earlier names, oldest first: rename events, plus aliases no event explains."""
    events = (
        await session.execute(
            select(MemberEvent.old_value, MemberEvent.new_value, MemberEvent.occurred_at)
            .where(
                MemberEvent.clan_id == clan_id,
                MemberEvent.member_id == member_id,
                MemberEvent.kind == "renamed",
            )
            .order_by(MemberEvent.occurred_at)
        )
    ).all()
    aliases = (
        await session.execute(
            select(MemberAlias.display_name, MemberAlias.changed_at)
            .where(MemberAlias.clan_id == clan_id, MemberAlias.member_id == member_id)
            .order_by(MemberAlias.changed_at)
        )
    ).all()
    out = [NameChange(e.old_value or "?", e.new_value, e.occurred_at) for e in events]
    seen = {c.old_name.casefold() for c in out}
    out.extend(
        NameChange(a.display_name, None, a.changed_at)
        for a in aliases
        if a.display_name.casefold() not in seen
    )
    out.sort(key=lambda c: (c.changed_at is None, c.changed_at or datetime.min.replace(tzinfo=UTC)))
    return out


async def names_starting_with(
    session: AsyncSession, clan_id: int, prefix_key: str, limit: int
) -> list[str]:
    """Display names of current members whose name key starts with ``prefix_key``."""
    escaped = prefix_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await session.execute(
        select(Member.display_name)
        .where(
            Member.clan_id == clan_id,
            Member.left_at.is_(None),
            Member.rsn_key.like(f"{escaped}%", escape="\\"),
        )
        .order_by(Member.rsn_key)
        .limit(limit)
    )
    return list(rows.scalars())


# ---------------------------------------------------------------------------------------------
# Roster events and unmatched names


@dataclass(frozen=True, slots=True)
class RosterEvent:
    """A joined / left / role_changed / renamed event with the member's current name."""

    kind: str
    member_id: int | None
    display_name: str | None
    old_value: str | None
    new_value: str | None
    occurred_at: datetime


async def roster_events(
    session: AsyncSession, clan_id: int, start: datetime, end: datetime
) -> list[RosterEvent]:
    """Roster events that happened in ``[start, end)``, oldest first."""
    rows = await session.execute(
        select(
            MemberEvent.kind,
            MemberEvent.member_id,
            Member.display_name,
            MemberEvent.old_value,
            MemberEvent.new_value,
            MemberEvent.occurred_at,
        )
        .outerjoin(Member, Member.id == MemberEvent.member_id)
        .where(
            MemberEvent.clan_id == clan_id,
            MemberEvent.occurred_at >= start,
            MemberEvent.occurred_at < end,
        )
        .order_by(MemberEvent.occurred_at, MemberEvent.id)
    )
    return [RosterEvent(*row) for row in rows]


async def unmatched_names(session: AsyncSession, clan_id: int) -> list[UnmatchedFinding]:
    """Names seen in relayed chat that match no member or alias, most seen first."""
    rows = await session.execute(
        select(
            UnmatchedName.rsn_key,
            UnmatchedName.display_name,
            UnmatchedName.lines,
            UnmatchedName.broadcasts,
            UnmatchedName.last_seen,
        )
        .where(UnmatchedName.clan_id == clan_id)
        .order_by((UnmatchedName.lines + UnmatchedName.broadcasts).desc(), UnmatchedName.rsn_key)
    )
    return [
        UnmatchedFinding(key, name, int(lines), int(broadcasts), last)
        for key, name, lines, broadcasts, last in rows
    ]
