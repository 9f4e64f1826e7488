"""The migrations build exactly the models' schema, both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.reports import member_rows
from storage.engine import Database
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Base, MemberEvent, Snapshot, SnapshotGain, UnmatchedName, UtcDateTime


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_upgrade_downgrade_upgrade_round_trip(empty_db_url: str) -> None:
    db = Database.from_url(empty_db_url)
    try:
        first = await upgrade(db)
        assert first.before is None
        assert first.after == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(Base.metadata.tables)

        await downgrade(db, "base")
        assert await current_revision(db) is None
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()

        again = await upgrade(db)
        assert again.after == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(Base.metadata.tables)
    finally:
        await db.dispose()


async def test_autogenerate_finds_no_drift_between_models_and_migrations(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == [], f"models and migrations differ: {diff}"


async def test_upgrade_twice_changes_nothing_and_makes_no_backup(sqlite_db: Database) -> None:
    result = await upgrade(sqlite_db)
    assert not result.changed
    assert result.backup is None


async def test_sqlite_file_is_backed_up_before_a_schema_change(sqlite_url: str) -> None:
    import sqlite3

    db = Database.from_url(sqlite_url)
    try:
        await upgrade(db, "0001")
        async with db.write() as s:
            # Raw SQL: the models describe the newest schema, not 0001's.
            await s.execute(
                sa.text(
                    "INSERT INTO clans (wom_group_id, name, role_order, settings, created_at, "
                    "updated_at) VALUES (11114, 'Nevr Lucky', '[]', '{}', :at, :at)"
                ),
                {"at": "2025-12-23 09:00:00.000000"},
            )
        result = await upgrade(db)
    finally:
        await db.dispose()
    assert result.before == "0001" and result.after == head_revision()
    assert result.backup is not None and result.backup.exists()
    assert result.backup.name.startswith("clanstats.sqlite3.bak-")
    with sqlite3.connect(result.backup) as backup:
        rows = backup.execute("SELECT name FROM clans").fetchall()
        version = backup.execute("SELECT version_num FROM alembic_version").fetchall()
    assert rows == [("Nevr Lucky",)]
    assert version == [("0001",)]


# --- 0002 → 0003: a populated database keeps its meaning -------------------------------------

_T = UtcDateTime(timezone=True)
_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _old_tables() -> dict[str, sa.TableClause]:
    """The 0002 tables, typed as the migration saw them (no model import: models are head)."""
    return {
        "clans": sa.table(
            "clans",
            *(sa.column(n) for n in ("id", "wom_group_id", "name")),
            sa.column("role_order", sa.JSON()),
            sa.column("settings", sa.JSON()),
            sa.column("created_at", _T),
            sa.column("updated_at", _T),
        ),
        "members": sa.table(
            "members",
            *(sa.column(n) for n in ("id", "clan_id", "wom_player_id", "rsn_key")),
            *(sa.column(n) for n in ("display_name", "role")),
            *(sa.column(n, _T) for n in ("joined_at", "left_at", "created_at", "updated_at")),
        ),
        "events": sa.table(
            "member_events",
            *(sa.column(n) for n in ("clan_id", "member_id", "kind", "source", "dedupe_key")),
            *(sa.column(n) for n in ("old_value", "new_value")),
            sa.column("occurred_at", _T),
        ),
        "snapshots": sa.table(
            "snapshots",
            *(sa.column(n) for n in ("clan_id", "member_id", "overall_xp", "ehp", "ehb")),
            sa.column("metrics", sa.JSON()),
            sa.column("source"),
            sa.column("taken_at", _T),
        ),
        "unmatched": sa.table(
            "unmatched_names",
            *(sa.column(n) for n in ("clan_id", "rsn_key", "display_name", "count")),
            sa.column("first_seen", _T),
            sa.column("last_seen", _T),
        ),
        "relay": sa.table(
            "relay_messages",
            *(sa.column(n) for n in ("clan_id", "message_id", "part", "channel_id", "kind")),
            *(sa.column(n) for n in ("rsn_key", "display_name", "text", "source")),
            sa.column("posted_at", _T),
            sa.column("ingested_at", _T),
        ),
    }


def _fill_0002(connection: Connection) -> None:
    t = _old_tables()
    day = timedelta(days=1)
    connection.execute(
        t["clans"].insert(),
        [
            {
                "id": 1,
                "wom_group_id": 7,
                "name": "Old Clan",
                "role_order": [],
                "settings": {},
                "created_at": _AT - 400 * day,
                "updated_at": _AT,
            }
        ],
    )
    member = {"clan_id": 1, "created_at": _AT - 300 * day, "updated_at": _AT, "left_at": None}
    connection.execute(
        t["members"].insert(),
        [
            member
            | {
                "id": 1,
                "wom_player_id": 11,
                "rsn_key": "farmer",
                "display_name": "Farmer",
                "role": "sergeant",
                "joined_at": _AT - 200 * day,
            },
            member
            | {
                "id": 2,
                "wom_player_id": 22,
                "rsn_key": "gone",
                "display_name": "Gone",
                "role": "recruit",
                "joined_at": None,
                "left_at": _AT - 10 * day,
            },
        ],
    )
    connection.execute(
        t["events"].insert(),
        [
            {
                "clan_id": 1,
                "member_id": 1,
                "kind": "role_changed",
                "source": "wom",
                "dedupe_key": "role:1",
                "old_value": "corporal",
                "new_value": "sergeant",
                "occurred_at": _AT - 50 * day,
            }
        ],
    )
    boss = {"zulrah": -1, "clue_scrolls_all": 3}
    connection.execute(
        t["snapshots"].insert(),
        [
            {
                "clan_id": 1,
                "member_id": 1,
                "overall_xp": xp,
                "ehp": 1.0,
                "ehb": 0.0,
                "metrics": boss | {"zulrah": kills},
                "source": "wom",
                "taken_at": _AT - d * day,
            }
            for d, xp, kills in ((40, 1_000, -1), (25, 2_000, 52), (10, 1_500, 60), (1, 4_000, 80))
        ],
    )
    connection.execute(
        t["unmatched"].insert(),
        [
            {
                "clan_id": 1,
                "rsn_key": "guest",
                "display_name": "Guest",
                "count": 5,
                "first_seen": _AT - 3 * day,
                "last_seen": _AT - day,
            }
        ],
    )
    connection.execute(
        t["relay"].insert(),
        [
            {
                "clan_id": 1,
                "message_id": 100 + n,
                "part": 0,
                "channel_id": 9,
                "kind": kind,
                "rsn_key": "guest",
                "display_name": "Guest",
                "text": "hi",
                "source": "live",
                "posted_at": _AT - 2 * day,
                "ingested_at": _AT,
            }
            for n, kind in enumerate(["chat", "chat", "chat", "broadcast", "broadcast"])
        ],
    )


async def test_0003_fills_steps_membership_and_unmatched_counts_of_a_populated_database(
    empty_db_url: str,
) -> None:
    """Snapshots stored before steps existed get them (-1 → 52 never counts 52, the rollback
    to 1,500 XP is not progress); members stored before membership events get their join
    (at WOM's join date, as the rank before their first role change) and leave; unmatched
    names count chat lines and broadcasts apart. Reports read the migrated data right."""
    db = Database.from_url(empty_db_url)
    try:
        await upgrade(db, "0002")
        async with db.engine.begin() as conn:
            await conn.run_sync(_fill_0002)
        await upgrade(db)
        async with db.read() as session:
            steps = (
                await session.execute(
                    sa.select(
                        Snapshot.xp_gained,
                        Snapshot.boss_kills_gained,
                        Snapshot.progress,
                        Snapshot.total_xp,
                        Snapshot.total_boss_kills,
                    ).order_by(Snapshot.taken_at)
                )
            ).all()
            events = (
                await session.execute(
                    sa.select(
                        MemberEvent.member_id,
                        MemberEvent.kind,
                        MemberEvent.occurred_at,
                        MemberEvent.new_value,
                    ).order_by(MemberEvent.member_id, MemberEvent.occurred_at)
                )
            ).all()
            gains = (
                await session.execute(
                    sa.select(SnapshotGain.metric, SnapshotGain.gained).order_by(
                        SnapshotGain.taken_at
                    )
                )
            ).all()
            unmatched = (
                await session.execute(sa.select(UnmatchedName.lines, UnmatchedName.broadcasts))
            ).all()
        day = timedelta(days=1)
        assert [tuple(s) for s in steps] == [
            (0, 0, False, 0, 0),
            (1_000, 0, True, 1_000, 0),
            (0, 8, True, 1_000, 8),
            (2_500, 20, True, 3_500, 28),
        ]
        assert [(m, g) for m, g in gains] == [("zulrah", 8), ("zulrah", 20)]
        assert [tuple(e) for e in events] == [
            (1, "joined", _AT - 200 * day, "corporal"),
            (1, "role_changed", _AT - 50 * day, "sergeant"),
            (2, "joined", _AT - 300 * day, "recruit"),
            (2, "left", _AT - 10 * day, None),
        ]
        assert [tuple(u) for u in unmatched] == [(3, 2)]

        app = App(db=db, wom=HttpWomClient("http://127.0.0.1:9"))
        try:
            [row] = await member_rows(app, 1, ["30d", "60d"], _AT)
            assert (row.display_name, row.xp_gained, row.boss_kills_gained) == (
                "Farmer",
                {"30d": 3_500, "60d": 3_500},
                {"30d": 28, "60d": 28},
            )
            assert row.last_progress_at == _AT - day
            then = await member_rows(app, 1, ["30d"], _AT - 20 * day)
            assert sorted(r.display_name for r in then) == ["Farmer", "Gone"]
        finally:
            await app.wom.close()

        # And back: the old single count is lines and broadcasts together again.
        await downgrade(db, "0002")
        async with db.engine.connect() as conn:
            counts = (await conn.execute(sa.text("SELECT count FROM unmatched_names"))).all()
            kinds = (await conn.execute(sa.text("SELECT count(*) FROM member_events"))).scalar_one()
        assert [c for (c,) in counts] == [5]
        assert kinds == 1
    finally:
        await db.dispose()
