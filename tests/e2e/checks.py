"""The checks every end-to-end test ends with: Discord would have accepted everything."""

from __future__ import annotations

from fakes.world import ClanWorld


def assert_discord_accepted_everything(world: ClanWorld) -> None:
    problems = [*world.discord.violations, *world.discord.unknown_requests]
    assert not problems, "Discord would have rejected what the bot sent:\n  " + "\n  ".join(
        problems
    )


def assert_nothing_pings(world: ClanWorld) -> None:
    loud = [
        m
        for m in world.discord.sent_messages
        if m.allowed_mentions is None
        or m.allowed_mentions.get("parse") not in ([], None)
        or m.allowed_mentions.get("users")
        or m.allowed_mentions.get("roles")
    ]
    assert not loud, f"{len(loud)} message(s) could ping: {[m.content[:60] for m in loud]}"
