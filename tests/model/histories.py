"""Generated clan histories (hypothesis), written into a real database the way ClanStats
stores them, and every answer compared with the reference model.

A history has a few accounts that join, leave, rejoin, change rank and rename (names are
drawn from a small pool, so names get reused by other accounts), snapshots with unranked
values, rollbacks and activity-only progress, and relayed chat lines and broadcasts (some of
names nobody holds, some exactly on window boundaries). It is written in one of several
orders (the relay lines before or after the roster, or around it): the answers must not
depend on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st
from sqlalchemy import delete

from bot.usecases.context import App
from bot.usecases.harvest import compile_relay_config, ingest, reattribute
from domain.activity import SnapshotPoint
from domain.names import name_key
from domain.relay import RelayMessageIn
from domain.rules import ANY_RANK, PromotionRung, RuleSettings
from storage.models import (
    ChannelCursor,
    Clan,
    JobRun,
    Member,
    MemberAlias,
    MemberEvent,
    RelayMessage,
    Snapshot,
    SnapshotGain,
    UnmatchedName,
)
from storage.repositories.roster import StoredSnapshot, snapshot_row, store_snapshots, totals_of
from tests.model.reference import Account, History, Line, Snap, periods

T0 = datetime(2025, 11, 1, tzinfo=UTC)
HOURS = 40 * 24
AS_OF = T0 + timedelta(hours=HOURS)
ROLES = ["owner", "deputy_owner", "general", "captain", "sergeant", "corporal", "recruit"]
ROLES += ["prospector"]
NAMES = ["Zezima", "Quitter", "Lynx Titan", "Iron Guy", "Doc Of Med", "Guest Gary"]
WEBHOOK = 1_144_000_000_000_000_001
CHANNEL = 1_100_000_000_000_000_777
GROUP = 5151
#: Hours worth hitting exactly: window bounds of 1d, 7d and 30d ending at AS_OF.
EDGES = [HOURS - 24, HOURS - 7 * 24, HOURS - 30 * 24, HOURS - 1]

#: Small thresholds, so generated clans trigger every rule.
RULES = RuleSettings(
    inactive_min_tenure_days=3,
    ladder=(
        PromotionRung("prospector", None, 2, min_xp=500, min_lines=2),
        PromotionRung(ANY_RANK, None, 4, min_xp=2_000, min_lines=3),
    ),
)
LADDER = {"prospector": (2.0, 500, 2), "*": (4.0, 2_000, 3)}


def at(hour: int) -> datetime:
    return T0 + timedelta(hours=hour)


@st.composite
def accounts(draw: st.DrawFn, member_id: int) -> Account:
    # Roster: a first join (maybe long before the history starts), then leave/rejoin cycles.
    cuts = sorted(draw(st.sets(st.integers(-200, HOURS - 1), min_size=1, max_size=5)))
    events: list[tuple[str, datetime, str | None]] = []
    roles = st.sampled_from(ROLES)
    rank = draw(roles)
    for index, hour in enumerate(cuts):
        if index % 2 == 0:
            rank = draw(roles)
            kind = "joined" if index == 0 else draw(st.sampled_from(["joined", "rejoined"]))
            events.append((kind, at(hour), rank))
        else:
            events.append(("left", at(hour), None))
    # Rank changes somewhere in time (ignored by the rules while out of the clan).
    taken = {h for h in cuts}
    for hour in draw(st.sets(st.integers(-100, HOURS - 1), max_size=3)):
        if hour not in taken:
            taken.add(hour)
            rank = draw(roles)
            events.append(("role_changed", at(hour), rank))
    current = draw(st.one_of(st.just(rank), roles))
    # Names: a first name, then renames to other names of the pool.
    first = draw(st.sampled_from(NAMES))
    renames: list[tuple[str, datetime]] = []
    used = {first}
    for hour in sorted(draw(st.sets(st.integers(-50, HOURS - 1), max_size=2))):
        choices = [n for n in NAMES if n not in used]
        name = draw(st.sampled_from(choices))
        used.add(name)
        renames.append((name, at(hour) + timedelta(minutes=member_id)))
    # Snapshots on distinct hours: XP, EHP/EHB, bosses that may be unranked, activities.
    hours = sorted(
        draw(st.sets(st.one_of(st.sampled_from(EDGES), st.integers(-60, HOURS - 1)), max_size=8))
    )
    snaps: list[Snap] = []
    xp = draw(st.sampled_from([-1, 1_000, 50_000]))
    metrics = {
        "zulrah": draw(st.sampled_from([-1, 60])),
        "vorkath": draw(st.sampled_from([-1, 5])),
        "chambers_of_xeric": draw(st.sampled_from([-1, 30])),
        "last_man_standing": draw(st.sampled_from([-1, 500])),
        "clue_scrolls_all": draw(st.integers(0, 3)),
    }
    for hour in hours:
        move = draw(st.sampled_from(["none", "xp", "boss", "activity", "rollback", "unrank"]))
        if move == "xp":
            xp = max(xp, 0) + draw(st.integers(1, 3_000))
        elif move == "boss":
            boss = draw(st.sampled_from(["zulrah", "vorkath", "chambers_of_xeric"]))
            value = metrics[boss]
            metrics[boss] = (value if value >= 0 else draw(st.integers(0, 10))) + draw(
                st.integers(1, 20)
            )
        elif move == "activity":
            metrics["last_man_standing"] = max(metrics["last_man_standing"], 0) + 7
            metrics["clue_scrolls_all"] += 1
        elif move == "rollback":
            xp = max(-1, xp - draw(st.integers(1, 500)))
        elif move == "unrank":
            metrics["zulrah"] = -1
        snaps.append(Snap(at(hour), xp, max(xp, 0) / 1_000, 0.0, dict(metrics)))
    changed = draw(st.one_of(st.none(), st.integers(-50, HOURS + 100).map(at)))
    return Account(member_id, events, first, renames, current, snaps, changed)


@st.composite
def histories(draw: st.DrawFn) -> History:
    count = draw(st.integers(1, 4))
    members = [draw(accounts(member_id)) for member_id in range(1, count + 1)]
    lines = [
        Line(
            at(draw(st.one_of(st.sampled_from(EDGES), st.integers(-30, HOURS - 1)))),
            draw(st.sampled_from(NAMES)),
            kind,
            None if kind == "chat" else draw(st.sampled_from(["drop", "invite"])),
            index,
        )
        for index, kind in enumerate(
            draw(st.lists(st.sampled_from(["chat", "chat", "broadcast"]), max_size=25))
        )
    ]
    return History(members, lines, AS_OF, list(ROLES))


# ---------------------------------------------------------------------------------------------
# Writing a history into the database, as ClanStats stores it


ORDERS = ("roster-first", "relay-first", "relay-around")


async def clear(app: App) -> None:
    async with app.db.write() as session:
        for model in (
            SnapshotGain,
            Snapshot,
            RelayMessage,
            UnmatchedName,
            MemberAlias,
            MemberEvent,
            ChannelCursor,
            JobRun,
            Member,
            Clan,
        ):
            await session.execute(delete(model))


async def write(app: App, history: History, order: str) -> int:
    """Store the history in ``order``; returns the clan id."""
    async with app.db.write() as session:
        clan = Clan(
            wom_group_id=GROUP,
            name="Model Clan",
            role_order=history.role_order,
            settings={},
            created_at=T0,
            updated_at=T0,
        )
        session.add(clan)
        await session.flush()
        clan_id = clan.id
    half = len(history.lines) // 2
    if order == "relay-first":
        await _lines(app, clan_id, history.lines)
        await _roster(app, clan_id, history)
    elif order == "relay-around":
        await _lines(app, clan_id, history.lines[:half])
        await _roster(app, clan_id, history)
        await _lines(app, clan_id, history.lines[half:])
    else:
        await _roster(app, clan_id, history)
        await _lines(app, clan_id, history.lines)
    # What every sync ends with: relay rows credited again to whoever held their names.
    await reattribute(app, clan_id, {name_key(n) for n in NAMES})
    return clan_id


async def _roster(app: App, clan_id: int, history: History) -> None:
    async with app.db.write() as session:
        for a in history.accounts:
            spans = periods(a)
            first_join = min(t for kind, t, _ in a.events if kind in ("joined", "rejoined"))
            session.add(
                Member(
                    id=a.member_id,
                    clan_id=clan_id,
                    wom_player_id=9_000 + a.member_id,
                    rsn_key=name_key(a.name),
                    display_name=a.name,
                    role=a.current_rank,
                    joined_at=spans[-1][0] if spans else None,
                    left_at=spans[-1][1] if spans else None,
                    last_changed_at=a.last_changed_at,
                    created_at=first_join,
                    updated_at=AS_OF,
                )
            )
        await session.flush()
        for a in history.accounts:
            for n, (kind, when, rank) in enumerate(sorted(a.events, key=lambda e: e[1])):
                session.add(
                    MemberEvent(
                        clan_id=clan_id,
                        member_id=a.member_id,
                        kind=kind,
                        occurred_at=when,
                        source="wom_activity",
                        old_value=None,
                        new_value=rank,
                        dedupe_key=f"{a.member_id}:{n}",
                        announced_at=when,
                    )
                )
            previous = a.first_name
            for new, when in a.renames:
                session.add(
                    MemberAlias(
                        clan_id=clan_id,
                        member_id=a.member_id,
                        rsn_key=name_key(previous),
                        display_name=previous,
                        changed_at=when,
                        source="wom_name_change",
                    )
                )
                previous = new
        rows = []
        for a in history.accounts:
            before: StoredSnapshot | None = None
            for snap in sorted(a.snapshots, key=lambda s: s.at):
                point = SnapshotPoint(snap.at, snap.xp, snap.ehp, snap.ehb, snap.metrics)
                row = snapshot_row(clan_id, a.member_id, point, before)
                rows.append(row)
                before = StoredSnapshot(point, totals_of(row))
        await store_snapshots(session, rows)


async def _lines(app: App, clan_id: int, lines: Sequence[Line]) -> None:
    config = compile_relay_config([WEBHOOK], {})
    messages = []
    for line in lines:
        # Every text differs: the same line twice within seconds would be a repeat relay.
        n = line.number
        if line.kind == "chat":
            content = f"**{line.name}**: hello {n}"
        elif line.broadcast_type == "invite":
            content = f"{line.name} has been invited into the clan by Mod{n}."
        else:
            content = f"{line.name} received a drop: Abyssal whip ({1_000 + n:,} coins)."
        messages.append(
            RelayMessageIn(
                message_id=100_000 + n,
                channel_id=CHANNEL,
                author_id=WEBHOOK,
                author_name="Osrs clanchat",
                is_bot=True,
                webhook_id=WEBHOOK,
                content=content,
                embeds=(),
                posted_at=line.at,
            )
        )
    if messages:
        await ingest(app, clan_id, messages, source="import", config=config)


def describe(history: History) -> str:
    """A readable dump of a history, for a failing example."""
    out: list[str] = []
    for a in history.accounts:
        out.append(f"account {a.member_id}: {dataclasses.asdict(a)}")
    out.extend(f"line {line}" for line in history.lines)
    return "\n".join(out)
