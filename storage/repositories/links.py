"""Proven RSN links, their one-time codes and officers' exceptions (issue 16).

Only a hash of a code is stored (:func:`domain.links.code_hash`). Links are never deleted:
unlinking sets ``unlinked_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.links import ActiveLink, Allowance, PendingCode
from storage.models import LinkAllowance, LinkCode, Member, RsnLink


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """An active link with the account's current name and clan standing."""

    link_id: int
    discord_user_id: int
    member_id: int
    display_name: str
    rsn_key: str
    role: str | None
    in_clan: bool
    linked_at: datetime
    notified_at: datetime | None


async def active_links(session: AsyncSession, clan_id: int) -> list[ActiveLink]:
    """Every link in force in the clan."""
    rows = await session.execute(
        select(RsnLink.discord_user_id, RsnLink.member_id).where(
            RsnLink.clan_id == clan_id, RsnLink.unlinked_at.is_(None)
        )
    )
    return [ActiveLink(user, member) for user, member in rows]


async def linked_accounts(
    session: AsyncSession,
    clan_id: int,
    *,
    discord_user_ids: Iterable[int] | None = None,
    member_ids: Iterable[int] | None = None,
) -> list[LinkedAccount]:
    """Active links (optionally of some Discord members or some accounts), oldest first."""
    query = (
        select(RsnLink, Member)
        .join(Member, Member.id == RsnLink.member_id)
        .where(RsnLink.clan_id == clan_id, RsnLink.unlinked_at.is_(None))
        .order_by(RsnLink.id)
    )
    if discord_user_ids is not None:
        query = query.where(RsnLink.discord_user_id.in_(list(discord_user_ids)))
    if member_ids is not None:
        query = query.where(RsnLink.member_id.in_(list(member_ids)))
    rows = await session.execute(query)
    return [
        LinkedAccount(
            link_id=link.id,
            discord_user_id=link.discord_user_id,
            member_id=member.id,
            display_name=member.display_name,
            rsn_key=member.rsn_key,
            role=member.role,
            in_clan=member.left_at is None,
            linked_at=link.linked_at,
            notified_at=link.notified_at,
        )
        for link, member in rows
    ]


async def allowances(session: AsyncSession, clan_id: int) -> dict[int, Allowance]:
    """Officers' exceptions, by Discord member."""
    rows = await session.scalars(select(LinkAllowance).where(LinkAllowance.clan_id == clan_id))
    return {r.discord_user_id: Allowance(r.max_accounts, r.shared_accounts) for r in rows}


async def set_allowance(
    session: AsyncSession,
    clan_id: int,
    discord_user_id: int,
    allowance: Allowance,
    *,
    by: int,
    at: datetime,
) -> None:
    """Record (or replace) an officer's exception for one Discord member."""
    row = await session.scalar(
        select(LinkAllowance).where(
            LinkAllowance.clan_id == clan_id, LinkAllowance.discord_user_id == discord_user_id
        )
    )
    if row is None:
        row = LinkAllowance(clan_id=clan_id, discord_user_id=discord_user_id)
        session.add(row)
    row.max_accounts = allowance.max_accounts
    row.shared_accounts = allowance.shared_accounts
    row.granted_by = by
    row.granted_at = at
    await session.flush()


async def issue_code(
    session: AsyncSession,
    clan_id: int,
    discord_user_id: int,
    member_id: int,
    code_hash: str,
    *,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    """Store a new code; the member's earlier unused codes stop working ("replaced")."""
    await session.execute(
        update(LinkCode)
        .where(
            LinkCode.clan_id == clan_id,
            LinkCode.discord_user_id == discord_user_id,
            LinkCode.used_at.is_(None),
        )
        .values(used_at=created_at, outcome="replaced")
    )
    session.add(
        LinkCode(
            clan_id=clan_id,
            discord_user_id=discord_user_id,
            member_id=member_id,
            code_hash=code_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def find_code(
    session: AsyncSession, clan_id: int, code_hash: str
) -> tuple[int, PendingCode] | None:
    """The stored code with this hash (its row id and what the rules need), or None."""
    row = await session.scalar(
        select(LinkCode).where(LinkCode.clan_id == clan_id, LinkCode.code_hash == code_hash)
    )
    if row is None:
        return None
    return row.id, PendingCode(
        discord_user_id=row.discord_user_id,
        member_id=row.member_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used=row.used_at is not None,
    )


async def use_code(session: AsyncSession, code_id: int, at: datetime) -> None:
    """The code made its link: it never works again."""
    await session.execute(
        update(LinkCode).where(LinkCode.id == code_id).values(used_at=at, outcome="linked")
    )


async def add_link(
    session: AsyncSession,
    clan_id: int,
    discord_user_id: int,
    member_id: int,
    *,
    message_id: int,
    at: datetime,
) -> None:
    session.add(
        RsnLink(
            clan_id=clan_id,
            discord_user_id=discord_user_id,
            member_id=member_id,
            message_id=message_id,
            linked_at=at,
        )
    )
    await session.flush()


async def unlink(
    session: AsyncSession,
    clan_id: int,
    discord_user_id: int,
    *,
    member_id: int | None,
    by: int,
    at: datetime,
) -> int:
    """End a Discord member's links (all, or the one to ``member_id``); returns how many."""
    query = (
        update(RsnLink)
        .where(
            RsnLink.clan_id == clan_id,
            RsnLink.discord_user_id == discord_user_id,
            RsnLink.unlinked_at.is_(None),
        )
        .values(unlinked_at=at, unlinked_by=by)
    )
    if member_id is not None:
        query = query.where(RsnLink.member_id == member_id)
    result = await session.execute(query)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_notified(session: AsyncSession, link_ids: Iterable[int], at: datetime) -> None:
    ids = list(link_ids)
    if ids:
        await session.execute(update(RsnLink).where(RsnLink.id.in_(ids)).values(notified_at=at))


__all__ = [
    "LinkedAccount",
    "active_links",
    "add_link",
    "allowances",
    "find_code",
    "issue_code",
    "linked_accounts",
    "mark_notified",
    "set_allowance",
    "unlink",
    "use_code",
]
