"""The local Wise Old Man fake answers like WOM, over a real socket, from recorded payloads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from fakes.wom import DATA_DIR, DEFAULT_API_KEYS, DEFAULT_VERIFICATION_CODE, FakeWom, Fault

KEY = DEFAULT_API_KEYS[0]
MORNING = "2025-12-23T0901Z"
EVENING = "2025-12-23T1935Z"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWom]:
    async with FakeWom(rate_window_s=1.0) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"x-api-key": KEY}) as session:
        yield session


async def get(
    session: aiohttp.ClientSession, fake: FakeWom, path: str, **kwargs: Any
) -> tuple[int, dict[str, str], bytes]:
    async with session.get(fake.base_url + path, **kwargs) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def get_json(session: aiohttp.ClientSession, fake: FakeWom, path: str) -> Any:
    status, _headers, body = await get(session, fake, path)
    assert status == 200, body
    return json.loads(body)


@pytest.mark.parametrize("fixture", [MORNING, EVENING])
async def test_group_endpoint_serves_recorded_file_byte_for_byte(
    fixture: str, http: aiohttp.ClientSession
) -> None:
    async with FakeWom(fixture=fixture) as fake:
        status, headers, body = await get(http, fake, "/groups/11114")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == (DATA_DIR / f"group-11114-{fixture}.json").read_bytes()


async def test_use_fixture_switches_the_served_roster(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.use_fixture(EVENING)
    _status, _headers, body = await get(http, fake, "/groups/11114")
    assert body == (DATA_DIR / f"group-11114-{EVENING}.json").read_bytes()


async def test_name_group_serves_another_group_name_and_clan_chat(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    recorded = await get_json(http, fake, "/groups/11114")
    fake.name_group("Nevr Lucky (WOM tracking)", clan_chat=None)
    group = await get_json(http, fake, "/groups/11114")
    assert (group["name"], group["clanChat"]) == ("Nevr Lucky (WOM tracking)", None)
    assert group["memberships"] == recorded["memberships"]


async def test_unknown_group_is_404_group_not_found(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    status, _headers, body = await get(http, fake, "/groups/999")
    assert status == 404
    assert json.loads(body)["code"] == "GROUP_NOT_FOUND"


async def test_bulk_hiscores_gives_every_member_with_recorded_or_unranked_metrics(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    rows = await get_json(http, fake, "/groups/11114/bulk-hiscores")
    assert len(rows) == 303
    by_name = {row["player"]["username"]: row for row in rows}
    recorded = json.loads((DATA_DIR / "player-partymarty94-2025-12-23T0907Z.json").read_bytes())
    assert by_name["partymarty94"]["data"] == recorded["latestSnapshot"]
    other = by_name["vanvolter ii"]
    data = other["data"]["data"]
    assert data["skills"]["overall"]["experience"] == other["player"]["exp"]
    assert data["computed"]["ehp"]["value"] == other["player"]["ehp"]
    assert data["bosses"]["kraken"]["kills"] == -1
    assert other["data"]["createdAt"] == other["player"]["updatedAt"]
    assert by_name["sulkypeen"]["data"] is None  # never updated: no snapshot


async def test_bulk_hiscores_follow_every_change_of_what_is_served(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    """The encoded body is reused for an equal state only (tests/fakes: the fake's cache)."""

    def by_id(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        return {row["player"]["id"]: row for row in rows}

    first = by_id(await get_json(http, fake, "/groups/11114/bulk-hiscores"))
    pid = next(p for p, row in first.items() if row["data"] is not None)
    fake.rename_player(pid, "Fresh Name", datetime(2025, 12, 23, 10, tzinfo=UTC))
    fake.add_unknown_metric("new_boss", 7)
    changed = by_id(await get_json(http, fake, "/groups/11114/bulk-hiscores"))
    assert changed[pid]["player"]["displayName"] == "Fresh Name"
    assert {
        row["data"]["data"]["bosses"]["new_boss"]["kills"]
        for row in changed.values()
        if row["data"]
    } == {7}
    fake.keep_only_members(10)
    assert len(await get_json(http, fake, "/groups/11114/bulk-hiscores")) == 10
    fake.keep_only_members(None)
    fake.use_fixture(EVENING)
    evening = by_id(await get_json(http, fake, "/groups/11114/bulk-hiscores"))
    assert evening[pid]["player"]["displayName"] == "Fresh Name"
    assert sum(evening[p]["player"]["exp"] != changed[p]["player"]["exp"] for p in evening) == 157
    async with FakeWom(rate_window_s=1.0) as other:  # a new fake serves its own state
        again = by_id(await get_json(http, other, "/groups/11114/bulk-hiscores"))
    assert again == first


async def test_bulk_endpoints_answer_404_when_disabled_like_older_deployments(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.bulk_enabled = False
    for path in ("/groups/11114/bulk-hiscores", "/groups/11114/bulk-gained?period=day"):
        status, _headers, _body = await get(http, fake, path)
        assert status == 404


async def test_bulk_gained_shows_the_157_members_who_gained_xp_between_recordings(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.use_fixture(EVENING)
    rows = await get_json(http, fake, "/groups/11114/bulk-gained?period=day")
    overall = [d for row in rows for d in row["data"] if d["metric"] == "overall"]
    assert len(overall) == 301  # the two never-updated members have no snapshot
    assert sum(1 for d in overall if d["gained"] > 0) == 157
    status, _headers, _body = await get(http, fake, "/groups/11114/bulk-gained?period=nonsense")
    assert status == 400


async def test_naive_loop_of_21_requests_without_key_gets_429_with_retry_after(
    fake: FakeWom,
) -> None:
    statuses = []
    async with aiohttp.ClientSession() as anonymous:
        for _ in range(21):
            status, headers, body = await get(anonymous, fake, "/groups/11114/name-changes")
            statuses.append(status)
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    assert set(json.loads(body)) == {"message"}
    assert int(headers["Retry-After"]) >= 1
    assert headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Limit"] == "20"


async def test_valid_key_gets_100_requests_and_headers_count_down(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    remaining = []
    for _ in range(25):
        status, headers, _body = await get(http, fake, "/groups/11114/name-changes")
        assert status == 200
        remaining.append(int(headers["RateLimit-Remaining"]))
    assert headers["RateLimit-Limit"] == "100"
    assert remaining == list(range(99, 74, -1))
    assert 0 < float(headers["RateLimit-Reset"]) <= 1.0


async def test_rate_limit_window_resets_after_rate_window(fake: FakeWom) -> None:
    async with aiohttp.ClientSession() as anonymous:
        for _ in range(21):
            status, _headers, _body = await get(anonymous, fake, "/groups/11114/name-changes")
        assert status == 429
        await asyncio.sleep(1.05)
        status, headers, _body = await get(anonymous, fake, "/groups/11114/name-changes")
    assert status == 200
    assert headers["RateLimit-Remaining"] == "19"


async def test_unknown_api_key_is_403_with_message_only(fake: FakeWom) -> None:
    async with aiohttp.ClientSession(headers={"x-api-key": "stolen"}) as session:
        status, _headers, body = await get(session, fake, "/groups/11114")
    assert status == 403
    assert set(json.loads(body)) == {"message"}


@pytest.mark.parametrize("spelling", ["party_marty", "Party-Marty", "PARTY  marty", "party marty"])
async def test_player_lookup_uses_wom_name_key(
    spelling: str, fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    status, _headers, body = await get(http, fake, f"/players/{spelling}")
    assert status == 200
    assert body == (DATA_DIR / "player-party_marty-2025-12-23T1935Z.json").read_bytes()


async def test_member_without_recording_gets_latest_snapshot_at_updated_at(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    player = await get_json(http, fake, "/players/t_are_k")
    assert player["latestSnapshot"]["createdAt"] == player["updatedAt"]
    assert player["latestSnapshot"]["data"]["skills"]["overall"]["experience"] == player["exp"]


async def test_player_snapshots_are_newest_first(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.use_fixture(EVENING)
    snaps = await get_json(http, fake, "/players/partymarty94/snapshots")
    times = [s["createdAt"] for s in snaps]
    assert len(times) == 2
    assert times == sorted(times, reverse=True)


async def test_unknown_player_is_404_player_not_found(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    status, _headers, body = await get(http, fake, "/players/zezima")
    assert status == 404
    assert json.loads(body)["code"] == "PLAYER_NOT_FOUND"


async def test_updating_same_player_twice_within_a_minute_is_player_is_rate_limited(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    async with http.post(fake.base_url + "/players/partymarty94") as first:
        assert first.status == 200
    async with http.post(fake.base_url + "/players/PartyMarty94") as second:
        assert second.status == 429
        assert (await second.json())["code"] == "PLAYER_IS_RATE_LIMITED"


async def test_update_all_checks_the_verification_code(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    url = fake.base_url + "/groups/11114/update-all"
    async with http.post(url, json={"verificationCode": "000-000-000"}) as wrong:
        assert wrong.status == 400
        assert (await wrong.json())["code"] == "INVALID_VERIFICATION_CODE"
    async with http.post(url, json={"verificationCode": DEFAULT_VERIFICATION_CODE}) as right:
        assert right.status == 200
        assert (await right.json())["count"] > 0


async def test_injected_faults_hit_only_matching_requests_then_clear(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.inject(Fault.html_error(502), path_prefix="/groups/11114/activity", times=2)
    fake.inject(Fault.unavailable(), path_prefix="/players")
    fake.inject(Fault.rate_limited(retry_after_s=3), path_prefix="/groups/11114/name-changes")
    status, headers, body = await get(http, fake, "/groups/11114/activity")
    assert status == 502
    assert headers["Content-Type"].startswith("text/html")
    assert b"Bad Gateway" in body
    assert (await get(http, fake, "/groups/11114/activity"))[0] == 502
    assert (await get(http, fake, "/groups/11114/activity"))[0] == 200
    status, _headers, body = await get(http, fake, "/players/partymarty94")
    assert (status, json.loads(body)["code"]) == (503, "SERVICE_UNAVAILABLE")
    status, headers, body = await get(http, fake, "/groups/11114/name-changes")
    assert (status, headers["Retry-After"], json.loads(body)) == (
        429,
        "3",
        {"message": "Too many requests, please try again later."},
    )


async def test_truncated_json_fault_is_a_200_with_a_cut_real_body(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.inject(Fault.truncated_json(), path_prefix="/groups/11114")
    status, _headers, body = await get(http, fake, "/groups/11114")
    full = (DATA_DIR / f"group-11114-{MORNING}.json").read_bytes()
    assert status == 200
    assert full.startswith(body) and len(body) < len(full)
    with pytest.raises(ValueError):
        json.loads(body)


async def test_timeout_fault_holds_the_answer_for_its_delay(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.inject(Fault.timeout(delay_s=0.4), path_prefix="/groups")
    started = time.monotonic()
    status, _headers, _body = await get(http, fake, "/groups/11114")
    assert status == 200
    assert time.monotonic() - started >= 0.4


async def test_stop_releases_a_request_stuck_in_a_timeout_fault(
    http: aiohttp.ClientSession,
) -> None:
    fake = FakeWom()
    await fake.start()
    fake.inject(Fault.timeout(delay_s=30))
    pending = asyncio.ensure_future(get(http, fake, "/groups/11114"))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await fake.stop()
    with contextlib.suppress(aiohttp.ClientError):
        await asyncio.wait_for(pending, 5)
    assert time.monotonic() - started < 5


async def test_rename_changes_roster_and_adds_an_approved_name_change(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    resolved = datetime(2025, 12, 23, 12, 0, tzinfo=UTC)
    fake.rename_player(1714811, "Party Marty 2", resolved)
    group = await get_json(http, fake, "/groups/11114")
    player = next(m["player"] for m in group["memberships"] if m["player"]["id"] == 1714811)
    assert (player["username"], player["displayName"]) == ("party marty 2", "Party Marty 2")
    changes = await get_json(http, fake, "/groups/11114/name-changes")
    assert [(c["oldName"], c["newName"], c["resolvedAt"]) for c in changes] == [
        ("partymarty94", "Party Marty 2", "2025-12-23T12:00:00.000Z")
    ]
    assert (await get(http, fake, "/players/partymarty94"))[0] == 404
    assert (await get(http, fake, "/players/party_marty_2"))[0] == 200


async def test_keep_only_members_truncates_the_roster(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.keep_only_members(10)
    group = await get_json(http, fake, "/groups/11114")
    assert len(group["memberships"]) == 10
    fake.keep_only_members(None)
    _status, _headers, body = await get(http, fake, "/groups/11114")
    assert body == (DATA_DIR / f"group-11114-{MORNING}.json").read_bytes()


async def test_unknown_metric_appears_in_every_snapshot(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.add_unknown_metric("brand_new_boss", 7)
    rows = await get_json(http, fake, "/groups/11114/bulk-hiscores")
    snapshots = [r["data"] for r in rows if r["data"] is not None]
    assert len(snapshots) == 301
    assert all(s["data"]["bosses"]["brand_new_boss"]["kills"] == 7 for s in snapshots)
    player = await get_json(http, fake, "/players/party_marty")
    assert player["latestSnapshot"]["data"]["bosses"]["brand_new_boss"]["kills"] == 7


async def test_drop_optional_field_removes_it_from_players_and_memberships(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.drop_optional_field("ehb")
    fake.drop_optional_field("createdAt")
    group = await get_json(http, fake, "/groups/11114")
    assert all("ehb" not in m["player"] for m in group["memberships"])
    assert all("createdAt" not in m for m in group["memberships"])


async def test_drift_knobs_serve_drifted_payloads_and_clear_drift_restores_the_recording(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    """Each knob changes only what it names, over the real socket."""
    marty = 1714811
    fake.drop_group_field("roleOrders")
    fake.drop_feed_field("activity", "createdAt")
    fake.rename_player(marty, "Party Marty", datetime(2025, 12, 23, 10, tzinfo=UTC))
    fake.drop_feed_field("name-changes", "resolvedAt")
    fake.patch_membership(
        marty,
        values={"role": "grand_poobah"},
        remove={"createdAt"},
        player_values={"displayName": "x" * 30},
        player_remove={"type"},
    )
    group = await get_json(http, fake, "/groups/11114")
    activity = await get_json(http, fake, "/groups/11114/activity?limit=50")
    renames = await get_json(http, fake, "/groups/11114/name-changes?limit=50")
    assert "roleOrders" not in group and len(group["memberships"]) == 303
    patched = next(m for m in group["memberships"] if m["playerId"] == marty)
    assert patched["role"] == "grand_poobah" and "createdAt" not in patched
    assert patched["player"]["displayName"] == "x" * 30 and "type" not in patched["player"]
    others = [m for m in group["memberships"] if m["playerId"] != marty]
    assert all("createdAt" in m and "type" in m["player"] for m in others)
    assert len(activity) == 50 and all("createdAt" not in a for a in activity)
    assert len(renames) == 1 and "resolvedAt" not in renames[0]


async def test_clear_drift_serves_the_recording_byte_for_byte_again(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.drop_optional_field("role")
    fake.drop_group_field("roleOrders")
    fake.drop_feed_field("activity", "createdAt")
    fake.patch_membership(1714811, player_remove={"id"})
    _status, _headers, drifted = await get(http, fake, "/groups/11114")
    fake.clear_drift()
    _status, _headers, body = await get(http, fake, "/groups/11114")
    activity = await get_json(http, fake, "/groups/11114/activity?limit=50")
    recorded = (DATA_DIR / f"group-11114-{MORNING}.json").read_bytes()
    assert drifted != recorded and body == recorded
    assert all("createdAt" in a and a["role"] for a in activity)


async def test_drift_knobs_refuse_what_they_cannot_serve(fake: FakeWom) -> None:
    with pytest.raises(ValueError, match="no feed"):
        fake.drop_feed_field("competitions", "createdAt")
    with pytest.raises(KeyError):
        fake.patch_membership(1, values={"role": "owner"})


async def test_activity_is_derived_newest_first_and_paginated(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    fake.add_activity(
        "changed_role",
        1714811,
        role="deputy_owner",
        previous_role="owner",
        created_at=datetime(2025, 12, 23, 8, 0, tzinfo=UTC),
    )
    first = await get_json(http, fake, "/groups/11114/activity?limit=5")
    assert first[0]["type"] == "changed_role"
    assert first[0]["previousRole"] == "owner"
    dates = [e["createdAt"] for e in first]
    assert dates == sorted(dates, reverse=True)
    second = await get_json(http, fake, "/groups/11114/activity?limit=5&offset=5")
    assert second[0]["createdAt"] <= first[-1]["createdAt"]
    assert len(fake.activity) == 304
    status, _headers, _body = await get(http, fake, "/groups/11114/activity?limit=51")
    assert status == 400


async def test_recorded_requests_redact_the_api_key_in_repr(
    fake: FakeWom, http: aiohttp.ClientSession
) -> None:
    await get(http, fake, "/groups/11114")
    recorded = fake.requests[-1]
    assert recorded.headers["X-Api-Key"] == KEY
    assert KEY not in repr(recorded)
    assert recorded.status == 200
