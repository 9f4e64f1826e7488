"""What the fake keeps of a connection: gateway sessions and sockets, and recorded requests.

Plain records, apart from the mixins that use them, so the shared state can name them.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fakes.discord.models import JSON


@dataclass
class RecordedRequest:
    """One HTTP request the bot made: when it arrived and the status it was answered with."""

    method: str
    path: str
    query: dict[str, str]
    body: Any = None
    at: float = field(default_factory=time.monotonic)
    status: int | None = None


@dataclass(eq=False)
class GatewaySession:
    """The bot's session: what a RESUME continues (intents, sequence, events to replay)."""

    session_id: str
    intents: int
    log: deque[JSON]
    seq: int = 0
    connection: GatewayConnection | None = None
    invalid: bool = False


@dataclass(eq=False)
class GatewayConnection:
    """One websocket; a resumed session moves to a new connection."""

    ws: web.WebSocketResponse
    request: web.Request
    zlib_stream: bool
    session: GatewaySession | None = None
    live: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _compressor: Any = field(default_factory=zlib.compressobj)

    async def send(self, payload: JSON) -> bool:
        """Send one gateway payload; False when the socket is already gone."""
        text = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return False
            try:
                if self.zlib_stream:
                    # zlib-stream: one shared deflate context, each payload ends in a sync flush
                    # (00 00 ff ff), which is what discord.py's decompressor waits for.
                    data = self._compressor.compress(text.encode())
                    data += self._compressor.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return False
        return True
