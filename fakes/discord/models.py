"""The fake Discord's world (guilds, channels, roles, members) and what it records."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from fakes.discord.snowflake import iso_timestamp

JSON = dict[str, Any]


class ChannelType(IntEnum):
    """Discord channel types the fake can hold."""

    TEXT = 0
    VOICE = 2
    CATEGORY = 4
    NEWS = 5
    FORUM = 15


class Permission(IntEnum):
    """The permission bits the fake computes with (Discord's values: discord-api-docs,
    ``developers/topics/permissions.mdx``, "Bitwise Permission Flags")."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 53) - 1
# Without Send Messages these are ignored, even when granted (permissions.mdx, "Implicit
# Permissions").
NEEDS_SEND_MESSAGES = (
    Permission.SEND_TTS_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.MENTION_EVERYONE
)
DEFAULT_EVERYONE_PERMISSIONS = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.SEND_MESSAGES_IN_THREADS
)


@dataclass
class FakeUser:
    """A Discord user (or bot account)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeWebhook:
    """An incoming webhook (e.g. a clan-chat relay) that posts into one channel."""

    id: int
    name: str
    channel_id: int
    token: str = "webhook-token"

    def author_payload(self, name: str | None = None) -> JSON:
        """The ``author`` of a message this webhook posted (Discord uses the webhook id)."""
        return {
            "id": str(self.id),
            "username": name or self.name,
            "discriminator": "0000",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class FakeRole:
    """A guild role."""

    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "description": None,
            "flags": 0,
        }


@dataclass
class FakeMember:
    """A user's membership of a guild."""

    user: FakeUser
    role_ids: list[int]
    joined_at: datetime
    nick: str | None = None

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> JSON:
        data: JSON = {
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso_timestamp(self.joined_at),
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


class ChannelHistory:
    """A channel's messages ordered by id, answering Discord's paging queries quickly."""

    def __init__(self) -> None:
        self._ids: list[int] = []
        self._messages: dict[int, JSON] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._messages

    def get(self, message_id: int) -> JSON | None:
        return self._messages.get(message_id)

    def add(self, message: JSON) -> None:
        message_id = int(message["id"])
        if message_id in self._messages:
            self._messages[message_id] = message
            return
        self._messages[message_id] = message
        if not self._ids or message_id > self._ids[-1]:
            self._ids.append(message_id)
        else:
            bisect.insort(self._ids, message_id)

    def extend(self, messages: Iterable[JSON]) -> None:
        """Add many messages at once (one sort, not one insertion per message)."""
        for message in messages:
            message_id = int(message["id"])
            if message_id not in self._messages:
                self._ids.append(message_id)
            self._messages[message_id] = message
        self._ids.sort()

    def remove(self, message_id: int) -> JSON | None:
        message = self._messages.pop(message_id, None)
        if message is not None:
            index = bisect.bisect_left(self._ids, message_id)
            del self._ids[index]
        return message

    def newest_id(self) -> int | None:
        return self._ids[-1] if self._ids else None

    def oldest_first(self) -> list[JSON]:
        return [self._messages[i] for i in self._ids]

    def page(
        self,
        *,
        limit: int,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> list[JSON]:
        """Return a page newest first, exactly as ``GET /channels/{id}/messages`` does.

        ``after`` gives the ``limit`` messages right after that id (still newest first);
        ``before`` the ``limit`` right before it; ``around`` splits the limit either side.
        """
        ids = self._ids
        if around is not None:
            centre = bisect.bisect_left(ids, around)
            older = limit // 2
            start = max(0, centre - older)
            end = min(len(ids), start + limit)
            start = max(0, end - limit)
            chosen = ids[start:end]
        elif after is not None:
            start = bisect.bisect_right(ids, after)
            end = len(ids) if before is None else bisect.bisect_left(ids, before)
            chosen = ids[start : min(end, start + limit)]
        else:
            end = len(ids) if before is None else bisect.bisect_left(ids, before)
            chosen = ids[max(0, end - limit) : end]
        return [self._messages[i] for i in reversed(chosen)]


@dataclass
class Overwrite:
    """A channel's permission overwrite for one role (type 0) or one member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class FakeChannel:
    """A guild channel, its permission overwrites and its message history."""

    id: int
    name: str
    guild_id: int
    type: ChannelType = ChannelType.TEXT
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    history: ChannelHistory = field(default_factory=ChannelHistory)

    def payload(self) -> JSON:
        newest = self.history.newest_id()
        return {
            "id": str(self.id),
            "type": int(self.type),
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites.values()],
            "nsfw": False,
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "topic": self.topic,
            "last_message_id": None if newest is None else str(newest),
            "rate_limit_per_user": 0,
            "flags": 0,
            # A voice channel's own fields (discord-api-docs, ``resources/channel.mdx``).
            **({"bitrate": 64000, "user_limit": 0} if self.type == ChannelType.VOICE else {}),
        }


class FakeGuild:
    """A guild: build it with :meth:`add_channel`, :meth:`add_role`, :meth:`add_member`."""

    def __init__(
        self, *, guild_id: int, name: str, owner_id: int, users: dict[int, FakeUser]
    ) -> None:
        self.id = guild_id
        self.name = name
        self.owner_id = owner_id
        self.created_at = datetime.now(UTC)
        self.channels: dict[int, FakeChannel] = {}
        self.roles: dict[int, FakeRole] = {
            guild_id: FakeRole(
                id=guild_id, name="@everyone", permissions=DEFAULT_EVERYONE_PERMISSIONS
            )
        }
        self.members: dict[int, FakeMember] = {}
        self._users = users

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]

    def add_channel(
        self,
        channel_id: int,
        name: str,
        type: ChannelType | int = ChannelType.TEXT,
        *,
        topic: str | None = None,
        parent_id: int | None = None,
    ) -> FakeChannel:
        """Add a channel (text by default)."""
        channel = FakeChannel(
            id=channel_id,
            name=name,
            guild_id=self.id,
            type=ChannelType(type),
            position=len(self.channels),
            topic=topic,
            parent_id=parent_id,
        )
        self.channels[channel_id] = channel
        return channel

    def add_role(
        self,
        role_id: int,
        name: str,
        permissions: int = 0,
        *,
        position: int | None = None,
        color: int = 0,
        managed: bool = False,
    ) -> FakeRole:
        """Add a role; ``permissions`` is Discord's permission bit field."""
        role = FakeRole(
            id=role_id,
            name=name,
            permissions=int(permissions),
            position=len(self.roles) if position is None else position,
            color=color,
            managed=managed,
        )
        self.roles[role_id] = role
        return role

    def add_member(
        self,
        user_id: int,
        name: str,
        role_ids: Iterable[int] = (),
        bot: bool = False,
        *,
        nick: str | None = None,
        joined_at: datetime | None = None,
    ) -> FakeMember:
        """Add a member (creating the user if needed); ``role_ids`` excludes @everyone."""
        role_ids = list(role_ids)
        unknown = [r for r in role_ids if r not in self.roles]
        if unknown:
            raise ValueError(f"roles {unknown} are not in guild {self.id}: add_role first")
        user = self._users.get(user_id)
        if user is None:
            user = FakeUser(id=user_id, username=name, bot=bot, global_name=None if bot else name)
            self._users[user_id] = user
        member = FakeMember(
            user=user, role_ids=role_ids, joined_at=joined_at or datetime.now(UTC), nick=nick
        )
        self.members[user_id] = member
        return member

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions of a member, from @everyone plus their roles.

        Discord's ``compute_base_permissions`` (permissions.mdx, "Permission Overwrites").
        """
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        value = self.everyone.permissions
        if member is not None:
            for role_id in member.role_ids:
                role = self.roles.get(role_id)
                if role is not None:
                    value |= role.permissions
        if value & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return value

    def permissions_in(self, channel: FakeChannel, user_id: int) -> int:
        """A member's permissions in one channel: base, then the channel's overwrites.

        Discord's ``compute_overwrites`` (permissions.mdx, "Permission Overwrites"):
        @everyone's overwrite, then all the member's roles' overwrites together (deny, then
        allow), then the member's own. Then the implicit rules ("Implicit Permissions"):
        without View Channel nothing else applies, and without Send Messages neither do
        Embed Links, Attach Files, Mention Everyone or TTS.
        """
        value = self.permissions_of(user_id)
        if value & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        everyone = channel.overwrites.get(self.id)
        if everyone is not None:
            value = (value & ~everyone.deny) | everyone.allow
        member = self.members.get(user_id)
        role_ids = member.role_ids if member is not None else []
        allow = deny = 0
        for role_id in role_ids:
            overwrite = channel.overwrites.get(role_id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        value = (value & ~deny) | allow
        own = channel.overwrites.get(user_id)
        if own is not None and own.type == 1:
            value = (value & ~own.deny) | own.allow
        if not value & Permission.VIEW_CHANNEL:
            return 0
        if not value & Permission.SEND_MESSAGES:
            value &= ~NEEDS_SEND_MESSAGES
        return value

    def top_role_position(self, user_id: int) -> int:
        """The position of a member's highest role (@everyone is 0); the role hierarchy."""
        member = self.members.get(user_id)
        positions = [
            self.roles[r].position for r in (member.role_ids if member else []) if r in self.roles
        ]
        return max(positions, default=0)

    def payload(self, *, include_members: bool, bot_user_id: int) -> JSON:
        """The GUILD_CREATE body (members: everyone with the members intent, else just us)."""
        members = [
            m.payload() for uid, m in self.members.items() if include_members or uid == bot_user_id
        ]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "vanity_url_code": None,
            "application_id": None,
            "max_members": 500000,
            "features": [],
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels.values()],
            "threads": [],
            "members": members,
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "joined_at": iso_timestamp(self.created_at),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


# What the bot sent, kept in its own module; re-exported for the modules that import it here.
from fakes.discord.sent import (  # noqa: E402
    FakeInteraction,
    SentAttachment,
    SentKind,
    SentMessage,
)

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "JSON",
    "NEEDS_SEND_MESSAGES",
    "ChannelHistory",
    "ChannelType",
    "FakeChannel",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FakeWebhook",
    "Overwrite",
    "Permission",
    "SentAttachment",
    "SentKind",
    "SentMessage",
]
