"""Point the real discord.py client at another Discord endpoint (a local fake, a proxy).

Used by ``clanstats demo``, the end-to-end tests, and ``CLANSTATS_DISCORD_API_URL``.
discord.py has no option for another Discord host, so two class attributes are swapped for
the duration of the ``with`` block (and restored after):

* ``discord.http.Route.BASE``: the REST base every request (including interaction callbacks
  and followup webhooks) is built from.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: where ``Client.connect`` opens its
  first websocket. discord.py 2.7 does not ask ``GET /gateway`` for a plain ``Client`` (only
  ``AutoShardedClient`` calls ``/gateway/bot``), so the REST answer alone is not enough.
  Reconnects then use READY's ``resume_gateway_url``, which the fake points at itself.

Both are process-wide: run one fake-backed client per process at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route


@contextlib.contextmanager
def point_discord_py_at(base_url: str) -> Iterator[None]:
    """Send discord.py's REST calls to ``{base_url}/api/v10`` and its gateway to ``base_url``."""
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) base URL, got {base_url!r}")
    old_base = Route.BASE
    old_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = f"{base}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/")
    try:
        yield
    finally:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
