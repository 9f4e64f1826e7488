"""REST routes for guilds: the guild itself, its channels, roles and members, and giving a
member a role or taking it away.

Giving or taking a role needs Manage Roles, and obeys the role hierarchy: a bot can only
grant roles below its own highest role (discord/discord-api-docs at c98d64bc,
``developers/topics/permissions.mdx``, "Permission Hierarchy"); otherwise Discord answers
403 ``50013 Missing Permissions``. A managed role (a bot's own role, the booster role, an
integration's: the role object's ``managed``, ``permissions.mdx`` "Role Object") is given and
taken by Discord alone, never by a bot: discord.py's ``Role.is_assignable`` (v2.7.1,
``discord/role.py``) says so too; the fake answers 403 ``50013`` as for the hierarchy.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.gateway import Gateway
from fakes.discord.models import Permission
from fakes.discord.plumbing import Route, error, json_response

_MEMBER_ROLE = "/guilds/{guild_id:\\d+}/members/{user_id:\\d+}/roles/{role_id:\\d+}"


class GuildRoutes(Gateway):
    """Mixin: the guild, channel list, role list and member handlers."""

    def _guild_routes(self) -> list[Route]:
        """Routes under ``/guilds/{guild_id}``."""
        return [
            ("GET", "/guilds/{guild_id:\\d+}", self._get_guild, True),
            ("GET", "/guilds/{guild_id:\\d+}/channels", self._get_guild_channels, True),
            ("GET", "/guilds/{guild_id:\\d+}/roles", self._get_guild_roles, True),
            ("GET", "/guilds/{guild_id:\\d+}/members/{user_id:\\d+}", self._get_member, True),
            ("PUT", _MEMBER_ROLE, self._put_member_role, True),
            ("DELETE", _MEMBER_ROLE, self._delete_member_role, True),
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

    async def _member_role(self, request: web.Request, *, add: bool) -> web.StreamResponse:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            return error(404, 10007, "Unknown Member")
        role = guild.roles.get(int(request.match_info["role_id"]))
        if role is None or role.id == guild.id:
            return error(404, 10011, "Unknown Role")
        if not guild.permissions_of(self.bot_user_id) & Permission.MANAGE_ROLES:
            return self._forbidden(request, 50013, "giving or taking roles needs Manage Roles")
        if role.managed:
            return self._forbidden(
                request, 50013, f"role {role.name!r} is managed by an integration"
            )
        top = guild.top_role_position(self.bot_user_id)
        if self.bot_user_id != guild.owner_id and role.position >= top:
            return self._forbidden(
                request,
                50013,
                f"role {role.name!r} (position {role.position}) is not below the bot's "
                f"highest role (position {top})",
            )
        if add and role.id not in member.role_ids:
            member.role_ids.append(role.id)
        elif not add and role.id in member.role_ids:
            member.role_ids.remove(role.id)
        await self._dispatch("GUILD_MEMBER_UPDATE", {"guild_id": str(guild.id), **member.payload()})
        return web.Response(status=204)

    async def _put_member_role(self, request: web.Request) -> web.StreamResponse:
        return await self._member_role(request, add=True)

    async def _delete_member_role(self, request: web.Request) -> web.StreamResponse:
        return await self._member_role(request, add=False)
