"""The WOM sync against the fake WOM over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import App
from bot.core.logging import configure_logging
from bot.usecases.harvest import compile_relay_config, ingest
from bot.usecases.reports import member_rows, player_profile, unmatched
from bot.usecases.sync import SyncOptions, run_sync
from domain.relay import RelayMessageIn
from fakes.wom import FakeWom, Fault
from storage.models import MemberAlias, MemberEvent, RelayMessage, Snapshot
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


# --- membership periods and names over time (docs/metrics.md) --------------------------------

RELAY_BOT = 1_144_000_000_000_000_001
RELAY_CHANNEL = 1_100_000_000_000_000_777


def chat_line(message_id: int, name: str, at: datetime) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=message_id,
        channel_id=RELAY_CHANNEL,
        author_id=RELAY_BOT,
        author_name="Osrs clanchat",
        is_bot=True,
        webhook_id=RELAY_BOT,
        content=f"**{name}**: hello",
        embeds=(),
        posted_at=at,
    )


async def test_the_first_roster_gives_every_member_a_join_dated_by_wom(
    wom: FakeWom, db_url: str
) -> None:
    """The first sync is an import: each member's membership starts at WOM's date for it
    (announced already, never as 303 joins), so "member as of T" works for past T."""
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        async with app.db.read() as s:
            joins = [
                (e.member_id, e.occurred_at, e.new_value, e.announced_at is not None)
                for e in (
                    await s.execute(select(MemberEvent).where(MemberEvent.kind == "joined"))
                ).scalars()
            ]
        stored = await members(app)
        clan = next(iter(stored.values())).clan_id
        before = await member_rows(app, clan, ["7d"], datetime(2025, 12, 20, 12, tzinfo=UTC))
        after = await member_rows(app, clan, ["7d"], datetime(2025, 12, 20, 18, tzinfo=UTC))
    recorded = fixture_members(MORNING)
    marty = stored[1714811]
    assert len(joins) == len({m for m, *_ in joins}) == 303  # one join each
    assert (marty.id, datetime(2025, 2, 14, 12, 45, 18, 239000, tzinfo=UTC), "owner", True) in joins
    assert all(announced for *_, announced in joins)
    # Six members joined on 2025-12-20 at 17:34: not members at noon, members at 18:00.
    late = {pid for pid, m in recorded.items() if m["createdAt"].startswith("2025-12-20T17:34")}
    assert len(late) == 6
    ids_late = {stored[pid].id for pid in late}
    assert not ids_late & {r.member_id for r in before}
    assert ids_late <= {r.member_id for r in after}


async def test_a_rejoin_starts_a_new_membership_period_and_rank_clock(
    wom: FakeWom, db_url: str
) -> None:
    """Three members leave and come back: WOM's membership date is older than the leave, so
    the period starts at the sync that saw them back. In between they are out of the clan;
    afterwards their tenure counts from the rejoin, their total time from both periods."""
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.keep_only_members(300)
        clock.advance(hours=1)
        await run_sync(app, SYNC)
        left_at = clock.now
        wom.keep_only_members(None)
        clock.advance(hours=1)
        result = await run_sync(app, SYNC)
        back_at = clock.now
        stored = await members(app)
        tyche = stored[2697644]
        async with app.db.read() as s:
            kinds = [
                (e.kind, e.occurred_at, e.source)
                for e in (
                    await s.execute(
                        select(MemberEvent)
                        .where(MemberEvent.member_id == tyche.id)
                        .order_by(MemberEvent.occurred_at)
                    )
                ).scalars()
            ]
        away = await member_rows(app, tyche.clan_id, ["7d"], left_at + timedelta(minutes=30))
        profile = await player_profile(app, tyche.clan_id, "tyche33", back_at + timedelta(days=2))
    joined_first = datetime(2025, 12, 20, 17, 34, 49, 537000, tzinfo=UTC)
    assert result.value.rejoined == 3
    assert kinds == [
        ("joined", joined_first, "wom_activity"),
        ("left", left_at, "roster_diff"),
        ("rejoined", back_at, "roster_diff"),
    ]
    assert tyche.id not in {r.member_id for r in away}
    assert profile.joined_at == back_at and profile.left_at is None
    first_period = (left_at - joined_first).total_seconds() / 86_400
    assert profile.days_in_clan == pytest.approx(first_period + 2)


async def test_a_rename_the_roster_shows_first_is_dated_again_when_wom_lists_it(
    wom: FakeWom, db_url: str
) -> None:
    """Marty renames at 10:00 but WOM's name-change list does not show it yet: the sync at
    11:05 sees only a new name in the roster, so the old name is his until the last sync
    that still saw it (09:05). Lines already stored under his new name are credited to him
    at once; when WOM lists the rename, its exact time replaces the guess."""
    clock = Clock()
    config = compile_relay_config([RELAY_BOT], {})
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        first_sync = clock.now
        clan = next(iter((await members(app)).values())).clan_id
        renamed_at = datetime(2025, 12, 23, 10, tzinfo=UTC)
        lines = [
            chat_line(1, "partymarty94", datetime(2025, 12, 23, 9, 30, tzinfo=UTC)),
            chat_line(2, "Party Marty", datetime(2025, 12, 23, 10, 30, tzinfo=UTC)),
        ]
        await ingest(app, clan, lines, source="live", config=config)
        assert [u.rsn_key for u in (await unmatched(app, clan))] == ["party marty"]

        wom.rename_player(1714811, "Party Marty", renamed_at, in_feed=False)
        clock.advance(hours=2)
        first = await run_sync(app, SYNC)
        marty = (await members(app))[1714811]
        aliases_then = await _aliases(app, marty.id)
        credited = await _credited(app)

        wom.publish_rename(1714811)
        clock.advance(hours=1)
        second = await run_sync(app, SYNC)
        aliases_now = await _aliases(app, marty.id)
        left_over = await unmatched(app, clan)
        async with app.db.read() as s:
            renames = (
                await s.execute(
                    select(MemberEvent.source, MemberEvent.announced_at.is_not(None))
                    .where(MemberEvent.kind == "renamed")
                    .order_by(MemberEvent.id)
                )
            ).all()
    assert first.value.renamed == 1 and first.value.name_changes_new == 0
    assert aliases_then == [("partymarty94", first_sync, "roster_diff")]
    assert credited == {1: marty.id, 2: marty.id}
    assert second.value.name_changes_new == 1
    assert aliases_now == [("partymarty94", renamed_at, "wom_name_change")]
    assert left_over == []
    # Announced once: the roster's rename is news, WOM's later listing of it is not.
    assert [tuple(r) for r in renames] == [("roster_diff", False), ("wom_name_change", True)]


async def _aliases(app: App, member_id: int) -> list[tuple[str, datetime | None, str]]:
    async with app.db.read() as s:
        rows = await s.execute(
            select(MemberAlias.rsn_key, MemberAlias.changed_at, MemberAlias.source).where(
                MemberAlias.member_id == member_id
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _credited(app: App) -> dict[int, int | None]:
    async with app.db.read() as s:
        rows = await s.execute(select(RelayMessage.message_id, RelayMessage.member_id))
        return {m: member for m, member in rows}


async def test_overlapping_syncs_run_one_after_the_other_so_older_data_never_wins(
    wom: FakeWom, db_url: str
) -> None:
    """The startup catch-up and an officer's /sync can start together. The first fetches
    the roster, then waits on a slow WOM; meanwhile Marty renames and three members leave,
    and the second starts. Applied in the order they finish, the first's older roster would
    undo the rename and bring the three back; one at a time, the newer roster is the last."""
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        clock.advance(hours=1)
        wom.inject(Fault.timeout(delay_s=1.0), path_prefix="/groups/11114/activity")
        seen = len(wom.requests)
        first = asyncio.create_task(run_sync(app, SYNC, slot="startup"))
        for _ in range(500):  # until the first sync is waiting on WOM's activity feed
            if any(r.path.endswith("/activity") for r in wom.requests[seen:]):
                break
            await asyncio.sleep(0.01)
        wom.rename_player(1714811, "Party Marty", clock.now)
        wom.keep_only_members(300)
        second = await run_sync(app, SYNC, slot="manual")
        await first
        stored = await members(app)
        async with app.db.read() as s:
            events = [
                (e.kind, e.old_value, e.new_value)
                for e in (
                    await s.execute(
                        select(MemberEvent).where(
                            MemberEvent.kind.in_(["renamed", "left", "rejoined"])
                        )
                    )
                ).scalars()
            ]
    assert second.outcome == "ok"
    assert stored[1714811].display_name == "Party Marty"
    assert sum(1 for m in stored.values() if m.left_at is not None) == 3
    assert sorted(k for k, *_ in events) == ["left", "left", "left", "renamed"]
    assert ("renamed", "partymarty94", "Party Marty") in events
