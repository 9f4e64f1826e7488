"""Direct messages: opening a DM channel (``POST /users/@me/channels``) and posting in it.

discord.py's ``User.send`` opens the DM channel first (``HTTPClient.start_private_message``,
v2.7.1 ``discord/http.py``), then posts to ``/channels/{id}/messages`` like any channel.
Discord answers a DM to a user who does not accept them (privacy settings: no DMs from
server members) with 403 ``50007 Cannot send messages to this user``
(discord-api-docs at c98d64bc, ``developers/topics/opcodes-and-status-codes.mdx``, JSON
error codes); that is the user's choice, not the bot's mistake, so it is no violation. An
unknown recipient is 400 ``50033 Invalid Recipient(s)``.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.messages import MessageStore, utc_now
from fakes.discord.plumbing import Route, error, json_response
from fakes.discord.snowflake import iso_timestamp


class DirectMessageRoutes(MessageStore):
    """Mixin: DM channels and the messages the bot sends in them."""

    def _dm_routes(self) -> list[Route]:
        return [("POST", "/users/@me/channels", self._create_dm, True)]

    def _dm_channel_payload(self, channel_id: int) -> dict[str, object]:
        user = self.users[self.dm_channels[channel_id]]
        return {
            "id": str(channel_id),
            "type": 1,
            "last_message_id": None,
            "recipients": [user.payload()],
            "flags": 0,
        }

    async def _create_dm(self, request: web.Request) -> web.StreamResponse:
        body, _ = await self._read_body(request)
        recipient = body.get("recipient_id") if isinstance(body, dict) else None
        if recipient is None or not str(recipient).isdigit() or int(recipient) not in self.users:
            self._violation(request, f"Invalid Recipient(s): {recipient!r}")
            return error(400, 50033, "Invalid Recipient(s)")
        user_id = int(recipient)
        channel_id = next((c for c, u in self.dm_channels.items() if u == user_id), None)
        if channel_id is None:
            channel_id = self._ids.next()
            self.dm_channels[channel_id] = user_id
        return json_response(self._dm_channel_payload(channel_id))

    async def _post_dm(self, request: web.Request, channel_id: int) -> web.StreamResponse:
        """``POST /channels/{id}/messages`` for a DM channel."""
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=True)
        if problem is not None:
            return problem
        if self.dm_channels[channel_id] in self.dms_closed:
            return error(403, 50007, "Cannot send messages to this user")
        message = {
            "id": str(self._ids.next()),
            "channel_id": str(channel_id),
            "author": self.bot_user.payload(),
            "content": str(body.get("content") or ""),
            "timestamp": iso_timestamp(utc_now()),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": body.get("components") or [],
        }
        self._record("message", message, body=body)
        return json_response(message)
