"""Relay ingest on SQLite and PostgreSQL: exactly-once storage, attribution, duplicate relays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, relay_config, wom_client
from bot.core.config import ConfigError, Settings
from bot.usecases.harvest import (
    apply_delete,
    apply_edit,
    compile_relay_config,
    ensure_clan_for,
    ingest,
    reattribute,
    unmatched_names,
)
from domain.relay import EmbedIn, RelayMessageIn
from storage.engine import Database
from storage.models import Member, MemberAlias, RelayMessage, UnmatchedName
from storage.repositories.roster import add_aliases, upsert_members

WEBHOOK_ID = 1_144_000_000_000_000_001
TRACKSCAPE_ID = 1_144_000_000_000_000_002
CHANNEL_ID = 1_100_000_000_000_000_777
HUMAN_ID = 555_000_000_000_000_001
T0 = datetime(2025, 12, 23, 19, 0, tzinfo=UTC)
GROUP_ID = 11114
CONFIG = compile_relay_config([WEBHOOK_ID, TRACKSCAPE_ID], {})


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    settings = Settings(
        database_url="sqlite://",
        wom_group_id=GROUP_ID,
        relay_channel_ids=[CHANNEL_ID],
        relay_author_ids=[WEBHOOK_ID, TRACKSCAPE_ID],
    )
    application = App(db=db, wom=wom_client(settings), clock=lambda: T0)
    try:
        yield application
    finally:
        await application.wom.close()


def relay(
    message_id: int,
    content: str = "",
    *,
    at: datetime = T0,
    embeds: tuple[EmbedIn, ...] = (),
    author_id: int = WEBHOOK_ID,
    webhook: bool = True,
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=message_id,
        channel_id=CHANNEL_ID,
        author_id=author_id,
        author_name="Osrs clanchat" if webhook else "someone",
        is_bot=webhook,
        webhook_id=author_id if webhook else None,
        content=content,
        embeds=embeds,
        posted_at=at,
    )


async def add_member(app: App, clan_id: int, player_id: int, name: str, **extra: Any) -> int:
    row = {
        "clan_id": clan_id,
        "wom_player_id": player_id,
        "rsn_key": name.lower(),
        "display_name": name,
        "role": "member",
        "account_type": None,
        "build": None,
        "status": None,
        "joined_at": T0 - timedelta(days=30),
        "left_at": None,
        "wom_updated_at": None,
        "last_changed_at": None,
        "updated_at": T0,
    }
    row.update(extra)
    async with app.db.write() as session:
        await upsert_members(session, [row])
        member = (
            await session.execute(
                select(Member).where(Member.clan_id == clan_id, Member.wom_player_id == player_id)
            )
        ).scalar_one()
        return member.id


async def rows(app: App) -> list[RelayMessage]:
    async with app.db.read() as session:
        result = await session.execute(
            select(RelayMessage).order_by(RelayMessage.message_id, RelayMessage.part)
        )
        return list(result.scalars())


async def test_relay_line_is_stored_attributed_to_the_member(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    zezima = await add_member(app, clan_id, 1, "Zezima")
    result = await ingest(
        app,
        clan_id,
        [relay(10, " <:Captain:1144312094422994944> **Zezima**: gz\\! 99 \\:\\)")],
        source="live",
        config=CONFIG,
    )
    assert (result.new, result.chat, result.unmatched) == (1, 1, 0)
    [row] = await rows(app)
    assert (row.member_id, row.kind, row.text, row.rank_title) == (
        zezima,
        "chat",
        "gz! 99 :)",
        "Captain",
    )
    assert row.source == "live"


async def test_same_message_live_then_backfill_is_stored_once(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    message = relay(10, "**Zezima**: anyone for cox\\?")
    first = await ingest(app, clan_id, [message], source="live", config=CONFIG)
    again = await ingest(app, clan_id, [message, message], source="backfill", config=CONFIG)
    assert first.new == 1
    assert (again.new, again.duplicates_of_known) == (0, 2)
    stored = await rows(app)
    assert len(stored) == 1 and stored[0].source == "live"
    assert (await unmatched_names(app, clan_id)) == {"zezima": 1}


async def test_trackscape_message_with_three_embeds_gives_three_rows(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    embeds = tuple(EmbedIn(author_name=name, description="hello") for name in ("A", "B", "C"))
    result = await ingest(
        app,
        clan_id,
        [relay(11, embeds=embeds, author_id=TRACKSCAPE_ID, webhook=False)],
        source="live",
        config=CONFIG,
    )
    assert result.new == 3 and result.formats == {"trackscape": 3}
    assert [(r.part, r.rsn_key) for r in await rows(app)] == [(0, "a"), (1, "b"), (2, "c")]


async def test_duplicate_relays_within_20_s_count_once_and_are_remembered(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    line = "**Zezima**: gz"
    result = await ingest(
        app,
        clan_id,
        [
            relay(20, line, at=T0),
            relay(21, line, at=T0 + timedelta(seconds=3)),
            relay(22, line, at=T0 + timedelta(seconds=19)),
            relay(23, line, at=T0 + timedelta(seconds=45)),  # > 20 s: said again
            relay(24, "**Lynx Titan**: gz", at=T0 + timedelta(seconds=1)),  # another player
        ],
        source="live",
        config=CONFIG,
    )
    stored = {r.message_id: r for r in await rows(app)}
    assert result.new == 5 and result.duplicate_relays == 2
    canonical = stored[20].id
    assert [stored[m].duplicate_of for m in (20, 21, 22, 23, 24)] == [
        None,
        canonical,
        canonical,
        None,
        None,
    ]
    assert (await unmatched_names(app, clan_id))["zezima"] == 2


async def test_duplicate_relay_outcome_does_not_depend_on_arrival_order(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    line = "**Zezima**: gz"
    late = relay(31, line, at=T0 + timedelta(seconds=5))
    later = relay(32, line, at=T0 + timedelta(seconds=22))
    await ingest(app, clan_id, [late, later], source="live", config=CONFIG)
    before = {r.message_id: r for r in await rows(app)}
    assert before[32].duplicate_of == before[31].id  # 17 s after the first seen copy
    # Backfill brings the earliest copy: it becomes canonical, 32 is now 22 s after it.
    await ingest(app, clan_id, [relay(30, line, at=T0)], source="backfill", config=CONFIG)
    after = {r.message_id: r for r in await rows(app)}
    assert [after[m].duplicate_of for m in (30, 31, 32)] == [None, after[30].id, None]


async def test_duplicate_relay_against_stored_row_from_an_earlier_batch(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await ingest(app, clan_id, [relay(40, "**Zezima**: gz", at=T0)], source="live", config=CONFIG)
    result = await ingest(
        app,
        clan_id,
        [relay(41, "**Zezima**: gz", at=T0 + timedelta(seconds=2))],
        source="live",
        config=CONFIG,
    )
    assert result.duplicate_relays == 1
    stored = {r.message_id: r for r in await rows(app)}
    assert stored[41].duplicate_of == stored[40].id


async def test_member_typing_a_chat_line_is_discord_chatter_not_attributed(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await add_member(app, clan_id, 1, "Zezima")
    result = await ingest(
        app,
        clan_id,
        [relay(50, "**Zezima**: hi", author_id=HUMAN_ID, webhook=False)],
        source="live",
        config=CONFIG,
    )
    [row] = await rows(app)
    assert (row.kind, row.member_id, row.rsn_key, row.text) == (
        "discord",
        None,
        None,
        "**Zezima**: hi",
    )
    assert (result.discord, result.unmatched) == (1, 0)


async def test_unmatched_name_is_counted_and_attaches_once_a_member_has_it(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await ingest(
        app,
        clan_id,
        [
            relay(60, "**New Guy**: hello", at=T0),
            relay(61, "**New_Guy**: anyone?", at=T0 + timedelta(minutes=5)),
        ],
        source="live",
        config=CONFIG,
    )
    async with app.db.read() as session:
        [name] = (await session.execute(select(UnmatchedName))).scalars()
    assert (name.rsn_key, name.lines, name.first_seen, name.last_seen, name.display_name) == (
        "new guy",
        2,
        T0,
        T0 + timedelta(minutes=5),
        "New_Guy",
    )
    assert await reattribute(app, clan_id) == 0  # nobody has the name yet
    member = await add_member(app, clan_id, 7, "New Guy", rsn_key="new guy")
    assert await reattribute(app, clan_id) == 2
    assert {r.member_id for r in await rows(app)} == {member}
    assert await unmatched_names(app, clan_id) == {}


async def test_rename_alias_attributes_old_name_lines_to_the_member(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    member = await add_member(app, clan_id, 8, "Iron Guy", rsn_key="iron guy")
    async with app.db.write() as session:
        await add_aliases(
            session,
            [
                {
                    "clan_id": clan_id,
                    "member_id": member,
                    "rsn_key": "old guy",
                    "display_name": "Old Guy",
                    "changed_at": T0 - timedelta(days=1),
                    "source": "wom_name_change",
                }
            ],
        )
    await ingest(app, clan_id, [relay(70, "**Old Guy**: still me")], source="import", config=CONFIG)
    [row] = await rows(app)
    assert (row.member_id, row.rsn_key, row.source) == (member, "old guy", "import")


async def test_alias_added_later_attaches_rows_through_resolve(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await ingest(app, clan_id, [relay(71, "**Old Guy**: hi")], source="live", config=CONFIG)
    member = await add_member(app, clan_id, 9, "Iron Guy", rsn_key="iron guy")
    async with app.db.write() as session:
        session.add(
            MemberAlias(
                clan_id=clan_id, member_id=member, rsn_key="old guy", display_name="Old Guy"
            )
        )
    assert await reattribute(app, clan_id) == 1
    assert [r.member_id for r in await rows(app)] == [member]


async def test_a_current_member_wins_over_one_who_left_with_the_same_name(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await add_member(app, clan_id, 1, "Zezima", left_at=T0 - timedelta(days=3))
    current = await add_member(app, clan_id, 2, "Zezima")
    await ingest(app, clan_id, [relay(72, "**Zezima**: back")], source="live", config=CONFIG)
    assert [r.member_id for r in await rows(app)] == [current]


async def test_edit_updates_the_text(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await ingest(app, clan_id, [relay(80, "**Zezima**: helo")], source="live", config=CONFIG)
    edited = T0 + timedelta(minutes=1)
    assert (
        await apply_edit(app, 80, content="**Zezima**: hello", edited_at=edited, config=CONFIG) == 1
    )
    [row] = await rows(app)
    assert (row.text, row.edited_at, row.kind) == ("hello", edited, "chat")
    assert await apply_edit(app, 999, content="x", edited_at=edited, config=CONFIG) == 0


async def test_delete_marks_the_row_and_keeps_it(app: App) -> None:
    clan_id = await ensure_clan_for(app, GROUP_ID)
    await ingest(app, clan_id, [relay(90, "**Zezima**: oops")], source="live", config=CONFIG)
    gone = T0 + timedelta(minutes=2)
    assert await apply_delete(app, [90, 91], gone) == 1
    [row] = await rows(app)
    assert (row.deleted_at, row.text) == (gone, "oops")
    # Ingesting the deleted message again (a backfill) does not bring it back as new.
    again = await ingest(
        app, clan_id, [relay(90, "**Zezima**: oops")], source="backfill", config=CONFIG
    )
    assert again.new == 0


def test_bad_custom_format_gives_an_error_naming_the_setting() -> None:
    settings = Settings(relay_custom_formats={"mine": "(?P<player>[a-z+", "ok": r"(?P<x>.)"})
    with pytest.raises(ConfigError) as caught:
        relay_config(settings)
    message = str(caught.value)
    assert "CLANSTATS_RELAY_CUSTOM_FORMATS[mine]" in message
    assert "CLANSTATS_RELAY_CUSTOM_FORMATS[ok]" in message  # every problem at once


async def test_custom_format_lines_are_attributed(app: App) -> None:
    bridged = compile_relay_config(
        [WEBHOOK_ID, TRACKSCAPE_ID],
        {"bridge": r"^\[CC\] (?P<player>[^:]+): (?P<text>.*)$"},
    )
    clan_id = await ensure_clan_for(app, GROUP_ID)
    result = await ingest(
        app, clan_id, [relay(95, "[CC] Zezima: hi all")], source="live", config=bridged
    )
    assert result.formats == {"bridge": 1}
    [row] = await rows(app)
    assert (row.rsn_key, row.text) == ("zezima", "hi all")


async def test_ingest_is_parse_batch_then_store_parsed_and_the_batch_pickles(app: App) -> None:
    import pickle

    from bot.usecases.harvest import parse_batch, store_parsed

    clan_id = await ensure_clan_for(app, GROUP_ID)
    messages = [
        relay(100, "**Zezima**: gz\\!\n**Lynx Titan**: ty", at=T0),
        relay(100, "**Zezima**: gz\\!\n**Lynx Titan**: ty", at=T0),  # the same message twice
        relay(101, "**Zezima**: gz\\!", at=T0 + timedelta(seconds=2)),
    ]
    parsed = parse_batch(messages, CONFIG)
    assert (parsed.received, parsed.events, parsed.repeats, len(parsed.rows)) == (3, 5, 2, 3)
    again = pickle.loads(pickle.dumps(parsed))
    assert again == parsed
    assert all(type(row) is type(parsed.rows[0]) for row in again.rows)
    empty = parse_batch([], CONFIG)
    assert pickle.loads(pickle.dumps(empty)) == empty
    result = await store_parsed(app, clan_id, again, source="import")
    assert (result.new, result.duplicates_of_known, result.duplicate_relays) == (3, 2, 1)
    stored = {(r.message_id, r.part): r for r in await rows(app)}
    assert stored[(101, 0)].duplicate_of == stored[(100, 0)].id


async def test_big_batch_spanning_several_insert_statements(app: App) -> None:
    """More rows than one multi-row INSERT holds: ids map back to the right rows."""
    clan_id = await ensure_clan_for(app, GROUP_ID)
    messages = [
        relay(1_000 + i, f"**Player{i % 50}**: line {i % 7}", at=T0 + timedelta(seconds=i))
        for i in range(4_500)
    ]
    result = await ingest(app, clan_id, messages, source="import", config=CONFIG)
    assert result.new == 4_500
    stored = await rows(app)
    assert [r.message_id for r in stored] == [m.message_id for m in messages]
    assert all(r.text == f"line {(r.message_id - 1_000) % 7}" for r in stored)
    again = await ingest(app, clan_id, messages, source="backfill", config=CONFIG)
    assert (again.new, again.duplicates_of_known) == (0, 4_500)


async def test_duplicate_relays_do_not_depend_on_batching_or_order(app: App) -> None:
    """Repeats within and across batches, in any arrival order, mark the same rows."""
    import random

    clan_id = await ensure_clan_for(app, GROUP_ID)
    line_at = [
        ("**Zezima**: gz", 0),
        ("**Zezima**: gz", 4),  # repeat
        ("**Zezima**: gz", 21),  # 17 s after the repeat, 21 s after the canonical: canonical
        ("**Zezima**: gz", 30),  # repeat of the one at 21
        ("**Zezima**: gz", 80),
        ("**Lynx**: gz", 5),
        ("**Lynx**: gz", 26),  # 21 s apart: canonical
        ("**Lynx**: gz", 27),  # repeat
        ("**Lynx**: gz", 3_000),
    ]
    outcomes = []
    for seed in range(6):
        # Each round is a separate copy of the traffic, a day apart (message ids are global).
        base = 1_000 * (seed + 1)
        day = timedelta(days=seed)
        messages = [
            relay(base + i, text, at=T0 + day + timedelta(seconds=s))
            for i, (text, s) in enumerate(line_at)
        ]
        rng = random.Random(seed)
        order = list(range(len(messages)))
        if seed:
            rng.shuffle(order)
        cut = rng.randint(1, len(order) - 1)
        for part in (order[:cut], order[cut:]):
            await ingest(app, clan_id, [messages[i] for i in part], source="live", config=CONFIG)
        got = [r for r in await rows(app) if base <= r.message_id < base + 1_000]
        index_of = {r.id: r.message_id - base for r in got}
        outcomes.append(
            sorted(
                (r.message_id - base, index_of[r.duplicate_of] if r.duplicate_of else None)
                for r in got
            )
        )
    assert outcomes[0] == [
        (0, None),
        (1, 0),
        (2, None),
        (3, 2),
        (4, None),
        (5, None),
        (6, None),
        (7, 6),
        (8, None),
    ]
    assert all(outcome == outcomes[0] for outcome in outcomes), outcomes


async def test_a_backfill_page_and_its_cursor_commit_together(app: App) -> None:
    from storage.repositories.cursors import get_cursor

    clan_id = await ensure_clan_for(app, GROUP_ID)
    page = [relay(9_000 + i, f"**Zezima**: line {i}") for i in range(3)]
    result = await ingest(
        app, clan_id, page, source="backfill", cursor=(CHANNEL_ID, 9_002), config=CONFIG
    )
    # a page whose messages are all stored already still moves the cursor
    again = await ingest(
        app, clan_id, page, source="backfill", cursor=(CHANNEL_ID, 9_002), config=CONFIG
    )
    # an empty page (nothing relayed) moves it too, and never backwards
    await ingest(app, clan_id, [], source="backfill", cursor=(CHANNEL_ID, 9_500), config=CONFIG)
    await ingest(app, clan_id, [], source="backfill", cursor=(CHANNEL_ID, 9_100), config=CONFIG)
    async with app.db.read() as session:
        cursor = await get_cursor(session, CHANNEL_ID)
    assert result.new == 3 and again.new == 0
    assert cursor == 9_500


# --- the clan's identity ----------------------------------------------------------------------


async def _name_clan(app: App, clan_id: int, name: str, clan_chat: str | None) -> None:
    from storage.models import Clan

    async with app.db.write() as session:
        clan = await session.get(Clan, clan_id)
        assert clan is not None
        clan.name, clan.clan_chat = name, clan_chat


async def test_clan_identity_setting_then_clan_chat_then_group_name_then_roster(app: App) -> None:
    from bot.usecases.harvest import clan_relay_config

    clan_id = await ensure_clan_for(app, GROUP_ID)
    base = relay_config(Settings(relay_author_ids=[TRACKSCAPE_ID]))
    # Never synced: no name; the names members hold stand in.
    member = await add_member(app, clan_id, 1, "Zezima")
    async with app.db.write() as session:
        await add_aliases(
            session,
            [
                {
                    "clan_id": clan_id,
                    "member_id": member,
                    "rsn_key": "old zez",
                    "display_name": "Old Zez",
                    "changed_at": T0,
                    "source": "wom",
                }
            ],
        )
    unknown = await clan_relay_config(app, clan_id, base)
    assert (unknown.clan_name, unknown.member_keys) == (None, frozenset({"zezima", "old zez"}))
    await _name_clan(app, clan_id, "NL tracking", None)
    assert (await clan_relay_config(app, clan_id, base)).clan_name == "NL tracking"
    await _name_clan(app, clan_id, "NL tracking", "Nevr Lucky")
    named = await clan_relay_config(app, clan_id, base)
    assert (named.clan_name, named.member_keys) == ("Nevr Lucky", frozenset())
    overridden = relay_config(
        Settings(relay_author_ids=[TRACKSCAPE_ID], clan_chat_name="  Nevr\u00a0Lucky  Two ")
    )
    assert (await clan_relay_config(app, clan_id, overridden)).clan_name == "Nevr Lucky Two"


async def test_a_trackscape_clan_line_is_the_subjects_broadcast_under_the_wom_clan_chat(
    app: App,
) -> None:
    from bot.usecases.harvest import clan_relay_config

    clan_id = await ensure_clan_for(app, GROUP_ID)
    await add_member(app, clan_id, 1, "Zezima")
    await _name_clan(app, clan_id, "Nevr Lucky (WOM)", "Nevr Lucky")
    config = await clan_relay_config(
        app, clan_id, relay_config(Settings(relay_author_ids=[TRACKSCAPE_ID]))
    )
    embed = EmbedIn(author_name="Nevr Lucky", description="Zezima has reached Attack level 99.")
    await ingest(
        app,
        clan_id,
        [relay(1, embeds=(embed,), author_id=TRACKSCAPE_ID)],
        source="live",
        config=config,
    )
    [row] = await rows(app)
    assert (row.kind, row.broadcast_type, row.rsn_key) == ("broadcast", "level", "zezima")
    assert row.member_id is not None
