"""The driver API for what members do to the bot: slash commands, autocomplete, buttons,
selects and modals, each sent to the bot as an INTERACTION_CREATE it must answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fakes.discord.interaction_state import InteractionState
from fakes.discord.models import JSON, FakeGuild, FakeInteraction, Permission, SentMessage

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


class InteractionDriver(InteractionState):
    """Mixin: the interaction parts of the driver API."""

    # ------------------------------------------------------------------ application commands

    def find_command(self, name: str, guild_id: int | None = None, type: int = 1) -> JSON | None:
        """The registered command a user in ``guild_id`` would see under ``name``."""
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.registered_commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == type:
                    return command
        return None

    def set_command_permissions(
        self, guild_id: int, permissions: Sequence[Mapping[str, Any]], command: str | None = None
    ) -> None:
        """What a server admin sets in *Server Settings → Integrations* for the app: overrides
        for one command (by name), or for all of the app's commands (``command=None``).

        Each entry is Discord's application command permission (``application-commands.mdx``,
        "Application Command Permissions Structure"): ``{"id", "type", "permission"}``, type 1
        a role (the guild's id is @everyone), 2 a user, 3 a channel (the guild's id - 1 is
        every channel); ``permission`` true allows, false denies. At most 100.
        """
        if guild_id not in self.guilds:
            raise LookupError(f"no guild {guild_id}")
        entries = [dict(entry) for entry in permissions]
        if len(entries) > 100:
            raise ValueError("at most 100 command permission overrides")
        for entry in entries:
            if entry.get("type") not in (1, 2, 3) or not isinstance(entry.get("permission"), bool):
                raise ValueError(f"not a command permission: {entry}")
            entry["id"] = str(entry["id"])
        self.command_permissions[(guild_id, command)] = entries

    def command_usable_by(self, guild_id: int, channel_id: int, user_id: int, name: str) -> bool:
        """Whether Discord lets ``user_id`` use ``/name`` in ``channel_id`` (else the client
        does not even offer it).

        Members with Administrator (and the owner) may use every command. Otherwise the
        command's own overrides decide, then the app-wide ones: a denied channel, then the
        member's own entry, then their roles' (one allowing role is enough), then @everyone.
        With no override that applies, ``default_member_permissions`` decides: null lets
        everyone in, a bit set needs all of its bits ("0": admins only). This follows
        ``application-commands.mdx`` ("Permissions", "Using Default Permissions") and the
        order Discord's client applies (command overrides before app-wide ones).
        """
        guild = self.guilds[guild_id]
        command = self.find_command(name, guild_id)
        if command is None:
            return False
        held = guild.permissions_of(user_id)
        if held & Permission.ADMINISTRATOR:
            return True
        member = self._member(guild, user_id)
        for scope in (name, None):
            decided = _override_decision(
                self.command_permissions.get((guild_id, scope), []),
                guild_id=guild_id,
                channel_id=channel_id,
                user_id=user_id,
                role_ids=set(member.role_ids),
            )
            if decided is not None:
                return decided
        required = command.get("default_member_permissions")
        if required is None:
            return True
        bits = int(required)
        return bits != 0 and held & bits == bits

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
        check_permissions: bool = True,
    ) -> FakeInteraction:
        """A member runs ``/name [group] [subcommand] options…`` (INTERACTION_CREATE type 2).

        ``options`` are ``{"name": ..., "value": ...}``; their types come from the registered
        command (users, roles and channels are resolved from the world). The member's
        permissions are computed from @everyone and their roles. A member Discord would not
        let use the command (:meth:`command_usable_by`) cannot run it: ``PermissionError``
        (``check_permissions=False`` skips that, for a test of the bot's own check).
        """
        guild, channel = self._guild_for_channel(channel_id)
        if guild.id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        self._require_usable(guild_id, channel_id, user_id, name, check_permissions)
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
        check_permissions: bool = True,
    ) -> list[JSON]:
        """A member types into option ``focused``; return the choices the bot answered with."""
        guild, channel = self._guild_for_channel(channel_id)
        if guild.id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        self._require_usable(guild_id, channel_id, user_id, name, check_permissions)
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

    def _require_usable(
        self, guild_id: int, channel_id: int, user_id: int, name: str, check: bool
    ) -> None:
        if not check or self.find_command(name, guild_id) is None:
            return  # an unregistered command is _command_data's to refuse (or allow)
        if not self.command_usable_by(guild_id, channel_id, user_id, name):
            raise PermissionError(
                f"Discord does not offer /{name} to user {user_id} in guild {guild_id}: its "
                "default_member_permissions and the server's overrides keep it from them "
                "(set_command_permissions opens it; check_permissions=False skips this)"
            )

    # ------------------------------------------------------------------ components and modals

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


def _override_decision(
    entries: Sequence[Mapping[str, Any]],
    *,
    guild_id: int,
    channel_id: int,
    user_id: int,
    role_ids: set[int],
) -> bool | None:
    """What one level of overrides (a command's, or the app's) says; None: nothing applies."""
    for entry in entries:
        channel = int(entry["type"]) == 3 and int(entry["id"]) in (channel_id, guild_id - 1)
        if channel and not entry["permission"]:
            return False
    for entry in entries:
        if int(entry["type"]) == 2 and int(entry["id"]) == user_id:
            return bool(entry["permission"])
    roles = [e for e in entries if int(e["type"]) == 1 and int(e["id"]) in role_ids]
    if roles:
        return any(bool(e["permission"]) for e in roles)
    for entry in entries:
        if int(entry["type"]) == 1 and int(entry["id"]) == guild_id:
            return bool(entry["permission"])
    return None
