"""/help lists what this member may use here; officer commands are hidden from members by
Discord itself (default_member_permissions) and still checked by the bot."""

from __future__ import annotations

import dataclasses

from fakes.discord import SentMessage
from fakes.world import (
    ADMIN_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    ClanWorld,
)
from tests.e2e.harness import running_bot

MANAGE_GUILD = str(1 << 5)  # permissions.mdx, "Bitwise Permission Flags"
MEMBER_COMMANDS = ["/help", "/leaderboard", "/link", "/player", "/unlink", "/whois"]
OFFICER_COMMANDS = [
    "/clan alerts",
    "/clan audit",
    "/clan drops",
    "/clan inactive",
    "/clan promotions",
    "/clan report",
    "/clan unmatched",
    "/link-allow",
    "/roles apply",
    "/roles map",
    "/roles preview",
    "/roles show",
    "/roles unmap",
    "/status",
    "/sync confirm-departures",
    "/sync now",
]


def _listed(reply: SentMessage) -> list[tuple[str, bool]]:
    """(command, marked as officer) per line of a /help answer."""
    (embed,) = reply.embeds
    rows = []
    for line in embed["description"].splitlines():
        name, _, rest = line.partition("`")[2].partition("`")
        rows.append((name, rest.startswith(" 🛡️:")))
    return rows


async def test_help_lists_what_each_member_may_use_and_discord_hides_officer_commands(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url) as running:
        # What the bot registered: officer commands need Manage Server unless the server's
        # integration settings open them (the world opens them to the officer role).
        registered = {
            c["name"]: c["default_member_permissions"]
            for c in world.discord.registered_commands[GUILD_ID]
        }
        assert {name: registered[name] for name in ("clan", "sync", "status")} == {
            "clan": MANAGE_GUILD,
            "sync": MANAGE_GUILD,
            "status": MANAGE_GUILD,
        }
        # every command a member may use is open to all; every other one is hidden
        member_roots = {"help", "player", "leaderboard", "link", "unlink", "whois"}
        assert all((dmp is None) == (name in member_roots) for name, dmp in registered.items())
        for name in ("clan", "sync", "status"):
            assert not world.discord.command_usable_by(
                GUILD_ID, GENERAL_CHANNEL_ID, MEMBER_USER_ID, name
            )
            assert world.discord.command_usable_by(
                GUILD_ID, GENERAL_CHANNEL_ID, OFFICER_USER_ID, name
            )

        replies: dict[int, SentMessage] = {}
        for user in (MEMBER_USER_ID, OFFICER_USER_ID, ADMIN_USER_ID):
            asked = await world.discord.invoke_slash(GUILD_ID, GENERAL_CHANNEL_ID, user, "help")
            replies[user] = await asked.wait_response(timeout=10)

        # An officer without the officer role configured is a member again, for /help too.
        # (as /setup saving the clan without officer roles would: the clan's wiring counts)
        wiring = running.bot.clans.for_guild(GUILD_ID)
        assert wiring is not None
        await running.bot.clans.saved(dataclasses.replace(wiring, officer_role_ids=()))
        demoted = await world.discord.invoke_slash(
            GUILD_ID, GENERAL_CHANNEL_ID, OFFICER_USER_ID, "help"
        )
        replies[0] = await demoted.wait_response(timeout=10)

    member = _listed(replies[MEMBER_USER_ID])
    assert member == [(name, False) for name in MEMBER_COMMANDS]
    assert replies[MEMBER_USER_ID].embeds[0]["footer"]["text"] == (
        "Officer commands are not listed: you are not an officer in this server."
    )
    officer = _listed(replies[OFFICER_USER_ID])
    # everything, sorted, the member's commands unmarked and every other one marked
    assert officer == sorted(officer)
    assert [row for row in officer if not row[1]] == member
    assert {name for name, marked in officer if marked} >= set(OFFICER_COMMANDS)
    assert _listed(replies[ADMIN_USER_ID]) == officer  # Manage Server: always an officer
    assert _listed(replies[0]) == member
    for reply in replies.values():
        assert reply.ephemeral and reply.allowed_mentions == {"parse": []}
    line = replies[OFFICER_USER_ID].embeds[0]["description"].splitlines()[0]
    assert line == "`/clan alerts` 🛡️: Slumps, churn risk, silent grinders, idle chatters"
