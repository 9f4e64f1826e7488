"""Rank → Discord role sync (issue 16): officers' mappings, the preview, the first apply they
confirm, the sync after every WOM sync, and the record of every change for the announcement.

Discord is reached through a :class:`RoleGateway` the Discord shell hands in
(:mod:`bot.discord_roles`), which also spreads the requests out under Discord's rate limits.
The rules (what each member should have, which roles are never touched) are
:mod:`domain.roles`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.usecases.context import App
from bot.usecases.reports.loader import ReportError, clan_facts, rank_config_from
from domain.roles import (
    FORMER,
    Action,
    BotStanding,
    Change,
    GuildRole,
    LinkedAccount,
    Skipped,
    describe_key,
    mapping_key,
    plan_member,
    role_refusal,
    wanted_roles,
)
from storage.repositories import links as links_repo
from storage.repositories import roles as repo

log = structlog.get_logger(__name__)

#: Changes recorded per write transaction while applying: progress survives a crash midway.
RECORD_EVERY = 50


class RoleGateway(Protocol):
    """The server's roles, the bot's standing, and giving or taking one role."""

    def roles(self) -> Sequence[GuildRole]: ...

    def standing(self) -> BotStanding: ...

    async def member_roles(self, user_id: int) -> frozenset[int] | None:
        """The member's roles (None: not in the server)."""
        ...

    async def change(self, user_id: int, role_id: int, action: Action, reason: str) -> str | None:
        """Give or take the role; None when done, else what went wrong."""
        ...


class RoleError(ReportError):
    """A mapping the bot cannot apply, or bad input: the message says why."""


@dataclass(frozen=True, slots=True)
class MappingView:
    key: str
    described: str
    role_id: int
    role_name: str | None
    refusal: str | None


@dataclass
class RolePlan:
    """What a sync would do now (``/roles preview``), and what it will not do and why."""

    changes: list[Change] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_in_server: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    member_ids: dict[int, int | None] = field(default_factory=dict)
    unusable: dict[int, str] = field(default_factory=dict)
    confirmed: bool = False
    members_checked: int = 0


@dataclass
class RoleSyncReport:
    applied: int = 0
    failed: int = 0
    skipped: int = 0
    members_checked: int = 0
    not_in_server: int = 0

    def summary(self) -> str:
        return (
            f"{self.applied} role change(s) applied, {self.failed} failed, {self.skipped} "
            f"skipped (roles the bot may not touch); {self.members_checked} linked member(s) "
            f"checked, {self.not_in_server} not found in the server."
        )


def _roles_by_id(gateway: RoleGateway) -> dict[int, GuildRole]:
    return {r.id: r for r in gateway.roles()}


async def map_role(
    app: App, clan_id: int, rank: str, role_id: int, gateway: RoleGateway, *, by: int
) -> MappingView:
    """Map a rank, tier or ``former`` to a role. A role the bot could never give (above its
    highest role, managed, @everyone, no Manage Roles) is refused with the reason and not
    stored, so no request for it is ever sent."""
    try:
        key = mapping_key(rank)
    except ValueError as exc:
        raise RoleError(str(exc)) from None
    role = _roles_by_id(gateway).get(role_id)
    refusal = role_refusal(role, gateway.standing())
    if refusal is not None:
        log.info("roles.mapping_refused", key=key, role_id=role_id, reason=refusal)
        raise RoleError(f"Not mapped: {refusal}.")
    async with app.db.write() as session:
        await repo.add_mapping(session, clan_id, key, role_id, by=by, at=app.now())
    log.info("roles.mapped", key=key, role_id=role_id, by=by)
    return MappingView(key, describe_key(key), role_id, role.name if role else None, None)


async def unmap_role(app: App, clan_id: int, rank: str, role_id: int | None) -> int:
    """Remove a rank's mappings (to one role, or all). Roles already given stay: an unmapped
    role is never the bot's to take."""
    try:
        key = mapping_key(rank)
    except ValueError as exc:
        raise RoleError(str(exc)) from None
    async with app.db.write() as session:
        removed = await repo.remove_mappings(session, clan_id, key, role_id)
    if not removed:
        raise RoleError(f"No mapping for {describe_key(key)} to remove.")
    return removed


async def show_mappings(app: App, clan_id: int, gateway: RoleGateway) -> list[MappingView]:
    """Every mapping, with whether the bot can apply it now (and why not)."""
    async with app.db.read() as session:
        rows = await repo.mappings(session, clan_id)
    roles, standing = _roles_by_id(gateway), gateway.standing()
    return [
        MappingView(
            r.rank_key,
            describe_key(r.rank_key),
            r.discord_role_id,
            roles[r.discord_role_id].name if r.discord_role_id in roles else None,
            role_refusal(roles.get(r.discord_role_id), standing),
        )
        for r in rows
    ]


async def plan_roles(app: App, clan_id: int, gateway: RoleGateway) -> RolePlan:
    """The changes that bring every linked (or once linked) member's mapped roles in line
    with their in-game rank now, asking Discord for each member's roles."""
    async with app.db.read() as session:
        accounts = await links_repo.linked_accounts(session, clan_id)
        everyone = await repo.formerly_linked(session, clan_id)
        rows = await repo.mappings(session, clan_id)
        ranks = rank_config_from(await clan_facts(session, clan_id))
        plan = RolePlan(confirmed=await repo.confirmed(session, clan_id))
    mapped: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        mapped[row.rank_key].add(row.discord_role_id)
    frozen = {k: frozenset(v) for k, v in mapped.items()}
    all_mapped = frozenset(r.discord_role_id for r in rows)
    roles, standing = _roles_by_id(gateway), gateway.standing()
    plan.unusable = {
        role_id: reason
        for role_id in all_mapped
        if (reason := role_refusal(roles.get(role_id), standing)) is not None
    }
    for role_id, reason in plan.unusable.items():
        log.warning("roles.mapping_unusable", role_id=role_id, reason=reason)
    by_user: dict[int, list[LinkedAccount]] = defaultdict(list)
    for account in accounts:
        by_user[account.discord_user_id].append(
            LinkedAccount(
                account.discord_user_id, account.display_name, account.role, account.in_clan
            )
        )
        plan.names.setdefault(account.discord_user_id, account.display_name)
        plan.member_ids.setdefault(account.discord_user_id, account.member_id)
    if not all_mapped:
        return plan
    for user_id in sorted(everyone | set(by_user)):
        has = await gateway.member_roles(user_id)
        plan.members_checked += 1
        if has is None:
            plan.not_in_server.append(user_id)
            continue
        mine = by_user.get(user_id, [])
        wants = wanted_roles(mine, frozen, ranks)
        changes, skipped = plan_member(
            user_id, has, wants, all_mapped, plan.unusable, why_removed=_why_removed(mine)
        )
        plan.changes.extend(changes)
        plan.skipped.extend(skipped)
    return plan


def _why_removed(accounts: Sequence[LinkedAccount]) -> str:
    if not accounts:
        return "no linked account any more"
    if not any(a.in_clan for a in accounts):
        return f"{accounts[0].display_name} left the clan"
    current = [a for a in accounts if a.in_clan]
    return f"{current[0].display_name}'s rank is now {current[0].rank or 'none'}"


async def apply_plan(
    app: App, clan_id: int, gateway: RoleGateway, plan: RolePlan
) -> RoleSyncReport:
    """Make the plan's changes one by one (the gateway paces them) and record each."""
    report = RoleSyncReport(
        skipped=len(plan.skipped),
        members_checked=plan.members_checked,
        not_in_server=len(plan.not_in_server),
    )
    done: list[repo.ChangeRow] = []
    for change in plan.changes:
        error = await gateway.change(
            change.discord_user_id, change.role_id, change.action, change.reason
        )
        if error is None:
            report.applied += 1
        else:
            report.failed += 1
            log.warning(
                "roles.change_failed",
                user_id=change.discord_user_id,
                role_id=change.role_id,
                action=change.action,
                error=error,
            )
        done.append(
            repo.ChangeRow(
                change.discord_user_id,
                plan.member_ids.get(change.discord_user_id),
                change.role_id,
                change.action,
                "applied" if error is None else "failed",
                change.reason if error is None else f"{change.reason}; failed: {error}",
            )
        )
        if len(done) >= RECORD_EVERY:
            await _record(app, clan_id, done)
            done = []
    await _record(app, clan_id, done)
    log.info("roles.synced", **report.__dict__)
    return report


async def _record(app: App, clan_id: int, rows: list[repo.ChangeRow]) -> None:
    if rows:
        async with app.db.write() as session:
            await repo.record_changes(session, clan_id, rows, app.now())


async def sync_roles(
    app: App, clan_id: int, gateway: RoleGateway, *, confirmed_by: int | None = None
) -> RoleSyncReport | None:
    """Apply the role changes now. Until an officer confirmed the first apply
    (``confirmed_by``, from ``/roles apply`` after ``/roles preview``) nothing is applied and
    None is returned; from then on every call (after each WOM sync) applies."""
    if confirmed_by is not None:
        async with app.db.write() as session:
            await repo.confirm(session, clan_id, by=confirmed_by, at=app.now())
        log.info("roles.first_apply_confirmed", by=confirmed_by)
    else:
        async with app.db.read() as session:
            if not await repo.confirmed(session, clan_id):
                return None
    plan = await plan_roles(app, clan_id, gateway)
    return await apply_plan(app, clan_id, gateway, plan)


@dataclass(frozen=True, slots=True)
class RoleChangeLine:
    """One recorded change, for the batched announcement."""

    change_id: int
    discord_user_id: int
    role_id: int
    action: str
    outcome: str
    reason: str


async def pending_role_changes(app: App, clan_id: int) -> list[RoleChangeLine]:
    async with app.db.read() as session:
        rows = await repo.unannounced(session, clan_id)
    return [
        RoleChangeLine(r.id, r.discord_user_id, r.discord_role_id, r.action, r.outcome, r.reason)
        for r in rows
    ]


async def mark_role_changes_announced(app: App, lines: Sequence[RoleChangeLine]) -> None:
    async with app.db.write() as session:
        await repo.mark_announced(session, [line.change_id for line in lines], app.now())


__all__ = [
    "FORMER",
    "MappingView",
    "RoleChangeLine",
    "RoleError",
    "RoleGateway",
    "RolePlan",
    "RoleSyncReport",
    "apply_plan",
    "map_role",
    "mark_role_changes_announced",
    "pending_role_changes",
    "plan_roles",
    "show_mappings",
    "sync_roles",
    "unmap_role",
]
