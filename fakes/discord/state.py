"""The state every part of the fake Discord shares: the constructor, the world tests build, the
records they assert on, common lookups and the change notification ``wait_for`` waits on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fakes._http import LoopbackServer
from fakes.discord.constants import (
    DEFAULT_APPLICATION_ID,
    DEFAULT_BOT_USER_ID,
    PRIVILEGED_INTENTS,
)
from fakes.discord.models import (
    JSON,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeUser,
    FakeWebhook,
    SentMessage,
)
from fakes.discord.ratelimits import RateLimiter
from fakes.discord.records import GatewayConnection, GatewaySession, RecordedRequest
from fakes.discord.snowflake import SnowflakeGenerator


class DiscordState(LoopbackServer):
    """Base of :class:`~fakes.discord.FakeDiscord`: its attributes and shared lookups."""

    def __init__(
        self,
        *,
        token: str = "fake-token",
        bot_user_id: int = DEFAULT_BOT_USER_ID,
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_name: str = "ClanStats",
        heartbeat_interval_ms: int = 41250,
        ack_timeout: float = 3.0,
        token_lifetime: float = 15 * 60.0,
        privileged_intents: int = PRIVILEGED_INTENTS,
        event_log_size: int = 10_000,
        rate_limits: RateLimiter | None = None,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.application_id = application_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_timeout = ack_timeout
        self.token_lifetime = token_lifetime
        self.privileged_intents = privileged_intents
        self.event_log_size = event_log_size
        # Discord's per-route and global limits (tests may tighten them, or force a 429).
        self.rate_limits = rate_limits if rate_limits is not None else RateLimiter()
        self.users: dict[int, FakeUser] = {
            bot_user_id: FakeUser(id=bot_user_id, username=bot_name, bot=True)
        }
        self.guilds: dict[int, FakeGuild] = {}
        # Guilds the bot was removed from (remove_bot_from_guild), kept to be added back.
        self.left_guilds: dict[int, FakeGuild] = {}
        self.webhooks: dict[int, FakeWebhook] = {}
        # Direct messages: DM channel id → the user it reaches; users whose privacy
        # settings refuse DMs from the server's members (Discord answers 50007).
        self.dm_channels: dict[int, int] = {}
        self.dms_closed: set[int] = set()
        self.sent_messages: list[SentMessage] = []
        self.violations: list[str] = []
        self.unknown_requests: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.registered_commands: dict[int | None, list[JSON]] = {}
        # A server's integration settings (Server Settings → Integrations → the app): per
        # (guild, command name), or (guild, None) for the app's top level, the overrides.
        self.command_permissions: dict[tuple[int, str | None], list[JSON]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.gateway_connects: list[dict[str, str]] = []
        self.identify_count = 0
        self.resume_count = 0
        self._ids = SnowflakeGenerator()
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        self._message_channel: dict[int, int] = {}
        self._rendered_at: dict[int, float] = {}
        self.min_click_delay = 0.1
        self._ephemeral: dict[int, JSON] = {}
        self._attachment_data: dict[int, bytes] = {}
        self._session: GatewaySession | None = None
        self._connections: set[GatewayConnection] = set()
        self._gw_lock = asyncio.Lock()
        self._changed = asyncio.Event()

    @property
    def bot_user(self) -> FakeUser:
        return self.users[self.bot_user_id]

    @property
    def gateway_url(self) -> str:
        """The websocket URL discord.py connects to first (``ws://127.0.0.1:PORT/``)."""
        return self.base_url.replace("http://", "ws://", 1) + "/"

    # ------------------------------------------------------------------ lookups

    def _channel(self, channel_id: int) -> FakeChannel:
        for guild in self.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                return channel
        raise LookupError(f"no channel {channel_id}: add it with FakeGuild.add_channel")

    def _find_channel(self, channel_id: int) -> FakeChannel | None:
        try:
            return self._channel(channel_id)
        except LookupError:
            return None

    def _left_guild_of(self, channel_id: int) -> FakeGuild | None:
        """The guild the bot left that has this channel, if any."""
        return next((g for g in self.left_guilds.values() if channel_id in g.channels), None)

    def _guild_for_channel(self, channel_id: int) -> tuple[FakeGuild, FakeChannel]:
        channel = self._channel(channel_id)
        return self.guilds[channel.guild_id], channel

    def _member(self, guild: FakeGuild, user_id: int) -> FakeMember:
        member = guild.members.get(user_id)
        if member is None:
            raise LookupError(f"user {user_id} is not a member of guild {guild.id}: add_member")
        return member

    # ------------------------------------------------------------------ waiting

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109 - public API takes a timeout
        """Wait until ``predicate()`` is true, re-checking whenever the fake records anything."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    # Woken by anything the fake records; the short poll also catches
                    # predicates on the bot's own state.
                    changed = asyncio.ensure_future(self._changed.wait())
                    await asyncio.wait([changed], timeout=0.02)
                    changed.cancel()
        except TimeoutError:
            raise TimeoutError(f"condition not met within {timeout}s") from None
