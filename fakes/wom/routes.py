"""The fake WOM's endpoints, ``/v2/groups/:id/...`` and ``/v2/players/:username/...``, answered
from the recorded payloads.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from importlib.resources.abc import Traversable

from aiohttp import web

from domain.names import name_key
from fakes.wom.payloads import RecordedPayloads
from fakes.wom.recordings import iso, metric_values, parse_iso
from fakes.wom.responses import JSON_TYPE, error, json_response

_PERIODS = {"five_min", "day", "week", "month", "year"}
_CUSTOM_PERIOD = re.compile(r"(?:\d+y)?(?:\d+m)?(?:\d+w)?(?:\d+d)?(?:\d+h)?")


#: Encoded bulk-hiscores bodies by (recordings folder, group, served state); oldest go first.
_BULK_HISCORES: dict[tuple[str, int, tuple[object, ...]], bytes] = {}
_BULK_HISCORES_KEPT = 8


class WomRoutes(RecordedPayloads):
    """Mixin of :class:`~fakes.wom.FakeWom`: routing and one handler per endpoint."""

    # Set by FakeWom.__init__.
    bulk_enabled: bool
    #: Other groups served (group id → name, clan chat): see :meth:`add_group`.
    twin_groups: dict[int, tuple[str, str]]
    verification_code: str
    player_update_cooldown_s: float
    _player_updates: dict[str, float]
    _data_dir: Traversable

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/v2/"):
            return error(404, "NOT_FOUND", "Route not found.")
        parts = [p for p in path.removeprefix("/v2/").split("/") if p]
        method = request.method
        if len(parts) >= 2 and parts[0] == "groups":
            return await self._groups(request, method, parts[1], parts[2:])
        if len(parts) >= 2 and parts[0] == "players":
            return await self._players_route(request, method, parts[1], parts[2:])
        return error(404, "NOT_FOUND", "Route not found.")

    def add_group(self, group_id: int, name: str, *, clan_chat: str | None = None) -> None:
        """Serve another group (one process serving many clans): the recorded group's roster
        and stats under ``group_id``, ``name`` and ``clan_chat`` (``name`` when None)."""
        if group_id == self.group_id:
            raise ValueError(f"group {group_id} is served already")
        self.twin_groups[group_id] = (name, clan_chat if clan_chat is not None else name)

    def _twin(self, group_id: int, payload: dict[str, object]) -> dict[str, object]:
        name, clan_chat = self.twin_groups[group_id]
        members = payload.get("memberships")
        return {
            **payload,
            "id": group_id,
            "name": name,
            "clanChat": clan_chat,
            "memberships": [{**m, "groupId": group_id} for m in members if isinstance(m, dict)]
            if isinstance(members, list)
            else members,
        }

    async def _groups(
        self, request: web.Request, method: str, raw_id: str, rest: list[str]
    ) -> web.StreamResponse:
        group_id = int(raw_id) if raw_id.isdigit() else None
        if group_id is None or (group_id != self.group_id and group_id not in self.twin_groups):
            return error(404, "GROUP_NOT_FOUND", "Group not found.")
        twin = group_id != self.group_id
        sub = "/".join(rest)
        if method == "GET" and sub == "" and twin:
            return json_response(self._twin(group_id, self._served_group()))
        if method == "GET" and sub == "":
            if not self._roster_mutated():
                return web.Response(body=self._served.raw, content_type=JSON_TYPE)
            return json_response(self._served_group())
        if method == "GET" and sub in ("bulk-hiscores", "bulk-gained") and not self.bulk_enabled:
            return error(404, "NOT_FOUND", "Route not found.")
        if method == "GET" and sub == "bulk-hiscores":
            return web.Response(body=self._bulk_hiscores_body(), content_type=JSON_TYPE)
        if method == "GET" and sub == "bulk-gained":
            return self._bulk_gained(request)
        if method == "GET" and sub in ("activity", "name-changes"):
            page = _page(request, max_limit=50)
            if isinstance(page, web.Response):
                return page
            items = self.activity if sub == "activity" else self.name_changes
            if twin:
                items = [{**i, "groupId": group_id} if "groupId" in i else i for i in items]
            return json_response(items[page[1] : page[1] + page[0]])
        if method == "POST" and sub == "update-all":
            return await self._update_all(request)
        return error(404, "NOT_FOUND", "Route not found.")

    def _bulk_hiscores_body(self) -> bytes:
        """Every member's latest snapshot, encoded. The same state gives the same body, so it
        is encoded once per test process (each test's fake starts from the same recording,
        and its bot's first sync asks for it): a few MB of JSON, the fake's largest cost."""
        key = (str(self._data_dir), self.group_id, self._served_state())
        body = _BULK_HISCORES.get(key)
        if body is None:
            payload = [
                {"player": m["player"], "data": self._snapshot_for(m["player"])}
                for m in self._group_payload()["memberships"]
            ]
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
            if len(_BULK_HISCORES) >= _BULK_HISCORES_KEPT:
                _BULK_HISCORES.pop(next(iter(_BULK_HISCORES)))
            _BULK_HISCORES[key] = body
        return body

    def _bulk_gained(self, request: web.Request) -> web.Response:
        period = request.query.get("period")
        if period is None and "startDate" not in request.query:
            return error(400, "BAD_REQUEST", "Parameter 'period' is undefined.")
        if (
            period is not None
            and period not in _PERIODS
            and not (_CUSTOM_PERIOD.fullmatch(period) and period)
        ):
            return error(400, "BAD_REQUEST", "Invalid period.")
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
            end_values = dict(metric_values(end))
            start_values = dict(metric_values(start))
            for metric, end_v in end_values.items():
                start_v = start_values.get(metric, -1)
                gained = 0 if start_v == -1 or end_v == -1 else end_v - start_v
                rows.append({"metric": metric, "start": start_v, "end": end_v, "gained": gained})
            out.append(
                {
                    "player": m["player"],
                    "startDate": iso(first.taken_at),
                    "endDate": iso(self._served.taken_at),
                    "data": rows,
                }
            )
        return json_response(out)

    async def _update_all(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return error(400, "BAD_REQUEST", "Invalid JSON body.")
        code = body.get("verificationCode") if isinstance(body, dict) else None
        if not code:
            return error(400, "BAD_REQUEST", "Parameter 'verificationCode' is undefined.")
        if code != self.verification_code:
            return error(400, "INVALID_VERIFICATION_CODE", "Incorrect verification code.")
        cutoff = self._served.taken_at - timedelta(hours=24)
        count = sum(
            1
            for m in self._group_payload()["memberships"]
            if m["player"].get("updatedAt") is None
            or parse_iso(str(m["player"]["updatedAt"])) < cutoff
        )
        return json_response(
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
                return error(
                    429, "PLAYER_IS_RATE_LIMITED", f"Error: {username} has been updated recently."
                )
            found = self._player_details(key)
            if found is None:
                return error(404, "PLAYER_NOT_FOUND", "Player not found.")
            self._player_updates[key] = now
            return json_response(found[1])
        if method != "GET":
            return error(404, "NOT_FOUND", "Route not found.")
        if sub == "":
            found = self._player_details(key)
            if found is None:
                return error(404, "PLAYER_NOT_FOUND", "Player not found.")
            raw, payload = found
            if raw is not None:
                return web.Response(body=raw, content_type=JSON_TYPE)
            return json_response(payload)
        if sub == "snapshots":
            page = _page(request, max_limit=200)
            if isinstance(page, web.Response):
                return page
            if self._player_details(key) is None:
                return error(404, "PLAYER_NOT_FOUND", "Player not found.")
            snaps = self._member_snapshots(key)
            return json_response(snaps[page[1] : page[1] + page[0]])
        return error(404, "NOT_FOUND", "Route not found.")


def _page(request: web.Request, *, max_limit: int) -> tuple[int, int] | web.Response:
    try:
        limit = int(request.query.get("limit", "20"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return error(400, "BAD_REQUEST", "Parameter 'limit' or 'offset' is not an integer.")
    if not 1 <= limit <= max_limit:
        return error(400, "BAD_REQUEST", f"The maximum results limit is {max_limit}.")
    if offset < 0:
        return error(400, "BAD_REQUEST", "Parameter 'offset' must be >= 0.")
    return limit, offset
