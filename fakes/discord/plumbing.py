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
from fakes.discord.ratelimits import Decision, major_parameters
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


def rate_limited(decision: Decision) -> web.Response:
    """Discord's 429: the JSON body (``retry_after``, ``global``) and the rate-limit headers."""
    response = json_response(decision.body, 429)
    response.headers.update(decision.headers)
    return response


def route_template(path: str) -> str:
    """``/channels/{channel_id:\\d+}/messages`` → ``/channels/{channel_id}/messages``."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


@dataclass
class Upload:
    """One file of a multipart body (``files[n]``)."""

    filename: str
    data: bytes
    content_type: str | None


class HttpPlumbing(DiscordState):
    """Mixin: what every REST handler shares (wrapping, unknown routes, violations, bodies)."""

    def _wrap(self, handler: Handler, *, needs_auth: bool, route: str) -> Handler:
        """Every REST route: recorded, version and token checked, rate limited, then handled.

        Routes that need the bot token count toward the global limit; the interaction
        routes (authorised by their token) do not, as on Discord.
        """

        async def wrapped(request: web.Request) -> web.StreamResponse:
            recorded = RecordedRequest(request.method, request.path, dict(request.query))
            self.requests.append(recorded)
            if request.match_info.get("version") != str(API_VERSION):
                return await self._unknown(request)
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                self._violation(request, "401 Unauthorized: no or a wrong bot token")
                return error(401, 0, "401: Unauthorized")
            decision = self.rate_limits.check(
                request.method,
                route,
                major_parameters(request.match_info),
                counts_globally=needs_auth,
            )
            if decision.limited is not None:
                recorded.status = 429
                if not decision.limited.forced:
                    self._violation(
                        request,
                        f"429 Too Many Requests ({decision.limited.scope}): the bot went over "
                        f"Discord's rate limit for {request.method} {route}",
                    )
                return rate_limited(decision)
            try:
                response = await handler(request)
                response.headers.update(decision.headers)
                recorded.status = response.status
                return response
            except json.JSONDecodeError as exc:
                self._violation(request, f"body is not valid JSON ({exc})")
                return error(400, 50109, "The request body contains invalid JSON.")
            except Exception as exc:
                # A bug in the fake must fail the test, not pass silently as a 500 retry.
                reason = f"fake Discord internal error: {exc!r}"
                self._violation(request, reason)  # fake-check: not a Discord rule
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

    def _forbidden(self, request: web.Request, code: int, reason: str) -> web.Response:
        """403 with Discord's body: ``50001 Missing Access`` (cannot see the resource at all)
        or ``50013 Missing Permissions`` (sees it, lacks a permission for this action)."""
        message = "Missing Access" if code == 50001 else "Missing Permissions"
        self._violation(request, f"{message} ({code}): {reason}")
        return error(403, code, message)

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
