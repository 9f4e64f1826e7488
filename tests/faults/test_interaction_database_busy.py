"""A command that cannot get at the database (every pooled connection busy, the server down)
is an outage, not a bug: one warning line without a traceback, and a reply saying to try
again (the chaos suite's soak, on an overloaded machine, logged 285 error tracebacks for it)."""

from __future__ import annotations

from bot.client import DEFAULT_EXTENSIONS
from fakes.world import GUILD_ID, OFFICER_USER_ID, RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import captured_logs, running_bot

BROKEN = (*DEFAULT_EXTENSIONS, "tests.e2e.broken_cog")


async def test_a_command_finding_no_free_connection_is_a_warning_and_a_clear_reply(
    world: ClanWorld, sqlite_url: str
) -> None:
    with captured_logs() as logs:
        async with running_bot(world, sqlite_url, extensions=BROKEN):
            interaction = await world.discord.invoke_slash(
                GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "busydb"
            )
            reply = await interaction.wait_response(timeout=10)
        failed = logs.events("interaction.failed")
        busy = logs.events("interaction.database_unavailable")
    assert reply.ephemeral
    assert reply.content.startswith(
        "The database is busy or unreachable right now: try again in a minute."
    )
    assert "trace id" in reply.content
    assert failed == []
    (line,) = busy
    assert line["level"] == "warning"
    assert line["reason"] == "no database connection became free in time"
    assert "exception" not in line
