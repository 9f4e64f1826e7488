"""HttpWomClient against the local WOM fake over real sockets: limits, retries, parsing, secrets."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from bot.adapters.wom import (
    HttpWomClient,
    WomActivity,
    WomApi,
    WomBadRequest,
    WomForbidden,
    WomNameChange,
    WomNotFound,
    WomRateLimited,
    WomSchemaError,
    WomUnavailable,
)
from fakes.wom import DEFAULT_API_KEYS, DEFAULT_VERIFICATION_CODE, FakeWom, Fault

KEY = DEFAULT_API_KEYS[0]
GROUP = 11114
WINDOW_S = 1.0


class RecordingSleep:
    """Really sleeps, and remembers every delay the client asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(delay)


@pytest.fixture
async def fake() -> AsyncIterator[FakeWom]:
    async with FakeWom(rate_window_s=WINDOW_S) as server:
        yield server


def make_client(
    fake: FakeWom,
    *,
    api_key: SecretStr | str | None = KEY,
    sleep: RecordingSleep | None = None,
    **kwargs: float | int,
) -> HttpWomClient:
    options: dict[str, float | int] = {
        "timeout_s": 2.0,
        "max_retries": 4,
        "backoff_base_s": 0.02,
        "rate_window_s": WINDOW_S,
    }
    options.update(kwargs)
    return HttpWomClient(
        fake.base_url,
        api_key=api_key,
        sleep=sleep or RecordingSleep(),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(fake: FakeWom) -> AsyncIterator[HttpWomClient]:
    wom = make_client(fake)
    yield wom
    await wom.close()


def statuses(fake: FakeWom) -> list[int]:
    return [r.status for r in fake.requests]


async def test_client_implements_the_wom_api_protocol(client: HttpWomClient) -> None:
    assert isinstance(client, WomApi)


async def test_get_group_reads_roster_rank_order_and_never_updated_members(
    client: HttpWomClient,
) -> None:
    group = await client.get_group(GROUP)
    assert (group.id, group.name, len(group.memberships)) == (GROUP, "Nevr Lucky", 303)
    assert group.clan_chat == "Nevr Lucky"  # the in-game clan chat (WOM's clanChat)
    assert len(group.role_order) == 27
    assert group.role_order[:3] == ("owner", "deputy_owner", "zenyte")
    by_name = {m.player.username: m for m in group.memberships}
    assert by_name["partymarty94"].role == "owner"
    assert by_name["partymarty94"].player.exp == 459645894
    assert by_name["partymarty94"].created_at == datetime(
        2025, 2, 14, 12, 45, 18, 239000, tzinfo=UTC
    )
    never = by_name["sulkypeen"].player
    assert (never.updated_at, never.type, never.exp) == (None, "unknown", 0)
    assert by_name["vanvolter ii"].client_sync_joined_at is None  # absent in the recording


async def test_client_identifies_itself_and_sends_the_api_key(
    fake: FakeWom, client: HttpWomClient
) -> None:
    await client.get_group(GROUP)
    sent = fake.requests[-1].headers
    assert sent["User-Agent"].startswith("ClanStats/")
    assert sent["x-api-key"] == KEY
    assert client.requests_sent == 1


async def test_missing_bulk_route_raises_wom_not_found_so_callers_can_fall_back(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.bulk_enabled = False
    with pytest.raises(WomNotFound):
        await client.get_bulk_hiscores(GROUP)
    assert client.requests_sent == 1  # a 404 is not retried


async def test_bulk_hiscores_give_snapshots_with_total_xp_and_ehp(client: HttpWomClient) -> None:
    rows = await client.get_bulk_hiscores(GROUP)
    assert len(rows) == 303
    marty = next(r for r in rows if r.player.username == "partymarty94")
    assert marty.snapshot is not None
    assert marty.snapshot.overall_xp == 459645894
    assert marty.snapshot.metrics["kraken"] == 2029
    assert marty.snapshot.taken_at == marty.player.updated_at
    assert next(r for r in rows if r.player.username == "sulkypeen").snapshot is None


async def test_unranked_minus_one_is_kept_distinct_from_zero(client: HttpWomClient) -> None:
    details = await client.get_player("party_marty")
    snap = details.latest_snapshot
    assert snap is not None
    assert snap.metrics["magic"] == -1  # below the hiscores threshold
    assert snap.metrics["kraken"] == -1
    assert snap.metrics["ehb"] == 0  # really zero
    assert snap.ehb == 0
    assert snap.overall_xp == 21698210
    assert len(snap.metrics) == 25 + 68 + 16 + 2


async def test_unknown_new_boss_is_kept_under_its_own_name(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.add_unknown_metric("doom_of_tomorrow", 12)
    fake.add_unknown_metric("yet_another_boss", -1)
    rows = await client.get_bulk_hiscores(GROUP)
    snap = next(r.snapshot for r in rows if r.player.username == "partymarty94")
    assert snap is not None
    assert snap.metrics["doom_of_tomorrow"] == 12
    assert snap.metrics["yet_another_boss"] == -1
    details = await client.get_player("party marty")
    assert details.latest_snapshot is not None
    assert details.latest_snapshot.metrics["doom_of_tomorrow"] == 12


@pytest.mark.parametrize(
    "field", ["clientSyncJoinedAt", "ehb", "lastImportedAt", "updatedAt", "createdAt", "type"]
)
async def test_missing_optional_fields_parse_with_defaults(
    field: str, fake: FakeWom, client: HttpWomClient
) -> None:
    fake.drop_optional_field(field)
    group = await client.get_group(GROUP)
    assert len(group.memberships) == 303
    player = next(m.player for m in group.memberships if m.player.username == "partymarty94")
    assert player.exp == 459645894
    if field == "ehb":
        assert player.ehb == 0.0
    if field == "updatedAt":
        assert player.updated_at is None
    if field == "type":
        assert player.type is None  # not sent: unknown, the sync keeps what it has


async def test_a_missing_role_or_role_order_is_unknown_not_a_default(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.drop_optional_field("role")
    fake.drop_group_field("roleOrders")
    group = await client.get_group(GROUP)
    assert group.role_order is None
    assert {m.role for m in group.memberships} == {None}


async def test_an_unreadable_membership_is_skipped_with_its_reason_not_fatal(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.patch_membership(1714811, player_remove={"username", "displayName"})
    fake.patch_membership(2697644, remove={"playerId"}, player_remove={"id"})
    group = await client.get_group(GROUP)
    assert len(group.memberships) == 301
    assert [(u.player_id, u.reason) for u in group.unreadable] == [
        (1714811, "player 1714811 has no username"),
        (None, "player has no integer 'id'"),
    ]


@pytest.mark.parametrize("when", [None, "", "yesterday", "2025-13-45T99:00:00Z", 1766480000])
def test_an_activity_or_name_change_time_that_cannot_be_read_is_none(when: object) -> None:
    player = {"id": 1, "username": "a", "displayName": "A"}
    activity = WomActivity.from_json({"type": "joined", "createdAt": when, "player": player})
    change = WomNameChange.from_json(
        {"playerId": 1, "oldName": "a", "newName": "b", "resolvedAt": when}
    )
    assert activity.created_at is None and change.resolved_at is None


async def test_a_group_without_memberships_is_no_roster(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.drop_group_field("memberships")
    with pytest.raises(WomSchemaError, match="memberships"):
        await client.get_group(GROUP)


async def test_unreadable_feed_entries_are_skipped_and_counted(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.drop_feed_field("activity", "player")
    fake.rename_player(1714811, "Party Marty", datetime(2025, 12, 23, 10, tzinfo=UTC))
    fake.drop_feed_field("name-changes", "newName")
    activity = await client.get_group_activity(GROUP, limit=5)
    renames = await client.get_name_changes(GROUP)
    assert list(activity) == [] and len(activity.skipped) == 5
    assert all(u.player_id is not None for u in activity.skipped)
    assert list(renames) == [] and renames.skipped[0].player_id == 1714811


async def test_survives_a_429_storm_by_honouring_retry_after(fake: FakeWom) -> None:
    sleep = RecordingSleep()
    wom = make_client(fake, sleep=sleep)
    fake.inject(Fault.rate_limited(retry_after_s=0.3), times=3)
    started = time.monotonic()
    try:
        group = await wom.get_group(GROUP)
    finally:
        await wom.close()
    assert len(group.memberships) == 303
    assert statuses(fake) == [429, 429, 429, 200]
    # Three Retry-After pauses were waited out. Each counts from its 429's arrival, so the
    # sleeps themselves are a little shorter under load; the time taken is not.
    assert time.monotonic() - started >= 0.9 - 0.01


async def test_whole_second_retry_after_is_honoured(fake: FakeWom) -> None:
    fake.inject(Fault.rate_limited(retry_after_s=1))
    wom = make_client(fake)
    started = asyncio.get_running_loop().time()
    try:
        await wom.get_name_changes(GROUP)
    finally:
        await wom.close()
    assert asyncio.get_running_loop().time() - started >= 0.99


@pytest.mark.parametrize(
    "fault",
    [Fault.html_error(502), Fault.html_error(500), Fault.unavailable(), Fault.truncated_json()],
    ids=["502-html", "500-html", "503-json", "truncated-json"],
)
async def test_retries_transient_failures_then_succeeds(
    fault: Fault, fake: FakeWom, client: HttpWomClient
) -> None:
    fake.inject(fault, path_prefix=f"/groups/{GROUP}", times=2)
    with capture_logs() as logs:
        group = await client.get_group(GROUP)
    assert len(group.memberships) == 303
    assert client.requests_sent == 3
    retries = [e for e in logs if e["event"] == "wom.retry"]
    assert [e["attempt"] for e in retries] == [1, 2]
    assert all(e["path"] == f"/groups/{GROUP}" for e in retries)


async def test_timeout_is_retried_with_a_fresh_request(fake: FakeWom) -> None:
    wom = make_client(fake, timeout_s=0.3)
    fake.inject(Fault.timeout(delay_s=3), times=2)
    try:
        changes = await wom.get_name_changes(GROUP)
    finally:
        await wom.close()
    assert changes == []
    assert wom.requests_sent == 3


async def test_persistent_502_ends_in_wom_unavailable(fake: FakeWom, client: HttpWomClient) -> None:
    fake.inject(Fault.html_error(502), times=10)
    with pytest.raises(WomUnavailable) as caught:
        await client.get_group(GROUP)
    assert caught.value.status == 502
    assert client.requests_sent == 5  # 1 + max_retries


async def test_never_exceeds_the_anonymous_limit_over_65_requests(fake: FakeWom) -> None:
    wom = make_client(fake, api_key=None)
    try:
        await asyncio.gather(*(wom.get_name_changes(GROUP) for _ in range(65)))
    finally:
        await wom.close()
    assert 429 not in statuses(fake)
    assert len(fake.requests) == 65 == wom.requests_sent
    # Took at least three full windows: 20 per window.
    assert wom.rate_limiter.limit == 20


async def test_follows_server_counters_when_another_caller_spent_the_budget(
    fake: FakeWom,
) -> None:
    async with aiohttp.ClientSession() as naive:
        for _ in range(15):
            async with naive.get(fake.base_url + f"/groups/{GROUP}/name-changes") as resp:
                assert resp.status == 200
    wom = make_client(fake, api_key=None)
    try:
        for _ in range(10):
            await wom.get_name_changes(GROUP)
    finally:
        await wom.close()
    assert 429 not in statuses(fake)
    assert wom.requests_sent == 10


async def test_unknown_group_raises_wom_not_found_with_code(client: HttpWomClient) -> None:
    with pytest.raises(WomNotFound) as caught:
        await client.get_group(999)
    assert caught.value.code == "GROUP_NOT_FOUND"
    assert client.requests_sent == 1


async def test_unknown_player_raises_wom_not_found_with_code(client: HttpWomClient) -> None:
    with pytest.raises(WomNotFound) as caught:
        await client.get_player("zezima")
    assert caught.value.code == "PLAYER_NOT_FOUND"


async def test_player_update_rate_limit_is_not_retried(client: HttpWomClient) -> None:
    await client.update_player("partymarty94")
    with pytest.raises(WomRateLimited) as caught:
        await client.update_player("partymarty94")
    assert caught.value.code == "PLAYER_IS_RATE_LIMITED"
    assert client.requests_sent == 2


async def test_update_all_with_the_right_code_returns_queued_count(client: HttpWomClient) -> None:
    count = await client.update_all(GROUP, SecretStr(DEFAULT_VERIFICATION_CODE))
    assert count > 0


async def test_bad_api_key_is_forbidden_and_never_shown(fake: FakeWom) -> None:
    secret = "sk-very-secret-key-123"
    wom = make_client(fake, api_key=SecretStr(secret))
    with capture_logs() as logs:
        with pytest.raises(WomForbidden) as caught:
            await wom.get_group(GROUP)
        await wom.close()
    assert caught.value.status == 403
    shown = [str(caught.value), repr(caught.value), repr(wom), repr(fake.requests[-1])]
    shown += [repr(e) for e in logs]
    assert all(secret not in text for text in shown)
    assert wom.requests_sent == 1


async def test_wrong_verification_code_is_bad_request_and_never_shown(
    client: HttpWomClient,
) -> None:
    code = "987-654-321"
    with capture_logs() as logs, pytest.raises(WomBadRequest) as caught:
        await client.update_all(GROUP, code)
    assert caught.value.code == "INVALID_VERIFICATION_CODE"
    assert code not in str(caught.value) and code not in repr(caught.value)
    assert all(code not in repr(e) and KEY not in repr(e) for e in logs)


async def test_retry_logs_never_contain_the_key(fake: FakeWom, client: HttpWomClient) -> None:
    fake.inject(Fault.html_error(502), times=10)
    with capture_logs() as logs, pytest.raises(WomUnavailable) as caught:
        await client.get_group(GROUP)
    assert [e["event"] for e in logs].count("wom.retry") == 4
    assert any(e["event"] == "wom.gave_up" for e in logs)
    assert all(KEY not in repr(e) for e in logs)
    assert KEY not in str(caught.value)


async def test_name_changes_and_activity_are_parsed_newest_first(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.rename_player(1714811, "Marty Two", datetime(2025, 12, 23, 10, tzinfo=UTC))
    fake.rename_player(1714811, "Marty Three", datetime(2025, 12, 23, 11, tzinfo=UTC))
    changes = await client.get_name_changes(GROUP)
    assert [(c.old_name, c.new_name) for c in changes] == [
        ("Marty Two", "Marty Three"),
        ("partymarty94", "Marty Two"),
    ]
    assert all(c.player_id == 1714811 for c in changes)
    fake.add_activity("left", 1714811, created_at=datetime(2025, 12, 23, 12, tzinfo=UTC))
    activity = await client.get_group_activity(GROUP, limit=3)
    assert activity[0].type == "left"
    assert activity[0].player.display_name == "Marty Three"
    assert activity[0].created_at == datetime(2025, 12, 23, 12, tzinfo=UTC)
    stamps = [a.created_at for a in activity]
    assert stamps == sorted(stamps, key=lambda d: d or datetime.min.replace(tzinfo=UTC))[::-1]


async def test_retry_delays_grow_exponentially_with_jitter(fake: FakeWom) -> None:
    sleep = RecordingSleep()
    wom = make_client(fake, sleep=sleep, backoff_base_s=0.04)
    fake.inject(Fault.unavailable(), times=3)
    try:
        await wom.get_name_changes(GROUP)
    finally:
        await wom.close()
    backoffs = sleep.delays[:3]
    for attempt, delay in enumerate(backoffs, start=1):
        ceiling = 0.04 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling + 1e-9
    assert not math.isclose(sum(backoffs), 0.0)


async def test_persistently_truncated_json_ends_in_wom_unavailable_not_a_crash(
    fake: FakeWom, client: HttpWomClient
) -> None:
    fake.inject(Fault.truncated_json(), path_prefix=f"/groups/{GROUP}", times=10)
    with pytest.raises(WomUnavailable) as caught:
        await client.get_group(GROUP)
    assert caught.value.status == 200
    assert "unreadable" in str(caught.value)


def test_group_clan_chat_is_none_when_wom_does_not_say() -> None:
    from bot.adapters.wom.models import WomGroup

    for clan_chat in (None, "", "   "):
        raw = {"id": 1, "name": "NL stats", "clanChat": clan_chat, "memberships": []}
        assert WomGroup.from_json(raw).clan_chat is None
    assert WomGroup.from_json({"id": 1, "name": "x", "memberships": []}).clan_chat is None
