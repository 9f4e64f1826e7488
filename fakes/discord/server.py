"""A local Discord (REST + gateway) that the real, unmodified discord.py client talks to.

Start it, build a world (guilds, channels, roles, members), point discord.py at it with
:func:`bot.discord_endpoint.point_discord_py_at`, then drive the bot (post messages, invoke slash
commands, click buttons, drop the gateway) and assert on what it recorded: every message the
bot sent (:attr:`FakeDiscord.sent_messages`), every rule of Discord's the bot broke
(:attr:`FakeDiscord.violations`) and every request it made that Discord would not know
(:attr:`FakeDiscord.unknown_requests`). This module assembles :class:`FakeDiscord` from the
mixins beside it and maps every URL to its handler.
"""

from __future__ import annotations

from aiohttp import web

from fakes.discord.driver import WorldDriver
from fakes.discord.driver_interactions import InteractionDriver
from fakes.discord.plumbing import Route, route_template
from fakes.discord.rest.channels import ChannelRoutes
from fakes.discord.rest.commands import CommandRoutes
from fakes.discord.rest.guilds import GuildRoutes
from fakes.discord.rest.identity import IdentityRoutes
from fakes.discord.rest.interactions import InteractionRoutes


class FakeDiscord(
    WorldDriver,
    InteractionDriver,
    ChannelRoutes,
    InteractionRoutes,
    CommandRoutes,
    GuildRoutes,
    IdentityRoutes,
):
    """A fake Discord on 127.0.0.1 (random port) for end-to-end tests and the demo.

    ``ack_timeout`` is Discord's 3 s to acknowledge an interaction and ``token_lifetime`` its
    15 minutes for followups; tests may shorten them.

    The parts are mixins, one module each: the shared state and constructor (``state.py``),
    the gateway (``gateway.py``), the REST routes by resource (``rest/``), messages and
    interactions as Discord keeps them (``messages.py``, ``interaction_state.py``) and the
    driver API tests call (``driver.py``, ``driver_interactions.py``).
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
            *self._dm_routes(),
            *self._interaction_routes(),
            *self._command_routes(),
        ]
        for method, path, handler, needs_auth in routes:
            wrapped = self._wrap(handler, needs_auth=needs_auth, route=route_template(path))
            app.router.add_route(method, api + path, wrapped)
        app.router.add_get("/", self._gateway)
        app.router.add_get("/resume", self._gateway)
        # Attachments come from Discord's CDN: no /api prefix and no token.
        app.router.add_get(
            "/attachments/{channel_id:\\d+}/{attachment_id:\\d+}/{filename}", self._get_attachment
        )
        # Last, so it only answers what no route above knows.
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app
