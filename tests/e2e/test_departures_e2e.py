"""Held departures end to end: the real bot, fake Discord and fake WOM over real sockets.

WOM's roster loses a third of the clan: the sync holds the departures, officers are told
once in the announce channel, a member cannot confirm, an officer's
``/sync confirm-departures`` applies them at once and they are announced as departures.
"""

from __future__ import annotations

import asyncio

from fakes.world import (
    ANNOUNCE_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    ClanWorld,
)
from tests.e2e.harness import running_bot

NOTICE = "Departures held for an officer"


async def test_held_departures_are_told_to_officers_once_and_applied_when_confirmed(
    world: ClanWorld, db_url: str
) -> None:
    def embeds(title: str) -> list[str]:
        return [
            e.get("description", "")
            for m in world.discord.sent_messages
            if m.channel_id == ANNOUNCE_CHANNEL_ID
            for e in m.embeds
            if e.get("title") == title
        ]

    async def slash(user: int, subcommand: str) -> list[str]:
        interaction = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, user, "sync", subcommand=subcommand
        )
        if user == MEMBER_USER_ID:
            return [(await interaction.wait_response(timeout=10)).content]
        return [r.content for r in await interaction.wait_responses(2, timeout=30)]

    async with running_bot(world, db_url) as running:
        await asyncio.wait_for(running.bot.startup_sync_done.wait(), 30)
        world.wom.keep_only_members(200)
        # Discord hides /sync from members; opened to everyone, the bot still refuses them.
        world.discord.set_command_permissions(
            GUILD_ID, [{"id": GUILD_ID, "type": 1, "permission": True}], command="sync"
        )
        held = await slash(OFFICER_USER_ID, "now")
        await world.discord.wait_for(lambda: bool(embeds(NOTICE)), timeout=10)
        again = await slash(OFFICER_USER_ID, "now")  # still missing: no second notice
        refused = await slash(MEMBER_USER_ID, "confirm-departures")
        confirmed = await slash(OFFICER_USER_ID, "confirm-departures")
        await world.discord.wait_for(lambda: bool(embeds("Roster changes")), timeout=10)
        nothing_left = await slash(OFFICER_USER_ID, "confirm-departures")
        await running.shutdown()

    assert "103 departures NOT applied: 103 of 303 members would leave at once" in held[-1]
    assert "/sync confirm-departures" in held[-1]
    assert "103 departures NOT applied" in again[-1]
    notices = embeds(NOTICE)
    assert len(notices) == 1
    assert "**103** members missing" in notices[0] and "/sync confirm-departures" in notices[0]
    assert "Only clan officers" in refused[0]
    assert "Confirmed 103 held departures" in confirmed[-1]
    assert "200 members" in confirmed[-1] and "103 left" in confirmed[-1]
    assert "103 departures applied as confirmed by an officer" in confirmed[-1]
    changes = embeds("Roster changes")
    assert len(changes) == 1 and changes[0].count("left the clan") == 40
    assert "… and 63 more" in changes[0]
    assert "nothing to confirm" in nothing_left[-1]
