"""REST routes for channels and their messages (``/channels/{id}``, its ``typing``, its
``messages``: list, get, post, edit, delete; its permission overwrites) and the attachment
downloads of the fake CDN.

Every route checks the bot's permissions *in that channel* (its roles, then the channel's
overwrites: :meth:`FakeGuild.permissions_in`), as Discord does (discord/discord-api-docs at
c98d64bc, ``developers/resources/message.mdx`` and ``resources/channel.mdx``):

* no View Channel: 403 ``50001 Missing Access`` for everything;
* listing messages without Read Message History answers 200 with *no* messages (Discord's
  documented behaviour; the fake records it, since a bot reading history that way silently
  loses it); one message without it is 403 ``50001``;
* posting needs Send Messages, files need Attach Files, a reply needs Read Message History
  (403 ``50013 Missing Permissions``); embeds without Embed Links are refused with 50013 when
  the message has nothing else, and silently dropped otherwise (discord-api-docs issue 2601);
* deleting another's message needs Manage Messages; editing overwrites needs Manage Roles
  (Manage Permissions) in the channel, and a bot can only allow or deny what it has itself.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.messages import utc_now
from fakes.discord.models import Overwrite, Permission
from fakes.discord.plumbing import Route, error, json_response
from fakes.discord.rest.dms import DirectMessageRoutes
from fakes.discord.validation import FLAG_EPHEMERAL, FormErrors


class ChannelRoutes(DirectMessageRoutes):
    """Mixin: the channel and message handlers."""

    def _channel_routes(self) -> list[Route]:
        """Routes under ``/channels/{channel_id}``."""
        message = "/channels/{channel_id:\\d+}/messages/{message_id:\\d+}"
        overwrite = "/channels/{channel_id:\\d+}/permissions/{overwrite_id:\\d+}"
        return [
            ("GET", "/channels/{channel_id:\\d+}", self._get_channel, True),
            ("GET", "/channels/{channel_id:\\d+}/messages", self._get_messages, True),
            ("POST", "/channels/{channel_id:\\d+}/messages", self._post_channel_message, True),
            ("POST", "/channels/{channel_id:\\d+}/typing", self._typing, True),
            ("GET", message, self._get_channel_message, True),
            ("PATCH", message, self._patch_channel_message, True),
            ("DELETE", message, self._delete_channel_message, True),
            ("PUT", overwrite, self._put_overwrite, True),
            ("DELETE", overwrite, self._delete_overwrite, True),
        ]

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        if not self._bot_permissions(channel) & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
        return json_response(channel.payload())

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        allowed = self._bot_permissions(channel)
        if not allowed & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
        if not allowed & Permission.SEND_MESSAGES:
            return self._forbidden(request, 50013, f"no Send Messages in #{channel.name}")
        return web.Response(status=204)

    def _left_guild_refusal(self, request: web.Request) -> web.Response | None:
        """A channel of a guild the bot was removed from: Discord answers 50001 Missing
        Access (the bot can see nothing there any more)."""
        channel_id = int(request.match_info["channel_id"])
        if self._left_guild_of(channel_id) is None:
            return None
        return self._forbidden(
            request, 50001, f"channel {channel_id} is in a guild the bot was removed from"
        )

    async def _get_messages(self, request: web.Request) -> web.StreamResponse:
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return self._left_guild_refusal(request) or error(404, 10003, "Unknown Channel")
        allowed = self._bot_permissions(channel)
        if not allowed & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
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
        if not allowed & Permission.READ_MESSAGE_HISTORY:
            # Discord answers 200 and an empty page: no error, and no history either.
            self._violation(
                request,
                f"history of #{channel.name} read without Read Message History: Discord "
                "answers an empty list",
            )
            return json_response([])
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
        needed = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
        if self._bot_permissions(channel) & needed != needed:
            return self._forbidden(
                request, 50001, f"no View Channel or Read Message History in #{channel.name}"
            )
        message = channel.history.get(int(request.match_info["message_id"]))
        if message is None:
            return error(404, 10008, "Unknown Message")
        return json_response(message)

    async def _post_channel_message(self, request: web.Request) -> web.StreamResponse:
        dm_channel = int(request.match_info["channel_id"])
        if dm_channel in self.dm_channels:
            return await self._post_dm(request, dm_channel)
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            refused = self._left_guild_refusal(request)
            if refused is not None:
                return refused
            self._violation(request, "Unknown Channel")
            return error(404, 10003, "Unknown Channel")
        allowed = self._bot_permissions(channel)
        if not allowed & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
        if not allowed & Permission.SEND_MESSAGES:
            return self._forbidden(request, 50013, f"no Send Messages in #{channel.name}")
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=True)
        if problem is not None:
            return problem
        if uploads and not allowed & Permission.ATTACH_FILES:
            return self._forbidden(request, 50013, f"no Attach Files in #{channel.name}")
        reference = body.get("message_reference")
        replying = isinstance(reference, dict) and reference.get("message_id")
        if replying and not allowed & Permission.READ_MESSAGE_HISTORY:
            return self._forbidden(
                request, 50013, f"a reply needs Read Message History in #{channel.name}"
            )
        embeds = body.get("embeds")
        if embeds and not allowed & Permission.EMBED_LINKS:
            if not (body.get("content") or body.get("components") or uploads):
                return self._forbidden(
                    request, 50013, f"embeds only, without Embed Links in #{channel.name}"
                )
            self._violation(
                request,
                f"no Embed Links in #{channel.name}: Discord drops the message's "
                f"{len(embeds)} embed(s) and shows the rest",
            )
            embeds = []
        attachments = self._build_attachments(request, channel.id, body, uploads, [])
        if isinstance(attachments, web.Response):
            return attachments
        message = self._message(
            channel,
            message_id=self._ids.next(),
            author=self.bot_user.payload(),
            content=str(body.get("content") or ""),
            embeds=embeds,
            timestamp=utc_now(),
            attachments=attachments,
            components=body.get("components"),
            flags=int(body.get("flags") or 0) & ~FLAG_EPHEMERAL,
        )
        if replying:
            assert isinstance(reference, dict)
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
        if not self._bot_permissions(channel) & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
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
        allowed = self._bot_permissions(channel)
        if not allowed & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
        message_id = int(request.match_info["message_id"])
        message = channel.history.get(message_id)
        if message is None:
            self._violation(request, "Unknown Message")
            return error(404, 10008, "Unknown Message")
        own = int(message["author"]["id"]) == self.bot_user_id
        if not own and not allowed & Permission.MANAGE_MESSAGES:
            return self._forbidden(
                request, 50013, "deleting another user's message needs Manage Messages"
            )
        await self._delete_message(channel.id, message_id)
        return web.Response(status=204)

    # ------------------------------------------------------------------ permission overwrites

    def _overwrite_target(self, request: web.Request) -> tuple[int, int] | web.Response:
        """(channel id, overwrite id) when the bot may edit that channel's overwrites."""
        channel = self._find_channel(int(request.match_info["channel_id"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        allowed = self._bot_permissions(channel)
        if not allowed & Permission.VIEW_CHANNEL:
            return self._forbidden(request, 50001, f"the bot cannot view #{channel.name}")
        if not allowed & Permission.MANAGE_ROLES:
            return self._forbidden(
                request, 50013, f"no Manage Roles (Manage Permissions) in #{channel.name}"
            )
        return channel.id, int(request.match_info["overwrite_id"])

    async def _put_overwrite(self, request: web.Request) -> web.StreamResponse:
        target = self._overwrite_target(request)
        if isinstance(target, web.Response):
            return target
        channel = self._channel(target[0])
        body, _ = await self._read_body(request)
        errors = FormErrors()
        if not isinstance(body, dict) or body.get("type") not in (0, 1):
            errors.add(("type",), "BASE_TYPE_CHOICES", "Value must be one of (0, 1).")
            return self._invalid_form(request, errors)
        allow, deny = int(body.get("allow") or 0), int(body.get("deny") or 0)
        held = self._bot_permissions(channel)
        if not held & Permission.ADMINISTRATOR and (allow | deny) & ~held:
            return self._forbidden(
                request,
                50013,
                f"an overwrite may only allow or deny what the bot has in #{channel.name} "
                f"(missing {(allow | deny) & ~held:#x})",
            )
        overwrite_id = target[1]
        channel.overwrites[overwrite_id] = Overwrite(overwrite_id, int(body["type"]), allow, deny)
        await self._dispatch("CHANNEL_UPDATE", channel.payload())
        return web.Response(status=204)

    async def _delete_overwrite(self, request: web.Request) -> web.StreamResponse:
        target = self._overwrite_target(request)
        if isinstance(target, web.Response):
            return target
        channel = self._channel(target[0])
        channel.overwrites.pop(target[1], None)
        await self._dispatch("CHANNEL_UPDATE", channel.payload())
        return web.Response(status=204)

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        data = self._attachment_data.get(int(request.match_info["attachment_id"]))
        if data is None:
            return await self._unknown(request)
        return web.Response(body=data, content_type="application/octet-stream")
