"""The fake WOM's JSON responses and error bodies, shaped like the real API's."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

JSON_TYPE = "application/json"


def json_response(obj: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", no charset: web.json_response would add one.
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type=JSON_TYPE)


def error(status: int, code: str | None, message: str) -> web.Response:
    """WOM's error body: ``{"code", "message"}``, or only ``message`` where WOM sends no code."""
    body: dict[str, Any] = (
        {"message": message} if code is None else {"code": code, "message": message}
    )
    return json_response(body, status)
