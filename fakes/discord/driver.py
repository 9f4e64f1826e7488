"""The driver API for the world and its messages: add guilds and webhooks, post, seed, edit and
delete messages as members and webhooks would, and wait for what the bot sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from fakes.discord.constants import INTENT_GUILD_MEMBERS
from fakes.discord.messages import MessageStore, utc_now
from fakes.discord.models import (
    JSON,
    FakeChannel,
    FakeGuild,
    FakeUser,
    FakeWebhook,
    Overwrite,
    SentMessage,
)
from fakes.discord.ratelimits import Forced429, Scope
from fakes.discord.snowflake import datetime_from_snowflake, iso_timestamp


class WorldDriver(MessageStore):
    """Mixin: the world-building and message parts of the driver API."""

    # ------------------------------------------------------------------ world building

    def add_guild(
        self,
        guild_id: int,
        name: str,
        *,
        owner_id: int | None = None,
        bot_role_ids: Iterable[int] = (),
    ) -> FakeGuild:
        """Add a guild the bot is a member of (it appears in READY / GUILD_CREATE)."""
        guild = FakeGuild(
            guild_id=guild_id,
            name=name,
            owner_id=owner_id if owner_id is not None else self._ids.next(),
            users=self.users,
        )
        guild.add_member(self.bot_user_id, self.bot_user.username, bot=True)
        guild.members[self.bot_user_id].role_ids.extend(bot_role_ids)
        self.guilds[guild_id] = guild
        return guild

    async def remove_bot_from_guild(self, guild_id: int) -> None:
        """An admin removes the bot (kick, or the app deauthorised): the bot gets
        GUILD_DELETE without ``unavailable`` (Discord's "the user was removed from the
        guild"), and the guild's channels are out of its reach from then on."""
        guild = self.guilds.pop(guild_id)
        self.left_guilds[guild_id] = guild
        await self._dispatch("GUILD_DELETE", {"id": str(guild_id)})

    async def add_bot_to_guild(self, guild_id: int) -> None:
        """The bot is invited back into a guild it left: GUILD_CREATE, as for a new guild."""
        guild = self.left_guilds.pop(guild_id)
        self.guilds[guild_id] = guild
        session = self._session
        members = session is not None and bool(session.intents & INTENT_GUILD_MEMBERS)
        body = guild.payload(include_members=members, bot_user_id=self.bot_user_id)
        # A guild joined, not one back from an outage: no ``unavailable`` (discord.py then
        # dispatches ``guild_join``; with ``unavailable: false`` it would be
        # ``guild_available``).
        body.pop("unavailable", None)
        await self._dispatch("GUILD_CREATE", body)

    def add_webhook_user(self, webhook_id: int, name: str, channel_id: int) -> FakeWebhook:
        """Register an incoming webhook (e.g. "Osrs clanchat") that posts into a channel."""
        self._channel(channel_id)
        webhook = FakeWebhook(id=webhook_id, name=name, channel_id=channel_id)
        self.webhooks[webhook_id] = webhook
        return webhook

    async def set_channel_permissions(
        self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0
    ) -> None:
        """Set a channel's overwrite for a role or a member (as a server admin would).

        ``allow=deny=0`` removes it. A connected bot is told with CHANNEL_UPDATE, as Discord
        does, so its permission cache follows.
        """
        guild, channel = self._guild_for_channel(channel_id)
        if allow or deny:
            kind = 0 if target_id in guild.roles else 1
            channel.overwrites[target_id] = Overwrite(target_id, kind, allow, deny)
        else:
            channel.overwrites.pop(target_id, None)
        await self._dispatch("CHANNEL_UPDATE", channel.payload())

    async def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> None:
        """Change a role's permissions; a connected bot gets GUILD_ROLE_UPDATE."""
        guild = self.guilds[guild_id]
        role = guild.roles[role_id]
        role.permissions = int(permissions)
        await self._dispatch(
            "GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.payload()}
        )

    def rate_limit_next(
        self,
        method: str,
        route: str,
        *,
        retry_after: float,
        scope: Scope = "shared",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests to ``route`` with a 429 of ``scope``.

        ``route`` is the path template (``/channels/{channel_id}/messages``). This is Discord
        limiting on its own account (a busy resource, ``shared``; or the global limit), so it
        is no violation of the bot's: what is tested is how the bot waits it out.
        """
        self.rate_limits.forced.append(Forced429(method, route, retry_after, scope, times))

    # ------------------------------------------------------------------ messages in

    def _author_for(
        self,
        channel: FakeChannel,
        *,
        author_id: int | None,
        webhook_id: int | None,
        author_name: str | None,
    ) -> JSON:
        if webhook_id is not None:
            if author_id is not None and author_id != webhook_id:
                raise ValueError("a webhook message's author id is the webhook id")
            webhook = self.webhooks.get(webhook_id)
            if webhook is None:
                webhook = FakeWebhook(
                    id=webhook_id, name=author_name or "Webhook", channel_id=channel.id
                )
                self.webhooks[webhook_id] = webhook
            return webhook.author_payload(author_name)
        if author_id is None:
            raise ValueError("author_id is required unless webhook_id is given")
        user = self.users.get(author_id)
        if user is None:
            name = author_name or f"user{author_id}"
            user = FakeUser(id=author_id, username=name, global_name=name)
            self.users[author_id] = user
        return user.payload()

    def _incoming(self, channel: FakeChannel, spec: Mapping[str, Any]) -> JSON:
        if "author" in spec and "id" in spec:
            message = dict(spec)
            message.setdefault("channel_id", str(channel.id))
            message_id = int(message["id"])
            self._ids.reserve(message_id)
            message.setdefault("timestamp", iso_timestamp(datetime_from_snowflake(message_id)))
            for key, default in (("content", ""), ("embeds", []), ("attachments", [])):
                message.setdefault(key, default)
            for key, default in (("components", []), ("mentions", []), ("mention_roles", [])):
                message.setdefault(key, default)
            message.setdefault("type", 0)
            message.setdefault("flags", 0)
            message.setdefault("edited_timestamp", None)
            message.setdefault("pinned", False)
            message.setdefault("tts", False)
            message.setdefault("mention_everyone", False)
            return message
        timestamp = spec.get("timestamp")
        if isinstance(timestamp, str):
            timestamp = datetime.fromisoformat(timestamp)
        message_id = spec.get("message_id", spec.get("id"))
        if message_id is not None:
            message_id = int(message_id)
            self._ids.reserve(message_id)
        else:
            message_id = self._ids.next(timestamp)
        if timestamp is None:
            timestamp = datetime_from_snowflake(message_id)
        author = self._author_for(
            channel,
            author_id=spec.get("author_id"),
            webhook_id=spec.get("webhook_id"),
            author_name=spec.get("author_name"),
        )
        return self._message(
            channel,
            message_id=message_id,
            author=author,
            content=str(spec.get("content") or ""),
            embeds=spec.get("embeds"),
            timestamp=timestamp,
            webhook_id=spec.get("webhook_id"),
            attachments=spec.get("attachments"),
            components=spec.get("components"),
        )

    async def post_message(
        self,
        channel_id: int,
        *,
        content: str = "",
        embeds: Sequence[Mapping[str, Any]] | None = None,
        author_id: int | None = None,
        webhook_id: int | None = None,
        author_name: str | None = None,
        message_id: int | None = None,
        timestamp: datetime | None = None,
    ) -> JSON:
        """Post a message as a user or webhook: stored in history, MESSAGE_CREATE dispatched.

        A webhook message's author is the webhook (id = ``webhook_id``, discriminator
        ``0000``, ``bot: True``); ``author_name`` overrides the webhook's name for this post.
        """
        channel = self._channel(channel_id)
        spec: JSON = {
            "content": content,
            "embeds": list(embeds or []),
            "author_id": author_id,
            "webhook_id": webhook_id,
            "author_name": author_name,
            "timestamp": timestamp,
        }
        if message_id is not None:
            spec["message_id"] = message_id
        message = self._incoming(channel, spec)
        self._store(channel, message)
        await self._dispatch_message("MESSAGE_CREATE", channel, message)
        return message

    def seed_history(self, channel_id: int, messages: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """Store past messages without dispatching anything (for backfill tests).

        Each item is either a full Discord message object (with ``id`` and ``author``) or
        the keyword arguments of :meth:`post_message` (``content``, ``author_id`` or
        ``webhook_id``, ``author_name``, ``embeds``, ``message_id``, ``timestamp``). Without
        ids or timestamps, messages get increasing ids in the order given.
        """
        channel = self._channel(channel_id)
        built = [self._incoming(channel, spec) for spec in messages]
        channel.history.extend(built)
        for message in built:
            self._message_channel[int(message["id"])] = channel.id
        return built

    def history(self, channel_id: int) -> list[JSON]:
        """The channel's stored messages, oldest first."""
        return self._channel(channel_id).history.oldest_first()

    async def edit_message(
        self,
        channel_id: int,
        message_id: int,
        *,
        content: str | None = None,
        embeds: Sequence[Mapping[str, Any]] | None = None,
    ) -> JSON:
        """Edit a stored message (as its author would) and dispatch MESSAGE_UPDATE."""
        channel = self._channel(channel_id)
        message = channel.history.get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in channel {channel_id}")
        if content is not None:
            message["content"] = content
        if embeds is not None:
            message["embeds"] = [{"type": "rich", **e} for e in embeds]
        message["edited_timestamp"] = iso_timestamp(utc_now())
        await self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return message

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """Delete a stored message and dispatch MESSAGE_DELETE."""
        await self._delete_message(channel_id, message_id)

    # ------------------------------------------------------------------ messages out

    async def wait_for_sent(
        self,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - public API takes a timeout
        start: int = 0,
    ) -> SentMessage:
        """Wait for a sent message (from index ``start`` of sent_messages) matching predicate."""
        found: list[SentMessage] = []

        def check() -> bool:
            for sent in self.sent_messages[start:]:
                if predicate is None or predicate(sent):
                    found.append(sent)
                    return True
            return False

        await self.wait_for(check, timeout)
        return found[0]
