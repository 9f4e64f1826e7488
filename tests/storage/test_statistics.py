"""The SQLite query planner's statistics (``storage.statistics``): a database that was never
analyzed made the reports count every member's chat lines by walking the whole window once per
member; the statistics are refreshed on start, after jobs and after an import."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event
from structlog.testing import capture_logs

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.jobs import run_job
from storage.engine import Database
from storage.migrate import upgrade
from storage.repositories.reports import chat_lines_per_member
from storage.statistics import MIN_ROWS, refresh_planner_statistics

T0 = datetime(2025, 12, 1, tzinfo=UTC)
MEMBERS = 40


def _path(url: str) -> Path:
    return Path(url.split(":///", 1)[1])


def _populate(path: Path, lines: int, *, first_id: int = 1) -> None:
    """A clan of ``MEMBERS`` members and ``lines`` chat lines, written directly."""
    con = sqlite3.connect(path)
    stamp = T0.replace(tzinfo=None).isoformat(" ", "microseconds")
    if first_id == 1:
        con.execute(
            "INSERT INTO clans (id, wom_group_id, guild_id, name, role_order, settings,"
            " created_at, updated_at) VALUES (1, 42, NULL, 'Stats Clan', '[]', '{}', ?, ?)",
            (stamp, stamp),
        )
        con.executemany(
            "INSERT INTO members (id, clan_id, wom_player_id, rsn_key, display_name, role,"
            " account_type, build, status, joined_at, left_at, wom_updated_at,"
            " last_changed_at, created_at, updated_at) VALUES (?, 1, ?, ?, ?, 'recruit',"
            " 'regular', 'main', 'active', ?, NULL, ?, ?, ?, ?)",
            [
                (i, 1000 + i, f"player {i}", f"Player {i}", stamp, stamp, stamp, stamp, stamp)
                for i in range(1, MEMBERS + 1)
            ],
        )
    rows = []
    for n in range(first_id, first_id + lines):
        posted = (T0 + timedelta(minutes=n)).replace(tzinfo=None).isoformat(" ", "microseconds")
        member = n % MEMBERS + 1
        rows.append((n, n, posted, member, f"player {member}", f"Player {member}", "hi", posted))
    con.executemany(
        "INSERT INTO relay_messages (id, clan_id, message_id, part, channel_id, author_id,"
        " posted_at, kind, broadcast_type, member_id, rsn_key, display_name, rank_title,"
        " account_type, text, duplicate_of, edited_at, deleted_at, source, ingested_at)"
        " VALUES (?, 1, ?, 0, 7, 9, ?, 'chat', NULL, ?, ?, ?, NULL, NULL, ?, NULL, NULL, NULL,"
        " 'live', ?)",
        rows,
    )
    con.commit()
    con.close()


def _analyzed(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            return set()
        return {t for (t,) in con.execute("SELECT DISTINCT tbl FROM sqlite_stat1")}
    finally:
        con.close()


async def _chat_count_plan(db: Database, path: Path) -> str:
    """How SQLite runs the reports' per-member chat count (the statement the repository
    sends, explained with its own parameters on a fresh connection)."""
    seen: list[tuple[str, object]] = []

    def record(conn: object, cursor: object, statement: str, params: object, *_: object) -> None:
        if "count(*)" in statement:
            seen.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.read() as session:
            window = (T0, T0 + timedelta(days=30))
            counts = await chat_lines_per_member(session, 1, [window])
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert sum(found[0] for found in counts.values()) > 0
    [(statement, params)] = seen
    con = sqlite3.connect(path)
    try:
        plan = con.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()  # type: ignore[arg-type]
    finally:
        con.close()
    return "\n".join(str(row[-1]) for row in plan)


async def test_a_never_analyzed_database_gets_statistics_and_the_member_index(
    sqlite_db: Database,
) -> None:
    path = _path(sqlite_db.url)
    _populate(path, 3_000)
    assert "relay_messages" not in _analyzed(path)
    assert await refresh_planner_statistics(sqlite_db) == ["relay_messages"]
    assert "relay_messages" in _analyzed(path)
    # Each member's lines by one seek on (clan, member, posted_at), not the whole window of
    # the clan's chat once per member.
    plan = await _chat_count_plan(sqlite_db, path)
    assert "ix_relay_messages_chat_member_posted" in plan, plan
    # Fresh now: a second call does nothing (and takes no write lock).
    assert await refresh_planner_statistics(sqlite_db) == []


async def test_statistics_are_refreshed_when_a_table_outgrows_them(sqlite_db: Database) -> None:
    path = _path(sqlite_db.url)
    _populate(path, MIN_ROWS - 1)
    assert await refresh_planner_statistics(sqlite_db) == []  # too small to matter yet
    _populate(path, 500, first_id=MIN_ROWS)
    assert await refresh_planner_statistics(sqlite_db) == ["relay_messages"]
    _populate(path, 200, first_id=MIN_ROWS + 500)  # 800 rows: not twice the 599
    assert await refresh_planner_statistics(sqlite_db) == []
    _populate(path, 1_000, first_id=MIN_ROWS + 700)
    assert await refresh_planner_statistics(sqlite_db) == ["relay_messages"]


async def test_every_start_analyzes_a_grown_database(sqlite_db: Database) -> None:
    """The schema check of every start (``upgrade``) refreshes outgrown statistics, so a
    database filled by an older version or by hand is fixed by the next start."""
    path = _path(sqlite_db.url)
    _populate(path, 1_000)
    await upgrade(sqlite_db)
    assert "relay_messages" in _analyzed(path)


async def test_postgresql_keeps_its_own_statistics(migrated_pg_url: str) -> None:
    db = Database.from_url(migrated_pg_url)
    try:
        assert await refresh_planner_statistics(db) == []
    finally:
        await db.dispose()


async def test_a_job_that_grew_the_tables_leaves_fresh_statistics(sqlite_db: Database) -> None:
    """The bot's jobs (a sync, a backfill) are what grow the tables: each one ends with the
    check, so the officers' commands never run on a planner that is guessing."""
    path = _path(sqlite_db.url)
    wom = HttpWomClient("http://127.0.0.1:9", None, "tests", timeout_s=1.0)
    app = App(db=sqlite_db, wom=wom, clock=lambda: T0)

    async def work() -> tuple[dict[str, int], None]:
        _populate(path, 2_000)  # what a backfill of a busy channel stores
        return {"stored": 2_000}, None

    try:
        result = await run_job(app, "relay.backfill", "2025-12-01", work)
        assert result.outcome == "ok"
        assert "relay_messages" in _analyzed(path)
    finally:
        await wom.close()


async def test_a_start_that_cannot_write_the_statistics_goes_on(sqlite_db: Database) -> None:
    """Statistics are an optimisation: a start whose write is refused (another process holds
    the write lock past the busy timeout; a read-only file) says so and goes on."""
    path = _path(sqlite_db.url)
    _populate(path, 1_000)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    impatient = Database.from_url(f"sqlite:///{path}?timeout=0.2")
    try:
        with capture_logs() as logs:
            await upgrade(impatient)
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
            "db.statistics_not_refreshed"
        ]
        assert "relay_messages" not in _analyzed(path)
    finally:
        holder.rollback()
        holder.close()
        await impatient.dispose()
    # The next start, with the lock free, does it.
    await upgrade(sqlite_db)
    assert "relay_messages" in _analyzed(path)
