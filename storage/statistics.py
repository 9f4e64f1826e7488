"""The SQLite query planner's statistics: kept fresh as the tables grow.

SQLite picks an index per query from the statistics ``ANALYZE`` leaves in ``sqlite_stat1``;
with none, it guesses. On a database that was never analyzed it guesses wrong for the reports'
per-member chat counts: it walks the whole window of every chat line once *per member*
(``(clan, kind, posted_at)``) instead of seeking each member's lines
(``(clan, member, posted_at)``). Measured on a 303-member clan after a 30-minute soak (36,001
lines): an officer's ``/clan audit`` took 2.6 s, 89 ms once analyzed; the cost grows with
members × lines, so a clan's commands got slower every day until the bot could not keep up.

:func:`refresh_planner_statistics` runs a sampled ``ANALYZE`` (``PRAGMA analysis_limit``, as
SQLite's documentation recommends for applications: milliseconds, even on millions of rows)
when a watched table has rows but no statistics, or has grown to more than twice the rows
its statistics describe. Every start checks (:func:`storage.migrate.upgrade`), the bot checks
after each job (a sync, a backfill, the daily report) and an import at its end. PostgreSQL
keeps its own statistics (autovacuum's analyze): nothing to do there.
"""

from __future__ import annotations

from typing import Final

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.engine import Database
from storage.errors import unavailable_reason

log = structlog.get_logger(__name__)

#: Index entries ``ANALYZE`` samples per index (SQLite suggests a few hundred to a thousand).
ANALYSIS_LIMIT: Final = 1000
#: The tables the reports read by index, which grow as the clan lives.
WATCHED: Final = ("relay_messages", "snapshots", "snapshot_gains", "member_events")
#: Below this many rows any plan is fast: no need to analyze yet.
MIN_ROWS: Final = 100
#: Analyze again once a table holds more than this many times the rows last analyzed.
GROWTH: Final = 2.0


async def _stale_tables(session: AsyncSession) -> list[str]:
    """The watched tables whose statistics are missing or describe a much smaller table."""
    has_stats = (
        await session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        )
    ).first() is not None
    analyzed: dict[str, int] = {}
    if has_stats:
        for table, stat in (
            await session.execute(text("SELECT tbl, stat FROM sqlite_stat1"))
        ).all():
            first = str(stat or "").split(" ", 1)[0]
            if first.isdigit():
                analyzed[table] = max(analyzed.get(table, 0), int(first))
    stale: list[str] = []
    for table in WATCHED:
        # The highest rowid: one seek, an estimate of the rows (ids only grow).
        rows = (await session.execute(text(f"SELECT max(rowid) FROM {table}"))).scalar()
        if rows is None or int(rows) < MIN_ROWS:
            continue
        known = analyzed.get(table)
        if known is None or int(rows) > GROWTH * known:
            stale.append(table)
    return stale


async def refresh_planner_statistics(db: Database) -> list[str]:
    """Analyze (sampled) when a watched table's statistics are missing or outgrown (SQLite;
    nothing on PostgreSQL); the stale tables found, empty when nothing was done. A read
    first, so a database whose statistics are fresh (nearly always) takes no write lock."""
    if db.dialect != "sqlite":
        return []
    async with db.read() as session:
        stale = await _stale_tables(session)
    if not stale:
        return []
    async with db.write() as session:
        await session.execute(text(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}"))
        await session.execute(text("ANALYZE"))
    log.info("db.statistics_refreshed", tables=stale)
    return stale


async def refresh_planner_statistics_quietly(db: Database) -> list[str]:
    """:func:`refresh_planner_statistics` for a caller it must never stop (a start, a job, an
    import: statistics are only an optimisation): a failure is one warning line and the
    next start or job tries again."""
    try:
        return await refresh_planner_statistics(db)
    except Exception as exc:
        reason = unavailable_reason(exc) or f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        log.warning("db.statistics_not_refreshed", reason=reason)
        return []
