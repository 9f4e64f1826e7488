"""Message objects as Discord keeps them: building, storing, finding and deleting them,
attachments, body checks, edits, and the record of sent messages tests assert on.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from fakes.discord.constants import ATTACHMENT_SIZE_LIMIT
from fakes.discord.gateway import Gateway
from fakes.discord.models import (
    JSON,
    FakeChannel,
    FakeInteraction,
    SentAttachment,
    SentKind,
    SentMessage,
)
from fakes.discord.plumbing import Upload, error
from fakes.discord.snowflake import iso_timestamp
from fakes.discord.validation import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FormErrors,
    is_empty_message,
    validate_message,
)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def utc_now() -> datetime:
    return datetime.now(UTC)


class MessageStore(Gateway):
    """Mixin: message objects, the channel histories and ephemeral store, and the sent record."""

    def _message(
        self,
        channel: FakeChannel,
        *,
        message_id: int,
        author: JSON,
        content: str,
        embeds: Sequence[Mapping[str, Any]] | None,
        timestamp: datetime,
        webhook_id: int | None = None,
        attachments: list[JSON] | None = None,
        components: list[JSON] | None = None,
        flags: int = 0,
        message_type: int = 0,
    ) -> JSON:
        message: JSON = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": author,
            "content": content,
            "timestamp": iso_timestamp(timestamp),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content or "@here" in content,
            "mentions": [
                self.users[int(uid)].payload()
                for uid in dict.fromkeys(_USER_MENTION.findall(content))
                if int(uid) in self.users
            ],
            "mention_roles": list(dict.fromkeys(_ROLE_MENTION.findall(content))),
            "attachments": attachments or [],
            "embeds": [{"type": "rich", **e} for e in embeds or []],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
        return message

    def _store(self, channel: FakeChannel, message: JSON) -> None:
        channel.history.add(message)
        self._message_channel[int(message["id"])] = channel.id

    def _find_message(self, message_id: int) -> JSON | None:
        channel_id = self._message_channel.get(message_id)
        if channel_id is not None:
            channel = self._find_channel(channel_id)
            if channel is not None:
                return channel.history.get(message_id)
        return self._ephemeral.get(message_id)

    async def _delete_message(self, channel_id: int, message_id: int) -> None:
        """Remove a stored message and dispatch MESSAGE_DELETE; LookupError if it is not stored."""
        channel = self._channel(channel_id)
        if channel.history.remove(message_id) is None:
            raise LookupError(f"no message {message_id} in channel {channel_id}")
        self._message_channel.pop(message_id, None)
        if not self._bot_sees(channel):
            return
        await self._dispatch(
            "MESSAGE_DELETE",
            {
                "id": str(message_id),
                "channel_id": str(channel_id),
                "guild_id": str(channel.guild_id),
            },
        )

    async def _publish(self, message: JSON, *, event: str) -> None:
        """Store a bot message; ephemeral ones are only visible to the invoking user."""
        if message["flags"] & FLAG_EPHEMERAL:
            self._ephemeral[int(message["id"])] = message
            return
        channel = self._channel(int(message["channel_id"]))
        self._store(channel, message)
        await self._dispatch_message(event, channel, message)

    def _record(
        self,
        kind: SentKind,
        message: JSON,
        *,
        body: JSON,
        interaction: FakeInteraction | None = None,
        public: bool = True,
    ) -> SentMessage:
        sent = SentMessage(
            kind=kind,
            message_id=int(message["id"]) if "id" in message else None,
            channel_id=int(message["channel_id"]) if "channel_id" in message else None,
            content=str(message.get("content") or ""),
            embeds=list(message.get("embeds") or []),
            components=list(message.get("components") or []),
            attachments=[
                SentAttachment(
                    id=int(a["id"]),
                    filename=a["filename"],
                    data=self._attachment_data.get(int(a["id"]), b""),
                    content_type=a.get("content_type"),
                    description=a.get("description"),
                )
                for a in message.get("attachments") or []
            ],
            flags=int(message.get("flags") or 0),
            allowed_mentions=body.get("allowed_mentions"),
            interaction_id=None if interaction is None else interaction.id,
            payload=body,
        )
        if sent.message_id is not None:
            self._rendered_at[sent.message_id] = time.monotonic()
        if public:
            self.sent_messages.append(sent)
        if interaction is not None:
            interaction.responses.append(sent)
            interaction._notify()
        return sent

    def _bot_permissions(self, channel: FakeChannel) -> int:
        """The bot's permissions in ``channel``: its roles, then the channel's overwrites."""
        return self.guilds[channel.guild_id].permissions_in(channel, self.bot_user_id)

    def _check_message_body(
        self, request: web.Request, body: Any, uploads: dict[int, Upload], *, creating: bool
    ) -> web.Response | None:
        if not isinstance(body, dict):
            self._violation(request, "body is not a JSON object")
            return error(400, 50109, "The request body contains invalid JSON.")
        errors = FormErrors()
        validate_message(errors, body, new_files=len(uploads))
        if errors:
            return self._invalid_form(request, errors)
        if creating and is_empty_message(body, new_files=len(uploads)):
            self._violation(request, "Cannot send an empty message")
            return error(400, 50006, "Cannot send an empty message")
        return None

    def _build_attachments(
        self,
        request: web.Request,
        channel_id: int,
        body: Mapping[str, Any],
        uploads: dict[int, Upload],
        existing: list[JSON],
    ) -> list[JSON] | web.Response:
        for index, upload in uploads.items():
            if len(upload.data) > ATTACHMENT_SIZE_LIMIT:
                self._violation(request, f"files[{index}] {upload.filename} is over 10 MiB")
                return error(413, 40005, "Request entity too large")
        existing_by_id = {int(a["id"]): a for a in existing}
        entries = body.get("attachments")
        result: list[JSON] = []
        used: set[int] = set()

        def new_attachment(index: int, filename: str | None, description: Any) -> JSON:
            upload = uploads[index]
            used.add(index)
            attachment_id = self._ids.next()
            name = filename or upload.filename
            self._attachment_data[attachment_id] = upload.data
            url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{name}"
            item: JSON = {
                "id": str(attachment_id),
                "filename": name,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url,
                "content_type": upload.content_type,
            }
            if description:
                item["description"] = description
            return item

        if isinstance(entries, list):
            for entry in entries:
                entry_id = int(entry.get("id", -1))
                if entry_id in existing_by_id:
                    result.append(existing_by_id[entry_id])
                elif entry_id in uploads:
                    result.append(
                        new_attachment(entry_id, entry.get("filename"), entry.get("description"))
                    )
        else:
            result.extend(existing)
        for index in sorted(uploads):
            if index not in used:
                result.append(new_attachment(index, None, None))
        return result

    def _check_attachment_refs(
        self, request: web.Request, embeds: list[JSON], attachments: list[JSON]
    ) -> None:
        names = {a["filename"] for a in attachments}
        for index, embed in enumerate(embeds):
            for key in ("image", "thumbnail", "author", "footer"):
                part = embed.get(key)
                if not isinstance(part, dict):
                    continue
                url = part.get("url") if key in ("image", "thumbnail") else part.get("icon_url")
                if (
                    isinstance(url, str)
                    and url.startswith("attachment://")
                    and url.removeprefix("attachment://") not in names
                ):
                    self._violation(
                        request,
                        f"embeds.{index}.{key} refers to {url} but no such file is attached "
                        "(Discord shows no image)",
                    )

    def _apply_edit(
        self,
        request: web.Request,
        message: JSON,
        body: JSON,
        uploads: dict[int, Upload],
    ) -> web.Response | None:
        if "attachments" in body or uploads:
            attachments = self._build_attachments(
                request, int(message["channel_id"]), body, uploads, list(message["attachments"])
            )
            if isinstance(attachments, web.Response):
                return attachments
            message["attachments"] = attachments
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = body["components"] or []
        if message["flags"] & FLAG_LOADING:
            message["flags"] &= ~FLAG_LOADING
        else:
            message["edited_timestamp"] = iso_timestamp(utc_now())
        self._check_attachment_refs(request, message["embeds"], message["attachments"])
        return None
