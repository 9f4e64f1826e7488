"""The WOM sync against the fake WOM over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.core.logging import configure_logging
from bot.usecases.sync import SyncOptions, run_sync
from fakes.wom import FakeWom, Fault
from storage.models import MemberAlias, MemberEvent, Snapshot
from tests.bot.sync_helpers import (
    EVENING,
    MORNING,
    SYNC,
    Clock,
    app_on,
    fixture_members,
    members,
    xp_by_player,
)


@pytest.fixture
async def wom() -> FakeWom:
    async with FakeWom(rate_window_s=1.0) as fake:
        yield fake


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "per-player"])
async def test_two_syncs_give_every_member_exactly_their_exp_difference(
    wom: FakeWom, db_url: str, bulk: bool
) -> None:
    wom.bulk_enabled = bulk
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        first = await run_sync(app, SYNC)
        wom.use_fixture(EVENING)
        clock.advance(hours=10, minutes=30)
        second = await run_sync(app, SYNC)
        stored = await members(app)
        xp = await xp_by_player(app)

    assert first.outcome == second.outcome == "ok"
    assert second.value.members == 303
    assert second.value.left == 0 and second.value.departures_refused == 0
    morning, evening = fixture_members(MORNING), fixture_members(EVENING)
    assert len(stored) == 303 and all(m.left_at is None for m in stored.values())
    moved = 0
    for pid, member in morning.items():
        expected = evening[pid]["player"]["exp"] - member["player"]["exp"]
        values = xp.get(pid, [])
        gained = values[-1] - values[0] if values else 0
        assert gained == expected, f"{member['player']['displayName']}: {gained} != {expected}"
        moved += expected != 0
    assert moved == 157
    if not bulk:
        # Only members whose lastChangedAt moved are fetched the second time.
        assert second.value.players_fetched == 157


async def test_a_sync_costs_at_most_five_requests_with_bulk_endpoints(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        first = await run_sync(app, SYNC)
        wom.use_fixture(EVENING)
        clock.advance(hours=1)
        second = await run_sync(app, SYNC)
    assert first.value.wom_requests <= 5
    assert second.value.wom_requests <= 5
    assert len(wom.requests) <= 10


async def test_without_bulk_a_sync_costs_one_request_per_moved_member_plus_a_constant(
    wom: FakeWom, sqlite_url: str
) -> None:
    wom.bulk_enabled = False
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        wom.use_fixture(EVENING)
        clock.advance(hours=1)
        second = await run_sync(app, SYNC)
        clock.advance(hours=1)
        third = await run_sync(app, SYNC)  # nothing moved since
    # group + activity + name changes + the 404 from bulk-hiscores = 4
    assert second.value.wom_requests <= 1 + 157 + 3
    assert third.value.wom_requests == 4
    assert third.value.snapshots_stored == 0


async def test_a_second_identical_sync_stores_no_snapshot_and_no_event(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        clock.advance(hours=1)
        again = await run_sync(app, SYNC)
    assert again.value.snapshots_stored == 0
    assert again.value.new_event_ids == []
    assert again.value.imported == 0 and again.value.joined == 0


async def test_a_duplicate_run_in_the_same_slot_is_a_no_op(wom: FakeWom, sqlite_url: str) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        first = await run_sync(app, SYNC)
        before = len(wom.requests)
        duplicate = await run_sync(app, SYNC)
    assert first.outcome == "ok"
    assert duplicate.outcome == "skipped"
    assert len(wom.requests) == before


async def test_a_429_storm_with_retry_after_is_waited_out(wom: FakeWom, db_url: str) -> None:
    wom.inject(Fault.rate_limited(retry_after_s=0.2), path_prefix="/groups/11114", times=3)
    async with app_on(wom, db_url, Clock()) as app:
        result = await run_sync(app, SYNC)
        stored = await members(app)
    assert result.outcome == "ok"
    assert len(stored) == 303
    assert sum(1 for r in wom.requests if r.status == 429) >= 3


async def test_502_pages_and_truncated_json_are_retried(wom: FakeWom, sqlite_url: str) -> None:
    wom.inject(Fault.html_error(502), path_prefix="/groups/11114", times=2)
    wom.inject(Fault.truncated_json(), path_prefix="/groups/11114/bulk-hiscores", times=1)
    async with app_on(wom, sqlite_url, Clock()) as app:
        result = await run_sync(app, SYNC)
    assert result.outcome == "ok"
    assert result.value.snapshots_stored == 301


async def test_a_wom_outage_fails_the_run_and_keeps_what_was_stored(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    async with app_on(wom, db_url, clock, wom_timeout_s=0.3) as app:
        await run_sync(app, SYNC)
        before = await xp_by_player(app)
        wom.use_fixture(EVENING)
        clock.advance(hours=1)
        wom.inject(Fault.timeout(delay_s=2.0), path_prefix="/groups/11114", times=50)
        failed = await run_sync(app, SYNC)
        after = await xp_by_player(app)
        stored = await members(app)
        async with app.db.read() as s:
            outcomes = [r[0] for r in await s.execute(select(func.count()).select_from(Snapshot))]
    assert failed.outcome == "failed"
    assert "WomUnavailable" in (failed.error or "")
    assert after == before
    assert len(stored) == 303 and all(m.left_at is None for m in stored.values())
    assert outcomes == [301]
    logged = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(line["event"] == "job.failed" for line in logged)


async def test_a_roster_listing_10_of_303_members_marks_nobody_as_left(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.keep_only_members(10)
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        stored = await members(app)
    assert result.outcome == "ok"
    assert result.value.departures_refused == 293
    assert result.value.left == 0
    assert all(m.left_at is None for m in stored.values())
    assert any(
        json.loads(line)["event"] == "sync.departures_refused"
        for line in out.getvalue().splitlines()
    )


async def test_an_empty_roster_is_refused_too(wom: FakeWom, sqlite_url: str) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        wom.keep_only_members(0)
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        stored = await members(app)
    assert result.value.refusal_reason == "the roster came back empty"
    assert all(m.left_at is None for m in stored.values())


async def test_a_few_departures_are_applied_and_kept_as_history(wom: FakeWom, db_url: str) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.keep_only_members(300)
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        stored = await members(app)
        async with app.db.read() as s:
            kinds = [
                r[0]
                for r in await s.execute(
                    select(MemberEvent.kind).where(MemberEvent.source == "roster_diff")
                )
            ]
    assert result.value.left == 3
    assert len(stored) == 303  # never deleted
    assert sum(1 for m in stored.values() if m.left_at is not None) == 3
    assert kinds.count("left") == 3


async def test_a_renamed_member_keeps_their_history_under_the_old_name(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.rename_player(1714811, "Party Marty", datetime(2025, 12, 23, 10, tzinfo=UTC))
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        stored = await members(app)
        async with app.db.read() as s:
            aliases = [
                (a.rsn_key, a.member_id) for a in (await s.execute(select(MemberAlias))).scalars()
            ]
            renames = list(
                (
                    await s.execute(select(MemberEvent).where(MemberEvent.kind == "renamed"))
                ).scalars()
            )
        xp = await xp_by_player(app)
    marty = stored[1714811]
    assert marty.display_name == "Party Marty" and marty.rsn_key == "party marty"
    assert ("partymarty94", marty.id) in aliases
    assert result.value.renamed == 1 and result.value.name_changes_new == 1
    assert len(renames) == 1 and renames[0].source == "wom_name_change"
    assert len(xp[1714811]) >= 1  # the snapshot history stayed with the player


async def test_an_unknown_new_boss_is_kept_by_name(wom: FakeWom, db_url: str) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.add_unknown_metric("the_new_boss", 12)
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        async with app.db.read() as s:
            snaps = list((await s.execute(select(Snapshot))).scalars())
    assert result.outcome == "ok"
    with_boss = [s for s in snaps if s.metrics.get("the_new_boss") == 12]
    assert len(with_boss) >= 300


async def test_missing_optional_fields_do_not_break_the_sync(wom: FakeWom, sqlite_url: str) -> None:
    for name in ("clientSyncJoinedAt", "ehb", "lastImportedAt", "build", "country"):
        wom.drop_optional_field(name)
    async with app_on(wom, sqlite_url, Clock()) as app:
        result = await run_sync(app, SYNC)
    assert result.outcome == "ok"
    assert result.value.members == 303


async def test_update_all_runs_at_most_once_a_day_and_never_logs_the_code(
    wom: FakeWom, sqlite_url: str
) -> None:
    out = io.StringIO()
    code = "123-456-789"
    coded = SyncOptions(group_id=11114, verification_code=SecretStr(code))
    configure_logging(fmt="json", stream=out, secrets=[code])
    clock = Clock()
    async with app_on(wom, sqlite_url, clock, wom_verification_code=code) as app:
        first = await run_sync(app, coded)
        clock.advance(hours=2)
        second = await run_sync(app, coded)
        clock.advance(hours=23)
        third = await run_sync(app, coded)
    assert first.value.update_all.startswith("queued")
    assert second.value.update_all.startswith("not due")
    assert third.value.update_all.startswith("queued")
    assert sum(1 for r in wom.requests if r.path.endswith("/update-all")) == 2
    assert code not in out.getvalue()
