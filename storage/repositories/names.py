"""Names over time: who held a name when, and re-crediting relay rows when that changes.

The rule is :mod:`domain.holders` (docs/metrics.md, "Names"); this module reads what it needs
(members' current names, earlier names with their rename times, when each member was first
seen) and applies the answers to stored relay rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.holders import Holding, MemberNames, NameUse, holdings, name_uses
from storage.bulk import chunks
from storage.models import Member, MemberAlias, MemberEvent, RelayMessage, UnmatchedName
from storage.repositories.relay import RELAY_TABLE, UnmatchedSighting, record_unmatched_rows

_IN_CHUNK = 500


async def member_names(
    session: AsyncSession, clan_id: int, member_ids: Collection[int]
) -> list[MemberNames]:
    """The name history of each of ``member_ids``: current key, first seen, renames."""
    ids = sorted(set(member_ids))
    if not ids:
        return []
    current: dict[int, tuple[str, datetime]] = {}
    renames: dict[int, list[tuple[str, datetime | None]]] = {}
    first_join: dict[int, datetime] = {}
    for chunk in chunks(ids, _IN_CHUNK):
        for mid, key, joined, created in await session.execute(
            select(Member.id, Member.rsn_key, Member.joined_at, Member.created_at).where(
                Member.id.in_(chunk)
            )
        ):
            current[mid] = (key, joined if joined is not None and joined < created else created)
        for mid, key, at in await session.execute(
            select(MemberAlias.member_id, MemberAlias.rsn_key, MemberAlias.changed_at).where(
                MemberAlias.clan_id == clan_id, MemberAlias.member_id.in_(chunk)
            )
        ):
            renames.setdefault(mid, []).append((key, at))
        for event_mid, at in await session.execute(
            select(MemberEvent.member_id, func.min(MemberEvent.occurred_at))
            .where(
                MemberEvent.clan_id == clan_id,
                MemberEvent.member_id.in_(chunk),
                MemberEvent.kind.in_(("joined", "rejoined")),
            )
            .group_by(MemberEvent.member_id)
        ):
            if event_mid is not None and at is not None:
                first_join[event_mid] = at
    out: list[MemberNames] = []
    for mid, (key, seen) in current.items():
        joined = first_join.get(mid)
        first_seen = joined if joined is not None and joined < seen else seen
        out.append(MemberNames(mid, key, first_seen, tuple(renames.get(mid, ()))))
    return out


async def held_keys(session: AsyncSession, clan_id: int) -> frozenset[str]:
    """Every name key a member of the clan holds or held (current names and aliases)."""
    current = await session.scalars(select(Member.rsn_key).where(Member.clan_id == clan_id))
    earlier = await session.scalars(
        select(MemberAlias.rsn_key).where(MemberAlias.clan_id == clan_id)
    )
    return frozenset(current) | frozenset(earlier)


async def holders_of(
    session: AsyncSession, clan_id: int, keys: Iterable[str]
) -> dict[str, list[Holding]]:
    """Who held each of ``keys`` when (keys nobody ever held are left out)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    member_ids: set[int] = set()
    for chunk in chunks(wanted, _IN_CHUNK):
        member_ids.update(
            await session.scalars(
                select(Member.id).where(Member.clan_id == clan_id, Member.rsn_key.in_(chunk))
            )
        )
        member_ids.update(
            await session.scalars(
                select(MemberAlias.member_id).where(
                    MemberAlias.clan_id == clan_id, MemberAlias.rsn_key.in_(chunk)
                )
            )
        )
    uses: list[NameUse] = []
    for names in await member_names(session, clan_id, member_ids):
        uses.extend(name_uses(names))
    wanted_set = set(wanted)
    return {k: v for k, v in holdings(u for u in uses if u.key in wanted_set).items() if v}


@dataclass(frozen=True, slots=True)
class Reattributed:
    """What re-crediting relay rows did."""

    keys: int
    rows_changed: int
    unmatched_names: int


async def keys_to_recheck(session: AsyncSession, clan_id: int) -> set[str]:
    """Name keys whose relay rows may need re-crediting: earlier names, names unmatched so
    far, and names several members have had (everything else has one holder forever)."""
    keys: set[str] = set(
        await session.scalars(select(MemberAlias.rsn_key).where(MemberAlias.clan_id == clan_id))
    )
    keys.update(
        await session.scalars(select(UnmatchedName.rsn_key).where(UnmatchedName.clan_id == clan_id))
    )
    keys.update(
        await session.scalars(
            select(Member.rsn_key)
            .where(Member.clan_id == clan_id)
            .group_by(Member.rsn_key)
            .having(func.count() > 1)
        )
    )
    return keys


async def reattribute(session: AsyncSession, clan_id: int, keys: Iterable[str]) -> Reattributed:
    """Credit every relay row of ``keys`` to whoever held its name when it was posted, and
    rebuild those names' unmatched counts from the rows. Rows already right are not written.
    """
    t = RELAY_TABLE
    wanted: list[str] = []
    for chunk in chunks(sorted(set(keys)), _IN_CHUNK):
        # Only names some relay row carries can have anything to re-credit.
        wanted += await session.scalars(
            select(t.c.rsn_key).where(t.c.clan_id == clan_id, t.c.rsn_key.in_(chunk)).distinct()
        )
    held = await holders_of(session, clan_id, wanted)
    changed = 0
    for key in sorted(wanted):
        target = _holder_case(held.get(key, ()), t.c.posted_at)
        result = await session.execute(
            update(t)
            .where(
                t.c.clan_id == clan_id,
                t.c.rsn_key == key,
                t.c.member_id.is_distinct_from(target),
            )
            .values(member_id=target)
            .execution_options(synchronize_session=False)
        )
        changed += int(result.rowcount)  # type: ignore[attr-defined]
    unmatched = await rebuild_unmatched(session, clan_id, wanted)
    return Reattributed(keys=len(wanted), rows_changed=changed, unmatched_names=unmatched)


def _holder_case(found: Sequence[Holding], posted_at: Any) -> Any:
    """SQL for "the member holding the name at ``posted_at``" (NULL: nobody)."""
    whens: list[tuple[Any, int]] = []
    for h in found:
        conditions = []
        if h.start is not None:
            conditions.append(posted_at >= h.start)
        if h.end is not None:
            conditions.append(posted_at < h.end)
        whens.append((and_(*conditions) if conditions else true(), h.member_id))
    if not whens:
        return None
    return case(*whens, else_=None)


async def rebuild_unmatched(session: AsyncSession, clan_id: int, keys: Sequence[str]) -> int:
    """Recount the unmatched-name entries of ``keys`` from their uncredited relay rows."""
    if not keys:
        return 0
    r = RelayMessage
    counted = and_(r.duplicate_of.is_(None), r.deleted_at.is_(None))
    found = 0
    for chunk in chunks(list(keys), _IN_CHUNK):
        await session.execute(
            delete(UnmatchedName).where(
                UnmatchedName.clan_id == clan_id, UnmatchedName.rsn_key.in_(chunk)
            )
        )
        rows = (
            await session.execute(
                select(
                    r.rsn_key,
                    func.sum(case((r.kind == "chat", 1), else_=0)),
                    func.sum(case((r.kind == "broadcast", 1), else_=0)),
                    func.min(r.posted_at),
                    func.max(r.posted_at),
                    func.max(r.display_name),
                )
                .where(
                    r.clan_id == clan_id,
                    r.rsn_key.in_(chunk),
                    r.member_id.is_(None),
                    r.kind.in_(("chat", "broadcast")),
                    counted,
                )
                .group_by(r.rsn_key)
            )
        ).all()
        latest = await _latest_display(session, clan_id, [row[0] for row in rows])
        entries = [
            UnmatchedSighting(
                clan_id=clan_id,
                rsn_key=key,
                display_name=latest.get(key) or shown or key,
                lines=int(lines or 0),
                broadcasts=int(broadcasts or 0),
                first_seen=first,
                last_seen=last,
            )
            for key, lines, broadcasts, first, last, shown in rows
        ]
        await record_unmatched_rows(session, entries, replace=True)
        found += len(entries)
    return found


async def _latest_display(
    session: AsyncSession, clan_id: int, keys: Sequence[str]
) -> Mapping[str, str]:
    """The display name each key was last relayed with (names keep their latest casing)."""
    if not keys:
        return {}
    r = RelayMessage
    newest = (
        select(r.rsn_key, func.max(r.posted_at).label("at"))
        .where(r.clan_id == clan_id, r.rsn_key.in_(list(keys)), r.member_id.is_(None))
        .group_by(r.rsn_key)
        .subquery()
    )
    rows = await session.execute(
        select(r.rsn_key, r.display_name).join(
            newest,
            and_(r.rsn_key == newest.c.rsn_key, r.posted_at == newest.c.at, r.clan_id == clan_id),
        )
    )
    return {key: name for key, name in rows if key and name}
