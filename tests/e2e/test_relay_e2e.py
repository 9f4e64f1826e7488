"""Relayed clan chat reaches the database live, after restarts and across dropped gateways."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fakes.chat_script import chat, day_posts
from fakes.world import RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import running_bot, stored_relay_rows, wait_relay_rows


async def test_every_relay_format_arrives_live_and_is_attributed(
    world: ClanWorld, db_url: str
) -> None:
    day = datetime.now(UTC) - timedelta(hours=3)
    expected_rows = 20  # 18 posts; the TrackScape post carries 3 embeds
    async with running_bot(world, db_url):
        for _post, kwargs in day_posts(day):
            await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)
        rows = await wait_relay_rows(db_url, expected_rows)
    by_kind = {k: [r for r in rows if r.kind == k] for k in ("chat", "broadcast", "discord")}
    assert len(rows) == expected_rows
    assert {r.rsn_key for r in by_kind["chat"]} >= {
        "partymarty94",
        "docofmed",
        "vanvolter ii",
        "hai ku",
        "hi ku",
        "theforgegod",
        "ll05",
    }
    assert {r.broadcast_type for r in by_kind["broadcast"]} >= {
        "raid_drop",
        "drop",
        "level",
        "collection_log",
        "invite",
        "pet",
    }
    spoof = by_kind["discord"]
    assert len(spoof) == 1 and spoof[0].rsn_key is None and spoof[0].member_id is None
    whip = [r for r in by_kind["chat"] if r.text == "anyone selling a whip?"]
    assert len(whip) == 2 and sum(1 for r in whip if r.duplicate_of is None) == 1


async def test_lines_posted_while_the_bot_was_down_are_backfilled_on_restart(
    world: ClanWorld, db_url: str
) -> None:
    start = datetime.now(UTC) - timedelta(hours=2)
    async with running_bot(world, db_url):
        await world.discord.post_message(
            RELAY_CHANNEL_ID, **chat(0, "partymarty94", "before the outage").post_kwargs(start)
        )
        await wait_relay_rows(db_url, 1)
    # the bot is down: the channel moves on without it
    for minute in range(1, 251):
        await world.discord.post_message(
            RELAY_CHANNEL_ID, **chat(minute, "DocOfMed", f"line {minute}").post_kwargs(start)
        )
    async with running_bot(world, db_url):
        rows = await wait_relay_rows(db_url, 251)
    source_ids = {int(m["id"]) for m in world.discord.history(RELAY_CHANNEL_ID)}
    assert {r.message_id for r in rows} == source_ids
    assert len(rows) == 251
    assert sum(1 for r in rows if r.source == "backfill") >= 250  # the gap came from backfill


async def test_a_dropped_websocket_reconnect_and_invalid_session_lose_nothing(
    world: ClanWorld, db_url: str
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    discord = world.discord

    async def post(first: int, label: str) -> None:
        for i in range(first, first + 30):
            await discord.post_message(
                RELAY_CHANNEL_ID, **chat(i, "Jbwell", f"{label} {i}").post_kwargs(start)
            )

    async with running_bot(world, db_url) as running:
        await post(0, "before")
        await discord.drop_gateway(resume=False, abrupt=True)
        await post(30, "during")  # posted while the bot is disconnected
        await discord.wait_until_ready(timeout=20)
        await post(60, "after")
        await wait_relay_rows(db_url, 90)
        # Discord asks the bot to reconnect (op 7): it resumes, missed events are replayed.
        resumes = discord.resume_count
        await discord.request_reconnect()
        await post(90, "reconnect")
        await discord.wait_for(lambda: discord.resume_count == resumes + 1, timeout=20)
        # INVALID SESSION, resumable (op 9, d: true): the bot resumes again.
        await discord.invalidate_session(resumable=True)
        await post(120, "resumable")
        await discord.wait_for(lambda: discord.resume_count == resumes + 2, timeout=20)
        # INVALID SESSION, not resumable: a new session; what it missed comes by backfill.
        identified = discord.identify_count
        await discord.invalidate_session(resumable=False)
        await post(150, "invalid")
        await discord.wait_for(lambda: discord.identify_count == identified + 1, timeout=20)
        await discord.wait_until_ready(timeout=20)
        rows = await wait_relay_rows(db_url, 180)
        assert running.bot.is_ready()
    expected = [
        f"{label} {i}"
        for label, first in (
            ("before", 0),
            ("during", 30),
            ("after", 60),
            ("reconnect", 90),
            ("resumable", 120),
            ("invalid", 150),
        )
        for i in range(first, first + 30)
    ]
    assert sorted(r.text for r in rows) == sorted(expected)
    assert len({r.message_id for r in rows}) == 180


async def test_edits_update_text_and_deletes_are_recorded_not_erased(
    world: ClanWorld, db_url: str
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    async with running_bot(world, db_url):
        first = await world.discord.post_message(
            RELAY_CHANNEL_ID, **chat(0, "llo6", "typo hear").post_kwargs(start)
        )
        second = await world.discord.post_message(
            RELAY_CHANNEL_ID, **chat(1, "llo6", "oops").post_kwargs(start)
        )
        await wait_relay_rows(db_url, 2)
        await world.discord.edit_message(
            RELAY_CHANNEL_ID, int(first["id"]), content=" **llo6**: typo here"
        )
        await world.discord.delete_message(RELAY_CHANNEL_ID, int(second["id"]))
        for _ in range(100):
            rows = {r.message_id: r for r in await stored_relay_rows(db_url)}
            if rows[int(first["id"])].edited_at and rows[int(second["id"])].deleted_at:
                break
            await asyncio.sleep(0.1)
    assert rows[int(first["id"])].text == "typo here"
    assert rows[int(second["id"])].deleted_at is not None
    assert rows[int(second["id"])].text == "oops"


async def test_trackscape_clan_line_is_told_by_its_clan_icon_live(
    world: ClanWorld, db_url: str
) -> None:
    """TrackScape's clan icon reaches the parser through the gateway: a clan line under a
    name the clan is not known by is still the clan's, credited to the broadcast's subject."""
    from fakes.world import TRACKSCAPE_BOT_ID

    embeds = [
        {
            "author": {
                "name": "NL Alt Chat",
                "icon_url": "https://oldschool.runescape.wiki/images/Your_Clan_icon.png",
            },
            "description": "DocOfMed received a drop: Abyssal whip (1,456,814 coins).",
        },
        {"author": {"name": "Nl Other"}, "description": "hello"},
    ]
    async with running_bot(world, db_url):
        await world.discord.post_message(
            RELAY_CHANNEL_ID, embeds=embeds, author_id=TRACKSCAPE_BOT_ID, author_name="TrackScape"
        )
        rows = await wait_relay_rows(db_url, 2)
    by_part = {r.part: r for r in rows}
    assert (by_part[0].kind, by_part[0].broadcast_type, by_part[0].rsn_key) == (
        "broadcast",
        "drop",
        "docofmed",
    )
    assert (by_part[1].kind, by_part[1].rsn_key) == ("chat", "nl other")
