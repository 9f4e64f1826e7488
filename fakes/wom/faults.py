"""What happens to a request before its endpoint runs: recording, API key check, rate limiting
and the faults tests inject, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict

from fakes.wom.responses import JSON_TYPE, error

ANONYMOUS_LIMIT = 20
KEYED_LIMIT = 100

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


class RequestPipeline:
    """Mixin of :class:`~fakes.wom.FakeWom`: the middleware every request goes through.

    Rate limiting is a fixed window per client (the API key when valid, else the peer
    address): 20 requests without a key, 100 with one; ``RateLimit-Reset`` is in seconds
    rounded up to the millisecond. Faults queued with :meth:`inject` are applied after auth
    and rate limiting.
    """

    # Set by FakeWom.__init__ (``_stopping`` is renewed on every start).
    requests: list[RecordedRequest]
    api_keys: set[str]
    rate_window_s: float
    enforce_rate_limit: bool
    _faults: list[_QueuedFault]
    _windows: dict[str, _Window]
    _stopping: asyncio.Event

    def inject(self, fault: Fault, *, path_prefix: str = "", times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path starts with ``path_prefix``.

        The prefix is matched against the path without ``/v2`` (``"/groups/11114"``).
        """
        self._faults.append(_QueuedFault(fault, path_prefix, times))

    def clear_faults(self) -> None:
        self._faults.clear()

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
            return error(403, None, "Invalid API Key.")
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
            response: web.StreamResponse = error(
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
            response = error(429, None, "Too many requests, please try again later.")
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
            return error(503, fault.code, "The OSRS Hiscores are down or unavailable.")
        if fault.kind is FaultKind.TIMEOUT:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), fault.delay_s)
            return await handler(request)
        full = await handler(request)
        raw = full.body if isinstance(full, web.Response) and isinstance(full.body, bytes) else b""
        cut = raw[: max(1, len(raw) // 2)]
        return web.Response(body=cut, status=200, content_type=JSON_TYPE)
