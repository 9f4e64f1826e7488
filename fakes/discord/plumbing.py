"""HTTP plumbing: JSON and error responses, request bodies, the route type, and the wrapper every
REST route goes through (request log, API version, bot token, violations).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from fakes.discord.constants import API_VERSION
from fakes.discord.models import JSON
from fakes.discord.records import RecordedRequest
from fakes.discord.state import DiscordState
from fakes.discord.validation import FormErrors

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (method, path under /api/v{version}, handler, needs the bot token)
Route = tuple[str, str, Handler, bool]


def json_response(data: Any, status: int = 200) -> web.Response:
    # discord.py only parses JSON when Content-Type is exactly "application/json":
    # aiohttp's json_response() would add "; charset=utf-8".
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
    )


def error(status: int, code: int, message: str, errors: JSON | None = None) -> web.Response:
    """Discord's error body: ``{"message", "code"}`` plus the ``errors`` tree of a form error."""
    body: JSON = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


def not_found() -> web.Response:
    return error(404, 0, "404: Not Found")


@dataclass
class Upload:
    """One file of a multipart body (``files[n]``)."""

    filename: str
    data: bytes
    content_type: str | None


class HttpPlumbing(DiscordState):
    """Mixin: what every REST handler shares (wrapping, unknown routes, violations, bodies)."""

    def _wrap(self, handler: Handler, *, needs_auth: bool) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            self.requests.append(RecordedRequest(request.method, request.path, dict(request.query)))
            if request.match_info.get("version") != str(API_VERSION):
                return await self._unknown(request)
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                return error(401, 0, "401: Unauthorized")
            try:
                return await handler(request)
            except json.JSONDecodeError as exc:
                self._violation(request, f"body is not valid JSON ({exc})")
                return error(400, 50109, "The request body contains invalid JSON.")
            except Exception as exc:
                # A bug in the fake must fail the test, not pass silently as a 500 retry.
                self._violation(request, f"fake Discord internal error: {exc!r}")
                raise
            finally:
                self._notify()

        return wrapped

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self.unknown_requests.append(f"{request.method} {request.path_qs}")
        self._notify()
        return not_found()

    def _violation(self, request: web.Request, reason: str) -> None:
        self.violations.append(f"{request.method} {request.path}: {reason}")

    def _invalid_form(self, request: web.Request, errors: FormErrors) -> web.Response:
        for reason in errors.reasons():
            self._violation(request, reason)
        return error(400, 50035, "Invalid Form Body", errors.tree())

    async def _read_body(self, request: web.Request) -> tuple[Any, dict[int, Upload]]:
        """Parse a JSON or multipart (``payload_json`` + ``files[n]``) body."""
        uploads: dict[int, Upload] = {}
        if request.content_type == "multipart/form-data":
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                raw = await part.read()
                if part.name == "payload_json":
                    body = json.loads(bytes(raw).decode())
                elif part.name and (match := re.fullmatch(r"files\[(\d+)\]", part.name)):
                    uploads[int(match.group(1))] = Upload(
                        filename=part.filename or f"file{match.group(1)}",
                        data=bytes(raw),
                        content_type=part.headers.get("Content-Type"),
                    )
            return body, uploads
        text = await request.text()
        return (json.loads(text) if text else None), uploads
