"""REST routes for channels and their messages (``/channels/{id}``, its ``typing`` and its
``messages``: list, get, post, edit, delete) and the attachment downloads of the fake CDN.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.messages import MessageStore, utc_now
from fakes.discord.models import Permission
from fakes.discord.plumbing import Route, error, json_response
from fakes.discord.validation import FLAG_EPHEMERAL, FormErrors


class ChannelRoutes(MessageStore):
    """Mixin: the channel and message handlers."""

    def _channel_routes(self) -> list[Route]:
        """Routes under ``/channels/{channel_id}``."""
        return [
            ("GET", "/channels/{channel_id:\\d+}", self._get_channel, True),
            ("GET", "/channels/{channel_id:\\d+}/messages", self._get_messages, True),
            ("POST", "/channels/{channel_id:\\d+}/messages", self._post_channel_message, True),
            ("POST", "/channels/{channel_id:\\d+}/typing", self._typing, True),
            (
                "GET",
                "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}",
                self._get_channel_message,
                True,
            ),
            (
                "PATCH",
                "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}",
                self._patch_channel_message,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}",
                self._delete_channel_message,
                True,
            ),
        ]

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        return json_response(channel.payload())

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        if self._find_channel(int(request.match_info["channel_id"])) is None:
            return error(404, 10003, "Unknown Channel")
        return web.Response(status=204)

    async def _get_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        query = request.query
        errors = FormErrors()
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            errors.add(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.")
            limit = 50
        if not 1 <= limit <= 100:
            errors.add(
                ("limit",),
                "NUMBER_TYPE_MAX" if limit > 100 else "NUMBER_TYPE_MIN",
                "int value should be between 1 and 100.",
            )
        anchors = {k: query[k] for k in ("before", "after", "around") if k in query}
        if len(anchors) > 1:
            errors.add(
                (), "BASE_TYPE_CHOICES", "Only one of before, after and around may be given."
            )
        if errors:
            return self._invalid_form(request, errors)
        page = channel.history.page(
            limit=limit,
            before=int(anchors["before"]) if "before" in anchors else None,
            after=int(anchors["after"]) if "after" in anchors else None,
            around=int(anchors["around"]) if "around" in anchors else None,
        )
        return json_response(page)

    async def _get_channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        message = channel.history.get(int(request.match_info["message_id"]))
        if message is None:
            return error(404, 10008, "Unknown Message")
        return json_response(message)

    async def _post_channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            self._violation(request, "Unknown Channel")
            return error(404, 10003, "Unknown Channel")
        needed = Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES
        if self._bot_permissions(channel) & needed != needed:
            self._violation(request, "bot lacks View Channel / Send Messages")
            return error(403, 50013, "Missing Permissions")
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=True)
        if problem is not None:
            return problem
        attachments = self._build_attachments(request, channel.id, body, uploads, [])
        if isinstance(attachments, web.Response):
            return attachments
        message = self._message(
            channel,
            message_id=self._ids.next(),
            author=self.bot_user.payload(),
            content=str(body.get("content") or ""),
            embeds=body.get("embeds"),
            timestamp=utc_now(),
            attachments=attachments,
            components=body.get("components"),
            flags=int(body.get("flags") or 0) & ~FLAG_EPHEMERAL,
        )
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            message["type"] = 19
            message["message_reference"] = {
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id", channel.id)),
                "guild_id": str(channel.guild_id),
            }
            message["referenced_message"] = channel.history.get(int(reference["message_id"]))
        self._check_attachment_refs(request, message["embeds"], attachments)
        self._store(channel, message)
        self._record("message", message, body=body)
        await self._dispatch_message("MESSAGE_CREATE", channel, message)
        return json_response(message)

    async def _patch_channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        message = channel.history.get(int(request.match_info["message_id"]))
        if message is None:
            self._violation(request, "Unknown Message")
            return error(404, 10008, "Unknown Message")
        if int(message["author"]["id"]) != self.bot_user_id:
            self._violation(request, "Cannot edit a message authored by another user")
            return error(403, 50005, "Cannot edit a message authored by another user")
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=False)
        if problem is None:
            problem = self._apply_edit(request, message, body, uploads)
        if problem is not None:
            return problem
        self._record("message_edit", message, body=body)
        await self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return json_response(message)

    async def _delete_channel_message(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        message_id = int(request.match_info["message_id"])
        message = channel.history.get(message_id)
        if message is None:
            self._violation(request, "Unknown Message")
            return error(404, 10008, "Unknown Message")
        own = int(message["author"]["id"]) == self.bot_user_id
        if not own and not self._bot_permissions(channel) & Permission.MANAGE_MESSAGES:
            self._violation(request, "deleting another user's message needs Manage Messages")
            return error(403, 50013, "Missing Permissions")
        await self._delete_message(channel.id, message_id)
        return web.Response(status=204)

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        data = self._attachment_data.get(int(request.match_info["attachment_id"]))
        if data is None:
            return await self._unknown(request)
        return web.Response(body=data, content_type="application/octet-stream")
