"""Every log line written while handling a gateway event or an interaction has its trace id."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from bot.core.logging import configure_logging
from fakes.chat_script import chat
from fakes.world import GUILD_ID, OFFICER_USER_ID, RELAY_CHANNEL_ID, ClanWorld
from tests.e2e.harness import running_bot


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]


async def test_interactions_and_gateway_events_carry_distinct_trace_ids(
    world: ClanWorld, db_url: str
) -> None:
    buffer = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=buffer)
    try:
        async with running_bot(world, db_url):
            interaction = await world.discord.invoke_slash(
                GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status"
            )
            await interaction.wait_answer(timeout=10)
            await world.discord.post_message(
                RELAY_CHANNEL_ID, **chat(0, "llo6", "hello").post_kwargs(datetime.now(UTC))
            )
            await world.discord.wait_for(
                lambda: "Dispatching event message" in buffer.getvalue(), timeout=10
            )
            # The live flush of that message and the startup WOM sync (a scheduled job).
            await world.discord.wait_for(
                lambda: (
                    '"relay.flushed"' in buffer.getvalue() and '"job.finished"' in buffer.getvalue()
                ),
                timeout=20,
            )
    finally:
        configure_logging(level="WARNING", fmt="console")
    lines = _lines(buffer)
    received = [line for line in lines if line["event"] == "interaction.received"]
    assert received and received[0].get("trace_id")
    dispatch = [
        line
        for line in lines
        if line.get("logger") == "discord.client" and "Dispatching event message" in line["event"]
    ]
    assert dispatch and all(line.get("trace_id") for line in dispatch)
    assert received[0]["trace_id"] not in {line["trace_id"] for line in dispatch}
    assert "fake-token" not in buffer.getvalue()

    # Live ingest and scheduled jobs run in tasks of their own: each flush and each job run
    # has its own trace id, never the startup one, and none carries phase=startup.
    startup_ids = {line["trace_id"] for line in lines if line.get("phase") == "startup"}
    assert startup_ids
    flushed = [line for line in lines if line["event"] in ("relay.flushed", "relay.ingested")]
    assert flushed and all(line.get("trace_id") for line in flushed)
    assert not any("phase" in line for line in flushed)
    assert not {line["trace_id"] for line in flushed} & startup_ids
    job = [line for line in lines if line["event"] in ("job.started", "job.finished")]
    sync = [line for line in job if line.get("job") == "wom.sync:clan-1"]
    assert len(sync) == 2 and not any("phase" in line for line in sync)
    assert sync[0]["trace_id"] == sync[1]["trace_id"]  # one id for the whole run
    assert sync[0]["trace_id"] not in startup_ids
    assert sync[0]["trace_id"] not in {line["trace_id"] for line in flushed}
