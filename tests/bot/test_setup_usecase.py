"""``/setup``'s answers without Discord: group ids, WOM lookups (over the WOM fake), time zones,
report times, the proposed ladder and the save (on a real database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time

import pytest

from bot.adapters.wom import HttpWomClient
from bot.usecases.context import App
from bot.usecases.setup import (
    SetupError,
    check_report_time,
    check_time_zone,
    parse_group_id,
    preview_group,
    propose_ladder,
    save_setup,
)
from domain.clan_config import propose_ladder as propose_rules_ladder
from domain.clans import ClanWiring
from fakes.wom import FakeWom, Fault
from storage.engine import Database
from storage.repositories.clans import wiring_for_guild

GUILD = 1_100_000_000_000_000_001
OTHER_GUILD = 1_100_000_000_000_000_002
CHANNEL = 1_100_000_000_000_000_010
ADMIN = 1_100_000_000_000_000_042
NOW = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"), [("11114", 11114), (" #11114 ", 11114), ("2147483647", 2**31 - 1)]
)
def test_group_ids_as_typed(typed: str, expected: int) -> None:
    assert parse_group_id(typed) == expected


@pytest.mark.parametrize("typed", ["", "nevr lucky", "0", "-5", "2147483648", "11114x", "1.5"])
def test_what_is_not_a_group_id_is_refused_with_where_to_find_it(typed: str) -> None:
    with pytest.raises(SetupError, match=r"is not a WOM group id: it is the number"):
        parse_group_id(typed)


def test_time_zones_are_iana_names() -> None:
    assert check_time_zone(" Europe/London ") == "Europe/London"
    assert check_time_zone("UTC") == "UTC"
    with pytest.raises(SetupError) as wrong_case:
        check_time_zone("america/new_york")
    assert str(wrong_case.value) == (
        "Time zone `america/new_york` is spelt `America/New_York`: enter it that way."
    )
    for bad in ("Mars/Olympus", "GMT+25", "", "/etc/localtime", "../zoneinfo/UTC"):
        with pytest.raises(SetupError, match=r"is not a time zone name"):
            check_time_zone(bad)


def test_report_times_are_hh_mm_on_the_24_hour_clock() -> None:
    assert check_report_time(" 21:30 ") == time(21, 30)
    assert check_report_time("00:00") == time(0, 0)
    for bad in ("24:00", "9:00", "21:60", "9pm", "21:30:00"):
        with pytest.raises(SetupError, match=r"is not a time of day: use the 24-hour clock"):
            check_report_time(bad)


def test_the_ladder_is_the_rules_own_proposal_staff_kept_off_it() -> None:
    order = (
        "owner", "deputy_owner", "zenyte", "onyx", "dragonstone", "diamond", "ruby",
        "emerald", "sapphire", "prospector",
    )  # fmt: skip
    proposal = propose_ladder(order)
    # owner, deputy, one leadership rank (10 % of 10) and two officer ranks (15 %) are staff.
    assert proposal.officer_tier == ("owner", "deputy_owner", "zenyte", "onyx", "dragonstone")
    assert proposal.rungs == (
        ("prospector", "sapphire"),
        ("sapphire", "emerald"),
        ("emerald", "ruby"),
        ("ruby", "diamond"),
    )
    assert proposal.rungs == tuple((r.from_rank, r.to_rank) for r in propose_rules_ladder(order))
    assert propose_ladder(()).rungs == ()
    assert propose_ladder(("owner", "recruit")).rungs == ()


@pytest.fixture
async def wom() -> AsyncIterator[tuple[FakeWom, HttpWomClient]]:
    async with FakeWom(rate_window_s=1.0) as fake:
        client = HttpWomClient(
            fake.base_url, timeout_s=2.0, max_retries=1, backoff_base_s=0.01, rate_window_s=1.0
        )
        try:
            yield fake, client
        finally:
            await client.close()


async def test_a_group_is_shown_back_as_wom_has_it(wom: tuple[FakeWom, HttpWomClient]) -> None:
    fake, client = wom
    preview = await preview_group(client, fake.group_id)
    assert (preview.group_id, preview.name, preview.clan_chat) == (
        fake.group_id,
        "Nevr Lucky",
        "Nevr Lucky",
    )
    assert preview.member_count == 303
    assert preview.role_order[:3] == ("owner", "deputy_owner", "zenyte")


async def test_an_unknown_group_and_wom_down_are_clear_answers(
    wom: tuple[FakeWom, HttpWomClient],
) -> None:
    fake, client = wom
    with pytest.raises(SetupError) as unknown:
        await preview_group(client, 999_999)
    assert str(unknown.value).startswith("Wise Old Man has no group 999999.")
    fake.inject(Fault.unavailable(), times=5)
    with pytest.raises(SetupError) as down:
        await preview_group(client, fake.group_id)
    assert str(down.value) == (
        "Wise Old Man did not answer in time. Nothing was changed: try this step again in a minute."
    )


def _wiring(guild: int, group: int, **values: object) -> ClanWiring:
    return ClanWiring(clan_id=None, guild_id=guild, wom_group_id=group, name="Clan", **values)  # type: ignore[arg-type]


async def test_save_refuses_what_another_clan_owns_and_saves_nothing(db: Database) -> None:
    app = App(db=db, wom=HttpWomClient("http://127.0.0.1:9"), clock=lambda: NOW)
    try:
        theirs = await save_setup(
            app,
            _wiring(OTHER_GUILD, 4242, relay_channel_ids=(CHANNEL,), relay_author_ids=(7,)),
            by=ADMIN,
        )
        assert theirs.clan_id is not None
        taken_channel = _wiring(GUILD, 11114, relay_channel_ids=(CHANNEL,), relay_author_ids=(7,))
        with pytest.raises(SetupError, match=r"^Nothing was saved: relay channel .* another clan"):
            await save_setup(app, taken_channel, by=ADMIN)
        with pytest.raises(SetupError, match=r"^Nothing was saved: WOM group 4242 is already"):
            await save_setup(app, _wiring(GUILD, 4242), by=ADMIN)
        with pytest.raises(SetupError, match=r"^This setup cannot be saved: .*time zone"):
            await save_setup(app, _wiring(GUILD, 11114, timezone="Mars/Olympus"), by=ADMIN)
        async with db.read() as session:
            assert await wiring_for_guild(session, GUILD) is None
        saved = await save_setup(app, _wiring(GUILD, 11114), by=ADMIN)
        async with db.read() as session:
            assert await wiring_for_guild(session, GUILD) == saved
    finally:
        await app.aclose()
