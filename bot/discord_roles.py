"""The role sync's way into Discord (:class:`bot.usecases.roles.RoleGateway`), paced.

discord.py already waits before a route's bucket runs dry (it reads ``X-RateLimit-*``), but
Discord's global limit (50 requests a second per bot, ``developers/topics/rate-limits.mdx``)
has no header to read: discord.py only learns it from a 429. A first apply for a big clan
(300 members: a member lookup each, then their role changes) would hit it in a burst on a fast
link, so every request here waits its turn on a :class:`Pacer`, well under the global limit
and leaving room for everything else the bot does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import discord
import structlog

from domain.roles import Action, BotStanding, GuildRole

#: Role-sync requests per second (a member lookup or a role change each): a fifth of
#: Discord's global limit, so relay, reports and commands keep theirs.
ROLE_REQUESTS_PER_S = 10.0

log = structlog.get_logger(__name__)


class Pacer:
    """Spaces calls ``1 / per_s`` seconds apart (in arrival order)."""

    def __init__(self, per_s: float) -> None:
        if per_s <= 0:
            raise ValueError("per_s must be positive")
        self._gap = 1.0 / per_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            loop = asyncio.get_running_loop()
            now = loop.time()
            if now < self._next:
                await asyncio.sleep(self._next - now)
                now = loop.time()
            self._next = max(now, self._next) + self._gap


class DiscordRoleGateway:
    """One server's roles and members, through discord.py, every request paced."""

    def __init__(self, guild: discord.Guild, pacer: Pacer) -> None:
        self.guild = guild
        self.pacer = pacer
        self._members: dict[int, discord.Member] = {}

    def display_names(self) -> dict[int, str]:
        """Server display names of the members looked up so far (for mention-free text)."""
        return {user_id: m.display_name for user_id, m in self._members.items()}

    def roles(self) -> Sequence[GuildRole]:
        return [
            GuildRole(r.id, r.name, r.position, r.managed, r.is_default()) for r in self.guild.roles
        ]

    def standing(self) -> BotStanding:
        me = self.guild.me
        return BotStanding(
            top_position=me.top_role.position,
            manage_roles=me.guild_permissions.manage_roles,
            is_owner=self.guild.owner_id == me.id,
        )

    async def member_roles(self, user_id: int) -> frozenset[int] | None:
        await self.pacer.wait()
        try:
            member = await self.guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        except discord.HTTPException as exc:
            # Any other refusal or outage: this member waits for the next sync.
            log.warning("roles.member_lookup_failed", user_id=user_id, status=exc.status)
            return None
        self._members[user_id] = member
        return frozenset(r.id for r in member.roles if not r.is_default())

    async def change(self, user_id: int, role_id: int, action: Action, reason: str) -> str | None:
        member = self._members.get(user_id)
        if member is None:
            return "not looked up first"
        await self.pacer.wait()
        role = discord.Object(id=role_id)
        try:
            if action == "add":
                await member.add_roles(role, reason=reason[:400])
            else:
                await member.remove_roles(role, reason=reason[:400])
        except discord.HTTPException as exc:
            return f"Discord answered {exc.status}: {exc.text}"[:200]
        return None
