"""REST routes for guilds: the guild itself, its channels, roles and members (read only)."""

from __future__ import annotations

from aiohttp import web

from fakes.discord.plumbing import HttpPlumbing, Route, error, json_response


class GuildRoutes(HttpPlumbing):
    """Mixin: the guild, channel list, role list and member handlers."""

    def _guild_routes(self) -> list[Route]:
        """Routes under ``/guilds/{guild_id}``."""
        return [
            ("GET", "/guilds/{guild_id:\\d+}", self._get_guild, True),
            ("GET", "/guilds/{guild_id:\\d+}/channels", self._get_guild_channels, True),
            ("GET", "/guilds/{guild_id:\\d+}/roles", self._get_guild_roles, True),
            ("GET", "/guilds/{guild_id:\\d+}/members/{user_id:\\d+}", self._get_member, True),
        ]

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
