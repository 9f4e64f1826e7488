"""The clan's own lines are never a player's, whatever the WOM group is called.

End to end: the recorded group is synced through the fake WOM over real sockets under each
naming (the WOM group named like the in-game clan, named otherwise with WOM's ``clanChat``
giving the in-game name, or named otherwise with the name set in
``CLANSTATS_CLAN_CHAT_NAME``), a DiscordChatExporter export of a relay channel fed by
TrackScape and clanchat.net is imported with ``clanstats import``, then ``clanstats export
members`` and ``clanstats clan unmatched`` are read. TrackScape authors the clan's broadcasts
with the in-game name (here without its clan icon, as older TrackScape did, so only the name
can tell).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.usecases.sync import run_sync
from domain.names import name_key
from fakes.dce_export import (
    CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    WEBHOOK_ID,
    dce_embed,
    dce_message,
    snowflake,
    write_export,
)
from fakes.wom import FakeWom
from storage.engine import Database
from storage.models import RelayMessage
from tests.bot.sync_helpers import AS_OF, MORNING, SYNC, Clock, app_on, fixture_members

IN_GAME = "Nevr Lucky"
RANK_ICON = "https://oldschool.runescape.wiki/images/Clan_icon_-_Captain.png"
AT = datetime(2025, 12, 23, 12, 0, tzinfo=UTC)

CONFIGURATIONS = {
    "group named like the clan": {"group": IN_GAME, "clan_chat": IN_GAME, "setting": None},
    "group named otherwise, clanChat set": {
        "group": "Nevr Lucky (WOM tracking)",
        "clan_chat": IN_GAME,
        "setting": None,
    },
    "group named otherwise, name in the settings": {
        "group": "NL stats",
        "clan_chat": None,
        "setting": IN_GAME,
    },
}


def _members() -> tuple[str, str]:
    names = [m["player"]["displayName"] for m in fixture_members(MORNING).values()]
    return names[0], names[1]


def _export(path: Path, earner: str, talker: str) -> None:
    def at(minutes: int) -> datetime:
        return AT + timedelta(minutes=minutes)

    def trackscape(minutes: int, *embeds: dict[str, Any]) -> dict[str, Any]:
        return dce_message(
            snowflake(at(minutes), minutes),
            at(minutes),
            author_id=TRACKSCAPE_BOT_ID,
            author_name="TrackScape",
            discriminator="1234",
            embeds=embeds,
        )

    messages = [
        trackscape(
            1,
            dce_embed(author_name=talker, description="gz!", author_icon_url=RANK_ICON),
            dce_embed(
                author_name=IN_GAME,
                description=f"{earner} received a drop: Abyssal whip (1,456,814 coins).",
            ),
        ),
        trackscape(
            2, dce_embed(author_name=IN_GAME, description=f"{earner} has reached Attack level 99.")
        ),
        trackscape(3, dce_embed(author_name=IN_GAME, description="Remember: clan event at 8pm!")),
        # a member typing a fake broadcast: that member's chat line, never the earner's drop
        trackscape(
            4,
            dce_embed(
                author_name=talker,
                description=f"{earner} received a drop: lol jk",
                author_icon_url=RANK_ICON,
            ),
        ),
        dce_message(snowflake(at(5), 5), at(5), f"**{talker}**: nice one"),
    ]
    write_export(path, messages, channel_id=CHANNEL_ID)


async def _sync(db_url: str, configuration: dict[str, Any]) -> None:
    async with FakeWom(rate_window_s=1.0) as wom:
        wom.name_group(configuration["group"], clan_chat=configuration["clan_chat"])
        async with app_on(wom, db_url, Clock()) as app:
            result = await run_sync(app, SYNC)
            assert result.outcome == "ok"
            assert result.value.clan_name == configuration["group"]


async def _stored(db_url: str) -> list[RelayMessage]:
    db = Database.from_url(db_url)
    try:
        async with db.read() as session:
            return list(await session.scalars(select(RelayMessage)))
    finally:
        await db.dispose()


@pytest.mark.parametrize("configuration", list(CONFIGURATIONS), ids=list(CONFIGURATIONS))
def test_clan_broadcasts_go_to_their_subject_under_any_group_name(
    configuration: str,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = CONFIGURATIONS[configuration]
    earner, talker = _members()
    asyncio.run(_sync(db_url, config))
    export = tmp_path / "relay.json"
    _export(export, earner, talker)
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", db_url)
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("CLANSTATS_RELAY_CHANNEL_IDS", str(CHANNEL_ID))
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", f"{WEBHOOK_ID},{TRACKSCAPE_BOT_ID}")
    if config["setting"] is not None:
        monkeypatch.setenv("CLANSTATS_CLAN_CHAT_NAME", config["setting"])

    assert main(["import", str(export)]) == 0, capsys.readouterr().err
    capsys.readouterr()

    rows = asyncio.run(_stored(db_url))
    clan_key = name_key(IN_GAME)
    assert all(r.rsn_key != clan_key for r in rows), "a line credited to the clan"
    by_text = {r.text: r for r in rows}
    drop = by_text[f"{earner} received a drop: Abyssal whip (1,456,814 coins)."]
    assert (drop.kind, drop.broadcast_type, drop.rsn_key) == ("broadcast", "drop", name_key(earner))
    assert drop.member_id is not None
    notice = by_text["Remember: clan event at 8pm!"]
    assert (notice.kind, notice.broadcast_type, notice.member_id) == ("broadcast", "unknown", None)
    spoof = by_text[f"{earner} received a drop: lol jk"]
    assert (spoof.kind, spoof.rsn_key) == ("chat", name_key(talker))

    assert main(["export", "members", "--as-of", AS_OF, "--windows", "1d", "--format", "json"]) == 0
    exported = {r["rsn"]: r for r in json.loads(capsys.readouterr().out)}
    assert clan_key not in exported
    assert exported[name_key(earner)]["broadcasts"]["1d"] == 2
    assert exported[name_key(earner)]["messages"]["1d"] == 0
    assert exported[name_key(talker)]["messages"]["1d"] == 3

    assert main(["clan", "unmatched", "--format", "json"]) == 0
    assert clan_key not in json.dumps(json.loads(capsys.readouterr().out)).lower()
