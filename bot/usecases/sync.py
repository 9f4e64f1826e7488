"""The WOM sync use case: roster, ranks, name changes, activity and stats for one clan.

Every WOM request happens outside a transaction; each step then writes in its own short
write transaction, so a WOM outage mid-sync loses nothing already stored and never holds the
database. :func:`run_sync` is the same sync as a job (claimed in ``job_runs``): the
scheduler, ``/sync`` and ``clanstats sync`` all run it.

What WOM did not send is unknown, never a change (docs/wom-api.md, "When WOM's answers
drift"): a membership without a rank, or with a rank the clan is not known to use, keeps the
stored rank; a field missing from a player keeps the stored value; a membership or feed entry
that cannot be read, or a feed entry without its time, is skipped. Each is counted in
:attr:`SyncReport.ignored`, logged once per sync and shown in the summary. Departures are held
when too many members would leave in one roster or within 24 h; an officer applies them with
:func:`confirm_departures` (``/sync confirm-departures``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.wom import (
    WomActivity,
    WomApi,
    WomError,
    WomGroup,
    WomItems,
    WomNameChange,
    WomNotFound,
    WomPlayer,
    WomSnapshot,
    wom_party,
)
from bot.usecases.context import App
from bot.usecases.harvest import reattribute
from bot.usecases.jobs import SYNC_JOB, JobResult, interval_slot, run_job
from domain.activity import SnapshotPoint
from domain.names import clean_display_name, is_valid_key, name_key
from domain.ranks import role_key
from domain.roster import (
    DepartureLimits,
    RosterDiff,
    RosterEntry,
    StoredMember,
    diff_roster,
    known_role,
)
from storage.models import HeldDeparture, Member
from storage.repositories import departures, job_runs
from storage.repositories.clans import ensure_clan, get_clan_by_group
from storage.repositories.roster import (
    AliasValues,
    EventValues,
    MemberValues,
    add_aliases,
    latest_snapshots,
    mark_left,
    members_by_player,
    record_events,
    snapshot_before,
    snapshot_row,
    store_snapshots,
    upsert_members,
)

log = structlog.get_logger(__name__)

UPDATE_ALL_JOB = "wom.update_all"
UPDATE_ALL_EVERY = timedelta(hours=24)
# One page of each feed per sync keeps a sync's cost constant; at an hourly sync WOM's feeds
# do not move 50 entries between two runs.
FEED_PAGE = 50
# Roster events WOM reports that happened longer ago than this are stored but not announced.
ANNOUNCE_HORIZON = timedelta(days=2)

_ACTIVITY_KIND = {"joined": "joined", "left": "left", "changed_role": "role_changed"}


@dataclass(frozen=True)
class SyncOptions:
    """What a sync of one clan needs to know beyond the database and the WOM client."""

    group_id: int
    #: Minutes between scheduled syncs: a scheduled run's slot is its interval's start.
    interval_minutes: int = 60
    #: A roster marking more of the clan as left than this share is not applied; nor is one
    #: that would take the members marked left within ``departure_window`` past it.
    max_departure_share: float = 0.2
    departure_window: timedelta = timedelta(hours=24)
    #: Enables the daily ``update-all`` request; a secret, never logged.
    verification_code: SecretStr | None = None
    #: The ``job_runs`` name of this clan's syncs: ``wom.sync:clan-<id>`` in the bot (each
    #: clan's runs, slots and catch-up are its own), ``wom.sync`` for the CLI's runs.
    job: str = SYNC_JOB


@dataclass
class SyncReport:
    """What one sync did, for the CLI summary, ``/sync`` and ``job_runs.counts``."""

    group_id: int
    clan_id: int = 0
    clan_name: str = ""
    members: int = 0
    imported: int = 0
    joined: int = 0
    rejoined: int = 0
    left: int = 0
    role_changed: int = 0
    renamed: int = 0
    departures_refused: int = 0
    refusal_reason: str | None = None
    #: Refused departures an officer can apply with ``/sync confirm-departures``.
    departures_held: int = 0
    #: Departures applied this sync because an officer confirmed them.
    departures_confirmed: int = 0
    #: What WOM sent incomplete or unreadable, by what: kept what we had, or skipped.
    ignored: dict[str, int] = field(default_factory=dict)
    stats_source: str = "none"
    players_fetched: int = 0
    snapshots_stored: int = 0
    activity_new: int = 0
    name_changes_new: int = 0
    aliases_new: int = 0
    update_all: str = "not configured"
    wom_requests: int = 0
    new_event_ids: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Name keys whose holders this sync may have changed (new, rejoined or renamed members):
    #: their relay rows are credited again.
    touched_keys: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("new_event_ids")
        data.pop("touched_keys")
        return data

    def summary(self) -> str:
        imported = f"{self.imported} imported, " if self.imported else ""
        lines = [
            f"Synced {self.clan_name or self.group_id}: {self.members} members ({imported}"
            f"{self.joined + self.rejoined} joined, {self.left} left, "
            f"{self.role_changed} rank changes, {self.renamed} renamed).",
            f"Stats from {self.stats_source}: {self.snapshots_stored} new snapshots"
            + (f", {self.players_fetched} players fetched" if self.players_fetched else "")
            + ".",
            f"WOM feeds: {self.activity_new} new activity events, "
            f"{self.name_changes_new} new name changes. update-all: {self.update_all}.",
            f"WOM requests: {self.wom_requests}.",
        ]
        if self.departures_confirmed:
            lines.append(
                f"{self.departures_confirmed} departures applied as confirmed by an officer."
            )
        if self.refusal_reason:
            lines.append(
                f"WARNING: {self.departures_refused} departures NOT applied: {self.refusal_reason}."
            )
        if self.departures_held:
            lines.append(
                f"{self.departures_held} departures are held until an officer confirms them: "
                "/sync confirm-departures (CLI: clanstats sync confirm-departures)."
            )
        if self.ignored:
            shown = ", ".join(f"{n} {what}" for what, n in sorted(self.ignored.items()))
            lines.append(f"WARNING: WOM sent incomplete data, kept what we had: {shown}.")
        lines.extend(f"WARNING: {w}" for w in self.warnings)
        return "\n".join(lines)

    def ignore(self, what: str, n: int = 1) -> None:
        """Count ``n`` pieces of WOM data ignored (or kept as stored) for ``what``."""
        if n:
            self.ignored[what] = self.ignored.get(what, 0) + n


def _entry(
    m_player_id: int, display: str, role: str | None, joined: datetime | None
) -> RosterEntry | None:
    """The roster entry of one membership; None when its name is no valid name."""
    shown = clean_display_name(display)
    key = name_key(shown)
    if not is_valid_key(key):
        return None
    return RosterEntry(m_player_id, key, shown, role, joined)


async def run_sync(
    app: App, options: SyncOptions, *, slot: str | None = None
) -> JobResult[SyncReport]:
    """Sync the clan once, claimed in ``job_runs`` (a duplicate run of a slot is a no-op).

    ``slot`` defaults to the current interval slot (scheduled runs); manual runs pass their own.
    The result's value is the :class:`SyncReport`.
    """
    # The startup catch-up, the schedule and /sync of one group never overlap; other clans'
    # syncs do not wait. Its WOM requests share the process's rate limit fairly with theirs.
    async with app.sync_lock(options.group_id):
        chosen = slot or interval_slot(app.now(), options.interval_minutes)
        with wom_party(f"group-{options.group_id}"):
            return await run_job(app, options.job, chosen, _sync_work(app, options))


@dataclass(frozen=True)
class Confirmation:
    """What ``/sync confirm-departures`` did: how many held departures it confirmed now, and
    how many were confirmed already and wait for the next sync."""

    confirmed: int
    already_confirmed: int

    def summary(self) -> str:
        if not self.confirmed and not self.already_confirmed:
            return "No departures are held: nothing to confirm."
        waiting = self.confirmed + self.already_confirmed
        return (
            f"Confirmed {self.confirmed} held departures"
            + (
                f" ({self.already_confirmed} were confirmed already)"
                if self.already_confirmed
                else ""
            )
            + f": the next sync marks the {waiting} members still missing from the roster as left."
        )


async def confirm_departures(app: App, group_id: int, *, by: str) -> Confirmation | None:
    """An officer confirms the clan's held departures (None: the clan was never synced).

    The next sync applies them to the members still missing from WOM's roster, whatever the
    departure limits; a member back in the roster is not marked left.
    """
    async with app.db.write() as session:
        clan = await get_clan_by_group(session, group_id)
        if clan is None:
            return None
        pending = await departures.pending_holds(session, clan.id)
        already = sum(1 for h in pending if h.confirmed_at is not None)
        confirmed = await departures.confirm(session, clan.id, app.now(), by)
    log.warning("sync.departures_confirmed", confirmed=confirmed, by=by, group_id=group_id)
    return Confirmation(confirmed, already)


def _sync_work(
    app: App, options: SyncOptions
) -> Callable[[], Awaitable[tuple[dict[str, Any], SyncReport]]]:
    async def work() -> tuple[dict[str, Any], SyncReport]:
        report = await sync_clan(app, options)
        counts = report.counts()
        # New members, rejoins and renames change who held a name when: credit the relay rows
        # of those names again (docs/metrics.md, "Names").
        counts["relay_rows_recredited"] = await reattribute(
            app, report.clan_id, report.touched_keys
        )
        return counts, report

    return work


async def sync_clan(
    app: App, options: SyncOptions, *, requests_before: int | None = None
) -> SyncReport:
    """Sync one clan from WOM. Raises :class:`WomError` when the roster cannot be fetched."""
    wom, group_id = app.wom, options.group_id
    now = app.now()
    report = SyncReport(group_id=group_id)
    sent_before = _requests_sent(wom) if requests_before is None else requests_before

    group = await wom.get_group(group_id)
    activity = await _optional_feed(
        report, "activity", wom.get_group_activity(group_id, limit=FEED_PAGE)
    )
    renames = await _optional_feed(
        report, "name changes", wom.get_name_changes(group_id, limit=FEED_PAGE)
    )

    await _apply_roster(app, report, group, activity, renames, now, options)
    snapshots = await _fetch_stats(app, wom, report, group)
    await _store_stats(app, report, snapshots)
    await _maybe_update_all(app, wom, report, group_id, now, options.verification_code)

    report.wom_requests = _requests_sent(wom) - sent_before
    if report.ignored:
        # Once per sync, whatever the number of entries: WOM's schema drifted, nothing changed.
        log.warning("sync.wom_data_ignored", group_id=group_id, **report.ignored)
    log.info(
        "sync.finished",
        **{k: v for k, v in report.counts().items() if k not in ("warnings", "ignored")},
    )
    return report


def _requests_sent(wom: WomApi) -> int:
    return int(getattr(wom, "requests_sent", 0))


async def _optional_feed(report: SyncReport, name: str, call: Any) -> list[Any]:
    """A feed that fails is reported and skipped: the roster and stats still sync."""
    try:
        items = await call
    except WomError as exc:
        report.warnings.append(f"could not read WOM {name}: {exc}")
        log.warning("sync.feed_failed", feed=name, error=str(exc))
        return []
    if isinstance(items, WomItems):
        report.ignore(f"unreadable {name} entries", len(items.skipped))
    return list(items)


async def _apply_roster(
    app: App,
    report: SyncReport,
    group: WomGroup,
    activity: Sequence[WomActivity],
    renames: Sequence[WomNameChange],
    now: datetime,
    options: SyncOptions,
) -> None:
    players = {m.player.id: m.player for m in group.memberships}
    async with app.db.write() as session:
        clan = await ensure_clan(session, wom_group_id=group.id, name=group.name or str(group.id))
        clan.name = group.name or clan.name
        if group.role_order is not None:
            clan.role_order = list(group.role_order)
        else:
            report.ignore("group without roleOrders (kept the stored rank order)")
        if group.clan_chat is not None:
            clan.clan_chat = group.clan_chat
        report.clan_id, report.clan_name = clan.id, clan.name

        stored = await members_by_player(session, clan.id)
        # What we knew of each member before this sync: when a sync last saw them (their
        # current name was theirs until then at least) and when they last left.
        seen_before = {pid: (m.updated_at, m.left_at) for pid, m in stored.items()}
        known_roles = {role_key(r) for r in clan.role_order or ()} | {
            role_key(m.role) for m in stored.values() if m.role
        }
        entries, present, unidentified = _roster_entries(report, group, known_roles)

        by_member_id = {m.id: pid for pid, m in stored.items()}
        holds = await departures.pending_holds(session, clan.id)
        left_in_window = await departures.unconfirmed_departures_since(
            session, clan.id, now - options.departure_window
        )
        diff = diff_roster(
            [
                StoredMember(
                    m.wom_player_id, m.rsn_key, m.display_name, m.role, m.left_at is not None
                )
                for m in stored.values()
            ],
            entries.values(),
            limits=DepartureLimits(
                per_sync_share=options.max_departure_share,
                window_share=options.max_departure_share,
                left_in_window=left_in_window,
                window_label=_window_label(options.departure_window),
                confirmed=frozenset(
                    by_member_id[h.member_id]
                    for h in holds
                    if h.confirmed_at is not None and h.member_id in by_member_id
                ),
            ),
            present=present,
            unidentified=unidentified,
        )
        if diff.refusal_reason:
            report.departures_refused = len(diff.refused_departures)
            report.refusal_reason = diff.refusal_reason
            log.error(
                "sync.departures_refused",
                refused=len(diff.refused_departures),
                reason=diff.refusal_reason,
                group_id=group.id,
            )

        await upsert_members(
            session,
            [
                _member_values(clan.id, pid, e, players[pid], stored.get(pid), now)
                for pid, e in entries.items()
            ],
        )
        departed = [c.wom_player_id for c in diff.of_kind("left")]
        await mark_left(session, clan.id, departed, now)
        report.departures_confirmed = len(diff.confirmed_departures)
        await _update_holds(session, report, clan.id, stored, holds, diff, entries, present, now)
        ids = {pid: m.id for pid, m in (await members_by_player(session, clan.id)).items()}
        held_players = set(diff.refused_departures)

        # When WOM's own feeds last dated each (player, kind): a roster change they dated
        # after the last sync that saw the player needs no event of ours.
        covered: dict[tuple[int, str], datetime] = {}
        renamed_to: set[tuple[int, str]] = set()  # (player, new name key) WOM's feed lists
        activity_events: list[EventValues] = []
        for act in activity:
            activity_event = _activity_event(report, act, known_roles | _role_keys(entries))
            if activity_event is None:
                continue
            kind, old_role, new_role, when = activity_event
            if kind == "left" and act.player.id in held_players:
                continue  # the departure is held: WOM's word for it waits with it
            _cover(covered, (act.player.id, kind), when)
            activity_events.append(
                _event(
                    clan.id,
                    ids.get(act.player.id),
                    kind,
                    when,
                    "wom_activity",
                    old_role,
                    new_role,
                    f"wom:activity:{act.type}:{act.player.id}:{when.isoformat()}",
                )
            )
        aliases: list[AliasValues] = []
        rename_events: list[EventValues] = []
        for change in renames:
            member_id = ids.get(change.player_id)
            if member_id is None:
                continue
            if change.resolved_at is None:
                report.ignore("name changes without a time")
                continue
            old_key = name_key(clean_display_name(change.old_name))
            new_key = name_key(clean_display_name(change.new_name))
            if not (is_valid_key(old_key) and is_valid_key(new_key)):
                report.ignore("name changes with an invalid name")
                continue
            renamed_to.add((change.player_id, new_key))
            alias = _alias(clan.id, member_id, change.old_name, change.resolved_at)
            aliases.append(alias)
            report.touched_keys.update({alias["rsn_key"], entries_key(entries, change.player_id)})
            ref = (
                change.id
                if change.id is not None
                else (f"{change.player_id}:{change.old_name}:{change.new_name}")
            )
            event = _event(
                clan.id,
                member_id,
                "renamed",
                change.resolved_at,
                "wom_name_change",
                change.old_name,
                change.new_name,
                f"wom:name_change:{ref}",
            )
            known = stored.get(change.player_id)
            if known is not None and name_key(known.display_name) == new_key:
                # An earlier roster showed the new name already (and it was announced then):
                # WOM's feed only dates it now.
                event["announced_at"] = now
            rename_events.append(event)
        first_sync = not stored
        diff_events: list[EventValues] = []
        for c in diff.changes:
            pid = c.wom_player_id
            if first_sync:
                # The first roster is an import, not 303 joins: each member's join is dated
                # by WOM (in-game join date, else when added to the group), not announced.
                report.imported += 1
                entry = entries[pid]
                report.touched_keys.add(entry.rsn_key)
                if (pid, "joined") in covered:
                    continue  # WOM's activity feed dated it already
                joined = _event(
                    clan.id,
                    ids.get(pid),
                    "joined",
                    min(entry.joined_at or now, now),
                    "wom_roster",
                    None,
                    entry.role,
                    f"roster:import:{pid}",
                )
                joined["announced_at"] = now
                diff_events.append(joined)
                continue
            setattr(report, c.kind, getattr(report, c.kind) + 1)
            when = now
            if c.kind in ("joined", "rejoined"):
                when = _join_time(entries[pid].joined_at, seen_before.get(pid), now)
                report.touched_keys.add(entries[pid].rsn_key)
            if c.kind == "renamed":
                old = stored[pid]
                # Not in WOM's name-change feed (yet): the old name was theirs at least until
                # the last sync that still saw it.
                last_seen = seen_before[pid][0]
                when = last_seen if last_seen is not None and last_seen < now else now
                aliases.append(_alias(clan.id, old.id, old.display_name, when, "roster_diff"))
                report.touched_keys.update({old.rsn_key, entries[pid].rsn_key})
            if c.kind == "renamed" and (pid, entries[pid].rsn_key) in renamed_to:
                continue  # WOM's name-change feed already told us, with the real time
            dated = covered.get((pid, "joined" if c.kind == "rejoined" else c.kind))
            last_sync = seen_before[pid][0] if pid in seen_before else None
            if dated is not None and (last_sync is None or dated > last_sync):
                continue  # WOM's activity feed already told us, with the real time
            diff_events.append(
                _event(
                    clan.id,
                    ids.get(pid),
                    c.kind,
                    when,
                    "roster_diff",
                    c.old_value,
                    c.new_value,
                    f"roster:{c.kind}:{pid}:{now.isoformat()}",
                )
            )
        for event in (*activity_events, *rename_events):
            # WOM's feeds hold history from before we watched (or from a long outage): keep
            # it, but only what is recent is news worth announcing.
            if first_sync or event["occurred_at"] < now - ANNOUNCE_HORIZON:
                event["announced_at"] = now
        new_activity = await record_events(session, activity_events)
        new_renames = await record_events(session, rename_events)
        new_diff = await record_events(session, diff_events)
        report.activity_new = len(new_activity)
        report.name_changes_new = len(new_renames)
        report.new_event_ids = [*new_activity, *new_renames, *new_diff]
        report.aliases_new = await add_aliases(session, aliases)
        report.members = len(entries) + len(present) + len(diff.refused_departures)
    log.info(
        "sync.roster_applied",
        members=report.members,
        joined=report.joined,
        left=report.left,
        role_changed=report.role_changed,
        renamed=report.renamed,
        departures_held=report.departures_held,
    )


def _roster_entries(
    report: SyncReport, group: WomGroup, known_roles: set[str]
) -> tuple[dict[int, RosterEntry], set[int], int]:
    """The readable roster: entries by player, players listed but unreadable (still members,
    nothing about them changes), and how many entries could not be tied to a player."""
    # A rank this roster lists in its own roleOrders is known even on the first sync.
    known = known_roles | {role_key(r) for r in group.role_order or ()}
    entries: dict[int, RosterEntry] = {}
    present: set[int] = set()
    unidentified = 0
    for bad in group.unreadable:
        if bad.player_id is None:
            unidentified += 1
        else:
            present.add(bad.player_id)
    report.ignore("unreadable memberships", len(group.unreadable))
    for m in group.memberships:
        role = known_role(m.role, known)
        if m.role is None:
            report.ignore("memberships without a role (kept the stored rank)")
        elif role is None:
            report.ignore("memberships with an unknown role (kept the stored rank)")
        entry = _entry(
            m.player.id, m.player.display_name, role, m.client_sync_joined_at or m.created_at
        )
        if entry is None:
            report.ignore("memberships with an invalid name")
            present.add(m.player.id)
            continue
        entries[m.player.id] = entry
    return entries, present - set(entries), unidentified


def _role_keys(entries: dict[int, RosterEntry]) -> set[str]:
    return {e.role for e in entries.values() if e.role is not None}


def _activity_event(
    report: SyncReport, act: WomActivity, known_roles: set[str]
) -> tuple[str, str | None, str | None, datetime] | None:
    """(kind, old rank, new rank, when) of a WOM activity entry; None (counted) when it lacks
    what it needs: its time, a type we know, or for a rank change both known ranks."""
    kind = _ACTIVITY_KIND.get(act.type)
    if kind is None:
        report.ignore("activity events of an unknown type")
        return None
    if act.created_at is None:
        report.ignore("activity events without a time")
        return None
    new_role = known_role(act.role, known_roles)
    old_role = known_role(act.previous_role, known_roles)
    if kind == "role_changed" and (new_role is None or old_role is None):
        report.ignore("rank changes without both ranks")
        return None
    return kind, old_role, new_role, act.created_at


def _member_values(
    clan_id: int,
    pid: int,
    entry: RosterEntry,
    player: WomPlayer,
    old: Member | None,
    now: datetime,
) -> MemberValues:
    """A member's row from WOM's entry; what WOM did not send keeps the stored value."""

    def keep(new: Any, attr: str) -> Any:
        return new if new is not None or old is None else getattr(old, attr)

    return {
        "clan_id": clan_id,
        "wom_player_id": pid,
        "rsn_key": entry.rsn_key,
        "display_name": entry.display_name,
        "role": keep(entry.role, "role"),
        "account_type": keep(player.type, "account_type"),
        "build": keep(player.build, "build"),
        "status": keep(player.status, "status"),
        "joined_at": keep(entry.joined_at, "joined_at"),
        "left_at": None,
        "wom_updated_at": keep(player.updated_at, "wom_updated_at"),
        "last_changed_at": keep(player.last_changed_at, "last_changed_at"),
        "created_at": now,
        "updated_at": now,
    }


async def _update_holds(
    session: AsyncSession,
    report: SyncReport,
    clan_id: int,
    stored: dict[int, Member],
    holds: Sequence[HeldDeparture],
    diff: RosterDiff,
    entries: dict[int, RosterEntry],
    present: set[int],
    now: datetime,
) -> None:
    """Close held departures this sync applied or that came back; hold what it refused."""
    by_member_id = {m.id: pid for pid, m in stored.items()}
    applied = {c.wom_player_id for c in diff.of_kind("left")}
    here = set(entries) | present
    done_applied = [h.id for h in holds if by_member_id.get(h.member_id) in applied]
    returned = [h.id for h in holds if by_member_id.get(h.member_id) in here]
    await departures.resolve(session, done_applied, "applied", now)
    await departures.resolve(session, returned, "returned", now)
    if diff.refused_departures and diff.confirmable and diff.refusal_reason:
        await departures.hold(
            session,
            clan_id,
            [stored[pid].id for pid in diff.refused_departures],
            diff.refusal_reason,
            now,
        )
        report.departures_held = len(diff.refused_departures)


def _window_label(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} h"


def _cover(covered: dict[tuple[int, str], datetime], key: tuple[int, str], at: datetime) -> None:
    if key not in covered or covered[key] < at:
        covered[key] = at


def _event(
    clan_id: int,
    member_id: int | None,
    kind: str,
    when: datetime,
    source: str,
    old: str | None,
    new: str | None,
    key: str,
) -> EventValues:
    return {
        "clan_id": clan_id,
        "member_id": member_id,
        "kind": kind,
        "occurred_at": when,
        "source": source,
        "old_value": old,
        "new_value": new,
        "dedupe_key": key[:200],
        "announced_at": None,
    }


def _alias(
    clan_id: int,
    member_id: int,
    name: str,
    when: datetime | None,
    source: str = "wom_name_change",
) -> AliasValues:
    shown = clean_display_name(name)
    return {
        "clan_id": clan_id,
        "member_id": member_id,
        "rsn_key": name_key(shown),
        "display_name": shown,
        "changed_at": when,
        "source": source,
    }


def _join_time(
    wom_date: datetime | None, before: tuple[datetime | None, datetime | None] | None, now: datetime
) -> datetime:
    """When a join the roster diff found happened (docs/metrics.md, "Members"): WOM's date
    for the membership, unless it is not after the member's previous leave (or is in the
    future), then this sync's time."""
    previous_leave = before[1] if before is not None else None
    if wom_date is None or wom_date > now:
        return now
    if previous_leave is not None and wom_date <= previous_leave:
        return now
    return wom_date


def entries_key(entries: dict[int, RosterEntry], player_id: int) -> str:
    """The current name key of WOM player ``player_id`` in this roster ("" when absent)."""
    entry = entries.get(player_id)
    return entry.rsn_key if entry is not None else ""


async def _fetch_stats(
    app: App, wom: WomApi, report: SyncReport, group: WomGroup
) -> list[WomSnapshot]:
    try:
        entries = await wom.get_bulk_hiscores(group.id)
    except WomNotFound:
        log.info("sync.bulk_unavailable", fallback="per-player", group_id=group.id)
    else:
        report.stats_source = "bulk-hiscores"
        report.ignore("unreadable bulk-hiscores entries", len(entries.skipped))
        return [e.snapshot for e in entries if e.snapshot is not None]

    report.stats_source = "players (bulk endpoint missing)"
    async with app.db.read() as session:
        latest = await latest_snapshots(session, report.clan_id)
        ids = {pid: m.id for pid, m in (await members_by_player(session, report.clan_id)).items()}
    snapshots: list[WomSnapshot] = []
    for membership in group.memberships:
        player = membership.player
        if player.last_changed_at is None:
            continue  # never updated on WOM: nothing to fetch
        newest = latest.get(ids.get(player.id, -1))
        if newest is not None and player.last_changed_at <= newest.point.taken_at:
            continue
        try:
            details = await wom.get_player(player.username)
        except WomNotFound:
            report.warnings.append(f"WOM has no player {player.username!r} any more")
            continue
        report.players_fetched += 1
        if details.latest_snapshot is not None:
            snapshots.append(details.latest_snapshot)
    return snapshots


async def _store_stats(app: App, report: SyncReport, snapshots: Sequence[WomSnapshot]) -> None:
    if not snapshots:
        return
    async with app.db.write() as session:
        ids = {pid: m.id for pid, m in (await members_by_player(session, report.clan_id)).items()}
        latest = await latest_snapshots(session, report.clan_id)
        rows = []
        for snap in snapshots:
            member_id = ids.get(snap.player_id)
            if member_id is None:
                continue
            prev = latest.get(member_id)
            point = SnapshotPoint(snap.taken_at, snap.overall_xp, snap.ehp, snap.ehb, snap.metrics)
            held = prev.point if prev is not None else None
            if held is not None and (
                held.overall_xp == point.overall_xp
                and held.ehp == point.ehp
                and held.ehb == point.ehb
                and held.metrics == point.metrics
            ):
                continue  # nothing changed: a snapshot is stored only when something did
            if held is not None and snap.taken_at < held.taken_at:
                continue  # older than what we hold: never rewrite history backwards
            if held is not None and snap.taken_at == held.taken_at:
                # The same measurement with new values (a metric WOM just added): it
                # replaces the stored one, so its step is over the snapshot before that.
                prev = await snapshot_before(session, member_id, snap.taken_at)
            rows.append(snapshot_row(report.clan_id, member_id, point, prev))
        report.snapshots_stored = await store_snapshots(session, rows) if rows else 0


async def _maybe_update_all(
    app: App,
    wom: WomApi,
    report: SyncReport,
    group_id: int,
    now: datetime,
    code: SecretStr | None,
) -> None:
    if code is None:
        return
    async with app.db.read() as session:
        last = await job_runs.last_success(session, UPDATE_ALL_JOB)
    if last is not None and last.finished_at and now - last.finished_at < UPDATE_ALL_EVERY:
        report.update_all = "not due (once per 24 h)"
        return
    slot = now.strftime("%Y-%m-%dT%H")
    async with app.db.write() as session:
        run_id = await job_runs.claim(session, job=UPDATE_ALL_JOB, slot=slot, now=now)
    if run_id is None:
        report.update_all = "already requested this hour"
        return
    try:
        queued = await wom.update_all(group_id, code)
    except WomError as exc:
        report.update_all = f"failed: {exc}"
        report.warnings.append(f"update-all failed: {exc}")
        async with app.db.write() as session:
            await job_runs.finish(session, run_id, outcome="failed", now=app.now(), error=str(exc))
        return
    report.update_all = f"queued {queued} members"
    async with app.db.write() as session:
        await job_runs.finish(
            session, run_id, outcome="ok", now=app.now(), counts={"queued": queued}
        )
