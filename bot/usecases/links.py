"""Proven RSN links (issue 16): ``/link`` hands out a one-time code, relay ingest makes the link
when the claimed account types it in clan chat, ``/unlink``, ``/whois`` and the link notices.

The rules are :mod:`domain.links`; this module reads and writes what they need. Links are made
only by :func:`claim_links`, which relay ingest calls inside the transaction that stores the
lines, for the lines that transaction stored for the first time: a line seen again (live,
then backfill) is never read twice, and an imported export never makes a link.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from bot.usecases.context import App
from bot.usecases.reports.loader import ReportError
from domain.holders import holder_at
from domain.links import (
    CODE_TTL,
    NO_EXCEPTION,
    ActiveLink,
    Allowance,
    ChatLine,
    Outcome,
    claim_refusal,
    code_hash,
    decide,
    link_command_code,
    new_code,
)
from domain.names import name_key
from storage.models import Member
from storage.repositories import links as repo
from storage.repositories import names
from storage.repositories.links import LinkedAccount

log = structlog.get_logger(__name__)

#: Ingest sources whose lines can make a link: what the relay delivers now, or delivered while
#: the bot was away (backfill). An export imported by hand is history, never a proof.
LINKING_SOURCES = frozenset({"live", "backfill"})

_REFUSALS = {
    Outcome.ALREADY_LINKED: "You are already linked to **{name}**.",
    Outcome.MEMBER_HAS_LINK: (
        "You already have a linked account: `/unlink` it first, or ask an officer to allow "
        "you more than one."
    ),
    Outcome.ACCOUNT_TAKEN: (
        "**{name}** is already linked to another Discord member. If that is wrong, an "
        "officer can `/unlink` them."
    ),
}


class LinkError(ReportError):
    """A ``/link``, ``/unlink`` or ``/whois`` the user can act on; the message says how."""


@dataclass(frozen=True, slots=True)
class CodeIssued:
    """What ``/link`` answers: the code (shown once, stored only as a hash) and until when."""

    code: str
    display_name: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkLine:
    """A newly stored relay line that may carry ``!link CODE``: what :func:`claim_links` needs.

    ``kind`` is the parser's (``chat`` only for a relay author's chat line); ``member_id`` the
    member the line was credited to.
    """

    message_id: int
    kind: str
    text: str
    member_id: int | None
    posted_at: datetime


async def start_link(
    app: App,
    clan_id: int,
    discord_user_id: int,
    name: str,
    *,
    choice: Callable[[str], str] = secrets.choice,
) -> CodeIssued:
    """Hand out a code binding ``discord_user_id`` to the current clan member called ``name``.

    Raises :class:`LinkError` when nobody in the clan holds that name now, or when the link
    could not be made anyway (already linked, the account linked to someone else).
    """
    now = app.now()
    key = name_key(name)
    async with app.db.write() as session:
        member = await _current_member(session, clan_id, key, now)
        if member is None:
            raise LinkError(
                f"No current clan member is called {name!r} (as of the last Wise Old Man sync)."
            )
        links = await repo.active_links(session, clan_id)
        allowed = await repo.allowances(session, clan_id)
        refusal = claim_refusal(
            discord_user_id,
            member.id,
            links,
            allowed.get(discord_user_id, NO_EXCEPTION),
            lambda user: allowed.get(user, NO_EXCEPTION),
        )
        if refusal is not None:
            log.info("link.code_refused", outcome=str(refusal), user_id=discord_user_id)
            raise LinkError(_REFUSALS[refusal].format(name=member.display_name))
        code = new_code(choice)
        expires = now + CODE_TTL
        await repo.issue_code(
            session,
            clan_id,
            discord_user_id,
            member.id,
            code_hash(code),
            created_at=now,
            expires_at=expires,
        )
    log.info("link.code_issued", user_id=discord_user_id, member_id=member.id)
    return CodeIssued(code=code, display_name=member.display_name, expires_at=expires)


async def _current_member(
    session: AsyncSession, clan_id: int, key: str, now: datetime
) -> Member | None:
    """The clan member who holds the name ``key`` now and has not left."""
    held = await names.holders_of(session, clan_id, [key])
    member_id = holder_at(held.get(key, ()), now)
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None or member.left_at is not None:
        return None
    return member


async def claim_links(
    session: AsyncSession,
    clan_id: int,
    lines: Sequence[LinkLine],
    *,
    source: str,
    now: datetime,
) -> int:
    """Make the links that newly stored relay lines prove; returns how many were made.

    Called by ingest inside its write transaction (which holds the clan's relay lock, so two
    batches never decide on the same links at once). A line that does nothing is logged with
    why, never with its code.
    """
    candidates: list[tuple[LinkLine, str]] = []
    for line in lines:
        code = link_command_code(line.text)
        if code is not None:
            candidates.append((line, code))
    if not candidates:
        return 0
    if source not in LINKING_SOURCES:
        log.info("link.ignored", source=source, lines=len(candidates), why="not a live relay")
        return 0
    links = await repo.active_links(session, clan_id)
    allowed = await repo.allowances(session, clan_id)
    made = 0
    for line, code in candidates:
        found = await repo.find_code(session, clan_id, code_hash(code))
        pending = found[1] if found is not None else None
        chat = ChatLine(
            relayed=line.kind == "chat",
            credited_member_id=line.member_id,
            posted_at=line.posted_at,
        )
        user = pending.discord_user_id if pending is not None else None
        outcome = decide(
            pending,
            chat,
            links,
            allowed.get(user or 0, NO_EXCEPTION),
            lambda u: allowed.get(u, NO_EXCEPTION),
        )
        if outcome is not Outcome.LINKED or found is None or pending is None:
            log.info(
                "link.refused",
                outcome=str(outcome),
                message_id=line.message_id,
                user_id=user,
                credited_member_id=line.member_id,
            )
            continue
        await repo.add_link(
            session,
            clan_id,
            pending.discord_user_id,
            pending.member_id,
            message_id=line.message_id,
            at=now,
        )
        await repo.use_code(session, found[0], now)
        links.append(ActiveLink(pending.discord_user_id, pending.member_id))
        made += 1
        log.info(
            "link.made",
            user_id=pending.discord_user_id,
            member_id=pending.member_id,
            message_id=line.message_id,
        )
    return made


async def whois(app: App, clan_id: int, discord_user_id: int) -> list[LinkedAccount]:
    """The accounts a Discord member is linked to (empty: none)."""
    async with app.db.read() as session:
        return await repo.linked_accounts(session, clan_id, discord_user_ids=[discord_user_id])


async def linked_members_of(app: App, clan_id: int, member_id: int) -> list[int]:
    """The Discord members linked to one account (``/player``'s verified badge)."""
    async with app.db.read() as session:
        found = await repo.linked_accounts(session, clan_id, member_ids=[member_id])
    return [a.discord_user_id for a in found]


async def linked_users_of(
    app: App, clan_id: int, member_ids: Sequence[int]
) -> dict[int, list[int]]:
    """The Discord members linked to each of ``member_ids`` (accounts without one left out)."""
    if not member_ids:
        return {}
    async with app.db.read() as session:
        found = await repo.linked_accounts(session, clan_id, member_ids=member_ids)
    out: dict[int, list[int]] = {}
    for account in found:
        out.setdefault(account.member_id, []).append(account.discord_user_id)
    return out


async def all_links(app: App, clan_id: int) -> list[LinkedAccount]:
    """Every link in force (role sync, the report's display names)."""
    async with app.db.read() as session:
        return await repo.linked_accounts(session, clan_id)


async def unlink(app: App, clan_id: int, discord_user_id: int, *, name: str | None, by: int) -> int:
    """End a Discord member's link to ``name`` (or all their links); returns how many ended.

    Raises :class:`LinkError` when there was nothing to unlink.
    """
    async with app.db.write() as session:
        member_id: int | None = None
        if name is not None:
            mine = await repo.linked_accounts(session, clan_id, discord_user_ids=[discord_user_id])
            key = name_key(name)
            match = [a for a in mine if a.rsn_key == key or a.display_name == name]
            if not match:
                raise LinkError(f"No link to {name!r} to remove.")
            member_id = match[0].member_id
        ended = await repo.unlink(
            session, clan_id, discord_user_id, member_id=member_id, by=by, at=app.now()
        )
    if not ended:
        raise LinkError("There is no linked account to remove.")
    log.info("link.unlinked", user_id=discord_user_id, by=by, links=ended)
    return ended


async def allow_accounts(
    app: App, clan_id: int, discord_user_id: int, allowance: Allowance, *, by: int
) -> None:
    """An officer's exception: more accounts for one member, or accounts they may share."""
    if allowance.max_accounts < 1:
        raise LinkError("A member may link at least one account.")
    async with app.db.write() as session:
        await repo.set_allowance(session, clan_id, discord_user_id, allowance, by=by, at=app.now())
    log.info(
        "link.allowance",
        user_id=discord_user_id,
        max_accounts=allowance.max_accounts,
        shared=allowance.shared_accounts,
        by=by,
    )


async def unnotified_links(app: App, clan_id: int) -> list[LinkedAccount]:
    """Links made that their Discord member was not told of yet (to DM them)."""
    async with app.db.read() as session:
        found = await repo.linked_accounts(session, clan_id)
    return [a for a in found if a.notified_at is None]


async def mark_links_notified(app: App, link_ids: Sequence[int]) -> None:
    async with app.db.write() as session:
        await repo.mark_notified(session, link_ids, app.now())


async def take_link_notices(app: App, clan_id: int, discord_user_id: int) -> list[LinkedAccount]:
    """Links made for this member that they were not told of yet; marked told."""
    async with app.db.write() as session:
        mine = await repo.linked_accounts(session, clan_id, discord_user_ids=[discord_user_id])
        fresh = [a for a in mine if a.notified_at is None]
        await repo.mark_notified(session, [a.link_id for a in fresh], app.now())
    return fresh


__all__ = [
    "LINKING_SOURCES",
    "CodeIssued",
    "LinkError",
    "LinkLine",
    "all_links",
    "allow_accounts",
    "claim_links",
    "linked_members_of",
    "linked_users_of",
    "mark_links_notified",
    "start_link",
    "take_link_notices",
    "unlink",
    "unnotified_links",
    "whois",
]
