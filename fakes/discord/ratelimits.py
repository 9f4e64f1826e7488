"""Discord's rate limits: per route (and top-level resource) and global, with Discord's headers
and 429 bodies.

What Discord documents (discord/discord-api-docs at c98d64bc, ``developers/topics/
rate-limits.mdx``):

* every response of a limited route carries ``X-RateLimit-Limit``, ``-Remaining``,
  ``-Reset`` (epoch seconds), ``-Reset-After`` (seconds, with decimals) and ``-Bucket``; a
  route's limit is counted per top-level resource (channel, guild, webhook id + token);
* over a limit, Discord answers 429 with ``{"message", "retry_after", "global"}``, a
  ``Retry-After`` header and ``X-RateLimit-Scope`` (``user``, ``global`` or ``shared``;
  ``X-RateLimit-Global: true`` for the global limit);
* the global limit is 50 requests per second per bot; interaction endpoints are not bound to
  it; a 429 of scope ``shared`` (a resource's own limit) is not counted against the bot.

What discord.py needs to honour them (Rapptz/discord.py v2.7.1, dfd1144b,
``discord/http.py``, ``HTTPClient.request`` and ``Ratelimit``): it reads the headers to wait
*before* a bucket runs dry, and on a 429 sleeps ``retry_after`` from the body and retries;
a 429 without a ``Via`` header, or without a JSON body, it takes for a Cloudflare ban and
raises instead. Discord's answers pass through Google's front end (``Via: 1.1 google``): the
fake's carry that header too.

Per-route numbers are Discord's to choose and change ("should not be hard coded"): the fake
uses 5 messages per 5 s per channel (what Discord answers for message creation) and a
default for every other route, both adjustable per :class:`RateLimiter`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["user", "global", "shared"]


@dataclass(frozen=True)
class Limit:
    """``requests`` per window of ``per_s`` seconds."""

    requests: int
    per_s: float


GLOBAL_LIMIT = Limit(50, 1.0)
MESSAGE_CREATE_LIMIT = Limit(5, 5.0)
DEFAULT_ROUTE_LIMIT = Limit(45, 1.0)
DEFAULT_ROUTE_LIMITS: Mapping[tuple[str, str], Limit] = {
    ("POST", "/channels/{channel_id}/messages"): MESSAGE_CREATE_LIMIT,
}
# Which path parameters name the top-level resource a route's limit is counted per.
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "app_id", "interaction_id", "token")


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class Forced429:
    """A 429 a test makes Discord answer (a shared resource limit, a global limit hit)."""

    method: str
    route: str
    retry_after: float
    scope: Scope
    times: int


@dataclass(frozen=True)
class Answered429:
    """A 429 the fake answered, for tests to read."""

    method: str
    route: str
    scope: Scope
    retry_after: float
    forced: bool
    at: float


@dataclass(frozen=True)
class Decision:
    """What the limiter says about one request: go ahead, or this 429."""

    headers: dict[str, str]
    limited: Answered429 | None = None
    body: dict[str, object] = field(default_factory=dict)


def bucket_hash(method: str, route: str) -> str:
    """A stable ``X-RateLimit-Bucket`` value for a route (Discord's are opaque strings)."""
    return hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:16]


def major_parameters(match_info: Mapping[str, str]) -> str:
    """The top-level resource of a request (``channel_id`` …), as its limit is counted."""
    return "+".join(match_info[k] for k in _MAJOR_PARAMETERS if k in match_info)


class RateLimiter:
    """Per-route (per top-level resource) and global limits over fixed windows."""

    def __init__(
        self,
        *,
        routes: Mapping[tuple[str, str], Limit] = DEFAULT_ROUTE_LIMITS,
        default: Limit = DEFAULT_ROUTE_LIMIT,
        global_limit: Limit = GLOBAL_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routes = dict(routes)
        self.default = default
        self.global_limit = global_limit
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._global = _Window(start=-math.inf)
        self.forced: list[Forced429] = []
        self.answered: list[Answered429] = []

    def limit_for(self, method: str, route: str) -> Limit:
        return self.routes.get((method, route), self.default)

    def _window(self, key: tuple[str, str], limit: Limit, now: float) -> _Window:
        window = self._windows.get(key)
        if window is None or now >= window.start + limit.per_s:
            window = _Window(start=now)
            self._windows[key] = window
        return window

    def check(self, method: str, route: str, major: str, *, counts_globally: bool) -> Decision:
        """Count one request; the headers to answer with, or the 429 to answer instead."""
        now = self._clock()
        limit = self.limit_for(method, route)
        bucket = bucket_hash(method, route)
        window = self._window((bucket, major), limit, now)
        forced = next(
            (f for f in self.forced if f.method == method and f.route == route and f.times), None
        )
        if forced is not None:
            forced.times -= 1
            return self._too_many(method, route, forced.scope, forced.retry_after, now, True)
        if counts_globally:
            if now >= self._global.start + self.global_limit.per_s:
                self._global = _Window(start=now)
            if self._global.used >= self.global_limit.requests:
                retry = self._global.start + self.global_limit.per_s - now
                return self._too_many(method, route, "global", retry, now, False)
        if window.used >= limit.requests:
            retry = window.start + limit.per_s - now
            decision = self._too_many(method, route, "user", retry, now, False)
            decision.headers.update(self._bucket_headers(bucket, limit, window, now))
            return decision
        window.used += 1
        if counts_globally:
            self._global.used += 1
        return Decision(headers=self._bucket_headers(bucket, limit, window, now))

    def _bucket_headers(
        self, bucket: str, limit: Limit, window: _Window, now: float
    ) -> dict[str, str]:
        # Rounded up, so a client that waits exactly this long finds the window reset.
        reset_after = math.ceil((window.start + limit.per_s - now) * 1000) / 1000
        return {
            "X-RateLimit-Limit": str(limit.requests),
            "X-RateLimit-Remaining": str(max(limit.requests - window.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    def _too_many(
        self, method: str, route: str, scope: Scope, retry_after: float, now: float, forced: bool
    ) -> Decision:
        retry_after = math.ceil(max(retry_after, 0.001) * 1000) / 1000
        answered = Answered429(method, route, scope, retry_after, forced, now)
        self.answered.append(answered)
        headers = {
            "Retry-After": str(math.ceil(retry_after)),
            "X-RateLimit-Scope": scope,
            "Via": "1.1 google",
        }
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        message = (
            "The resource is being rate limited."
            if scope == "shared"
            else "You are being rate limited."
        )
        body: dict[str, object] = {
            "message": message,
            "retry_after": retry_after,
            "global": scope == "global",
        }
        return Decision(headers=headers, limited=answered, body=body)
