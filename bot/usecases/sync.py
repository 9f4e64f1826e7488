"""The WOM sync use case: roster, ranks, name changes, activity and stats for one clan.

Every WOM request happens outside a transaction; each step then writes in its own short
write transaction, so a WOM outage mid-sync loses nothing already stored and never holds the
database. :func:`run_sync` is the same sync as a job (claimed in ``job_runs``): the
scheduler, ``/sync`` and ``clanstats sync`` all run it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import SecretStr

from bot.adapters.wom import (
    WomActivity,
    WomApi,
    WomError,
    WomGroup,
    WomNameChange,
    WomNotFound,
    WomSnapshot,
)
from bot.usecases.context import App
from bot.usecases.harvest import reattribute
from bot.usecases.jobs import SYNC_JOB, JobResult, interval_slot, run_job
from domain.activity import SnapshotPoint
from domain.names import clean_display_name, name_key
from domain.roster import RosterEntry, StoredMember, diff_roster
from storage.repositories import job_runs
from storage.repositories.clans import ensure_clan
from storage.repositories.roster import (
    AliasValues,
    EventValues,
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
    #: A roster marking more of the clan as left than this share is not applied.
    max_departure_share: float = 0.2
    #: Enables the daily ``update-all`` request; a secret, never logged.
    verification_code: SecretStr | None = None


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
        if self.refusal_reason:
            lines.append(
                f"WARNING: {self.departures_refused} departures NOT applied: {self.refusal_reason}."
            )
        lines.extend(f"WARNING: {w}" for w in self.warnings)
        return "\n".join(lines)


def _entry(
    m_player_id: int, display: str, role: str | None, joined: datetime | None
) -> RosterEntry:
    shown = clean_display_name(display)
    return RosterEntry(m_player_id, name_key(shown), shown, role, joined)


async def run_sync(
    app: App, options: SyncOptions, *, slot: str | None = None
) -> JobResult[SyncReport]:
    """Sync the clan once, claimed in ``job_runs`` (a duplicate run of a slot is a no-op).

    ``slot`` defaults to the current interval slot (scheduled runs); manual runs pass their own.
    The result's value is the :class:`SyncReport`.
    """
    async with app.sync_lock:  # the startup catch-up, the schedule and /sync never overlap
        chosen = slot or interval_slot(app.now(), options.interval_minutes)
        return await run_job(app, SYNC_JOB, chosen, _sync_work(app, options))


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

    await _apply_roster(app, report, group, activity, renames, now, options.max_departure_share)
    snapshots = await _fetch_stats(app, wom, report, group)
    await _store_stats(app, report, snapshots)
    await _maybe_update_all(app, wom, report, group_id, now, options.verification_code)

    report.wom_requests = _requests_sent(wom) - sent_before
    log.info("sync.finished", **{k: v for k, v in report.counts().items() if k != "warnings"})
    return report


def _requests_sent(wom: WomApi) -> int:
    return int(getattr(wom, "requests_sent", 0))


async def _optional_feed(report: SyncReport, name: str, call: Any) -> list[Any]:
    """A feed that fails is reported and skipped: the roster and stats still sync."""
    try:
        return list(await call)
    except WomError as exc:
        report.warnings.append(f"could not read WOM {name}: {exc}")
        log.warning("sync.feed_failed", feed=name, error=str(exc))
        return []


async def _apply_roster(
    app: App,
    report: SyncReport,
    group: WomGroup,
    activity: Sequence[WomActivity],
    renames: Sequence[WomNameChange],
    now: datetime,
    max_departure_share: float,
) -> None:
    entries = {
        m.player.id: _entry(
            m.player.id, m.player.display_name, m.role, m.client_sync_joined_at or m.created_at
        )
        for m in group.memberships
    }
    players = {m.player.id: m.player for m in group.memberships}
    async with app.db.write() as session:
        clan = await ensure_clan(session, wom_group_id=group.id, name=group.name or str(group.id))
        clan.name = group.name or clan.name
        clan.clan_chat = group.clan_chat
        clan.role_order = list(group.role_order)
        report.clan_id, report.clan_name = clan.id, clan.name

        stored = await members_by_player(session, clan.id)
        # What we knew of each member before this sync: when a sync last saw them (their
        # current name was theirs until then at least) and when they last left.
        seen_before = {pid: (m.updated_at, m.left_at) for pid, m in stored.items()}
        diff = diff_roster(
            [
                StoredMember(
                    m.wom_player_id, m.rsn_key, m.display_name, m.role, m.left_at is not None
                )
                for m in stored.values()
            ],
            entries.values(),
            max_departure_share=max_departure_share,
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
                {
                    "clan_id": clan.id,
                    "wom_player_id": pid,
                    "rsn_key": e.rsn_key,
                    "display_name": e.display_name,
                    "role": e.role,
                    "account_type": players[pid].type,
                    "build": players[pid].build,
                    "status": players[pid].status,
                    "joined_at": e.joined_at,
                    "left_at": None,
                    "wom_updated_at": players[pid].updated_at,
                    "last_changed_at": players[pid].last_changed_at,
                    "created_at": now,
                    "updated_at": now,
                }
                for pid, e in entries.items()
            ],
        )
        departed = [c.wom_player_id for c in diff.of_kind("left")]
        await mark_left(session, clan.id, departed, now)
        ids = {pid: m.id for pid, m in (await members_by_player(session, clan.id)).items()}

        # When WOM's own feeds last dated each (player, kind): a roster change they dated
        # after the last sync that saw the player needs no event of ours.
        covered: dict[tuple[int, str], datetime] = {}
        renamed_to: set[tuple[int, str]] = set()  # (player, new name key) WOM's feed lists
        activity_events: list[EventValues] = []
        for act in activity:
            kind = _ACTIVITY_KIND.get(act.type, act.type)
            when = act.created_at or now
            _cover(covered, (act.player.id, kind), when)
            activity_events.append(
                _event(
                    clan.id,
                    ids.get(act.player.id),
                    kind,
                    when,
                    "wom_activity",
                    act.previous_role,
                    act.role,
                    f"wom:activity:{act.type}:{act.player.id}:{when.isoformat()}",
                )
            )
        aliases: list[AliasValues] = []
        rename_events: list[EventValues] = []
        for change in renames:
            member_id = ids.get(change.player_id)
            if member_id is None:
                continue
            renamed_to.add((change.player_id, name_key(clean_display_name(change.new_name))))
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
                change.resolved_at or now,
                "wom_name_change",
                change.old_name,
                change.new_name,
                f"wom:name_change:{ref}",
            )
            known = stored.get(change.player_id)
            if known is not None and name_key(known.display_name) == name_key(change.new_name):
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
        report.members = len(entries) + len(diff.refused_departures)
    log.info(
        "sync.roster_applied",
        members=report.members,
        joined=report.joined,
        left=report.left,
        role_changed=report.role_changed,
        renamed=report.renamed,
    )


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
