"""REST routes for who is who and where to connect: users, the application, the gateway URL and
incoming webhooks (``GET /webhooks/{id}``; interaction webhooks are in ``interactions.py``).
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.plumbing import HttpPlumbing, Route, error, json_response


class IdentityRoutes(HttpPlumbing):
    """Mixin: the user, application, gateway discovery and webhook handlers."""

    def _identity_routes(self) -> list[Route]:
        """User, application, gateway and webhook routes."""
        return [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", "/users/{user_id:\\d+}", self._get_user, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/webhooks/{webhook_id:\\d+}", self._get_webhook, True),
        ]

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
