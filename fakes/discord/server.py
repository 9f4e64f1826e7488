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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from fakes.discord.messages import utc_now
from fakes.discord.models import (
    JSON,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeUser,
    FakeWebhook,
    SentMessage,
)
from fakes.discord.plumbing import Route
from fakes.discord.rest.channels import ChannelRoutes
from fakes.discord.rest.commands import CommandRoutes
from fakes.discord.rest.guilds import GuildRoutes
from fakes.discord.rest.identity import IdentityRoutes
from fakes.discord.rest.interactions import InteractionRoutes
from fakes.discord.snowflake import datetime_from_snowflake, iso_timestamp

_OPTION_TYPES_BY_PYTHON: tuple[tuple[type, int], ...] = ((bool, 5), (int, 4), (float, 10))
_RESOLVED_OPTION_TYPES = {6, 7, 8, 9, 11}


def _walk_components(items: Iterable[Any]) -> Iterable[JSON]:
    for item in items:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _walk_components(item.get("components") or [])
        for key in ("component", "accessory"):
            if isinstance(item.get(key), dict):
                yield from _walk_components([item[key]])


class FakeDiscord(ChannelRoutes, InteractionRoutes, CommandRoutes, GuildRoutes, IdentityRoutes):
    """A fake Discord on 127.0.0.1 (random port) for end-to-end tests and the demo.

    ``ack_timeout`` is Discord's 3 s to acknowledge an interaction and ``token_lifetime`` its
    15 minutes for followups; tests may shorten them.

    The parts are mixins, one module each: the shared state and constructor (``state.py``),
    the gateway (``gateway.py``), the REST routes by resource (``rest/``), messages and
    interactions as Discord keeps them (``messages.py``, ``interaction_state.py``). The driver
    API tests call is below.
    """

    # The fake runs inside test and demo event loops: SIGINT/SIGTERM stay theirs.
    _handle_signals = False

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        api = r"/api/v{version:\d+}"
        routes: list[Route] = [
            *self._identity_routes(),
            *self._guild_routes(),
            *self._channel_routes(),
            *self._interaction_routes(),
            *self._command_routes(),
        ]
        for method, path, handler, needs_auth in routes:
            app.router.add_route(method, api + path, self._wrap(handler, needs_auth=needs_auth))
        app.router.add_get("/", self._gateway)
        app.router.add_get("/resume", self._gateway)
        # Attachments come from Discord's CDN: no /api prefix and no token.
        app.router.add_get(
            "/attachments/{channel_id:\\d+}/{attachment_id:\\d+}/{filename}", self._get_attachment
        )
        # Last, so it only answers what no route above knows.
        app.router.add_route("*", "/{tail:.*}", self._unknown)
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
