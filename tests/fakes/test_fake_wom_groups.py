"""The fake WOM serves other groups besides the recorded one (one process, many clans): the
recorded roster under another id and name, faults aimed at one group only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from fakes.wom import DEFAULT_API_KEYS, FakeWom, Fault


@pytest.fixture
async def fake() -> AsyncIterator[FakeWom]:
    async with FakeWom(rate_window_s=1.0) as server:
        server.add_group(22222, "Other Clan", clan_chat="Other CC")
        yield server


async def _get(fake: FakeWom, path: str) -> tuple[int, object]:
    headers = {"x-api-key": DEFAULT_API_KEYS[0]}
    async with aiohttp.ClientSession(headers=headers) as http, http.get(fake.base_url + path) as r:
        body = await r.read()
        return r.status, json.loads(body) if body else None


async def test_another_group_is_the_recorded_roster_under_its_own_id_and_name(
    fake: FakeWom,
) -> None:
    status, group = await _get(fake, "/groups/22222")
    assert status == 200 and isinstance(group, dict)
    assert (group["id"], group["name"], group["clanChat"]) == (22222, "Other Clan", "Other CC")
    assert {m["groupId"] for m in group["memberships"]} == {22222}
    status, recorded = await _get(fake, "/groups/11114")
    assert isinstance(recorded, dict)
    assert len(group["memberships"]) == len(recorded["memberships"]) == 303
    status, activity = await _get(fake, "/groups/22222/activity?limit=5")
    assert status == 200 and isinstance(activity, list)
    assert {a["groupId"] for a in activity} == {22222}
    assert (await _get(fake, "/groups/33333"))[0] == 404
    with pytest.raises(ValueError, match="served already"):
        fake.add_group(11114, "again")


async def test_a_fault_aimed_at_one_group_leaves_the_other_alone(fake: FakeWom) -> None:
    fake.inject(Fault.unavailable(), path_prefix="/groups/22222", times=3)
    assert (await _get(fake, "/groups/11114"))[0] == 200
    assert (await _get(fake, "/groups/22222"))[0] == 503
