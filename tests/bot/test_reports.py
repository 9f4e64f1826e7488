"""Report use cases on a small hand-built clan, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from bot.app import App, open_app
from bot.core.config import Settings
from bot.usecases.reports import (
    ReportInputError,
    UnknownPlayerError,
    daily_report,
    findings,
    leaderboard,
    member_rows,
    metric_autocomplete,
    player_profile,
    roster_names,
    unmatched,
)
from domain.activity import SnapshotPoint
from domain.rules import FindingKind
from storage.models import (
    Clan,
    Member,
    MemberAlias,
    MemberEvent,
    RelayMessage,
    UnmatchedName,
)
from storage.repositories.roster import (
    SnapshotValues,
    StoredSnapshot,
    snapshot_row,
    store_snapshots,
    totals_of,
)

AS_OF = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
ROLES = ["owner", "deputy_owner", "general", "captain", "sergeant", "corporal", "recruit"]
UTC_TZ = ZoneInfo("UTC")

# member id → (name, role, joined days ago)
MEMBERS = {
    1: ("Alice", "owner", 400),
    2: ("Bob", "captain", 200),
    3: ("Carol", "recruit", 100),
    4: ("Dormant Dan", "recruit", 300),
    5: ("Eve", "recruit", 3),
}


def _metrics(xp: int, cox: int, vorkath: int) -> dict[str, Any]:
    return {"overall": xp, "attack": xp // 10, "chambers_of_xeric": cox, "vorkath": vorkath}


class Builder:
    """Rows for one clan, inserted in one go."""

    def __init__(self) -> None:
        self.relay: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self._message = 1000

    def line(
        self,
        member_id: int | None,
        at: datetime,
        text: str = "hi",
        *,
        kind: str = "chat",
        broadcast_type: str | None = None,
        duplicate_of: int | None = None,
        deleted: bool = False,
    ) -> int:
        self._message += 1
        name = MEMBERS[member_id][0] if member_id else "Guest"
        self.relay.append(
            {
                "id": self._message,
                "clan_id": 1,
                "message_id": self._message,
                "part": 0,
                "channel_id": 9,
                "author_id": 8,
                "posted_at": at,
                "kind": kind,
                "broadcast_type": broadcast_type,
                "member_id": member_id,
                "rsn_key": name.lower() if kind != "discord" else None,
                "display_name": name,
                "text": text,
                "duplicate_of": duplicate_of,
                "deleted_at": at if deleted else None,
                "source": "import",
                "ingested_at": at,
            }
        )
        return self._message

    def snapshot(self, member_id: int, at: datetime, xp: int, cox: int = 0, vork: int = 0) -> None:
        self.snapshots.append(
            {
                "clan_id": 1,
                "member_id": member_id,
                "taken_at": at,
                "overall_xp": xp,
                "ehp": xp / 100_000,
                "ehb": cox / 2,
                "metrics": _metrics(xp, cox, vork),
                "source": "wom",
            }
        )


def with_steps(rows: list[dict[str, Any]]) -> list[SnapshotValues]:
    """The rows with each snapshot's step over the member's one before it, as stored."""
    out: list[SnapshotValues] = []
    previous: dict[int, StoredSnapshot] = {}
    for row in sorted(rows, key=lambda r: (r["member_id"], r["taken_at"])):
        point = SnapshotPoint(
            row["taken_at"], row["overall_xp"], row["ehp"], row["ehb"], row["metrics"]
        )
        stored = snapshot_row(1, row["member_id"], point, previous.get(row["member_id"]))
        out.append(stored)
        previous[row["member_id"]] = StoredSnapshot(point, totals_of(stored))
    return out


def _dataset() -> Builder:
    b = Builder()
    day = timedelta(days=1)
    # Alice: chats a lot today and over the fortnight; big XP today.
    for hours in (1, 2, 3):
        b.line(1, AS_OF - timedelta(hours=hours))
    for days in range(1, 8):
        b.line(1, AS_OF - days * day - timedelta(hours=1))
    # Bob: two lines today, one repeated relay, one deleted, a broadcast, Discord chatter.
    first = b.line(2, AS_OF - timedelta(hours=5), "anyone for cox?")
    b.line(
        2, AS_OF - timedelta(hours=5) + timedelta(seconds=2), "anyone for cox?", duplicate_of=first
    )
    b.line(2, AS_OF - timedelta(hours=4), "oops", deleted=True)
    b.line(2, AS_OF - timedelta(hours=4, minutes=30), "real line")
    b.line(
        2,
        AS_OF - timedelta(hours=6),
        "Bob received a drop: Twisted bow (1,200,000,000 coins).",
        kind="broadcast",
        broadcast_type="drop",
    )
    b.line(
        1,
        AS_OF - timedelta(hours=7),
        "Alice received a drop: Abyssal whip (1,456,814 coins).",
        kind="broadcast",
        broadcast_type="drop",
    )
    b.line(
        3,
        AS_OF - timedelta(hours=8),
        "Carol has a funny feeling like she's being followed: Olmlet.",
        kind="broadcast",
        broadcast_type="pet",
    )
    b.line(
        3,
        AS_OF - timedelta(hours=9),
        "Carol has reached Attack level 99.",
        kind="broadcast",
        broadcast_type="level",
    )
    b.line(None, AS_OF - timedelta(hours=2), "bob is a scammer", kind="discord")
    # a guest nobody knows (unattributed chat still counts in the clan's volume)
    b.line(None, AS_OF - timedelta(hours=3), "hello?")
    # Dormant Dan: last line 200 days ago
    b.line(4, AS_OF - 200 * day)

    # Snapshots: daily for 40 days for Alice/Bob/Carol; Dan frozen long ago; Eve joined 3d ago.
    for d in range(40, -1, -1):
        at = AS_OF - d * day - timedelta(hours=2)
        b.snapshot(1, at, 100_000_000 + (40 - d) * 1_000_000, cox=10 + (40 - d), vork=5)
        b.snapshot(2, at, 50_000_000 + (40 - d) * 100_000, cox=3, vork=100 + 2 * (40 - d))
        b.snapshot(3, at, 10_000_000 + (40 - d) * 10_000)
    b.snapshot(4, AS_OF - 400 * day, 5_000_000)
    b.snapshot(5, AS_OF - 10 * day, 1_000_000)  # before joining: not the clan's progress
    b.snapshot(5, AS_OF - 2 * day, 1_500_000)
    b.snapshot(5, AS_OF - timedelta(hours=1), 1_700_000)
    return b


async def _seed(app: App) -> None:
    b = _dataset()
    async with app.db.write() as session:
        await session.execute(
            insert(Clan).values(
                id=1,
                wom_group_id=777,
                name="Test Clan",
                role_order=ROLES,
                settings={},
                created_at=AS_OF,
                updated_at=AS_OF,
            )
        )
        await session.execute(
            insert(Member),
            [
                {
                    "id": mid,
                    "clan_id": 1,
                    "wom_player_id": 100 + mid,
                    "rsn_key": name.lower(),
                    "display_name": name,
                    "role": role,
                    "joined_at": AS_OF - timedelta(days=days),
                    "left_at": None,
                    "last_changed_at": None,
                    "created_at": AS_OF,
                    "updated_at": AS_OF,
                }
                for mid, (name, role, days) in MEMBERS.items()
            ],
        )
        await session.execute(
            insert(MemberAlias).values(
                clan_id=1,
                member_id=3,
                rsn_key="old carol",
                display_name="Old Carol",
                changed_at=AS_OF - timedelta(days=50),
            )
        )
        await session.execute(
            insert(MemberEvent),
            [
                {
                    "clan_id": 1,
                    "member_id": 3,
                    "kind": "renamed",
                    "occurred_at": AS_OF - timedelta(days=50),
                    "source": "wom_name_change",
                    "old_value": "Old Carol",
                    "new_value": "Carol",
                    "dedupe_key": "r3",
                },
                {
                    "clan_id": 1,
                    "member_id": 2,
                    "kind": "role_changed",
                    "occurred_at": AS_OF - timedelta(hours=3),
                    "source": "wom_activity",
                    "old_value": "sergeant",
                    "new_value": "captain",
                    "dedupe_key": "c2",
                },
            ],
        )
        await session.execute(insert(RelayMessage), b.relay)
        await store_snapshots(session, with_steps(b.snapshots))
        await session.execute(
            insert(UnmatchedName).values(
                clan_id=1,
                rsn_key="guest",
                display_name="Guest",
                lines=1,
                broadcasts=0,
                first_seen=AS_OF - timedelta(hours=3),
                last_seen=AS_OF - timedelta(hours=3),
            )
        )


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    settings = Settings(database_url=db_url, wom_group_id=777)
    async with open_app(settings) as opened:
        await _seed(opened)
        yield opened


async def test_member_rows_count_only_in_game_chat_and_gains_per_window(app: App) -> None:
    rows = {r.display_name: r for r in await member_rows(app, 1, ["1d", "7d"], AS_OF)}
    bob = rows["Bob"]
    # the repeat relay, the deleted line, the broadcast and the Discord chatter do not count
    assert bob.messages == {"1d": 2, "7d": 2}
    assert bob.broadcasts == {"1d": 1, "7d": 1}
    assert rows["Alice"].messages == {"1d": 3, "7d": 9}
    assert rows["Alice"].xp_gained == {"1d": 1_000_000, "7d": 7_000_000}
    assert rows["Alice"].boss_kills_gained == {"1d": 1, "7d": 7}
    assert bob.boss_kills_gained == {"1d": 2, "7d": 14}
    # Eve joined 3 days ago: her progress before joining is not counted
    assert rows["Eve"].xp_gained == {"1d": 200_000, "7d": 200_000}
    assert rows["Dormant Dan"].messages == {"1d": 0, "7d": 0}
    assert rows["Dormant Dan"].last_chat_at == AS_OF - timedelta(days=200)
    assert bob.last_chat_at == AS_OF - timedelta(hours=4, minutes=30)
    assert rows["Alice"].last_progress_at == AS_OF - timedelta(hours=2)
    assert [r.display_name for r in await member_rows(app, 1, ["7d"], AS_OF)][:2] == [
        "Alice",
        "Bob",
    ]


async def test_bad_windows_are_refused_with_what_is_accepted(app: App) -> None:
    with pytest.raises(ReportInputError, match="not understood"):
        await member_rows(app, 1, ["7 days"], AS_OF)


async def test_leaderboards_rank_xp_chat_and_any_boss_by_nickname(app: App) -> None:
    xp = await leaderboard(app, 1, "xp", "7d", AS_OF, limit=2)
    assert [(e.place, e.display_name, e.value) for e in xp.entries] == [
        (1, "Alice", 7_000_000),
        (2, "Bob", 700_000),
    ]
    chat = await leaderboard(app, 1, "chat", "1d", AS_OF)
    assert [(e.display_name, e.value) for e in chat.entries] == [("Alice", 3), ("Bob", 2)]
    vork = await leaderboard(app, 1, "vork", "30d", AS_OF)
    assert vork.metric == "vorkath"
    assert [(e.display_name, e.value) for e in vork.entries] == [("Bob", 60)]
    cox = await leaderboard(app, 1, "CoX", "7d", AS_OF)
    assert [(e.display_name, e.value) for e in cox.entries] == [("Alice", 7)]
    with pytest.raises(ReportInputError, match="unknown metric"):
        await leaderboard(app, 1, "sandcastles", "7d", AS_OF)


async def test_player_profile_finds_a_member_by_an_old_name(app: App) -> None:
    profile = await player_profile(app, 1, "old_carol", AS_OF)
    assert profile.display_name == "Carol" and profile.matched_old_name
    assert [(c.old_name, c.new_name) for c in profile.name_history] == [("Old Carol", "Carol")]
    assert profile.overall_xp == 10_400_000
    assert profile.gains["7d"].xp == 70_000
    assert profile.chat_lines == {"7d": 0, "30d": 0}
    assert profile.broadcasts["7d"] == 2
    assert profile.rank == "Recruit"
    bob = await player_profile(app, 1, "BOB", AS_OF)
    assert not bob.matched_old_name and bob.chat_lines["7d"] == 2
    assert bob.top_bosses[0] == ("vorkath", 180)
    with pytest.raises(UnknownPlayerError):
        await player_profile(app, 1, "nobody", AS_OF)


async def test_findings_list_the_dormant_member_and_unmatched_names(app: App) -> None:
    purge = await findings(app, 1, "inactive", AS_OF)
    assert [f.display_name for f in purge] == ["Dormant Dan"]
    assert purge[0].numbers["days_since_chat"] == 200
    audit = await findings(app, 1, "audit", AS_OF)
    assert {f.display_name for f in audit} >= {"Alice"}
    assert all(f.kind != FindingKind.OFFICER_AWOL for f in audit if f.display_name == "Alice")
    names = await unmatched(app, 1)
    assert [(n.display_name, n.count) for n in names] == [("Guest", 1)]
    with pytest.raises(ReportInputError):
        await findings(app, 1, "everything", AS_OF)  # type: ignore[arg-type]


async def test_daily_report_numbers(app: App) -> None:
    report = await daily_report(app, 1, AS_OF, UTC_TZ)
    # today: Alice 3 + Bob 2 + the guest's line; the 7 days before: Alice 1 a day
    assert report.pulse.chat_lines == 6
    assert report.pulse.chat_lines_avg_7d == 1.0
    assert report.pulse.active_chatters == 2
    assert report.pulse.xp_gained == 1_000_000 + 100_000 + 10_000 + 200_000
    assert report.pulse.members == 5
    assert [(r.display_name, r.value) for r in report.top_chatters] == [("Alice", 3), ("Bob", 2)]
    assert report.top_xp[0].display_name == "Alice"
    assert report.top_bosses[0].display_name == "Bob"
    assert report.top_bosses[0].detail == "Vorkath +2"
    assert [(line.display_name, coins) for line, coins in report.notable.drops] == [
        ("Bob", 1_200_000_000),
        ("Alice", 1_456_814),
    ]
    assert [p.display_name for p in report.notable.pets] == ["Carol"]
    assert [p.display_name for p in report.notable.level_99s] == ["Carol"]
    assert [(e.kind, e.display_name) for e in report.roster_changes] == [("role_changed", "Bob")]
    assert [f.display_name for f in report.attention.inactive] == ["Dormant Dan"]
    assert [u.display_name for u in report.attention.unmatched] == ["Guest"]
    assert len(report.trend) == 14
    assert report.trend[-1].day.isoformat() == "2025-12-23"
    assert [d.chat_lines for d in report.trend[-8:]] == [1, 1, 1, 1, 1, 1, 1, 6]
    # Alice 1M + Bob 100k + Carol 10k a day; Eve's 200k fall in the last period, her jump
    # from before joining (500k) two days before it
    assert report.trend[-1].xp_gained == 1_310_000
    assert report.trend[-5].xp_gained == 1_110_000
    assert sum(map(sum, report.heatmap)) == 6 + 7
    # Tuesdays 19:00: Alice today and a week ago
    assert report.heatmap[AS_OF.weekday()][19] == 2
    assert report.heatmap[AS_OF.weekday()][15] == 2  # Bob at 15:00 and 15:30


async def test_autocomplete_lists_members_and_metrics(app: App) -> None:
    assert await roster_names(app, 1, "dorm") == ["Dormant Dan"]
    assert await roster_names(app, 1, "") == ["Alice", "Bob", "Carol", "Dormant Dan", "Eve"]
    assert (await metric_autocomplete(app, 1, "vor"))[0] == "vorkath"
