""":class:`FakeWom` itself: its constructor and lifecycle, combining the served data
(``payloads.py``), the endpoints (``routes.py``) and the request pipeline (``faults.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from importlib.resources.abc import Traversable

from aiohttp import web

from fakes._http import LoopbackServer
from fakes.wom.faults import RequestPipeline
from fakes.wom.recordings import DATA_DIR, load_group_recordings, load_player_recordings
from fakes.wom.routes import WomRoutes

DEFAULT_API_KEYS: tuple[str, ...] = ("fake-wom-test-key",)
DEFAULT_VERIFICATION_CODE = "123-456-789"
PLAYER_UPDATE_COOLDOWN_S = 60.0


class FakeWom(WomRoutes, RequestPipeline, LoopbackServer):
    """Wise Old Man API v2 served over real HTTP from the recorded payloads in ``DATA_DIR``.

    * ``GET /groups/:id`` returns the recorded file byte for byte while no roster mutation is
      active (``rename_player``, ``keep_only_members``, ``drop_optional_field``, and the drift
      knobs ``drop_group_field`` and ``patch_membership``; ``drop_feed_field`` drops a field
      from the activity or name-change feed; ``clear_drift`` serves the recording again).
    * ``GET /groups/:id/bulk-hiscores`` gives ``[{player, data: Snapshot}]``. ``partymarty94``
      gets the full recorded snapshot when its recorded XP equals the served XP. Every other
      member gets a snapshot with ``overall.experience`` = ``player.exp``, ``computed.ehp/ehb``
      = ``player.ehp/ehb`` and **every other metric at -1** (unranked/unknown): nothing is
      invented. Members never updated (``updatedAt`` null) get ``data: null``. Metric names
      come from the recorded snapshot plus metrics added with :meth:`add_unknown_metric`.
    * ``GET /groups/:id/bulk-gained`` compares the earliest recording with the served one; a
      metric at -1 on either side gains 0. ``period`` is validated but does not change the data.
    * ``GET /groups/:id/activity`` lists a ``joined`` event per membership (at the membership's
      ``createdAt``) plus events added with :meth:`add_activity`, newest first.
      ``keep_only_members`` deliberately adds no ``left`` events: it models a truncated roster.
    * ``GET /groups/:id/name-changes`` lists the renames made with :meth:`rename_player`.

    Rate limits and faults queued with :meth:`inject` are described on
    :class:`~fakes.wom.faults.RequestPipeline`.
    """

    _url_path = "/v2"
    # A client that gives up on a timeout fault cancels the parked handler with it.
    _handler_cancellation = True

    def __init__(
        self,
        *,
        group_id: int = 11114,
        fixture: str = "2025-12-23T0901Z",
        bulk_enabled: bool = True,
        rate_window_s: float = 60.0,
        enforce_rate_limit: bool = True,
        data_dir: Traversable | None = None,
        api_keys: Collection[str] = DEFAULT_API_KEYS,
        verification_code: str = DEFAULT_VERIFICATION_CODE,
        player_update_cooldown_s: float = PLAYER_UPDATE_COOLDOWN_S,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.group_id = group_id
        self.twin_groups = {}
        self.bulk_enabled = bulk_enabled
        self.rate_window_s = rate_window_s
        self.enforce_rate_limit = enforce_rate_limit
        self.api_keys = set(api_keys)
        self.verification_code = verification_code
        self.player_update_cooldown_s = player_update_cooldown_s
        self.requests = []
        self._host = host
        self._port = port
        self._data_dir = data_dir or DATA_DIR
        self._recordings = load_group_recordings(self._data_dir, group_id)
        self._players = load_player_recordings(self._data_dir)
        self.use_fixture(fixture)
        self._faults = []
        self._windows = {}
        self._player_updates = {}
        self._renames = {}
        self._name_changes = []
        self._keep_only = None
        self._unknown_metrics = {}
        self._dropped_fields = set()
        self._dropped_group_fields = set()
        self._dropped_feed_fields = {}
        self._patches = {}
        self._extra_activity = []
        self._template_cache = None
        self._group_fields = {}
        self._stopping = asyncio.Event()

    def _build_app(self) -> web.Application:
        # A fresh event per start: a restarted server parks timeout faults again.
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _before_stop(self) -> None:
        """Release requests stuck in a timeout fault so the shutdown does not wait for them."""
        self._stopping.set()
