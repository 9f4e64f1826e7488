"""The websocket gateway (``/`` and ``/resume``): HELLO and heartbeats, IDENTIFY, RESUME with
replay, member chunks, dispatches filtered by the bot's intents, and the drops and reconnects
tests trigger.
"""

from __future__ import annotations

import json
import secrets
from collections import deque

from aiohttp import WSMsgType, web

from fakes.discord.constants import (
    API_VERSION,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
)
from fakes.discord.models import JSON, FakeChannel, FakeMember, Permission
from fakes.discord.plumbing import HttpPlumbing
from fakes.discord.records import GatewayConnection, GatewaySession


class Gateway(HttpPlumbing):
    """Mixin: the gateway endpoint, event dispatch to the bot, and gateway test controls."""

    async def _before_stop(self) -> None:
        """Close every gateway connection (code 1001, going away) before the server stops."""
        for conn in list(self._connections):
            if not conn.ws.closed:
                await conn.ws.close(code=1001)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        if not ws.can_prepare(request).ok:
            return await self._unknown(request)
        await ws.prepare(request)
        self.gateway_connects.append(dict(request.query))
        # zlib-stream is implemented; any other compression (zstd-stream) is answered with
        # uncompressed text frames, which discord.py accepts whatever it asked for.
        conn = GatewayConnection(
            ws=ws, request=request, zlib_stream=request.query.get("compress") == "zlib-stream"
        )
        self._connections.add(conn)
        try:
            if request.query.get("encoding", "json") != "json":
                await self._refuse(ws, 4002, "Only JSON encoding is supported")
                return ws
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]}
            await conn.send({"op": 10, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await self._refuse(ws, 4002, "Error while decoding payload")
                        break
                    await self._on_gateway_payload(conn, payload)
                elif msg.type is WSMsgType.BINARY:
                    await self._refuse(ws, 4002, "Error while decoding payload")
                    break
        finally:
            self._connections.discard(conn)
            conn.live = False
            async with self._gw_lock:
                session = conn.session
                if session is not None and session.connection is conn:
                    session.connection = None
            self._notify()
        return ws

    async def _refuse(self, ws: web.WebSocketResponse, code: int, reason: str) -> None:
        """Close the gateway with a 4xxx code, as Discord does for a client's mistake.

        The codes and their meaning: discord/discord-api-docs at c98d64bc,
        ``developers/topics/opcodes-and-status-codes.mdx``, "Gateway Close Event Codes".
        """
        self.violations.append(f"GATEWAY: closed with {code} {reason}")
        await ws.close(code=code, message=reason.encode())

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None and op in (3, 4, 8):
            await self._refuse(conn.ws, 4003, "Not authenticated.")
        elif op == 8:
            await self._request_members(conn, data or {})
        elif op in (3, 4):
            pass  # presence / voice state updates: accepted, not modelled
        else:
            await self._refuse(conn.ws, 4001, "Unknown opcode.")

    def _append(self, session: GatewaySession, event: str, data: JSON) -> JSON:
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.log.append(payload)
        return payload

    async def _identify(self, conn: GatewayConnection, data: JSON) -> None:
        if conn.session is not None:
            await self._refuse(conn.ws, 4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await self._refuse(conn.ws, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            await self._refuse(conn.ws, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await self._refuse(conn.ws, 4014, "Disallowed intent(s).")
            return
        async with self._gw_lock:
            session = GatewaySession(
                session_id=secrets.token_hex(16),
                intents=intents,
                log=deque(maxlen=self.event_log_size),
            )
            self._session = session
            session.connection = conn
            conn.session = session
            ready = {
                "v": API_VERSION,
                "user": self.bot_user.payload(),
                "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self.gateway_url + "resume",
                "shard": data.get("shard", [0, 1]),
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "auth": {},
                "_trace": ["fake-gateway"],
            }
            await conn.send(self._append(session, "READY", ready))
            if intents & INTENT_GUILDS:
                for guild in self.guilds.values():
                    body = guild.payload(
                        include_members=bool(intents & INTENT_GUILD_MEMBERS),
                        bot_user_id=self.bot_user_id,
                    )
                    await conn.send(self._append(session, "GUILD_CREATE", body))
            conn.live = True
            self.identify_count += 1
        self._notify()

    async def _resume(self, conn: GatewayConnection, data: JSON) -> None:
        async with self._gw_lock:
            session = self._session
            seq = int(data.get("seq") or 0)
            first_logged = session.log[0]["s"] if session and session.log else None
            replayable = session is not None and (first_logged is None or seq >= first_logged - 1)
            if (
                session is None
                or session.invalid
                or not replayable
                or data.get("session_id") != session.session_id
                or data.get("token") != self.token
            ):
                await conn.send({"op": 9, "d": False, "s": None, "t": None})
                return
            session.connection = conn
            conn.session = session
            for payload in list(session.log):
                if payload["s"] > seq:
                    await conn.send(payload)
            await conn.send(self._append(session, "RESUMED", {"_trace": ["fake-gateway"]}))
            conn.live = True
            self.resume_count += 1
        self._notify()

    async def _request_members(self, conn: GatewayConnection, data: JSON) -> None:
        guild_ids = data.get("guild_id")
        ids = guild_ids if isinstance(guild_ids, list) else [guild_ids]
        query = data.get("query")
        limit = int(data.get("limit") or 0)
        user_ids = data.get("user_ids")
        wanted = None
        if user_ids is not None:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
        for raw_id in ids:
            guild = self.guilds.get(int(str(raw_id)))
            if guild is None:
                continue
            members: list[FakeMember] = []
            for uid, member in guild.members.items():
                if wanted is not None:
                    if uid in wanted:
                        members.append(member)
                elif query is not None:
                    names = (member.user.username, member.nick or "")
                    if any(n.lower().startswith(str(query).lower()) for n in names):
                        members.append(member)
            if limit:
                members = members[:limit]
            chunks = [members[i : i + 1000] for i in range(0, len(members), 1000)] or [[]]
            found = {m.user.id for m in members}
            for index, chunk in enumerate(chunks):
                body: JSON = {
                    "guild_id": str(guild.id),
                    "members": [m.payload() for m in chunk],
                    "chunk_index": index,
                    "chunk_count": len(chunks),
                }
                if wanted is not None:
                    body["not_found"] = [str(u) for u in wanted - found]
                if data.get("nonce") is not None:
                    body["nonce"] = data["nonce"]
                await self._dispatch("GUILD_MEMBERS_CHUNK", body)

    def _filter_for_intents(self, session: GatewaySession, event: str, data: JSON) -> JSON | None:
        intents = session.intents
        if event.startswith("MESSAGE_"):
            needed = INTENT_GUILD_MESSAGES if data.get("guild_id") else INTENT_DIRECT_MESSAGES
            if not intents & needed:
                return None
            if event != "MESSAGE_DELETE" and not intents & INTENT_MESSAGE_CONTENT:
                author_id = int((data.get("author") or {}).get("id", 0))
                mentioned = any(int(u["id"]) == self.bot_user_id for u in data.get("mentions", []))
                if author_id != self.bot_user_id and not mentioned:
                    data = {
                        **data,
                        "content": "",
                        "embeds": [],
                        "attachments": [],
                        "components": [],
                    }
        elif event.startswith("GUILD_MEMBER_") and not intents & INTENT_GUILD_MEMBERS:
            return None  # GUILD_MEMBER_ADD / UPDATE / REMOVE need the members intent
        elif (
            event.startswith("GUILD_")
            and event != "GUILD_MEMBERS_CHUNK"
            and not intents & INTENT_GUILDS
        ):
            return None
        return data

    async def _dispatch(self, event: str, data: JSON) -> bool:
        """Send a dispatch to the bot's session (kept for replay if it is disconnected)."""
        async with self._gw_lock:
            session = self._session
            if session is None:
                return False
            filtered = self._filter_for_intents(session, event, data)
            if filtered is None:
                return False
            payload = self._append(session, event, filtered)
            conn = session.connection
            if conn is not None and conn.live and not await conn.send(payload):
                conn.live = False
                session.connection = None
        self._notify()
        return True

    def _bot_sees(self, channel: FakeChannel) -> bool:
        """Discord sends a bot a channel's message events only while it may view the channel."""
        guild = self.guilds[channel.guild_id]
        return bool(guild.permissions_in(channel, self.bot_user_id) & Permission.VIEW_CHANNEL)

    async def _dispatch_message(self, event: str, channel: FakeChannel, message: JSON) -> None:
        if not self._bot_sees(channel):
            return
        data = {**message, "guild_id": str(channel.guild_id)}
        guild = self.guilds[channel.guild_id]
        member = guild.members.get(int(message["author"]["id"]))
        if member is not None and "webhook_id" not in message:
            data["member"] = member.payload(with_user=False)
        await self._dispatch(event, data)

    # ------------------------------------------------------------------ test controls

    async def wait_until_ready(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - public API takes a timeout
        """Wait until a bot holds a live gateway session (READY or RESUMED sent)."""

        def live() -> bool:
            session = self._session
            return (
                session is not None and session.connection is not None and session.connection.live
            )

        await self.wait_for(live, timeout)

    async def drop_gateway(
        self, *, resume: bool = True, code: int = 4000, abrupt: bool = False
    ) -> None:
        """Close the bot's websocket to exercise reconnects.

        With ``resume=True`` the bot may RESUME (missed events are replayed, then RESUMED).
        With ``resume=False`` the session is invalidated: its RESUME gets INVALID_SESSION
        (``d: false``) and it must IDENTIFY again. ``abrupt`` drops the TCP connection without
        a close frame (what the client sees as 1006).
        """
        async with self._gw_lock:
            session = self._session
            if session is None or session.connection is None:
                raise RuntimeError("no live gateway session to drop")
            conn = session.connection
            conn.live = False
            session.connection = None
            if not resume:
                session.invalid = True
        if abrupt and conn.request.transport is not None:
            conn.request.transport.abort()
        else:
            await conn.ws.close(code=code, message=b"fake-discord drop")
        self._notify()

    async def request_reconnect(self) -> None:
        """Send opcode 7 RECONNECT: the bot should close, reconnect and RESUME.

        discord.py closes its socket and resumes on ``resume_gateway_url`` (v2.7.1,
        ``discord/gateway.py``, ``received_message``: RECONNECT raises ReconnectWebSocket;
        ``discord/client.py``, ``connect``).
        """
        session = self._session
        if session is None or session.connection is None:
            raise RuntimeError("no live gateway session")
        await session.connection.send({"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool) -> None:
        """Send opcode 9 INVALID SESSION on the live connection.

        ``resumable=True`` (``d: true``): the bot may reconnect and RESUME. ``False``: the
        session is gone, a RESUME would be refused, and the bot must IDENTIFY again
        (discord-api-docs, ``developers/events/gateway.mdx``, "Resuming"; discord.py v2.7.1
        ``discord/gateway.py``: INVALIDATE_SESSION with ``d`` true resumes, false clears the
        session and identifies).
        """
        async with self._gw_lock:
            session = self._session
            if session is None or session.connection is None:
                raise RuntimeError("no live gateway session")
            conn = session.connection
            if not resumable:
                session.invalid = True
        await conn.send({"op": 9, "d": resumable, "s": None, "t": None})
