"""Bulk insert-ignore and upsert behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.bulk import insert_ignore, upsert
from storage.engine import Database
from storage.models import Clan, RelayMessage
from storage.repositories.clans import ensure_clan

T0 = datetime(2025, 12, 23, 9, 1, tzinfo=UTC)


def _rows(clan_id: int, ids: range) -> list[dict[str, object]]:
    return [
        {
            "clan_id": clan_id,
            "message_id": 1_000_000 + i,
            "part": 0,
            "channel_id": 42,
            "author_id": 7,
            "posted_at": T0,
            "kind": "chat",
            "text": f"line {i}",
            "source": "test",
            "ingested_at": T0,
        }
        for i in ids
    ]


async def test_insert_ignore_of_the_same_rows_twice_stores_them_once(db: Database) -> None:
    async with db.write() as s:
        clan = await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky")
    rows = _rows(clan.id, range(250))

    async with db.write() as s:
        first = await insert_ignore(
            s, RelayMessage, rows, conflict_columns=["message_id", "part"], returning=["message_id"]
        )
    async with db.write() as s:
        second = await insert_ignore(
            s, RelayMessage, rows, conflict_columns=["message_id", "part"], returning=["message_id"]
        )
    async with db.read() as s:
        stored = (await s.execute(select(func.count(RelayMessage.id)))).scalar_one()

    assert len(first) == 250
    assert {r[0] for r in first} == {1_000_000 + i for i in range(250)}
    assert second == []
    assert stored == 250


async def test_insert_ignore_reports_only_the_new_rows_of_an_overlapping_batch(
    db: Database,
) -> None:
    async with db.write() as s:
        clan = await ensure_clan(s, wom_group_id=1, name="c")
        await insert_ignore(
            s, RelayMessage, _rows(clan.id, range(10)), conflict_columns=["message_id", "part"]
        )
    async with db.write() as s:
        new = await insert_ignore(
            s,
            RelayMessage,
            _rows(clan.id, range(5, 15)),
            conflict_columns=["message_id", "part"],
            returning=["message_id"],
        )
    assert sorted(r[0] for r in new) == [1_000_000 + i for i in range(10, 15)]


async def test_upsert_overwrites_only_the_named_columns(db: Database) -> None:
    async with db.write() as s:
        await upsert(
            s,
            Clan,
            [
                {
                    "wom_group_id": 5,
                    "name": "Old",
                    "role_order": [],
                    "settings": {"a": 1},
                    "created_at": T0,
                    "updated_at": T0,
                }
            ],
            conflict_columns=["wom_group_id"],
            update_columns=["name"],
        )
        await upsert(
            s,
            Clan,
            [
                {
                    "wom_group_id": 5,
                    "name": "New",
                    "role_order": [],
                    "settings": {"a": 2},
                    "created_at": T0,
                    "updated_at": T0,
                }
            ],
            conflict_columns=["wom_group_id"],
            update_columns=["name"],
        )
    async with db.read() as s:
        clan = (await s.execute(select(Clan).where(Clan.wom_group_id == 5))).scalar_one()
    assert clan.name == "New"
    assert clan.settings == {"a": 1}
    assert clan.created_at == T0


async def test_a_large_batch_is_split_under_the_bound_parameter_limit(db: Database) -> None:
    async with db.write() as s:
        clan = await ensure_clan(s, wom_group_id=2, name="big")
        new = await insert_ignore(
            s, RelayMessage, _rows(clan.id, range(8000)), conflict_columns=["message_id", "part"]
        )
    assert len(new) == 8000
