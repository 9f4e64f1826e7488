"""A local fake of Discord (REST + websocket gateway) for the real discord.py client."""

from fakes.discord.constants import DEFAULT_APPLICATION_ID, DEFAULT_BOT_USER_ID
from fakes.discord.models import (
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    ChannelHistory,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeRole,
    FakeUser,
    FakeWebhook,
    Permission,
    SentAttachment,
    SentKind,
    SentMessage,
)
from fakes.discord.records import RecordedRequest
from fakes.discord.server import FakeDiscord
from fakes.discord.snowflake import (
    DISCORD_EPOCH_MS,
    SnowflakeGenerator,
    datetime_from_snowflake,
    iso_timestamp,
    snowflake_from_datetime,
)

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_APPLICATION_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DISCORD_EPOCH_MS",
    "ChannelHistory",
    "ChannelType",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "FakeWebhook",
    "Permission",
    "RecordedRequest",
    "SentAttachment",
    "SentKind",
    "SentMessage",
    "SnowflakeGenerator",
    "datetime_from_snowflake",
    "iso_timestamp",
    "snowflake_from_datetime",
]
