"""WOM schema drift never corrupts the roster, and a slowly eroding roster is held at the
rolling departure limit until an officer confirms it: the sync against the fake WOM serving
the recorded clan over real sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import App
from bot.cli import main
from bot.core.logging import configure_logging
from bot.usecases.announce import (
    mark_hold_notice_announced,
    pending_hold_notice,
    pending_roster_changes,
)
from bot.usecases.sync import SyncReport, confirm_departures, run_sync
from fakes.wom import DEFAULT_API_KEYS, FakeWom
from storage.models import HeldDeparture, MemberEvent
from tests.bot.sync_helpers import MORNING, SYNC, Clock, app_on, fixture_members, members

MARTY = 1714811  # the owner


@pytest.fixture
async def wom() -> FakeWom:
    async with FakeWom(rate_window_s=1.0) as fake:
        yield fake


async def _sync(app: App, clock: Clock, slot: str | None = None, **advance: float) -> SyncReport:
    clock.advance(**(advance or {"hours": 1}))
    result = await run_sync(app, SYNC, slot=slot)
    assert result.outcome == "ok", result.error
    assert result.value is not None
    return result.value


async def _events(app: App) -> list[tuple[str, str, str | None, str | None]]:
    async with app.db.read() as s:
        rows = await s.execute(
            select(
                MemberEvent.kind, MemberEvent.source, MemberEvent.old_value, MemberEvent.new_value
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _logged(out: io.StringIO, event: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


# --- fields WOM did not send ----------------------------------------------------------------


async def test_a_roster_without_role_changes_no_rank_and_announces_nothing(
    wom: FakeWom, db_url: str
) -> None:
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    clock = Clock()
    recorded = {pid: m["role"] for pid, m in fixture_members(MORNING).items()}
    async with app_on(wom, db_url, clock) as app:
        first = await run_sync(app, SYNC)
        assert first.value is not None
        events_before = await _events(app)

        wom.drop_optional_field("role")
        drifted = await _sync(app, clock)
        roles_then = {pid: m.role for pid, m in (await members(app)).items()}
        pending = await pending_roster_changes(app, first.value.clan_id)

        wom.clear_drift()
        restored = await _sync(app, clock)
        roles_now = {pid: m.role for pid, m in (await members(app)).items()}
        events_after = await _events(app)

    assert drifted.role_changed == 0 and drifted.new_event_ids == []
    assert drifted.ignored == {"memberships without a role (kept the stored rank)": 303}
    assert "303 memberships without a role (kept the stored rank)" in drifted.summary()
    assert roles_then == recorded and roles_then[MARTY] == "owner"
    assert pending == []  # no "owner → ?"
    assert restored.role_changed == 0 and restored.new_event_ids == [] and not restored.ignored
    assert roles_now == recorded
    assert events_after == events_before
    warned = _logged(out, "sync.wom_data_ignored")
    assert len(warned) == 1  # once per sync, not once per member
    assert warned[0]["memberships without a role (kept the stored rank)"] == 303


async def test_ranks_first_unknown_are_learnt_without_a_rank_change(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    wom.drop_optional_field("role")
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        unknown = {m.role for m in (await members(app)).values()}
        wom.clear_drift()
        learnt = await _sync(app, clock)
        roles = {pid: m.role for pid, m in (await members(app)).items()}
    assert unknown == {None}
    assert learnt.role_changed == 0 and learnt.new_event_ids == []
    assert roles[MARTY] == "owner"


async def test_a_feed_without_created_at_adds_no_event_however_often_it_is_read(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        before = await _events(app)
        wom.drop_feed_field("activity", "createdAt")
        reports = [await _sync(app, clock) for _ in range(2)]
        after = await _events(app)
    for report in reports:
        assert report.activity_new == 0 and report.new_event_ids == []
        assert report.ignored == {"activity events without a time": 50}
        assert "50 activity events without a time" in report.summary()
    assert after == before


async def test_a_rank_never_seen_keeps_the_stored_one_and_a_real_promotion_still_counts(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    members_now = fixture_members(MORNING)
    zenyte = next(pid for pid, m in members_now.items() if m["role"] == "zenyte")
    promoted = next(pid for pid, m in members_now.items() if m["role"] == "prospector")
    async with app_on(wom, db_url, clock) as app:
        first = await run_sync(app, SYNC)
        assert first.value is not None
        wom.patch_membership(MARTY, values={"role": "grand_poobah"})
        wom.patch_membership(zenyte, values={"role": 42})
        wom.patch_membership(promoted, values={"role": "zenyte"})
        wom.add_activity(
            "changed_role",
            MARTY,
            created_at=datetime(2025, 12, 23, 9, 30, tzinfo=UTC),
            role="grand_poobah",
            previous_role="owner",
        )
        report = await _sync(app, clock)
        stored = await members(app)
        lines = await pending_roster_changes(app, first.value.clan_id)
    assert stored[MARTY].role == "owner" and stored[zenyte].role == "zenyte"
    assert stored[promoted].role == "zenyte"
    assert report.role_changed == 1
    assert [(x.kind, x.old_value, x.new_value) for x in lines] == [
        ("role_changed", "prospector", "zenyte")
    ]
    assert report.ignored == {
        "memberships with an unknown role (kept the stored rank)": 1,
        "memberships without a role (kept the stored rank)": 1,
        "rank changes without both ranks": 1,
    }


async def test_player_fields_wom_did_not_send_keep_the_stored_values(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        before = (await members(app))[MARTY]
        for name in ("type", "build", "status", "createdAt", "updatedAt", "lastChangedAt"):
            wom.drop_optional_field(name)
        wom.drop_group_field("roleOrders")
        report = await _sync(app, clock)
        after = (await members(app))[MARTY]
        async with app.db.read() as s:
            from storage.models import Clan

            clan = (await s.execute(select(Clan))).scalar_one()
    for attr in ("account_type", "build", "status", "joined_at", "wom_updated_at"):
        assert getattr(after, attr) == getattr(before, attr), attr
    assert after.account_type == "regular" and after.status == "active"
    assert len(clan.role_order) == 27 and clan.role_order[0] == "owner"
    assert report.ignored == {
        "group without roleOrders (kept the stored rank order)": 1,
        # the fake dates its joined events by the memberships' createdAt: gone too
        "activity events without a time": 50,
    }


# --- names and unreadable entries -------------------------------------------------------------


async def test_unreadable_or_misnamed_memberships_are_skipped_counted_and_never_leave(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    ids = list(fixture_members(MORNING))
    misnamed, nameless = ids[5], ids[6]
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        names = {pid: m.display_name for pid, m in (await members(app)).items()}
        wom.patch_membership(
            misnamed, player_values={"displayName": "x" * 30, "username": "y" * 30}
        )
        wom.patch_membership(nameless, player_remove={"username", "displayName"})
        report = await _sync(app, clock)
        stored = await members(app)
    assert report.left == 0 and report.departures_refused == 0 and report.renamed == 0
    assert all(m.left_at is None for m in stored.values())
    assert stored[misnamed].display_name == names[misnamed]
    assert report.ignored == {
        "memberships with an invalid name": 1,
        "unreadable memberships": 1,
    }
    assert report.members == 303


async def test_an_entry_tied_to_no_player_holds_every_departure_without_asking_officers(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    anonymous = next(iter(fixture_members(MORNING)))
    async with app_on(wom, sqlite_url, clock) as app:
        first = await run_sync(app, SYNC)
        assert first.value is not None
        wom.keep_only_members(300)
        wom.patch_membership(anonymous, remove={"playerId"}, player_remove={"id"})
        report = await _sync(app, clock)
        stored = await members(app)
        notice = await pending_hold_notice(app, first.value.clan_id)
    # The 3 missing members and the one WOM's entry no longer names: any could be that entry.
    assert report.left == 0 and report.departures_refused == 4 and report.departures_held == 0
    assert report.refusal_reason == "1 roster entries could not be tied to a player"
    assert all(m.left_at is None for m in stored.values())
    assert notice is None  # WOM's fault, nothing an officer could confirm


async def test_a_rename_feed_without_times_is_ignored_and_the_roster_still_dates_it(
    wom: FakeWom, db_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, db_url, clock) as app:
        await run_sync(app, SYNC)
        wom.rename_player(MARTY, "Party Marty", datetime(2025, 12, 23, 10, tzinfo=UTC))
        wom.drop_feed_field("name-changes", "resolvedAt")
        report = await _sync(app, clock)
        again = await _sync(app, clock)
        events = await _events(app)
    assert report.renamed == 1 and report.name_changes_new == 0
    assert report.ignored == {"name changes without a time": 1}
    assert again.new_event_ids == [] and again.ignored == {"name changes without a time": 1}
    assert [e for e in events if e[0] == "renamed"] == [
        ("renamed", "roster_diff", "partymarty94", "Party Marty")
    ]


# --- the rolling departure guard --------------------------------------------------------------


async def test_an_eroding_roster_is_held_at_the_rolling_limit_until_an_officer_confirms(
    wom: FakeWom, db_url: str
) -> None:
    """250 → 205 → 168 → 140 members, an hour apart: each step is under 20 % of the roster
    before it, but not of the clan a day ago."""
    clock = Clock()
    wom.keep_only_members(250)
    async with app_on(wom, db_url, clock) as app:
        first = await run_sync(app, SYNC)
        assert first.value is not None
        clan_id = first.value.clan_id

        wom.keep_only_members(205)
        step1 = await _sync(app, clock)

        wom.keep_only_members(168)
        held = await _sync(app, clock)
        active_held = sum(1 for m in (await members(app)).values() if m.left_at is None)
        notice = await pending_hold_notice(app, clan_id)
        assert notice is not None
        await mark_hold_notice_announced(app, notice)
        held_again = await _sync(app, clock)  # still missing: held, not announced twice
        repeat_notice = await pending_hold_notice(app, clan_id)

        confirmation = await confirm_departures(app, SYNC.group_id, by="test-officer")
        applied = await _sync(app, clock, "confirm-1", minutes=5)
        leaves = [
            line for line in await pending_roster_changes(app, clan_id) if line.kind == "left"
        ]

        wom.keep_only_members(140)
        held_later = await _sync(app, clock)
        clock.advance(hours=24)
        after_a_day = await _sync(app, clock)
        stored = await members(app)
        async with app.db.read() as s:
            holds = list((await s.execute(select(HeldDeparture))).scalars())

    assert step1.left == 45 and step1.refusal_reason is None
    assert held.left == 0 and held.departures_held == 37
    assert held.refusal_reason is not None
    assert "82 of 250 members would have left within 24 h" in held.refusal_reason
    assert "/sync confirm-departures" in held.summary()
    assert active_held == 205
    assert len(notice.names) == 37 and notice.pending == 37
    assert held_again.departures_held == 37 and repeat_notice is None

    assert confirmation is not None and confirmation.confirmed == 37
    assert applied.left == 37 and applied.departures_confirmed == 37
    assert applied.refusal_reason is None
    assert len(leaves) == 45 + 37  # the confirmed departures are announced like any other

    # Confirmed departures do not count against the window; the unconfirmed 45 still do.
    assert held_later.left == 0 and held_later.departures_held == 28
    assert "73 of 213 members" in (held_later.refusal_reason or "")
    # A day later the window holds none of them: 28 of 168 is under 20 %.
    assert after_a_day.left == 28 and after_a_day.refusal_reason is None
    assert sum(1 for m in stored.values() if m.left_at is None) == 140
    outcomes = Counter((h.outcome, h.confirmed_by) for h in holds)
    assert outcomes == {("applied", None): 28, ("applied", "test-officer"): 37}


async def test_a_held_member_back_in_the_roster_is_released_not_marked_left(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        wom.keep_only_members(200)  # 103 of 303 at once: held
        held = await _sync(app, clock)
        wom.keep_only_members(None)
        back = await _sync(app, clock)
        confirmation = await confirm_departures(app, SYNC.group_id, by="test-officer")
        async with app.db.read() as s:
            outcomes = {h.outcome for h in (await s.execute(select(HeldDeparture))).scalars()}
        stored = await members(app)
    assert held.departures_held == 103 and "would leave at once" in (held.refusal_reason or "")
    assert back.left == 0 and back.departures_held == 0
    assert outcomes == {"returned"}
    assert confirmation is not None and confirmation.summary().startswith("No departures")
    assert all(m.left_at is None for m in stored.values())


async def test_confirming_before_any_sync_says_so(wom: FakeWom, sqlite_url: str) -> None:
    async with app_on(wom, sqlite_url, Clock()) as app:
        assert await confirm_departures(app, SYNC.group_id, by="cli") is None


def _env(monkeypatch: pytest.MonkeyPatch, wom: FakeWom, url: str) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_WOM_BASE_URL", wom.base_url)
    monkeypatch.setenv("CLANSTATS_WOM_API_KEY", DEFAULT_API_KEYS[0])
    monkeypatch.setenv("CLANSTATS_WOM_RATE_WINDOW_S", "1")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "ERROR")


async def test_clanstats_sync_confirm_departures_applies_them_at_once(
    wom: FakeWom,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    _env(monkeypatch, wom, sqlite_url)

    async def cli(*argv: str) -> int:
        return await asyncio.to_thread(main, list(argv))

    assert await cli("sync", "confirm-departures") == 1
    assert "never synced" in capsys.readouterr().err
    assert await cli("sync", "--once") == 0
    wom.keep_only_members(200)
    assert await cli("sync", "--once") == 0
    held = capsys.readouterr().out
    assert "103 departures NOT applied" in held
    assert "clanstats sync confirm-departures" in held
    assert await cli("sync", "confirm-departures") == 0
    done = capsys.readouterr().out
    assert "Confirmed 103 held departures" in done
    assert "200 members" in done and "103 left" in done
    assert await cli("sync", "confirm-departures") == 0
    assert "nothing to confirm" in capsys.readouterr().out
    assert await cli("sync") == 2
    assert "--once" in capsys.readouterr().err


async def test_a_group_without_memberships_fails_the_sync_and_changes_nothing(
    wom: FakeWom, sqlite_url: str
) -> None:
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        before = {pid: (m.role, m.left_at) for pid, m in (await members(app)).items()}
        wom.drop_group_field("memberships")
        clock.advance(hours=1)
        failed = await run_sync(app, SYNC)
        wom.clear_drift()
        wom.drop_feed_field("activity", "player")
        skipped = await _sync(app, clock)
        after = {pid: (m.role, m.left_at) for pid, m in (await members(app)).items()}
    assert failed.outcome == "failed" and "memberships" in (failed.error or "")
    assert skipped.ignored == {"unreadable activity entries": 50}
    assert after == before


async def test_players_without_usernames_everywhere_change_nothing(
    wom: FakeWom, sqlite_url: str
) -> None:
    """WOM renames ``username`` one day: every membership, hiscores row and activity entry
    is unreadable. Nobody leaves, nothing changes, and the sync says what it skipped."""
    clock = Clock()
    async with app_on(wom, sqlite_url, clock) as app:
        await run_sync(app, SYNC)
        before = {
            pid: (m.display_name, m.role, m.left_at) for pid, m in (await members(app)).items()
        }
        events = await _events(app)
        wom.drop_optional_field("username")
        report = await _sync(app, clock)
        after = {
            pid: (m.display_name, m.role, m.left_at) for pid, m in (await members(app)).items()
        }
        events_after = await _events(app)
    assert report.members == 303 and report.left == 0 and report.refusal_reason is None
    assert report.ignored == {
        "unreadable memberships": 303,
        "unreadable bulk-hiscores entries": 303,
        "unreadable activity entries": 50,
    }
    assert after == before and events_after == events
