"""A local Discord (REST + gateway) that the real, unmodified discord.py client talks to.

Start it, build a world (guilds, channels, roles, members), point discord.py at it with
:func:`bot.discord_endpoint.point_discord_py_at`, then drive the bot (post messages, invoke slash
commands, click buttons, drop the gateway) and assert on what it recorded: every message the
bot sent (:attr:`FakeDiscord.sent_messages`), every rule of Discord's the bot broke
(:attr:`FakeDiscord.violations`) and every request it made that Discord would not know
(:attr:`FakeDiscord.unknown_requests`).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from fakes.discord.constants import ATTACHMENT_SIZE_LIMIT
from fakes.discord.gateway import Gateway
from fakes.discord.models import (
    JSON,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeUser,
    FakeWebhook,
    Permission,
    SentAttachment,
    SentKind,
    SentMessage,
)
from fakes.discord.plumbing import (
    Handler,
    Upload,
    error,
    json_response,
)
from fakes.discord.snowflake import datetime_from_snowflake, iso_timestamp
from fakes.discord.validation import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FormErrors,
    is_empty_message,
    validate_choices,
    validate_commands,
    validate_message,
)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_OPTION_TYPES_BY_PYTHON: tuple[tuple[type, int], ...] = ((bool, 5), (int, 4), (float, 10))
_RESOLVED_OPTION_TYPES = {6, 7, 8, 9, 11}
# Which callback types Discord accepts for each interaction type.
_VALID_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _walk_components(items: Iterable[Any]) -> Iterable[JSON]:
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _walk_components(item.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(item.get(key), dict):
                yield from _walk_components([item[key]])


class FakeDiscord(Gateway):
    """A fake Discord on 127.0.0.1 (random port) for end-to-end tests and the demo.

    ``ack_timeout`` is Discord's 3 s to acknowledge an interaction and ``token_lifetime`` its
    15 minutes for followups; tests may shorten them.
    """

    # The fake runs inside test and demo event loops: SIGINT/SIGTERM stay theirs.
    _handle_signals = False

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        return app

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

    def add_webhook_user(self, webhook_id: int, name: str, channel_id: int) -> FakeWebhook:
        """Register an incoming webhook (e.g. "Osrs clanchat") that posts into a channel."""
        self._channel(channel_id)
        webhook = FakeWebhook(id=webhook_id, name=name, channel_id=channel_id)
        self.webhooks[webhook_id] = webhook
        return webhook

    # ------------------------------------------------------------------ waiting helpers

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
        channel = self._channel(channel_id)
        if channel.history.remove(message_id) is None:
            raise LookupError(f"no message {message_id} in channel {channel_id}")
        self._message_channel.pop(message_id, None)
        await self._dispatch(
            "MESSAGE_DELETE",
            {
                "id": str(message_id),
                "channel_id": str(channel_id),
                "guild_id": str(channel.guild_id),
            },
        )

    # ------------------------------------------------------------------ interactions out

    def find_command(self, name: str, guild_id: int | None = None, type: int = 1) -> JSON | None:
        """The registered command a user in ``guild_id`` would see under ``name``."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.registered_commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == type:
                    return command
        return None

    def _resolve_options(
        self,
        guild: FakeGuild,
        definitions: list[JSON] | None,
        given: Sequence[Mapping[str, Any]],
        resolved: JSON,
        focused: str | None,
    ) -> list[JSON]:
        by_name = {d["name"]: d for d in definitions or []}
        options: list[JSON] = []
        for item in given:
            name = str(item["name"])
            definition = by_name.get(name)
            if definitions is not None and definition is None:
                raise ValueError(f"command has no option {name!r}")
            value = item.get("value")
            kind = item.get("type") or (definition or {}).get("type")
            if kind is None:
                kind = next((t for py, t in _OPTION_TYPES_BY_PYTHON if isinstance(value, py)), 3)
            kind = int(kind)
            option: JSON = {"name": name, "type": kind}
            if name == focused:
                option["value"] = "" if value is None else str(value)
                option["focused"] = True
            elif kind in _RESOLVED_OPTION_TYPES:
                option["value"] = str(value)
                self._add_resolved(guild, kind, int(str(value)), resolved)
            else:
                option["value"] = value
            options.append(option)
        if definitions is not None and focused is None:
            names = {o["name"] for o in options}
            missing = [
                d["name"] for d in definitions if d.get("required") and d["name"] not in names
            ]
            if missing:
                raise ValueError(f"missing required options {missing}")
        return options

    def _add_resolved(self, guild: FakeGuild, kind: int, snowflake: int, resolved: JSON) -> None:
        key = str(snowflake)
        if kind in (6, 9) and snowflake in self.users:
            resolved.setdefault("users", {})[key] = self.users[snowflake].payload()
            member = guild.members.get(snowflake)
            if member is not None:
                resolved.setdefault("members", {})[key] = member.payload(
                    with_user=False, permissions=guild.permissions_of(snowflake)
                )
        elif kind in (8, 9) and snowflake in guild.roles:
            resolved.setdefault("roles", {})[key] = guild.roles[snowflake].payload()
        elif kind == 7 and snowflake in guild.channels:
            channel = guild.channels[snowflake].payload()
            channel["permissions"] = str(guild.permissions_of(self.bot_user_id))
            resolved.setdefault("channels", {})[key] = channel
        elif kind != 11:
            raise ValueError(f"option value {snowflake} is not a known user/role/channel")

    def _interaction_payload(
        self,
        *,
        interaction_type: int,
        guild: FakeGuild,
        channel: FakeChannel,
        user_id: int,
        data: JSON,
        locale: str,
        message: JSON | None = None,
    ) -> tuple[int, str, JSON]:
        member = self._member(guild, user_id)
        interaction_id = self._ids.next()
        token = f"aW50ZXJhY3Rpb246{interaction_id}:{secrets.token_hex(24)}"
        channel_payload = channel.payload()
        channel_payload["permissions"] = str(guild.permissions_of(user_id))
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "member": member.payload(permissions=guild.permissions_of(user_id)),
            "token": token,
            "version": 1,
            "app_permissions": str(guild.permissions_of(self.bot_user_id)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message
        return interaction_id, token, payload

    async def _send_interaction(
        self,
        *,
        interaction_type: int,
        guild: FakeGuild,
        channel: FakeChannel,
        user_id: int,
        data: JSON,
        locale: str = "en-US",
        message: JSON | None = None,
    ) -> FakeInteraction:
        if self._session is None:
            raise RuntimeError("no bot is connected to the gateway")
        interaction_id, token, payload = self._interaction_payload(
            interaction_type=interaction_type,
            guild=guild,
            channel=channel,
            user_id=user_id,
            data=data,
            locale=locale,
            message=message,
        )
        interaction = FakeInteraction(
            interaction_id=interaction_id,
            token=token,
            type=interaction_type,
            guild_id=guild.id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            source_message_id=None if message is None else int(message["id"]),
        )
        self.interactions[interaction_id] = interaction
        self._interactions_by_token[token] = interaction
        await self._dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _command_data(
        self,
        guild: FakeGuild,
        name: str,
        options: Sequence[Mapping[str, Any]] | None,
        *,
        subcommand: str | None,
        group: str | None,
        require_registered: bool,
        focused: str | None = None,
    ) -> JSON:
        command = self.find_command(name, guild.id)
        if command is None and require_registered:
            raise LookupError(
                f"/{name} is not registered for guild {guild.id} or globally: sync the tree "
                "first (or pass require_registered=False)"
            )
        definitions: list[JSON] | None = None if command is None else command.get("options", [])
        path = [p for p in (group, subcommand) if p]
        for part in path:
            if definitions is not None:
                match = next((d for d in definitions if d["name"] == part), None)
                if match is None:
                    raise ValueError(f"/{name} has no subcommand or group {part!r}")
                definitions = match.get("options", [])
        resolved: JSON = {}
        built = self._resolve_options(guild, definitions, options or [], resolved, focused)
        if subcommand is not None:
            built = [{"type": 1, "name": subcommand, "options": built}]
        if group is not None:
            built = [{"type": 2, "name": group, "options": built}]
        data: JSON = {
            "id": str(command["id"]) if command else str(self._ids.next()),
            "name": name,
            "type": 1,
            "options": built,
        }
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        elif command is None:
            data["guild_id"] = str(guild.id)
        if resolved:
            data["resolved"] = resolved
        return data

    async def invoke_slash(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Sequence[Mapping[str, Any]] | None = None,
        *,
        subcommand: str | None = None,
        group: str | None = None,
        locale: str = "en-US",
        require_registered: bool = True,
    ) -> FakeInteraction:
        """A member runs ``/name [group] [subcommand] options…`` (INTERACTION_CREATE type 2).

        ``options`` are ``{"name": ..., "value": ...}``; their types come from the registered
        command (users, roles and channels are resolved from the world). The member's
        permissions are computed from @everyone and their roles.
        """
        guild, channel = self._guild_for_channel(channel_id)
        if guild.id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        data = self._command_data(
            guild,
            name,
            options,
            subcommand=subcommand,
            group=group,
            require_registered=require_registered,
        )
        return await self._send_interaction(
            interaction_type=2,
            guild=guild,
            channel=channel,
            user_id=user_id,
            data=data,
            locale=locale,
        )

    async def invoke_autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user_id: int,
        name: str,
        options: Sequence[Mapping[str, Any]],
        *,
        focused: str,
        subcommand: str | None = None,
        group: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - public API takes a timeout
        require_registered: bool = True,
    ) -> list[JSON]:
        """A member types into option ``focused``; return the choices the bot answered with."""
        guild, channel = self._guild_for_channel(channel_id)
        if guild.id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        data = self._command_data(
            guild,
            name,
            options,
            subcommand=subcommand,
            group=group,
            require_registered=require_registered,
            focused=focused,
        )
        interaction = await self._send_interaction(
            interaction_type=4, guild=guild, channel=channel, user_id=user_id, data=data
        )
        await interaction.wait_settled(timeout)
        if interaction.choices is None:
            raise AssertionError(f"autocomplete answer rejected: {interaction.rejections}")
        return interaction.choices

    def _message_ref(self, message: Mapping[str, Any] | SentMessage | int) -> JSON:
        if isinstance(message, SentMessage):
            message_id = message.message_id
        elif isinstance(message, int):
            message_id = message
        else:
            message_id = int(message["id"])
        found = None if message_id is None else self._find_message(message_id)
        if found is None:
            raise LookupError(f"no stored message {message_id}")
        return found

    async def _component_interaction(
        self,
        message: Mapping[str, Any] | SentMessage | int,
        custom_id: str,
        user_id: int,
        *,
        kinds: set[int],
        values: list[str] | None = None,
    ) -> FakeInteraction:
        stored = self._message_ref(message)
        component = next(
            (
                c
                for c in _walk_components(stored.get("components") or [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise LookupError(f"message {stored['id']} has no component {custom_id!r}")
        if int(component.get("type", 0)) not in kinds:
            raise ValueError(f"component {custom_id!r} is type {component.get('type')}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled: a user cannot use it")
        # A person cannot click a button in the instant it is rendered; discord.py registers
        # a view only after the HTTP response that created its message has been read.
        shown_at = self._rendered_at.get(int(stored["id"]), 0.0)
        wait = self.min_click_delay - (time.monotonic() - shown_at)
        if wait > 0:
            await asyncio.sleep(wait)
        guild, channel = self._guild_for_channel(int(stored["channel_id"]))
        data: JSON = {"custom_id": custom_id, "component_type": int(component["type"])}
        if values is not None:
            data["values"] = values
        return await self._send_interaction(
            interaction_type=3,
            guild=guild,
            channel=channel,
            user_id=user_id,
            data=data,
            message=json.loads(json.dumps(stored)),
        )

    async def click_button(
        self, message: Mapping[str, Any] | SentMessage | int, custom_id: str, user_id: int
    ) -> FakeInteraction:
        """A member clicks button ``custom_id`` on a stored message (INTERACTION_CREATE type 3)."""
        return await self._component_interaction(message, custom_id, user_id, kinds={2})

    async def choose_select(
        self,
        message: Mapping[str, Any] | SentMessage | int,
        custom_id: str,
        values: Sequence[str],
        user_id: int,
    ) -> FakeInteraction:
        """A member picks ``values`` in string select ``custom_id`` on a stored message."""
        return await self._component_interaction(
            message, custom_id, user_id, kinds={3}, values=list(values)
        )

    async def submit_modal(
        self, interaction: FakeInteraction, values: Mapping[str, str], user_id: int | None = None
    ) -> FakeInteraction:
        """Submit the modal the bot opened in ``interaction`` with text input ``values``."""
        if interaction.modal is None:
            raise ValueError(f"interaction {interaction.id} did not open a modal")

        def answer(items: list[Any]) -> list[JSON]:
            out: list[JSON] = []
            for item in items:
                kind = item.get("type")
                if kind == 1:
                    out.append({"type": 1, "components": answer(item.get("components") or [])})
                elif kind == 18 and isinstance(item.get("component"), dict):
                    out.append({"type": 18, "component": answer([item["component"]])[0]})
                elif kind == 4:
                    cid = item["custom_id"]
                    out.append({"type": 4, "custom_id": cid, "value": values.get(cid, "")})
            return out

        guild, channel = self._guild_for_channel(interaction.channel_id)
        data = {
            "custom_id": interaction.modal.get("custom_id"),
            "components": answer(list(interaction.modal.get("components") or [])),
        }
        source = None
        if interaction.source_message_id is not None:
            source = self._find_message(interaction.source_message_id)
        return await self._send_interaction(
            interaction_type=5,
            guild=guild,
            channel=channel,
            user_id=user_id if user_id is not None else interaction.user_id,
            data=data,
            message=source,
        )

    # ------------------------------------------------------------------ HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        api = r"/api/v{version:\d+}"
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/users/{user_id:\\d+}", self._get_user, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/guilds/{guild_id:\\d+}", self._get_guild, True),
            ("GET", "/guilds/{guild_id:\\d+}/channels", self._get_guild_channels, True),
            ("GET", "/guilds/{guild_id:\\d+}/roles", self._get_guild_roles, True),
            ("GET", "/guilds/{guild_id:\\d+}/members/{user_id:\\d+}", self._get_member, True),
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
            ("GET", "/webhooks/{webhook_id:\\d+}", self._get_webhook, True),
            (
                "POST",
                "/interactions/{interaction_id:\\d+}/{token}/callback",
                self._interaction_callback,
                False,
            ),
            ("POST", "/webhooks/{app_id:\\d+}/{token}", self._followup, False),
            (
                "GET",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._patch_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._delete_webhook_message,
                False,
            ),
            ("GET", "/applications/{app_id:\\d+}/commands", self._get_commands, True),
            ("PUT", "/applications/{app_id:\\d+}/commands", self._put_commands, True),
            (
                "GET",
                "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                "/applications/{app_id:\\d+}/guilds/{guild_id:\\d+}/commands",
                self._put_commands,
                True,
            ),
        ]
        for method, path, handler, needs_auth in routes:
            app.router.add_route(method, api + path, self._wrap(handler, needs_auth=needs_auth))
        app.router.add_get("/", self._gateway)
        app.router.add_get("/resume", self._gateway)
        app.router.add_get(
            "/attachments/{channel_id:\\d+}/{attachment_id:\\d+}/{filename}", self._get_attachment
        )
        app.router.add_route("*", "/{tail:.*}", self._unknown)

    # ------------------------------------------------------------------ REST: identity

    async def _get_me(self, request: web.Request) -> web.StreamResponse:
        user = self.bot_user.payload()
        user.update({"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})
        return json_response(user)

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        user = self.users.get(int(request.match_info["user_id"]))
        if user is None:
            return error(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def _get_application(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": {
                    "id": str(self.application_id + 1),
                    "username": "owner",
                    "discriminator": "0",
                    "global_name": "owner",
                    "avatar": None,
                    "public_flags": 0,
                    "flags": 0,
                },
                "team": None,
                "bot": self.bot_user.payload(),
                "redirect_uris": [],
                "tags": [],
                "approximate_guild_count": len(self.guilds),
                "integration_types_config": {"0": {}},
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.gateway_url.rstrip("/")})

    async def _get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        return json_response(
            {
                "url": self.gateway_url.rstrip("/"),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ REST: guilds

    async def _get_guild(self, request: web.Request) -> web.StreamResponse:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        body = guild.payload(include_members=False, bot_user_id=self.bot_user_id)
        for key in ("channels", "members", "threads", "voice_states", "presences", "joined_at"):
            body.pop(key, None)
        return json_response(body)

    async def _get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return json_response([c.payload() for c in guild.channels.values()])

    async def _get_guild_roles(self, request: web.Request) -> web.StreamResponse:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return json_response([r.payload() for r in guild.roles.values()])

    async def _get_member(self, request: web.Request) -> web.StreamResponse:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            return error(404, 10007, "Unknown Member")
        return json_response(member.payload())

    # ------------------------------------------------------------------ REST: channels

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

    def _bot_permissions(self, channel: FakeChannel) -> int:
        return self.guilds[channel.guild_id].permissions_of(self.bot_user_id)

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
        await self.delete_message(channel.id, message_id)
        return web.Response(status=204)

    async def _get_webhook(self, request: web.Request) -> web.StreamResponse:
        webhook = self.webhooks.get(int(request.match_info["webhook_id"]))
        if webhook is None:
            return error(404, 10015, "Unknown Webhook")
        channel = self._channel(webhook.channel_id)
        return json_response(
            {
                "id": str(webhook.id),
                "type": 1,
                "guild_id": str(channel.guild_id),
                "channel_id": str(channel.id),
                "name": webhook.name,
                "avatar": None,
                "application_id": None,
            }
        )

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        data = self._attachment_data.get(int(request.match_info["attachment_id"]))
        if data is None:
            return await self._unknown(request)
        return web.Response(body=data, content_type="application/octet-stream")

    # ------------------------------------------------------------------ REST: interactions

    def _interaction_message(
        self, interaction: FakeInteraction, body: JSON, *, flags: int, content_allowed: bool = True
    ) -> JSON:
        channel = self._channel(interaction.channel_id)
        user = self.users[interaction.user_id]
        message = self._message(
            channel,
            message_id=self._ids.next(),
            author=self.bot_user.payload(),
            content=str(body.get("content") or "") if content_allowed else "",
            embeds=body.get("embeds") if content_allowed else None,
            timestamp=utc_now(),
            webhook_id=self.application_id,
            components=body.get("components") if content_allowed else None,
            flags=flags,
            message_type=20 if interaction.type == 2 else 0,
        )
        message["application_id"] = str(self.application_id)
        message["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user.payload(),
            "authorizing_integration_owners": {"0": str(interaction.guild_id)},
        }
        return message

    async def _publish(self, message: JSON, *, event: str) -> None:
        """Store a bot message; ephemeral ones are only visible to the invoking user."""
        if message["flags"] & FLAG_EPHEMERAL:
            self._ephemeral[int(message["id"])] = message
            return
        channel = self._channel(int(message["channel_id"]))
        self._store(channel, message)
        await self._dispatch_message(event, channel, message)

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        interaction = self.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            self._violation(request, "Unknown interaction")
            return error(404, 10062, "Unknown interaction")
        body, uploads = await self._read_body(request)
        elapsed = time.monotonic() - interaction.created_monotonic

        def reject(reason: str, response: web.Response) -> web.Response:
            self._violation(request, reason)
            interaction.rejections.append(reason)
            interaction._notify()
            return response

        if interaction.callback_type is not None:
            return reject(
                "Interaction has already been acknowledged",
                error(400, 40060, "Interaction has already been acknowledged."),
            )
        if elapsed > self.ack_timeout:
            return reject(
                f"Unknown interaction: acknowledged after {elapsed:.2f}s "
                f"(Discord allows {self.ack_timeout:g}s)",
                error(404, 10062, "Unknown interaction"),
            )
        if not isinstance(body, dict):
            return reject("body is not a JSON object", error(400, 50109, "Invalid JSON"))
        callback_type = body.get("type")
        data = body.get("data") or {}
        if callback_type not in _VALID_CALLBACKS.get(interaction.type, set()):
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"callback type {callback_type} is not valid for interaction type "
                f"{interaction.type}",
            )
            interaction.rejections.extend(errors.reasons())
            interaction._notify()
            return self._invalid_form(request, errors)
        errors = FormErrors()
        if callback_type in (4, 7):
            validate_message(errors.at("data"), data, new_files=len(uploads))
        elif callback_type == 8:
            validate_choices(errors.at("data"), data.get("choices"))
        elif callback_type == 9:
            title = data.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= 45:
                errors.add(("data", "title"), "BASE_TYPE_BAD_LENGTH", "Must be 1 to 45 long.")
            if not 1 <= len(data.get("components") or []) <= 5:
                errors.add(("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be 1 to 5 long.")
        if errors:
            interaction.rejections.extend(errors.reasons())
            interaction._notify()
            return self._invalid_form(request, errors)
        if callback_type == 4 and is_empty_message(data, new_files=len(uploads)):
            return reject(
                "Cannot send an empty message", error(400, 50006, "Cannot send an empty message")
            )

        interaction.callback_type = int(callback_type)
        flags = int(data.get("flags") or 0)
        message: JSON | None = None
        if callback_type in (4, 5):
            ephemeral = flags & FLAG_EPHEMERAL
            message = self._interaction_message(
                interaction,
                data,
                flags=ephemeral | (FLAG_LOADING if callback_type == 5 else 0),
                content_allowed=callback_type == 4,
            )
            attachments = self._build_attachments(
                request, interaction.channel_id, data, uploads, []
            )
            if isinstance(attachments, web.Response):
                interaction.callback_type = None
                return attachments
            message["attachments"] = attachments
            self._check_attachment_refs(request, message["embeds"], attachments)
            interaction.original_message_id = int(message["id"])
            interaction.original_loading = callback_type == 5
            kind: SentKind = "interaction_response" if callback_type == 4 else "deferred"
            self._record(
                kind, message, body=data, interaction=interaction, public=kind != "deferred"
            )
            await self._publish(message, event="MESSAGE_CREATE")
        elif callback_type in (6, 7):
            interaction.original_message_id = interaction.source_message_id
            source = (
                None
                if interaction.source_message_id is None
                else self._find_message(interaction.source_message_id)
            )
            if callback_type == 7 and source is not None:
                problem = self._apply_edit(request, source, data, uploads)
                if problem is not None:
                    interaction.callback_type = None
                    return problem
                message = source
                self._record("interaction_update", source, body=data, interaction=interaction)
                if not source["flags"] & FLAG_EPHEMERAL:
                    await self._dispatch_message(
                        "MESSAGE_UPDATE", self._channel(int(source["channel_id"])), source
                    )
            else:
                self._record(
                    "deferred_update",
                    source or {"channel_id": str(interaction.channel_id)},
                    body=data,
                    interaction=interaction,
                    public=False,
                )
        elif callback_type == 8:
            interaction.choices = list(data.get("choices") or [])
            self._record(
                "autocomplete",
                {"channel_id": str(interaction.channel_id)},
                body=data,
                interaction=interaction,
                public=False,
            )
        elif callback_type == 9:
            interaction.modal = data
            self._record(
                "modal",
                {"channel_id": str(interaction.channel_id)},
                body=data,
                interaction=interaction,
                public=False,
            )

        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        summary: JSON = {"id": str(interaction.id), "type": interaction.type}
        if message is not None:
            summary["response_message_id"] = str(message["id"])
            summary["response_message_loading"] = bool(message["flags"] & FLAG_LOADING)
            summary["response_message_ephemeral"] = bool(message["flags"] & FLAG_EPHEMERAL)
        resource: JSON = {"type": callback_type}
        if message is not None:
            resource["message"] = message
        return json_response({"interaction": summary, "resource": resource})

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction | web.Response:
        if int(request.match_info["app_id"]) != self.application_id:
            self._violation(request, "Unknown Webhook (wrong application id)")
            return error(404, 10015, "Unknown Webhook")
        interaction = self._interactions_by_token.get(request.match_info["token"])
        if interaction is None:
            self._violation(request, "Unknown Webhook (no interaction has this token)")
            return error(404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.created_monotonic > self.token_lifetime:
            self._violation(request, "Invalid Webhook Token: interaction token expired (15 min)")
            return error(401, 50027, "Invalid Webhook Token")
        return interaction

    async def _followup(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        if interaction.callback_type is None:
            self._violation(request, "followup sent before the interaction was acknowledged")
            return error(404, 10015, "Unknown Webhook")
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=True)
        if problem is not None:
            interaction.rejections.append(f"followup rejected: {problem.status}")
            interaction._notify()
            return problem
        flags = int(body.get("flags") or 0) & FLAG_EPHEMERAL
        original = (
            None
            if interaction.original_message_id is None
            else self._find_message(interaction.original_message_id)
        )
        if interaction.original_loading and original is not None:
            # The first followup after a "thinking" defer completes that deferred message and
            # keeps its visibility: an ephemeral flag on the followup is ignored.
            if flags and not original["flags"] & FLAG_EPHEMERAL:
                self._violation(
                    request,
                    "followup asked to be ephemeral but completes a public deferred response: "
                    "Discord shows it to everyone (defer with ephemeral=True)",
                )
            problem = self._apply_edit(request, original, body, uploads)
            if problem is not None:
                return problem
            interaction.original_loading = False
            message = original
            self._record("followup", message, body=body, interaction=interaction)
            if not message["flags"] & FLAG_EPHEMERAL:
                await self._dispatch_message(
                    "MESSAGE_UPDATE", self._channel(int(message["channel_id"])), message
                )
        else:
            message = self._interaction_message(interaction, body, flags=flags)
            message["type"] = 0 if interaction.type != 2 else 19
            attachments = self._build_attachments(
                request, interaction.channel_id, body, uploads, []
            )
            if isinstance(attachments, web.Response):
                return attachments
            message["attachments"] = attachments
            self._check_attachment_refs(request, message["embeds"], attachments)
            self._record("followup", message, body=body, interaction=interaction)
            await self._publish(message, event="MESSAGE_CREATE")
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(message)
        return web.Response(status=204)

    def _webhook_message(
        self, request: web.Request, interaction: FakeInteraction
    ) -> JSON | web.Response:
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = interaction.original_message_id
        elif raw.isdigit():
            message_id = int(raw)
            own = {r.message_id for r in interaction.responses}
            if message_id not in own:
                message_id = None
        else:
            message_id = None
        message = None if message_id is None else self._find_message(message_id)
        if message is None:
            self._violation(request, f"Unknown Message ({raw} of interaction {interaction.id})")
            return error(404, 10008, "Unknown Message")
        return message

    async def _get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        return json_response(message)

    async def _patch_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=False)
        if problem is None:
            problem = self._apply_edit(request, message, body, uploads)
        if problem is not None:
            return problem
        if int(message["id"]) == interaction.original_message_id:
            interaction.original_loading = False
        original = request.match_info["message_id"] == "@original"
        self._record(
            "original_edit" if original else "followup_edit",
            message,
            body=body,
            interaction=interaction,
        )
        if not message["flags"] & FLAG_EPHEMERAL:
            channel = self._channel(int(message["channel_id"]))
            await self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return json_response(message)

    async def _delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        message_id = int(message["id"])
        if self._ephemeral.pop(message_id, None) is None:
            await self.delete_message(int(message["channel_id"]), message_id)
        return web.Response(status=204)

    # ------------------------------------------------------------------ REST: commands

    def _command_scope(self, request: web.Request) -> int | web.Response | None:
        if int(request.match_info["app_id"]) != self.application_id:
            self._violation(request, "Unknown Application")
            return error(404, 10002, "Unknown Application")
        raw_guild = request.match_info.get("guild_id")
        if raw_guild is None:
            return None
        guild_id = int(raw_guild)
        if guild_id not in self.guilds:
            self._violation(request, "Missing Access (bot is not in that guild)")
            return error(403, 50001, "Missing Access")
        return guild_id

    async def _get_commands(self, request: web.Request) -> web.StreamResponse:
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        return json_response(self.registered_commands.get(scope, []))

    async def _put_commands(self, request: web.Request) -> web.StreamResponse:
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        body, _ = await self._read_body(request)
        errors = FormErrors()
        validate_commands(errors, body)
        if errors:
            return self._invalid_form(request, errors)
        previous = {
            (int(c.get("type", 1)), c["name"]): c for c in self.registered_commands.get(scope, [])
        }
        stored: list[JSON] = []
        for command in body:
            kind = int(command.get("type", 1))
            old = previous.get((kind, command["name"]))
            item: JSON = {
                "id": old["id"] if old else str(self._ids.next()),
                "application_id": str(self.application_id),
                "version": str(self._ids.next()),
                "type": kind,
                "name": command["name"],
                "description": command.get("description", ""),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", scope is None),
                "nsfw": bool(command.get("nsfw", False)),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if command.get("options"):
                item["options"] = command["options"]
            if scope is not None:
                item["guild_id"] = str(scope)
            stored.append(item)
        self.registered_commands[scope] = stored
        return json_response(stored)
