"""A local fake of the Wise Old Man API v2, served over real HTTP on 127.0.0.1.

Used by the test suite and by ``clanstats demo``. It serves the recorded payloads in
``fakes/data/wom/`` and derives every other answer from them in code:

* ``GET /groups/:id`` returns the recorded file byte for byte while no roster mutation is
  active (``rename_player``, ``keep_only_members``, ``drop_optional_field``).
* ``GET /groups/:id/bulk-hiscores`` gives ``[{player, data: Snapshot}]``. ``partymarty94``
  gets the full recorded snapshot when its recorded XP equals the served XP. Every other
  member gets a snapshot with ``overall.experience`` = ``player.exp``, ``computed.ehp/ehb`` =
  ``player.ehp/ehb`` and **every other metric at -1** (unranked/unknown): nothing is invented.
  Members never updated (``updatedAt`` null) get ``data: null``. Metric names come from the
  recorded snapshot plus metrics added with :meth:`FakeWom.add_unknown_metric`.
* ``GET /groups/:id/bulk-gained`` compares the earliest recording with the served one; a
  metric at -1 on either side gains 0. ``period`` is validated but does not change the data.
* ``GET /groups/:id/activity`` lists a ``joined`` event per membership (at the membership's
  ``createdAt``) plus events added with :meth:`FakeWom.add_activity`, newest first.
  ``keep_only_members`` deliberately adds no ``left`` events: it models a truncated roster.
* ``GET /groups/:id/name-changes`` lists the renames made with :meth:`FakeWom.rename_player`.

Rate limiting is a fixed window per client (the API key when valid, else the peer address):
20 requests without a key, 100 with one; ``RateLimit-Reset`` is in seconds rounded up to the
millisecond. Faults queued with :meth:`FakeWom.inject` are applied after auth and rate limiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import enum
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from domain.names import name_key
from fakes._http import LoopbackServer

__all__ = [
    "DATA_DIR",
    "DEFAULT_API_KEYS",
    "DEFAULT_VERIFICATION_CODE",
    "FakeWom",
    "Fault",
    "FaultKind",
    "RecordedRequest",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "wom"
DEFAULT_API_KEYS: tuple[str, ...] = ("fake-wom-test-key",)
DEFAULT_VERIFICATION_CODE = "123-456-789"
ANONYMOUS_LIMIT = 20
KEYED_LIMIT = 100
PLAYER_UPDATE_COOLDOWN_S = 60.0

_JSON = "application/json"
_FULL_SNAPSHOT_PLAYER = "partymarty94"
_GROUP_FILE = re.compile(r"group-(?P<gid>\d+)-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{4}Z)\.json")
_PLAYER_FILE = re.compile(r"player-(?P<name>.+)-(?P<stamp>\d{4}-\d{2}-\d{2}T\d{4}Z)\.json")
_PERIODS = {"five_min", "day", "week", "month", "year"}
_CUSTOM_PERIOD = re.compile(r"(?:\d+y)?(?:\d+m)?(?:\d+w)?(?:\d+d)?(?:\d+h)?")
_VALUE_FIELD = {"skills": "experience", "bosses": "kills", "activities": "score"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultKind(enum.Enum):
    """What an injected fault does to one matching request."""

    RATE_LIMITED = "rate_limited"  # 429 + Retry-After, body {"message"}
    HTML_ERROR = "html_error"  # 500/502 text/html page from a proxy
    UNAVAILABLE = "unavailable"  # 503 JSON {"code", "message"}
    TIMEOUT = "timeout"  # sleeps delay_s before answering normally
    TRUNCATED_JSON = "truncated_json"  # status 200, valid prefix of the real body


@dataclass(frozen=True)
class Fault:
    """One injected failure; build it with the class methods."""

    kind: FaultKind
    status: int = 200
    retry_after_s: float = 1.0
    delay_s: float = 5.0
    code: str = "SERVICE_UNAVAILABLE"

    @classmethod
    def rate_limited(cls, retry_after_s: float = 1.0) -> Fault:
        return cls(FaultKind.RATE_LIMITED, status=429, retry_after_s=retry_after_s)

    @classmethod
    def html_error(cls, status: int = 502) -> Fault:
        return cls(FaultKind.HTML_ERROR, status=status)

    @classmethod
    def unavailable(cls, code: str = "SERVICE_UNAVAILABLE") -> Fault:
        return cls(FaultKind.UNAVAILABLE, status=503, code=code)

    @classmethod
    def timeout(cls, delay_s: float = 5.0) -> Fault:
        return cls(FaultKind.TIMEOUT, delay_s=delay_s)

    @classmethod
    def truncated_json(cls) -> Fault:
        return cls(FaultKind.TRUNCATED_JSON)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (secrets redacted from ``repr``; headers case-insensitive)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    status: int = 0

    def __repr__(self) -> str:
        headers = {
            k: ("<redacted>" if k.lower() == "x-api-key" else v) for k, v in self.headers.items()
        }
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, "
            f"query={dict(self.query)!r}, headers={headers!r}, status={self.status})"
        )


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass
class _QueuedFault:
    fault: Fault
    path_prefix: str
    remaining: int


@dataclass
class _Recording:
    stamp: str
    taken_at: datetime
    raw: bytes
    payload: dict[str, Any] = field(repr=False)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _stamp_time(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H%MZ").replace(tzinfo=UTC)


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _json_response(obj: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", no charset: web.json_response would add one.
    return web.Response(body=_json_bytes(obj), status=status, content_type=_JSON)


def _error(status: int, code: str | None, message: str) -> web.Response:
    body: dict[str, Any] = (
        {"message": message} if code is None else {"code": code, "message": message}
    )
    return _json_response(body, status)


class FakeWom(LoopbackServer):
    """Wise Old Man API v2 served from recorded payloads; see the module docstring."""

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
        data_dir: Path | None = None,
        api_keys: Collection[str] = DEFAULT_API_KEYS,
        verification_code: str = DEFAULT_VERIFICATION_CODE,
        player_update_cooldown_s: float = PLAYER_UPDATE_COOLDOWN_S,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.group_id = group_id
        self.bulk_enabled = bulk_enabled
        self.rate_window_s = rate_window_s
        self.enforce_rate_limit = enforce_rate_limit
        self.api_keys = set(api_keys)
        self.verification_code = verification_code
        self.player_update_cooldown_s = player_update_cooldown_s
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port = port
        self._data_dir = data_dir or DATA_DIR
        self._recordings = self._load_group_recordings()
        self._players = self._load_player_recordings()
        self.use_fixture(fixture)
        self._faults: list[_QueuedFault] = []
        self._windows: dict[str, _Window] = {}
        self._player_updates: dict[str, float] = {}
        self._renames: dict[int, tuple[str, str, datetime]] = {}  # id → (old, new, resolved)
        self._name_changes: list[dict[str, Any]] = []
        self._keep_only: int | None = None
        self._unknown_metrics: dict[str, int] = {}
        self._dropped_fields: set[str] = set()
        self._extra_activity: list[dict[str, Any]] = []
        self._template_cache: dict[str, Any] | None = None
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    def _build_app(self) -> web.Application:
        # A fresh event per start: a restarted server parks timeout faults again.
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def _before_stop(self) -> None:
        """Release requests stuck in a timeout fault so the shutdown does not wait for them."""
        self._stopping.set()

    # ------------------------------------------------------------------ test controls

    @property
    def fixtures(self) -> list[str]:
        """The recorded group payloads available, oldest first."""
        return sorted(self._recordings)

    def use_fixture(self, fixture: str) -> None:
        """Serve the group payload recorded at ``fixture`` (e.g. ``"2025-12-23T1935Z"``)."""
        if fixture not in self._recordings:
            raise KeyError(f"no recording {fixture!r}; have {sorted(self._recordings)}")
        self.fixture = fixture

    def inject(self, fault: Fault, *, path_prefix: str = "", times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path starts with ``path_prefix``.

        The prefix is matched against the path without ``/v2`` (``"/groups/11114"``).
        """
        self._faults.append(_QueuedFault(fault, path_prefix, times))

    def clear_faults(self) -> None:
        self._faults.clear()

    def rename_player(self, player_id: int, new_display_name: str, resolved_at: datetime) -> None:
        """Rename a member in the roster and record an approved name change."""
        member = self._original_member(player_id)
        old = self._renames[player_id][1] if player_id in self._renames else None
        old_name = old or member["player"]["displayName"]
        self._renames[player_id] = (old_name, new_display_name, resolved_at)
        self._name_changes.append(
            {
                "id": 900_000 + len(self._name_changes) + 1,
                "playerId": player_id,
                "oldName": old_name,
                "newName": new_display_name,
                "status": "approved",
                "reviewContext": None,
                "resolvedAt": _iso(resolved_at),
                "createdAt": _iso(resolved_at - timedelta(minutes=5)),
                "updatedAt": _iso(resolved_at),
            }
        )

    def keep_only_members(self, n: int | None) -> None:
        """Make the roster list only its first ``n`` members (``None`` restores all)."""
        self._keep_only = n

    def add_unknown_metric(self, name: str, value: int) -> None:
        """Add a boss nobody knows yet to every snapshot served."""
        self._unknown_metrics[name] = value

    def drop_optional_field(self, field_name: str) -> None:
        """Remove ``field_name`` from every membership and player object served."""
        self._dropped_fields.add(field_name)

    def add_activity(
        self,
        type: str,
        player_id: int,
        *,
        created_at: datetime,
        role: str | None = None,
        previous_role: str | None = None,
    ) -> None:
        """Add a group activity event (``joined``, ``left`` or ``changed_role``)."""
        player = self._current_player(player_id) or self._original_member(player_id)["player"]
        self._extra_activity.append(
            {
                "groupId": self.group_id,
                "playerId": player_id,
                "type": type,
                "role": role,
                "previousRole": previous_role,
                "createdAt": _iso(created_at),
                "player": player,
            }
        )

    @property
    def activity(self) -> list[dict[str, Any]]:
        """The group activity the fake serves, newest first."""
        joined = [
            {
                "groupId": self.group_id,
                "playerId": m["player"]["id"],
                "type": "joined",
                "role": m.get("role"),
                "previousRole": None,
                "createdAt": m.get("createdAt"),
                "player": m["player"],
            }
            for m in self._group_payload()["memberships"]
        ]
        events = joined + self._extra_activity
        return sorted(events, key=lambda e: str(e.get("createdAt") or ""), reverse=True)

    @property
    def name_changes(self) -> list[dict[str, Any]]:
        """Approved name changes, newest first."""
        out = []
        for change in self._name_changes:
            item = dict(change)
            item["player"] = self._current_player(change["playerId"])
            out.append(item)
        return sorted(out, key=lambda c: str(c["resolvedAt"]), reverse=True)

    # ------------------------------------------------------------------ data

    def _load_group_recordings(self) -> dict[str, _Recording]:
        out: dict[str, _Recording] = {}
        for path in self._data_dir.glob("group-*.json"):
            m = _GROUP_FILE.fullmatch(path.name)
            if m is None or int(m["gid"]) != self.group_id:
                continue
            raw = path.read_bytes()
            out[m["stamp"]] = _Recording(m["stamp"], _stamp_time(m["stamp"]), raw, json.loads(raw))
        if not out:
            raise FileNotFoundError(f"no group-{self.group_id}-*.json in {self._data_dir}")
        return out

    def _load_player_recordings(self) -> dict[str, _Recording]:
        out: dict[str, _Recording] = {}
        for path in sorted(self._data_dir.glob("player-*.json")):
            m = _PLAYER_FILE.fullmatch(path.name)
            if m is None:
                continue
            raw = path.read_bytes()
            payload = json.loads(raw)
            key = name_key(str(payload.get("username") or m["name"]))
            out[key] = _Recording(m["stamp"], _stamp_time(m["stamp"]), raw, payload)
        return out

    @property
    def _served(self) -> _Recording:
        return self._recordings[self.fixture]

    def _roster_mutated(self) -> bool:
        return bool(self._renames or self._keep_only is not None or self._dropped_fields)

    def _snapshots_mutated(self) -> bool:
        return bool(self._unknown_metrics or self._dropped_fields)

    def _original_member(self, player_id: int) -> dict[str, Any]:
        for m in self._served.payload["memberships"]:
            if m["player"]["id"] == player_id:
                return dict(m)
        raise KeyError(f"player {player_id} is not in the recorded group")

    def _mutate_player(self, player: dict[str, Any]) -> dict[str, Any]:
        player = dict(player)
        rename = self._renames.get(player["id"])
        if rename is not None:
            player["displayName"] = rename[1]
            player["username"] = name_key(rename[1])
        for name in self._dropped_fields:
            player.pop(name, None)
        return player

    def _group_payload(self, recording: _Recording | None = None) -> dict[str, Any]:
        payload = dict((recording or self._served).payload)
        members = payload["memberships"]
        if self._keep_only is not None:
            members = members[: self._keep_only]
        out = []
        for m in members:
            item = {k: v for k, v in m.items() if k not in self._dropped_fields}
            item["player"] = self._mutate_player(m["player"])
            out.append(item)
        payload["memberships"] = out
        payload["memberCount"] = len(out)
        return payload

    def _current_player(self, player_id: int) -> dict[str, Any] | None:
        for m in self._group_payload()["memberships"]:
            if m["player"]["id"] == player_id:
                return dict(m["player"])
        return None

    def _template(self) -> dict[str, Any]:
        """Metric names (and -1 values) read from the recorded full snapshot."""
        if self._template_cache is None:
            rec = self._players.get(_FULL_SNAPSHOT_PLAYER) or next(iter(self._players.values()))
            data = rec.payload["latestSnapshot"]["data"]
            out: dict[str, Any] = {}
            for category, metrics in data.items():
                out[category] = {}
                for metric, values in metrics.items():
                    blank = {
                        k: -1 if k in ("experience", "kills", "score", "rank", "value") else 0
                        for k in values
                    }
                    if "level" in blank:
                        blank["level"] = 1
                    blank["metric"] = metric
                    out[category][metric] = blank
            self._template_cache = out
        return _copy_data(self._template_cache)

    def _with_unknown_metrics(self, data: dict[str, Any]) -> dict[str, Any]:
        data = _copy_data(data)
        bosses = data.setdefault("bosses", {})
        for name, value in self._unknown_metrics.items():
            bosses[name] = {
                "metric": name,
                "kills": value,
                "rank": -1 if value < 0 else 1,
                "ehb": 0,
            }
        return data

    def _snapshot_for(self, player: Mapping[str, Any]) -> dict[str, Any] | None:
        """The latest snapshot of a group member as WOM would hold it."""
        if player.get("updatedAt") is None:
            return None
        recorded = self._players.get(name_key(str(player.get("username", ""))))
        if recorded is not None and recorded.payload.get("exp") == player.get("exp"):
            snap = copy.deepcopy(recorded.payload["latestSnapshot"])
        else:
            data = self._template()
            overall = data.setdefault("skills", {}).setdefault("overall", {"metric": "overall"})
            overall.update({"experience": player.get("exp", -1), "rank": -1, "level": -1})
            overall["ehp"] = player.get("ehp", 0)
            computed = data.setdefault("computed", {})
            computed["ehp"] = {"metric": "ehp", "value": player.get("ehp", 0), "rank": -1}
            computed["ehb"] = {"metric": "ehb", "value": player.get("ehb", 0), "rank": -1}
            pid = int(player["id"])
            stamp = int(_parse_iso(str(player["updatedAt"])).timestamp())
            snap = {
                "id": pid * 10_000 + stamp % 10_000,
                "playerId": pid,
                "createdAt": player["updatedAt"],
                "importedAt": None,
                "data": data,
            }
        snap["data"] = self._with_unknown_metrics(snap["data"])
        return dict(snap)

    def _player_details(self, key: str) -> tuple[bytes | None, dict[str, Any]] | None:
        """(exact recorded bytes or None, payload) for a username key."""
        for m in self._group_payload()["memberships"]:
            player = m["player"]
            if name_key(str(player.get("username", ""))) != key:
                continue
            recorded = self._players.get(key)
            if (
                recorded is not None
                and recorded.payload.get("exp") == player.get("exp")
                and not self._roster_mutated()
                and not self._snapshots_mutated()
            ):
                return recorded.raw, recorded.payload
            details = dict(player)
            details.setdefault("combatLevel", 3)
            details.setdefault("archive", None)
            details.setdefault("annotations", [])
            details["latestSnapshot"] = self._snapshot_for(player)
            return None, details
        recorded = self._players.get(key)
        if recorded is None or key in self._renamed_away():
            return None
        if not self._snapshots_mutated():
            return recorded.raw, recorded.payload
        details = self._mutate_player(recorded.payload)
        snap = copy.deepcopy(recorded.payload["latestSnapshot"])
        snap["data"] = self._with_unknown_metrics(snap["data"])
        details["latestSnapshot"] = snap
        return None, details

    def _renamed_away(self) -> set[str]:
        return {name_key(old) for old, _new, _at in self._renames.values()}

    def _member_snapshots(self, key: str) -> list[dict[str, Any]]:
        found = self._player_details(key)
        if found is None:
            return []
        _raw, details = found
        pid = details["id"]
        snaps: dict[str, dict[str, Any]] = {}
        for stamp in self.fixtures:
            if stamp > self.fixture:
                break
            for m in self._group_payload(self._recordings[stamp])["memberships"]:
                if m["player"]["id"] == pid:
                    snap = self._snapshot_for(m["player"])
                    if snap is not None:
                        snaps[str(snap["createdAt"])] = snap
        latest = details.get("latestSnapshot")
        if latest is not None:
            snaps[str(latest["createdAt"])] = latest
        return [snaps[k] for k in sorted(snaps, reverse=True)]

    # ------------------------------------------------------------------ HTTP plumbing

    def _client_id(self, request: web.Request) -> tuple[str, int]:
        key = request.headers.get("x-api-key")
        if key is not None and key in self.api_keys:
            return f"key:{key}", KEYED_LIMIT
        return f"ip:{request.remote}", ANONYMOUS_LIMIT

    def _take_fault(self, path: str) -> Fault | None:
        for queued in self._faults:
            if path.startswith(queued.path_prefix) and queued.remaining > 0:
                queued.remaining -= 1
                if queued.remaining == 0:
                    self._faults.remove(queued)
                return queued.fault
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        index = len(self.requests)
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=CIMultiDict(request.headers),
                body=body,
            )
        )
        response = await self._respond(request, handler)
        rec = self.requests[index]
        self.requests[index] = RecordedRequest(
            rec.method, rec.path, rec.query, rec.headers, rec.body, response.status
        )
        return response

    async def _respond(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("x-api-key")
        if key is not None and key not in self.api_keys:
            return _error(403, None, "Invalid API Key.")
        client, limit = self._client_id(request)
        now = time.monotonic()
        window = self._windows.get(client)
        if window is None or now - window.started >= self.rate_window_s:
            window = self._windows[client] = _Window(started=now)
        window.count += 1
        reset_s = max(0.0, window.started + self.rate_window_s - now)
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - window.count)),
            "RateLimit-Reset": f"{math.ceil(reset_s * 1000) / 1000:g}",
        }
        if self.enforce_rate_limit and window.count > limit:
            response: web.StreamResponse = _error(
                429, None, "Too many requests, please try again later."
            )
            response.headers["Retry-After"] = str(max(1, math.ceil(reset_s)))
        else:
            response = await self._respond_with_faults(request, handler)
        response.headers.update(headers)
        return response

    async def _respond_with_faults(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        path = request.path.removeprefix("/v2")
        fault = self._take_fault(path)
        if fault is None:
            return await handler(request)
        if fault.kind is FaultKind.RATE_LIMITED:
            response = _error(429, None, "Too many requests, please try again later.")
            response.headers["Retry-After"] = f"{fault.retry_after_s:g}"
            return response
        if fault.kind is FaultKind.HTML_ERROR:
            title = f"{fault.status} {'Bad Gateway' if fault.status == 502 else 'Server Error'}"
            page = (
                f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
                "</center><hr><center>cloudflare</center></body></html>"
            )
            return web.Response(text=page, status=fault.status, content_type="text/html")
        if fault.kind is FaultKind.UNAVAILABLE:
            return _error(503, fault.code, "The OSRS Hiscores are down or unavailable.")
        if fault.kind is FaultKind.TIMEOUT:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.delay_s)
            return await handler(request)
        full = await handler(request)
        raw = full.body if isinstance(full, web.Response) and isinstance(full.body, bytes) else b""
        cut = raw[: max(1, len(raw) // 2)]
        return web.Response(body=cut, status=200, content_type=_JSON)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/v2/"):
            return _error(404, "NOT_FOUND", "Route not found.")
        parts = [p for p in path.removeprefix("/v2/").split("/") if p]
        method = request.method
        if len(parts) >= 2 and parts[0] == "groups":
            return await self._groups(request, method, parts[1], parts[2:])
        if len(parts) >= 2 and parts[0] == "players":
            return await self._players_route(request, method, parts[1], parts[2:])
        return _error(404, "NOT_FOUND", "Route not found.")

    # ------------------------------------------------------------------ endpoints

    async def _groups(
        self, request: web.Request, method: str, raw_id: str, rest: list[str]
    ) -> web.StreamResponse:
        if not raw_id.isdigit() or int(raw_id) != self.group_id:
            return _error(404, "GROUP_NOT_FOUND", "Group not found.")
        sub = "/".join(rest)
        if method == "GET" and sub == "":
            if not self._roster_mutated():
                return web.Response(body=self._served.raw, content_type=_JSON)
            return _json_response(self._group_payload())
        if method == "GET" and sub in ("bulk-hiscores", "bulk-gained") and not self.bulk_enabled:
            return _error(404, "NOT_FOUND", "Route not found.")
        if method == "GET" and sub == "bulk-hiscores":
            return _json_response(
                [
                    {"player": m["player"], "data": self._snapshot_for(m["player"])}
                    for m in self._group_payload()["memberships"]
                ]
            )
        if method == "GET" and sub == "bulk-gained":
            return self._bulk_gained(request)
        if method == "GET" and sub in ("activity", "name-changes"):
            page = _page(request, max_limit=50)
            if isinstance(page, web.Response):
                return page
            items = self.activity if sub == "activity" else self.name_changes
            return _json_response(items[page[1] : page[1] + page[0]])
        if method == "POST" and sub == "update-all":
            return await self._update_all(request)
        return _error(404, "NOT_FOUND", "Route not found.")

    def _bulk_gained(self, request: web.Request) -> web.Response:
        period = request.query.get("period")
        if period is None and "startDate" not in request.query:
            return _error(400, "BAD_REQUEST", "Parameter 'period' is undefined.")
        if (
            period is not None
            and period not in _PERIODS
            and not (_CUSTOM_PERIOD.fullmatch(period) and period)
        ):
            return _error(400, "BAD_REQUEST", "Invalid period.")
        first = self._recordings[self.fixtures[0]]
        start_snaps = {
            m["player"]["id"]: self._snapshot_for(m["player"])
            for m in self._group_payload(first)["memberships"]
        }
        out = []
        for m in self._group_payload()["memberships"]:
            end = self._snapshot_for(m["player"])
            start = start_snaps.get(m["player"]["id"])
            rows = []
            end_values = dict(_metric_values(end))
            start_values = dict(_metric_values(start))
            for metric, end_v in end_values.items():
                start_v = start_values.get(metric, -1)
                gained = 0 if start_v == -1 or end_v == -1 else end_v - start_v
                rows.append({"metric": metric, "start": start_v, "end": end_v, "gained": gained})
            out.append(
                {
                    "player": m["player"],
                    "startDate": _iso(first.taken_at),
                    "endDate": _iso(self._served.taken_at),
                    "data": rows,
                }
            )
        return _json_response(out)

    async def _update_all(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return _error(400, "BAD_REQUEST", "Invalid JSON body.")
        code = body.get("verificationCode") if isinstance(body, dict) else None
        if not code:
            return _error(400, "BAD_REQUEST", "Parameter 'verificationCode' is undefined.")
        if code != self.verification_code:
            return _error(400, "INVALID_VERIFICATION_CODE", "Incorrect verification code.")
        cutoff = self._served.taken_at - timedelta(hours=24)
        count = sum(
            1
            for m in self._group_payload()["memberships"]
            if m["player"].get("updatedAt") is None
            or _parse_iso(str(m["player"]["updatedAt"])) < cutoff
        )
        return _json_response(
            {
                "count": count,
                "message": f"{count} outdated (updated > 24h ago) players are being updated. "
                "This can take up to a few minutes.",
            }
        )

    async def _players_route(
        self, request: web.Request, method: str, username: str, rest: list[str]
    ) -> web.StreamResponse:
        key = name_key(username)
        sub = "/".join(rest)
        if method == "POST" and sub == "":
            last = self._player_updates.get(key)
            now = time.monotonic()
            if last is not None and now - last < self.player_update_cooldown_s:
                return _error(
                    429, "PLAYER_IS_RATE_LIMITED", f"Error: {username} has been updated recently."
                )
            found = self._player_details(key)
            if found is None:
                return _error(404, "PLAYER_NOT_FOUND", "Player not found.")
            self._player_updates[key] = now
            return _json_response(found[1])
        if method != "GET":
            return _error(404, "NOT_FOUND", "Route not found.")
        if sub == "":
            found = self._player_details(key)
            if found is None:
                return _error(404, "PLAYER_NOT_FOUND", "Player not found.")
            raw, payload = found
            if raw is not None:
                return web.Response(body=raw, content_type=_JSON)
            return _json_response(payload)
        if sub == "snapshots":
            page = _page(request, max_limit=200)
            if isinstance(page, web.Response):
                return page
            if self._player_details(key) is None:
                return _error(404, "PLAYER_NOT_FOUND", "Player not found.")
            snaps = self._member_snapshots(key)
            return _json_response(snaps[page[1] : page[1] + page[0]])
        return _error(404, "NOT_FOUND", "Route not found.")


def _page(request: web.Request, *, max_limit: int) -> tuple[int, int] | web.Response:
    try:
        limit = int(request.query.get("limit", "20"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return _error(400, "BAD_REQUEST", "Parameter 'limit' or 'offset' is not an integer.")
    if not 1 <= limit <= max_limit:
        return _error(400, "BAD_REQUEST", f"The maximum results limit is {max_limit}.")
    if offset < 0:
        return _error(400, "BAD_REQUEST", "Parameter 'offset' must be >= 0.")
    return limit, offset


def _copy_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Copy a snapshot's ``data`` two levels deep (category → metric → values)."""
    return {
        cat: {name: dict(values) for name, values in metrics.items()}
        for cat, metrics in data.items()
    }


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _metric_values(snapshot: Mapping[str, Any] | None) -> Iterator[tuple[str, float]]:
    if snapshot is None:
        return
    for category, metrics in snapshot.get("data", {}).items():
        for metric, values in metrics.items():
            field_name = _VALUE_FIELD.get(category, "value")
            value = values.get(field_name)
            if isinstance(value, int | float):
                yield metric, value


async def _serve_forever(port: int, fixture: str, window: float) -> None:
    async with FakeWom(port=port, fixture=fixture, rate_window_s=window) as fake:
        print(f"fake Wise Old Man listening on {fake.base_url}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """``python -m fakes.wom --port 8765``: serve the fake until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m fakes.wom", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fixture", default="2025-12-23T0901Z")
    parser.add_argument("--rate-window", type=float, default=60.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.fixture, args.rate_window))


if __name__ == "__main__":
    main()
