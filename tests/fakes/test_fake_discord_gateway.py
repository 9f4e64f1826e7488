"""Every gateway check of the fake Discord closes the socket with Discord's code, or answers
INVALID_SESSION, and records why. A raw websocket plays the client, so each payload can break
exactly one rule; how discord.py meets RECONNECT, INVALID_SESSION and a refused intent is in
``test_fake_discord.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from fakes.discord import FakeDiscord
from tests.fakes.toy_world import build_world

GUILDS_AND_MESSAGES = (1 << 0) | (1 << 9)
MESSAGE_CONTENT = 1 << 15


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        build_world(fake)
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _open(
    fake: FakeDiscord, http: aiohttp.ClientSession, query: str = "?v=10&encoding=json"
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(fake.gateway_url + query)
    return ws


async def _next(ws: aiohttp.ClientWebSocketResponse) -> Any:
    message = await asyncio.wait_for(ws.receive(), 5)
    if message.type is aiohttp.WSMsgType.TEXT:
        return json.loads(message.data)
    return message


async def _closed_with(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    while True:
        message = await asyncio.wait_for(ws.receive(), 5)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return ws.close_code, str(message.extra or "")


async def _hello(ws: aiohttp.ClientWebSocketResponse) -> None:
    hello = await _next(ws)
    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0


def identify(fake: FakeDiscord, **fields: Any) -> dict[str, Any]:
    return {"op": 2, "d": {"token": fake.token, "intents": GUILDS_AND_MESSAGES, **fields}}


@pytest.mark.parametrize(
    ("send", "code", "reason"),
    [
        pytest.param("text", 4002, "Error while decoding payload", id="not-json"),
        pytest.param("binary", 4002, "Error while decoding payload", id="binary-frame"),
        pytest.param({"op": 8, "d": {}}, 4003, "Not authenticated.", id="before-identify"),
        pytest.param({"op": 99, "d": None}, 4001, "Unknown opcode.", id="unknown-opcode"),
        pytest.param(
            {"op": 2, "d": {"token": "wrong", "intents": 1}},
            4004,
            "Authentication failed.",
            id="wrong-token",
        ),
    ],
)
async def test_a_payload_discord_refuses_closes_the_gateway_with_its_code(
    fake: FakeDiscord, http: aiohttp.ClientSession, send: Any, code: int, reason: str
) -> None:
    ws = await _open(fake, http)
    await _hello(ws)
    if send == "text":
        await ws.send_str("{not json")
    elif send == "binary":
        await ws.send_bytes(b"\x00\x01")
    else:
        await ws.send_json(send)
    assert await _closed_with(ws) == (code, reason)
    assert fake.violations == [f"GATEWAY: closed with {code} {reason}"]


async def test_etf_encoding_is_refused(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    ws = await _open(fake, http, "?v=10&encoding=etf")
    assert await _closed_with(ws) == (4002, "Only JSON encoding is supported")


async def test_intents_discord_refuses(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    ws = await _open(fake, http)
    await _hello(ws)
    await ws.send_json(identify(fake, intents="all"))
    assert await _closed_with(ws) == (4013, "Invalid intent(s).")
    fake.privileged_intents = 0  # Message Content not enabled in the developer portal
    ws = await _open(fake, http)
    await _hello(ws)
    await ws.send_json(identify(fake, intents=GUILDS_AND_MESSAGES | MESSAGE_CONTENT))
    assert await _closed_with(ws) == (4014, "Disallowed intent(s).")
    assert fake.violations == [
        "GATEWAY: closed with 4013 Invalid intent(s).",
        "GATEWAY: closed with 4014 Disallowed intent(s).",
    ]


async def test_a_second_identify_and_a_stale_resume(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    ws = await _open(fake, http)
    await _hello(ws)
    await ws.send_json(identify(fake))
    ready = await _next(ws)
    assert ready["t"] == "READY" and ready["s"] == 1
    await ws.send_json(identify(fake))
    assert await _closed_with(ws) == (4005, "Already authenticated.")
    # A RESUME naming another session gets INVALID_SESSION, d: false (identify again).
    ws = await _open(fake, http, "resume?v=10&encoding=json")
    await _hello(ws)
    await ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": "not-it", "seq": 1}})
    assert await _next(ws) == {"op": 9, "d": False, "s": None, "t": None}


async def test_the_fake_sends_reconnect_and_invalid_session_on_the_live_socket(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    ws = await _open(fake, http)
    await _hello(ws)
    await ws.send_json(identify(fake))
    ready = await _next(ws)
    while (await _next(ws))["t"] != "GUILD_CREATE":
        pass
    await fake.request_reconnect()
    assert await _next(ws) == {"op": 7, "d": None, "s": None, "t": None}
    await fake.invalidate_session(resumable=True)
    assert await _next(ws) == {"op": 9, "d": True, "s": None, "t": None}
    await fake.invalidate_session(resumable=False)
    assert await _next(ws) == {"op": 9, "d": False, "s": None, "t": None}
    # The session is gone: resuming it is refused.
    await ws.close()
    ws = await _open(fake, http, "resume?v=10&encoding=json")
    await _hello(ws)
    session_id = ready["d"]["session_id"]
    await ws.send_json({"op": 6, "d": {"token": fake.token, "session_id": session_id, "seq": 2}})
    assert await _next(ws) == {"op": 9, "d": False, "s": None, "t": None}
    assert fake.violations == []
