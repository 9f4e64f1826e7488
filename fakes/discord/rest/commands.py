"""REST routes for application commands: get and bulk-overwrite (PUT) the global and the
per-guild commands.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.models import JSON
from fakes.discord.plumbing import HttpPlumbing, Route, error, json_response
from fakes.discord.validation import FormErrors
from fakes.discord.validation_commands import permission_bits, validate_commands


class CommandRoutes(HttpPlumbing):
    """Mixin: the application command handlers; commands are kept in ``registered_commands``."""

    def _command_routes(self) -> list[Route]:
        """Global and guild command routes."""
        return [
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
                # Discord answers with the bit set as a string, or null.
                "default_member_permissions": _bits_text(command.get("default_member_permissions")),
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


def _bits_text(value: object) -> str | None:
    bits = None if value is None else permission_bits(value)
    return None if bits is None else str(bits)
