"""Every officer answer equals the reference model's, over generated clan histories.

The reference model (:mod:`tests.model.reference`) is written from docs/metrics.md and shares
no code with the queries. Each generated history is written into a real database (a SQLite
file, or PostgreSQL) in one of several orders, and the export rows, the /clan lists,
/player, /leaderboard, the unmatched names and the daily report's figures are compared.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.reports import (
    daily_report,
    findings,
    leaderboard,
    member_rows,
    player_profile,
    unmatched,
)
from domain.names import name_key
from domain.ranks import RankConfig
from domain.report import day_periods
from storage.engine import Database
from storage.migrate import upgrade
from tests.model import reference as model
from tests.model.histories import (
    LADDER,
    ORDERS,
    RULES,
    clear,
    describe,
    histories,
    write,
)

DAY = model.DAY
TZ = ZoneInfo("UTC")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


async def check(app: App, history: model.History, order: str) -> None:
    """Write ``history`` in ``order`` and compare every answer with the model's."""
    await clear(app)
    clan_id = await write(app, history, order)
    ranks = RankConfig.from_role_order(history.role_order)
    as_of = history.as_of
    members = {a.member_id: a for a in model.members_as_of(history, as_of)}
    names = {a.member_id: a.name for a in history.accounts}

    # Export rows: who is a member, their lines, broadcasts, gains and times per window.
    windows = {"1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY}
    if not members:
        return  # the use cases refuse a clan with no member (checked elsewhere)
    rows = {r.member_id: r for r in await member_rows(app, clan_id, list(windows), as_of)}
    assert set(rows) == set(members), "members as of the moment"
    for mid, a in members.items():
        row = rows[mid]
        assert row.role == model.rank_as_of(a, as_of), f"rank of {names[mid]}"
        assert row.joined_at == model.periods(a)[model.period_of(a, as_of) or 0][0]
        for label, length in windows.items():
            start = as_of - length
            lines = model.lines_of(history, mid, start, as_of, "chat")
            casts = model.lines_of(history, mid, start, as_of, "broadcast")
            g = model.gains(a, start, as_of)
            assert row.messages[label] == len(lines), f"{names[mid]} lines {label}"
            assert row.broadcasts[label] == len(casts), f"{names[mid]} broadcasts {label}"
            assert row.xp_gained[label] == g.xp, f"{names[mid]} xp {label}"
            assert row.boss_kills_gained[label] == g.boss_kills, f"{names[mid]} kills {label}"
            assert _close(row.ehp_gained[label], round(g.ehp, 4)), f"{names[mid]} ehp {label}"
        assert row.last_chat_at == model.last_chat(history, mid, as_of), names[mid]
        assert row.last_progress_at == model.last_progress(a, as_of), names[mid]

    # The /clan lists.
    purge = await findings(app, clan_id, "inactive", as_of, RULES)
    expected = model.inactive(
        history, ranks, as_of - 60 * DAY, as_of, RULES.inactive_min_tenure_days
    )
    assert {f.member_id for f in purge} == expected, "purge list"
    audit = await findings(app, clan_id, "audit", as_of, RULES)
    want = model.audit(history, ranks, as_of - 30 * DAY, as_of, RULES.slacking_ratio)
    assert {f.member_id: f.kind.removeprefix("officer_") for f in audit} == want, "audit"
    promoted = await findings(app, clan_id, "promotions", as_of, RULES)
    got = {f.member_id: (f.numbers["to_rank"], f.numbers["days_in_rank"]) for f in promoted}
    assert got == model.promotions(history, ranks, as_of - 30 * DAY, as_of, LADDER), "promotions"

    # Leaderboards.
    boards = [("xp", "7d", 7 * DAY), ("chat", "7d", 7 * DAY)]
    if any(a.snapshots for a in history.accounts):  # a boss is known once WOM gave stats
        boards.append(("zulrah", "30d", 30 * DAY))
    for metric, label, length in boards:
        board = await leaderboard(app, clan_id, metric, label, as_of, limit=50)
        mine = [(e.display_name, e.value) for e in board.entries]
        assert mine == model.leaderboard(history, metric, as_of - length, as_of), (
            f"leaderboard {metric} {label}"
        )

    # /player by each member's current name.
    for mid, a in members.items():
        profile = await player_profile(app, clan_id, a.name, as_of)
        if profile.member_id != mid:
            # Another member holds that name as of now (a reused name): the profile is theirs.
            assert model.holder(history, name_key(a.name), as_of) == profile.member_id
            continue
        for label, length in (("7d", 7 * DAY), ("30d", 30 * DAY)):
            start = as_of - length
            assert profile.chat_lines[label] == len(
                model.lines_of(history, mid, start, as_of, "chat")
            )
            assert profile.gains[label].xp == model.gains(a, start, as_of).xp
        assert _close(profile.days_in_clan, model.days_in_clan(a, as_of))

    # Unmatched names: lines and broadcasts apart.
    found = {u.rsn_key: (u.lines, u.broadcasts) for u in await unmatched(app, clan_id)}
    assert found == model.unmatched(history), "unmatched names"

    # The daily report: the pulse and the trend agree with the model and with each other.
    report = await daily_report(app, clan_id, as_of, TZ, RULES)
    start, end = day_periods(as_of, 1, TZ)[0]
    assert report.pulse.xp_gained == model.day_xp(history, start, end), "pulse XP"
    assert report.pulse.members == len(members)
    chatters = sum(1 for mid in members if model.lines_of(history, mid, start, end, "chat"))
    assert report.pulse.active_chatters == chatters
    for day in report.trend:
        if day.xp_gained is not None:
            assert day.xp_gained == model.day_xp(history, day.start, day.end), f"trend {day.day}"
    assert report.trend[-1].xp_gained in (None, report.pulse.xp_gained)


# ---------------------------------------------------------------------------------------------
# The property, on a SQLite file and on PostgreSQL


def _migrated(url: str) -> Database:
    """The database at ``url``, migrated; one per test, its pool closed after each example.

    One engine for all the examples: SQLAlchemy caches each statement's compiled form per
    engine, and an engine per example compiled every query anew (a third of the test's time).
    """
    db = Database.from_url(url)

    async def migrate() -> None:
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(migrate())
    return db


@pytest.fixture
def sqlite_template(tmp_path: Path) -> Iterator[Database]:
    yield _migrated(f"sqlite:///{tmp_path / 'model.sqlite3'}")


def _run(db: Database, history: model.History, order: str) -> None:
    members = model.members_as_of(history, history.as_of)
    event(f"members as of the moment: {min(len(members), 3)}+")
    event(f"rejoined: {any(len(model.periods(a)) > 1 for a in history.accounts)}")
    event(f"renamed: {any(a.renames for a in history.accounts)}")
    keys = [name_key(a.first_name) for a in history.accounts]
    keys += [name_key(n) for a in history.accounts for n, _ in a.renames]
    event(f"a name used by two accounts: {len(keys) != len(set(keys))}")

    async def go() -> None:
        app = App(db=db, wom=HttpWomClient("http://127.0.0.1:9"))
        try:
            await check(app, history, order)
        finally:
            await app.aclose()

    try:
        asyncio.run(go())
    except AssertionError as exc:
        raise AssertionError(f"{exc}\norder: {order}\n{describe(history)}") from exc


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), order=st.sampled_from(ORDERS))
def test_every_answer_equals_the_reference_model_on_sqlite(
    sqlite_template: Database, history: model.History, order: str
) -> None:
    _run(sqlite_template, history, order)


@pytest.fixture
def pg_template(pg_url: str) -> Iterator[Database]:
    yield _migrated(pg_url.replace("postgresql://", "postgresql+asyncpg://", 1))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), order=st.sampled_from(ORDERS))
def test_every_answer_equals_the_reference_model_on_postgresql(
    pg_template: Database, history: model.History, order: str
) -> None:
    _run(pg_template, history, order)


_ = UTC
