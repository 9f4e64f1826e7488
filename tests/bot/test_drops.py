"""``/clan drops``: biggest drops by value, pets, collection log and 99s of a period, valued as
the daily report's "Notable" section values them (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from bot.app import App, open_app
from bot.core.config import Settings
from bot.usecases.reports import ReportInputError, clan_drops, daily_report
from bot.usecases.reports.drops import drops_csv, drops_dict, drops_text
from domain.relay import BroadcastType
from storage.models import RelayMessage
from tests.bot.test_reports import AS_OF, UTC_TZ, _seed

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _broadcast(
    message_id: int, member_id: int | None, name: str, ago: timedelta, kind: str, text: str
) -> dict[str, Any]:
    return {
        "id": message_id,
        "clan_id": 1,
        "message_id": message_id,
        "part": 0,
        "channel_id": 9,
        "author_id": 8,
        "posted_at": AS_OF - ago,
        "kind": "broadcast",
        "broadcast_type": kind,
        "member_id": member_id,
        "rsn_key": name.lower(),
        "display_name": name,
        "text": text,
        "duplicate_of": None,
        "deleted_at": None,
        "source": "import",
        "ingested_at": AS_OF,
    }


# Added to the hand-built clan of test_reports (which has today: Bob's 1.2B bow, Alice's
# 1,456,814 whip, Carol's pet and Carol's 99).
EXTRA = [
    _broadcast(
        5001,
        2,
        "Bob",
        3 * DAY,
        BroadcastType.DROP,
        "Bob received a drop: Dragon claws (45,200,000 coins).",
    ),
    _broadcast(
        5002,
        1,
        "Alice",
        2 * HOUR,
        BroadcastType.COLLECTION_LOG,
        "Alice received a new collection log item: Olmlet (12/1477)",
    ),
    _broadcast(
        5003,
        1,
        "Alice",
        4 * DAY,
        BroadcastType.COLLECTION_LOG,
        "Alice received a new collection log item: Dragon pickaxe (13/1477)",
    ),
    _broadcast(
        5004,
        3,
        "Carol",
        5 * HOUR,
        BroadcastType.RAID_DROP,
        "Carol received special loot from a raid: Twisted buckler.",  # no value: not listed
    ),
    _broadcast(
        5005, 3, "Carol", 6 * HOUR, BroadcastType.LEVEL, "Carol has reached Attack level 98."
    ),
    _broadcast(
        5006,
        None,
        "Guest",
        3 * HOUR,
        BroadcastType.DROP,
        "Guest received a drop: Coins (10,000 coins).",
    ),
]


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    async with open_app(Settings(database_url=db_url, wom_group_id=777)) as opened:
        await _seed(opened)
        async with opened.db.write() as session:
            await session.execute(insert(RelayMessage), EXTRA)
        yield opened


async def test_drops_of_a_day_list_values_pets_collection_log_and_99s(app: App) -> None:
    found = await clan_drops(app, 1, "1d", AS_OF)
    n = found.lists.notable
    assert [(line.display_name, coins) for line, coins in n.drops] == [
        ("Bob", 1_200_000_000),
        ("Alice", 1_456_814),
        ("Guest", 10_000),
    ]
    assert [line.display_name for line in n.pets] == ["Carol"]
    assert [line.text for line in found.lists.collection_log] == [
        "Alice received a new collection log item: Olmlet (12/1477)"
    ]
    assert [line.text for line in n.level_99s] == ["Carol has reached Attack level 99."]
    assert found.window.label == "1d" and not found.empty


async def test_a_longer_period_reaches_older_broadcasts(app: App) -> None:
    found = await clan_drops(app, 1, "7d", AS_OF)
    assert [coins for _, coins in found.lists.notable.drops] == [
        1_200_000_000,
        45_200_000,
        1_456_814,
        10_000,
    ]
    assert len(found.lists.collection_log) == 2
    limited = await clan_drops(app, 1, "7d", AS_OF, limit=1)
    assert [coins for _, coins in limited.lists.notable.drops] == [1_200_000_000]
    assert len(limited.lists.collection_log) == 1


async def test_the_daily_reports_notable_section_has_the_same_values(app: App) -> None:
    report = await daily_report(app, 1, AS_OF, UTC_TZ)
    day = await clan_drops(app, 1, "1d", AS_OF, limit=5)
    assert [(line.text, coins) for line, coins in report.notable.drops] == [
        (line.text, coins) for line, coins in day.lists.notable.drops
    ]
    assert report.notable.pets == day.lists.notable.pets
    assert report.notable.level_99s == day.lists.notable.level_99s


async def test_a_period_with_nothing_notable_is_empty_and_a_bad_period_is_refused(
    app: App,
) -> None:
    assert (await clan_drops(app, 1, "1d", AS_OF - 30 * DAY)).empty
    with pytest.raises(ReportInputError):
        await clan_drops(app, 1, "forever", AS_OF)


async def test_text_json_and_csv_carry_every_entry(app: App) -> None:
    found = await clan_drops(app, 1, "7d", AS_OF)
    data = json.loads(json.dumps(drops_dict(found, AS_OF)))
    assert data["period"] == "7d" and data["as_of"] == "2025-12-23T20:00:00Z"
    assert [d["coins"] for d in data["drops"]] == [1_200_000_000, 45_200_000, 1_456_814, 10_000]
    assert [p["display_name"] for p in data["pets"]] == ["Carol"]
    assert len(data["collection_log"]) == 2 and len(data["level_99s"]) == 1
    text = drops_text(found, AS_OF)
    assert "  biggest drops: 4" in text and "1,200,000,000 coins  Bob received" in text
    assert "  collection log: 2" in text and "  99s: 1" in text
    rows = list(csv.DictReader(io.StringIO(drops_csv(found).decode())))
    assert [r["list"] for r in rows].count("drop") == 4
    assert {r["list"] for r in rows} == {"drop", "pet", "collection_log", "level_99"}
