"""``/clan drops`` and the relay format counts of ``/status``, against the real bot.

The scripted day (fakes/chat_script.py) is relayed in every format, plus two relay posts the
parser cannot place: a sentence no broadcast rule knows and an embed of fields only (a new
tool's shape). /status must count them per format, and /clan drops must list the day's whip
by its value, Butch the pet, the collection-log slot and the 99.
"""

from __future__ import annotations

import re
from datetime import timedelta

from fakes.chat_script import day_posts
from fakes.world import (
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    RELAY_WEBHOOK_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from tests.e2e.harness import running_bot, wait_relay_rows
from tests.e2e.test_officer_e2e import AS_OF, DAY_START, _answer, _csv_rows, _synced

UNKNOWN_SENTENCE = "Jbwell has frobnicated the wug <@&1>"
_COUNT_LINE = re.compile(
    r"^`(?P<fmt>[^`]+)` (?P<read>[\d,]+) read · (?P<not>[\d,]+) not understood$"
)


async def test_clan_drops_and_status_format_counts(world: ClanWorld, db_url: str) -> None:
    posts = list(day_posts(DAY_START))
    # every scripted post comes from a relay (webhook or TrackScape bot) but the spoof
    relay_posts = sum(1 for post, _kw in posts if post.author_id != MEMBER_USER_ID)
    async with running_bot(world, db_url, clock=lambda: AS_OF) as running:
        await _synced(running)
        # A relay post the parser reads nothing from: an embed of fields only.
        await world.discord.post_message(
            RELAY_CHANNEL_ID,
            embeds=[{"fields": [{"name": "Boss", "value": "Vorkath"}]}],
            webhook_id=RELAY_WEBHOOK_ID,
            timestamp=DAY_START - timedelta(minutes=1),
        )
        for _post, kwargs in posts:
            await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)
        await world.discord.post_message(
            RELAY_CHANNEL_ID,
            content=UNKNOWN_SENTENCE,
            webhook_id=RELAY_WEBHOOK_ID,
            timestamp=DAY_START + timedelta(minutes=201),
        )
        await wait_relay_rows(db_url, 21)  # the day's 20 rows and the unknown broadcast

        # Discord hides /clan from members; opened to everyone, the bot still refuses them.
        world.discord.set_command_permissions(
            GUILD_ID, [{"id": GUILD_ID, "type": 1, "permission": True}], command="clan"
        )
        refused = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, MEMBER_USER_ID, "clan", subcommand="drops"
        )
        reply = await refused.wait_response(timeout=10)
        assert "Only clan officers" in reply.content and reply.ephemeral

        asked = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            OFFICER_USER_ID,
            "clan",
            [{"name": "period", "value": "1d"}],
            subcommand="drops",
        )
        drops = await _answer(asked)
        rows = await _csv_rows(world, drops)

        status = await world.discord.invoke_slash(
            GUILD_ID, RELAY_CHANNEL_ID, OFFICER_USER_ID, "status"
        )
        shown = await status.wait_answer(timeout=10)

    (embed,) = drops.embeds
    assert drops.ephemeral and embed["title"] == "Drops, pets, collection log and 99s: 1d"
    span, *lines = embed["description"].splitlines()
    # the period heads every page, as timestamps each reader sees in their own time zone
    assert span == "<t:1766433600:f> – <t:1766520000:f>"
    assert lines[0].startswith("💰 **1.46M gp** Jbwell received a drop: Abyssal whip")
    assert any(line.startswith("🐾 ") and "Butch at 194 kills" in line for line in lines)
    assert any(line.startswith("📖 ") and "Elite void robe" in line for line in lines)
    assert any(line.startswith("🎉 ") and "Attack level 99" in line for line in lines)
    assert [(r["list"], r["member"], r["coins"]) for r in rows if r["list"] == "drop"] == [
        ("drop", "Jbwell", "1456814")
    ]
    assert {"pet", "collection_log", "level_99"} <= {r["list"] for r in rows}

    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    since, *lines = fields["Relay formats"].splitlines()
    assert since.startswith("since <t:")
    counts = {}
    for line in lines:
        match = _COUNT_LINE.match(line)
        assert match, line
        counts[match["fmt"]] = (
            int(match["read"].replace(",", "")),
            int(match["not"].replace(",", "")),
        )
    # every relay post counted once (the spoof is Discord chatter), two not understood
    assert sum(read for read, _ in counts.values()) == relay_posts + 2
    assert sum(not_understood for _, not_understood in counts.values()) == 2
    assert counts["(nothing read)"] == (1, 1)
    examples = "\n".join(v for n, v in fields.items() if n.startswith("Not understood: "))
    assert "Jbwell has frobnicated the wug @role" in examples and "Boss: Vorkath" in examples
