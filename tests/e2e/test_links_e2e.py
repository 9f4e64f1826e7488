"""Proven links against the real bot and the fakes: ``/link`` → code → ``!link CODE`` relayed
from clan chat → link; every refusal; ``/whois``, ``/player``'s badge, ``/unlink``; a code
typed while the bot was down is proven by the backfill, and links survive restarts."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fakes.chat_script import chat
from fakes.discord import FakeInteraction, SentMessage
from fakes.world import (
    ADMIN_USER_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from storage.engine import Database
from storage.models import RelayMessage, RsnLink
from tests.e2e.harness import eventually, running_bot, wait_relay_rows
from tests.e2e.test_officer_e2e import _synced

ROGUE_WEBHOOK_ID = 1_100_000_000_000_000_039


async def _answer(interaction: FakeInteraction) -> SentMessage:
    responses = await interaction.wait_responses(2, timeout=30)  # defer, then the answer
    return responses[-1]


async def _command(world: ClanWorld, user_id: int, command: str, **options: object) -> SentMessage:
    asked = await world.discord.invoke_slash(
        GUILD_ID,
        REPORT_CHANNEL_ID,
        user_id,
        command,
        [{"name": k, "value": v} for k, v in options.items()],
    )
    answer = await _answer(asked)
    assert answer.ephemeral
    return answer


async def _code(world: ClanWorld, user_id: int, name: str) -> str:
    answer = await _command(world, user_id, "link", name=name)
    found = re.search(r"`!link ([A-Z0-9]{6})`", answer.content)
    assert found, answer.content
    return found.group(1)


async def _links(url: str) -> list[tuple[int, int]]:
    db = Database.from_url(url)
    try:
        async with db.read() as s:
            rows = await s.execute(
                select(RsnLink.discord_user_id, RsnLink.member_id).where(
                    RsnLink.unlinked_at.is_(None)
                )
            )
            return sorted((u, m) for u, m in rows)
    finally:
        await db.dispose()


async def _post_chat(world: ClanWorld, name: str, text: str, at: datetime, **kw: object) -> None:
    kwargs = chat(0, name, text).post_kwargs(at)
    kwargs.update(kw)
    await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)


async def test_link_flow_refusals_whois_player_and_unlink(world: ClanWorld, db_url: str) -> None:
    # Member Mo does not accept DMs from the server's members: told at the next command.
    world.discord.dms_closed.add(MEMBER_USER_ID)
    async with running_bot(world, db_url) as running:
        await _synced(running)
        unknown = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, MEMBER_USER_ID, "link", [{"name": "name", "value": "x"}]
        )
        assert "No current clan member is called 'x'" in (await _answer(unknown)).content

        code = await _code(world, MEMBER_USER_ID, "DocOfMed")
        now = datetime.now(UTC)
        # Every way of typing it that must do nothing: a human in the relay channel, a
        # webhook that is not a configured relay, another member's name, a wrong code, a line
        # that is not the command, and the right line too late.
        await world.discord.post_message(
            RELAY_CHANNEL_ID, content=f"DocOfMed: !link {code}", author_id=MEMBER_USER_ID
        )
        await _post_chat(world, "DocOfMed", f"!link {code}", now, webhook_id=ROGUE_WEBHOOK_ID)
        await _post_chat(world, "Jbwell", f"!link {code}", now)
        await _post_chat(world, "DocOfMed", "!link ZZZ999", now)
        await _post_chat(world, "DocOfMed", f"my code is !link {code}", now)
        await _post_chat(world, "DocOfMed", f"!link {code}", now + timedelta(minutes=31))
        await wait_relay_rows(db_url, 6)
        await asyncio.sleep(0.3)
        assert await _links(db_url) == []

        # The right line, from the claimed name, through the relay: linked.
        await _post_chat(world, "DocOfMed", f"!link {code.lower()}", now)

        async def linked() -> bool:
            return len(await _links(db_url)) == 1

        await eventually(linked, "the link is made")
        (link,) = await _links(db_url)
        assert link[0] == MEMBER_USER_ID
        # Replayed by someone else later: the code is spent.
        await _post_chat(world, "DocOfMed", f"!link {code}", now + timedelta(minutes=1))
        await wait_relay_rows(db_url, 8)

        # The member is told after their next command, whichever it is, once.
        board = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "leaderboard",
            [{"name": "metric", "value": "chat"}, {"name": "period", "value": "1d"}],
        )
        answers = await board.wait_responses(3, timeout=30)  # defer, the board, the notice
        assert answers[1].embeds and "proven" not in answers[1].content
        assert answers[2].ephemeral
        assert answers[2].content == "✅ Your link is proven: you are now linked to **DocOfMed**."
        # /whois and /player show the link; the notice is not repeated.
        mine = await _command(world, MEMBER_USER_ID, "whois", member=MEMBER_USER_ID)
        assert "Your link is proven" not in mine.content
        assert "is linked to:\n✅ **DocOfMed**" in mine.content
        again = await _command(world, OFFICER_USER_ID, "whois", member=MEMBER_USER_ID)
        assert "proven" not in again.content and "**DocOfMed**" in again.content
        nobody = await _command(world, OFFICER_USER_ID, "whois", member=OFFICER_USER_ID)
        assert "has no proven in-game name" in nobody.content
        shown = await _command(world, OFFICER_USER_ID, "player", name="DocOfMed")
        assert shown.embeds[0]["title"] == "DocOfMed ✅"
        verified = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}["Verified"]
        assert verified == "Linked to Member Mo"

        # The report names the linked member by their Discord display name beside the RSN.
        report = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "clan", subcommand="report"
        )
        pulse = (await _answer(report)).embeds[0]
        tops = {f["name"]: f["value"] for f in pulse["fields"]}["Top chatters"]
        assert tops.splitlines()[0].startswith("1. **DocOfMed** ✅ Member Mo "), tops

        # One member per account: the officer cannot claim it; nor link a second himself.
        taken = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            OFFICER_USER_ID,
            "link",
            [{"name": "name", "value": "DocOfMed"}],
        )
        assert "already linked to another Discord member" in (await _answer(taken)).content
        # A member may not unlink someone else; an officer may (the officer has no link).
        nothing = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            ADMIN_USER_ID,
            "unlink",
            [{"name": "member", "value": OFFICER_USER_ID}],
        )
        assert "There is no linked account to remove." in (await _answer(nothing)).content
        not_officer = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "unlink",
            [{"name": "member", "value": OFFICER_USER_ID}],
        )
        assert (
            "Only clan officers can unlink another member" in (await _answer(not_officer)).content
        )

    async with running_bot(world, db_url):
        # A restart: the link is still there.
        still = await _command(world, OFFICER_USER_ID, "whois", member=MEMBER_USER_ID)
        assert "**DocOfMed**" in still.content
        done = await _command(world, OFFICER_USER_ID, "unlink", member=MEMBER_USER_ID)
        assert "Member Mo's link(s) removed: 1." in done.content
        assert await _links(db_url) == []
    db = Database.from_url(db_url)
    try:
        async with db.read() as s:
            texts = list(
                (
                    await s.execute(
                        select(RelayMessage.text).where(RelayMessage.text.like("%link%"))
                    )
                ).scalars()
            )
    finally:
        await db.dispose()
    # Every line was stored, once, whatever it did.
    assert len(texts) == 8


async def test_a_code_typed_while_the_bot_was_down_is_proven_by_the_backfill(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        await _synced(running)
        code = await _code(world, OFFICER_USER_ID, "Jbwell")
    # The bot is down; the relay posts the line meanwhile.
    await _post_chat(world, "Jbwell", f"!link {code}", datetime.now(UTC))
    async with running_bot(world, db_url):

        async def linked() -> bool:
            return [u for u, _m in await _links(db_url)] == [OFFICER_USER_ID]

        await eventually(linked, "the backfill proves the link")
        # The officer accepts DMs: told at once, by DM.
        told = await world.discord.wait_for_sent(
            lambda m: m.channel_id in world.discord.dm_channels, timeout=20
        )
        assert world.discord.dm_channels[told.channel_id or 0] == OFFICER_USER_ID
        assert told.content == (
            "✅ Your link is proven: you are now linked to **Jbwell** in the clan."
        )
        assert told.allowed_mentions == {"parse": []}
