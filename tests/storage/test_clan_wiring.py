"""Per-clan wiring (revision 0009) on SQLite and PostgreSQL: saved, read back, refused when it
would take another clan's relay channel or WOM group, kept when the bot leaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from domain.clans import ClanWiring, WiringConflict
from storage.engine import Database
from storage.models import Clan, RelayChannel
from storage.repositories.clans import (
    active_wirings,
    all_wirings,
    ensure_clan,
    save_wiring,
    set_active,
    wiring_for_guild,
)

T0 = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
GUILD_A = 900000000000000001
GUILD_B = 900000000000000002
ADMIN = 800000000000000001


def wiring_a(**changes: object) -> ClanWiring:
    values: dict[str, object] = {
        "clan_id": None,
        "guild_id": GUILD_A,
        "wom_group_id": 11114,
        "name": "Nevr Lucky",
        "relay_channel_ids": (700000000000000001, 700000000000000002),
        "relay_author_ids": (600000000000000001,),
        "relay_custom_formats": {"mine": r"^(?P<player>\w+): (?P<text>.+)$"},
        "clan_chat_name": "Nevr Lucky CC",
        "report_channel_id": 700000000000000009,
        "report_time": time(20, 30),
        "announce_channel_id": 700000000000000010,
        "officer_role_ids": (500000000000000001, 500000000000000002),
        "timezone": "Europe/Amsterdam",
    }
    values.update(changes)
    return ClanWiring(**values)  # type: ignore[arg-type]


def wiring_b(**changes: object) -> ClanWiring:
    values: dict[str, object] = {
        "guild_id": GUILD_B,
        "wom_group_id": 22222,
        "name": "Other Clan",
        "relay_channel_ids": (710000000000000001,),
        "relay_custom_formats": {},
        "clan_chat_name": None,
        "report_channel_id": None,
        "report_time": time(9, 0),
        "announce_channel_id": None,
        "officer_role_ids": (),
        "timezone": "UTC",
    }
    values.update(changes)
    return wiring_a(**values)


async def test_a_saved_wiring_reads_back_field_for_field(db: Database) -> None:
    async with db.write() as s:
        saved = await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
    assert saved.clan_id is not None
    async with db.read() as s:
        read = await wiring_for_guild(s, GUILD_A)
        row = (await s.execute(select(Clan).where(Clan.id == saved.clan_id))).scalar_one()
    assert read == wiring_a(clan_id=saved.clan_id)
    assert read is not None and read.tz.key == "Europe/Amsterdam"
    assert (row.setup_at, row.setup_by, row.report_time, row.active) == (T0, ADMIN, "20:30", True)


async def test_saving_again_updates_the_same_clan_and_its_relay_channels(db: Database) -> None:
    async with db.write() as s:
        first = await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
    changed = wiring_a(
        relay_channel_ids=(700000000000000002, 700000000000000003), officer_role_ids=()
    )
    async with db.write() as s:
        second = await save_wiring(s, changed, by=None, now=T0)
    assert second.clan_id == first.clan_id
    async with db.read() as s:
        read = await wiring_for_guild(s, GUILD_A)
        channels = (await s.execute(select(RelayChannel.channel_id))).scalars().all()
        clans = (await s.execute(select(func.count()).select_from(Clan))).scalar_one()
    assert read == replace(changed, clan_id=first.clan_id)
    assert sorted(channels) == [700000000000000002, 700000000000000003]
    assert clans == 1


async def test_a_relay_channel_of_another_clan_is_refused_and_nothing_is_saved(
    db: Database,
) -> None:
    async with db.write() as s:
        await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
    taken = wiring_b(relay_channel_ids=(710000000000000001, 700000000000000002))
    with pytest.raises(WiringConflict, match="relay channel 700000000000000002 already belongs"):
        async with db.write() as s:
            await save_wiring(s, taken, by=ADMIN, now=T0)
    async with db.read() as s:
        assert await wiring_for_guild(s, GUILD_B) is None
        assert (await s.execute(select(func.count()).select_from(Clan))).scalar_one() == 1
        owners = dict(
            (await s.execute(select(RelayChannel.channel_id, RelayChannel.clan_id))).all()
        )
    assert set(owners) == {700000000000000001, 700000000000000002}


async def test_a_wom_group_of_another_guild_is_refused(db: Database) -> None:
    async with db.write() as s:
        await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
    with pytest.raises(WiringConflict, match="WOM group 11114 is already the clan of another"):
        async with db.write() as s:
            await save_wiring(s, wiring_b(wom_group_id=11114), by=ADMIN, now=T0)


async def test_bad_values_are_refused_with_every_reason(db: Database) -> None:
    bad = wiring_a(timezone="Mars/Olympus", relay_author_ids=(), officer_role_ids=(0,))
    with pytest.raises(ValueError) as caught:
        async with db.write() as s:
            await save_wiring(s, bad, by=ADMIN, now=T0)
    text = str(caught.value)
    assert "officer role 0 is not a Discord id" in text
    assert "relay channels need at least one relay author" in text
    assert "time zone 'Mars/Olympus' is not an IANA time zone name" in text
    async with db.read() as s:
        assert (await s.execute(select(func.count()).select_from(Clan))).scalar_one() == 0


async def test_a_clan_an_older_version_made_is_wired_in_place_keeping_its_id(
    db: Database,
) -> None:
    async with db.write() as s:
        old = await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky", guild_id=GUILD_A)
        old_id = old.id
    async with db.read() as s:
        assert await wiring_for_guild(s, GUILD_A) is None  # not set up yet
    async with db.write() as s:
        saved = await save_wiring(s, wiring_a(name=""), by=None, now=T0)
    assert saved.clan_id == old_id and saved.name == "Nevr Lucky"  # the name WOM gave kept


async def test_a_cli_synced_clan_without_guild_is_taken_by_the_guild_that_sets_it_up(
    db: Database,
) -> None:
    async with db.write() as s:
        old_id = (await ensure_clan(s, wom_group_id=11114, name="Nevr Lucky")).id
    async with db.write() as s:
        saved = await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
    assert saved.clan_id == old_id


async def test_leaving_marks_inactive_keeps_everything_and_rejoining_resumes(
    db: Database,
) -> None:
    async with db.write() as s:
        a = await save_wiring(s, wiring_a(), by=ADMIN, now=T0)
        b = await save_wiring(s, wiring_b(), by=ADMIN, now=T0)
    async with db.write() as s:
        await set_active(s, GUILD_A, False, now=T0)
    async with db.read() as s:
        active = await active_wirings(s)
        every = await all_wirings(s)
        kept = await wiring_for_guild(s, GUILD_A)
    assert [w.clan_id for w in active] == [b.clan_id]
    assert [w.clan_id for w in every] == [a.clan_id, b.clan_id]
    assert kept is not None and not kept.active and kept.relay_channel_ids == a.relay_channel_ids
    async with db.write() as s:
        await set_active(s, GUILD_A, True, now=T0)
    async with db.read() as s:
        assert [w.clan_id for w in await active_wirings(s)] == [a.clan_id, b.clan_id]
