"""HTTP client for the Wise Old Man API v2: rate limited, retrying, lenient.

* Identifies itself (``User-Agent``) and sends ``x-api-key`` when configured.
* :class:`WomRateLimiter` keeps every request under WOM's budget (20 per 60 s without a key,
  100 with one), follows ``RateLimit-Remaining``/``RateLimit-Reset`` and pauses on
  ``Retry-After``. Share one limiter between clients that share an IP or key. One process
  serving many clans shares one budget: requests wait in one queue per party (a clan's
  sync names itself with :func:`wom_party`) and the turns go round the parties, so a clan
  with a long backlog never starves another.
* 429, 5xx, network errors, timeouts and unreadable 2xx bodies (truncated JSON) are retried
  with jittered exponential backoff; when retries run out the error is
  :class:`~bot.adapters.wom.errors.WomUnavailable` (or
  :class:`~bot.adapters.wom.errors.WomRateLimited` for 429). A readable body of the wrong
  shape is :class:`~bot.adapters.wom.errors.WomSchemaError` at once: retrying will not fix it.
* Other 4xx are raised at once as typed errors. ``PLAYER_IS_RATE_LIMITED`` is not retried.
* A list answer (bulk hiscores, activity, name changes) skips an entry it cannot read and
  lists it in the result's ``skipped`` (:class:`~bot.adapters.wom.models.WomItems`).
* Neither the API key nor a verification code ever reaches a log line or an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterator, Mapping
from contextvars import ContextVar
from importlib import metadata
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import aiohttp
import structlog
from pydantic import SecretStr

from bot.adapters.wom.errors import (
    WomBadRequest,
    WomError,
    WomForbidden,
    WomNotFound,
    WomRateLimited,
    WomSchemaError,
    WomUnavailable,
)
from bot.adapters.wom.models import (
    WomActivity,
    WomGroup,
    WomHiscoresEntry,
    WomItems,
    WomNameChange,
    WomPlayerDetails,
    parse_items,
)

__all__ = [
    "ANONYMOUS_LIMIT",
    "KEYED_LIMIT",
    "HttpWomClient",
    "WomApi",
    "WomRateLimiter",
    "default_user_agent",
    "wom_party",
]

log = structlog.get_logger(__name__)

ANONYMOUS_LIMIT = 20
KEYED_LIMIT = 100

Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]

#: Who the WOM requests made in this context are for (a clan's sync): the limiter takes
#: turns between parties. None: the process's own requests (the CLI), one party.
_PARTY: ContextVar[Hashable | None] = ContextVar("wom_party", default=None)


@contextlib.contextmanager
def wom_party(party: Hashable) -> Iterator[None]:
    """WOM requests made inside the block (and in tasks it starts) queue as ``party``'s."""
    token = _PARTY.set(party)
    try:
        yield
    finally:
        _PARTY.reset(token)


def default_user_agent() -> str:
    """``ClanStats/<version> (+discord bot)``."""
    try:
        version = metadata.version("clanstats")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"ClanStats/{version} (+discord bot)"


@runtime_checkable
class WomApi(Protocol):
    """What the use cases need from Wise Old Man."""

    async def get_group(self, group_id: int) -> WomGroup: ...

    async def get_bulk_hiscores(self, group_id: int) -> WomItems[WomHiscoresEntry]:
        """Every member's latest snapshot; raises ``WomNotFound`` where the route is missing."""
        ...

    async def get_player(self, username: str) -> WomPlayerDetails: ...

    async def get_group_activity(
        self, group_id: int, *, limit: int = 50, offset: int = 0
    ) -> WomItems[WomActivity]: ...

    async def get_name_changes(
        self, group_id: int, *, limit: int = 50, offset: int = 0
    ) -> WomItems[WomNameChange]: ...

    async def update_all(self, group_id: int, verification_code: SecretStr | str) -> int:
        """Ask WOM to update outdated members; returns how many were queued."""
        ...

    async def close(self) -> None: ...


def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


class WomRateLimiter:
    """Async limiter: a sliding window of send times plus the server's own counters."""

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        margin_s: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        # Arrival jitter: the server's window may start a little after our first send.
        self.margin_s = 0.05 + window_s * 0.02 if margin_s is None else margin_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._server_remaining: int | None = None
        self._server_reset_at = 0.0
        # Waiting requests, one FIFO per party, and the parties with waiters in turn order.
        self._queues: dict[Hashable | None, deque[asyncio.Future[None]]] = {}
        self._turns: deque[Hashable | None] = deque()
        self._busy = False  # a granted request is waiting for the budget
        #: Every party whose request was let through, in order (tests read fairness here).
        self.granted: deque[Hashable | None] = deque(maxlen=1000)

    async def acquire(self, party: Hashable | None = None) -> None:
        """Wait for this party's turn and until one more request fits in every known
        budget, then count it. ``party`` defaults to the context's (:func:`wom_party`).

        Turns go round the parties that are waiting (round-robin), each party's own
        requests in the order they came: with the budget spent, a clan with 100 requests
        queued and one with 1 each get the next free slot in turn.
        """
        who = _PARTY.get() if party is None else party
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(who)
        if queue is None:
            queue = self._queues[who] = deque()
            self._turns.append(who)
        queue.append(waiter)
        if not self._busy:
            self._grant_next()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._busy = False  # granted, then cancelled: the turn passes on
                self._grant_next()
            else:
                self._forget(who, waiter)
            raise
        try:
            while True:
                wait = self._wait_needed(self._clock())
                if wait <= 0:
                    break
                log.debug("wom.rate_limit.wait", wait_s=round(wait, 3), limit=self.limit)
                await self._sleep(wait)
            now = self._clock()
            self._sent.append(now)
            self.granted.append(who)
            if self._server_remaining is not None and now < self._server_reset_at:
                self._server_remaining -= 1
        finally:
            self._busy = False
            self._grant_next()

    def _grant_next(self) -> None:
        """Give the turn to the first waiter of the next party in turn order."""
        while self._turns and not self._busy:
            who = self._turns.popleft()
            queue = self._queues[who]
            while queue and queue[0].done():  # cancelled while waiting
                queue.popleft()
            if not queue:
                del self._queues[who]
                continue
            waiter = queue.popleft()
            if queue:
                self._turns.append(who)  # its next request waits for the others' turns
            else:
                del self._queues[who]
            self._busy = True
            waiter.set_result(None)

    def _forget(self, who: Hashable | None, waiter: asyncio.Future[None]) -> None:
        queue = self._queues.get(who)
        if queue is None:
            return
        with contextlib.suppress(ValueError):
            queue.remove(waiter)
        if not queue:
            del self._queues[who]
            with contextlib.suppress(ValueError):
                self._turns.remove(who)

    def _wait_needed(self, now: float) -> float:
        if now < self._blocked_until:
            return self._blocked_until - now
        while self._sent and self._sent[0] <= now - self.window_s - self.margin_s:
            self._sent.popleft()
        waits = [0.0]
        if len(self._sent) >= self.limit:
            waits.append(self._sent[0] + self.window_s + self.margin_s - now)
        if (
            self._server_remaining is not None
            and self._server_remaining <= 0
            and now < self._server_reset_at
        ):
            waits.append(self._server_reset_at - now)
        return max(waits)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Adapt to ``RateLimit-Limit``/``-Remaining``/``-Reset`` from a response."""
        limit = _header_float(headers, "RateLimit-Limit")
        if limit is not None and 1 <= limit < self.limit:
            self.limit = int(limit)
        remaining = _header_float(headers, "RateLimit-Remaining")
        reset = _header_float(headers, "RateLimit-Reset")
        if remaining is None or reset is None:
            return
        now = self._clock()
        reset_at = now + reset + self.margin_s
        same_window = (
            self._server_remaining is not None
            and now < self._server_reset_at
            and abs(reset_at - self._server_reset_at) < 1.0 + self.margin_s
        )
        if same_window and self._server_remaining is not None:
            # Responses can arrive out of order: trust the smaller count in one window.
            self._server_remaining = min(self._server_remaining, int(remaining))
            self._server_reset_at = max(self._server_reset_at, reset_at)
        else:
            self._server_remaining = int(remaining)
            self._server_reset_at = reset_at

    def pause_for(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (a 429's ``Retry-After``)."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)


class HttpWomClient:
    """:class:`WomApi` over HTTP; see the module docstring for its policies."""

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | str | None = None,
        user_agent: str | None = None,
        *,
        timeout_s: float = 20.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        rate_window_s: float = 60.0,
        rate_limiter: WomRateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        if isinstance(api_key, str):
            api_key = SecretStr(api_key) if api_key else None
        self._api_key = api_key
        self._user_agent = user_agent or default_user_agent()
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._max_retry_after_s = max_retry_after_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session = session
        self._owns_session = session is None
        limit = KEYED_LIMIT if api_key is not None else ANONYMOUS_LIMIT
        self.rate_limiter = rate_limiter or WomRateLimiter(limit, rate_window_s, sleep=sleep)
        self._secrets: set[str] = set()
        if api_key is not None:
            self._secrets.add(api_key.get_secret_value())
        self.requests_sent = 0

    def __repr__(self) -> str:
        keyed = "set" if self._api_key is not None else "none"
        return f"HttpWomClient(base_url={self._base_url!r}, api_key={keyed})"

    # ------------------------------------------------------------------ API

    async def get_group(self, group_id: int) -> WomGroup:
        return WomGroup.from_json(await self._request("GET", f"/groups/{int(group_id)}"))

    async def get_bulk_hiscores(self, group_id: int) -> WomItems[WomHiscoresEntry]:
        body = await self._request("GET", f"/groups/{int(group_id)}/bulk-hiscores")
        return parse_items(_as_list(body, "bulk-hiscores"), WomHiscoresEntry.from_json)

    async def get_player(self, username: str) -> WomPlayerDetails:
        body = await self._request("GET", f"/players/{quote(username, safe='')}")
        return WomPlayerDetails.from_json(body)

    async def update_player(self, username: str) -> WomPlayerDetails:
        """``POST /players/:username``; ``PLAYER_IS_RATE_LIMITED`` raises without retrying."""
        body = await self._request("POST", f"/players/{quote(username, safe='')}")
        return WomPlayerDetails.from_json(body)

    async def get_group_activity(
        self, group_id: int, *, limit: int = 50, offset: int = 0
    ) -> WomItems[WomActivity]:
        body = await self._request(
            "GET", f"/groups/{int(group_id)}/activity", params=_page(limit, offset)
        )
        return parse_items(_as_list(body, "activity"), WomActivity.from_json)

    async def get_name_changes(
        self, group_id: int, *, limit: int = 50, offset: int = 0
    ) -> WomItems[WomNameChange]:
        body = await self._request(
            "GET", f"/groups/{int(group_id)}/name-changes", params=_page(limit, offset)
        )
        return parse_items(_as_list(body, "name-changes"), WomNameChange.from_json)

    async def update_all(self, group_id: int, verification_code: SecretStr | str) -> int:
        code = (
            verification_code.get_secret_value()
            if isinstance(verification_code, SecretStr)
            else verification_code
        )
        self._secrets.add(code)
        body = await self._request(
            "POST", f"/groups/{int(group_id)}/update-all", json_body={"verificationCode": code}
        )
        count = body.get("count") if isinstance(body, Mapping) else None
        return count if isinstance(count, int) and not isinstance(count, bool) else 0

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> HttpWomClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ plumbing

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        if self._api_key is not None:
            headers["x-api-key"] = self._api_key.get_secret_value()
        return headers

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._backoff_max_s, self._backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Any:
        url = self._base_url + path
        timeout = aiohttp.ClientTimeout(total=self._timeout_s)
        attempts = self._max_retries + 1
        for attempt in range(1, attempts + 1):
            await self.rate_limiter.acquire()
            session = self._get_session()
            self.requests_sent += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                async with session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=self._headers(),
                    timeout=timeout,
                ) as resp:
                    status = resp.status
                    body = await resp.read()
                    self.rate_limiter.observe(resp.headers)
                    retry_after = _header_float(resp.headers, "Retry-After")
            except TimeoutError:
                failure: WomError = WomUnavailable(
                    f"Wise Old Man did not answer within {self._timeout_s:g} s", path=path
                )
                reason = "timeout"
            except aiohttp.ClientError as exc:
                failure = WomUnavailable(
                    f"cannot reach Wise Old Man ({type(exc).__name__})", path=path
                )
                reason = "network"
            else:
                if 200 <= status < 300:
                    try:
                        return json.loads(body) if body else None
                    except ValueError:
                        failure = WomUnavailable(
                            "Wise Old Man sent an unreadable body", status=status, path=path
                        )
                        reason = "invalid_json"
                else:
                    failure = self._error_for(status, body, path, retry_after)
                    reason = "status"
                    if not _retryable(failure):
                        # A 404 is often an answer (no such player, no bulk endpoint on an
                        # older deployment): the caller decides whether it is a problem.
                        (log.info if status == 404 else log.warning)(
                            "wom.request_failed",
                            status=status,
                            code=failure.code,
                            path=path,
                            error_type=type(failure).__name__,
                        )
                        raise failure
            delay = self._backoff(attempt)
            if isinstance(failure, WomRateLimited) and retry_after is not None:
                if retry_after > self._max_retry_after_s:
                    raise failure
                self.rate_limiter.pause_for(retry_after)
                delay = retry_after
            if attempt == attempts:
                log.error(
                    "wom.gave_up",
                    status=status,
                    reason=reason,
                    attempts=attempt,
                    path=path,
                    error_type=type(failure).__name__,
                )
                raise failure
            log.warning(
                "wom.retry",
                status=status,
                reason=reason,
                attempt=attempt,
                delay_s=round(delay, 3),
                path=path,
            )
            if not isinstance(failure, WomRateLimited) or retry_after is None:
                await self._sleep(delay)
            # else: the limiter's pause makes the next acquire() wait out Retry-After.
        raise AssertionError("unreachable")  # pragma: no cover

    def _error_for(
        self, status: int, body: bytes, path: str, retry_after: float | None
    ) -> WomError:
        code: str | None = None
        message = f"Wise Old Man answered HTTP {status}"
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, Mapping):
            if isinstance(payload.get("code"), str):
                code = self._scrub(payload["code"])
            if isinstance(payload.get("message"), str):
                message = self._scrub(payload["message"])[:300]
        if status == 404:
            return WomNotFound(message, status=status, code=code, path=path)
        if status in (401, 403):
            return WomForbidden(message, status=status, code=code, path=path)
        if status == 429:
            return WomRateLimited(
                message, status=status, code=code, path=path, retry_after_s=retry_after
            )
        if status >= 500:
            return WomUnavailable(message, status=status, code=code, path=path)
        return WomBadRequest(message, status=status, code=code, path=path)


def _retryable(error: WomError) -> bool:
    if isinstance(error, WomRateLimited):
        return error.code != "PLAYER_IS_RATE_LIMITED"
    return isinstance(error, WomUnavailable)


def _page(limit: int, offset: int) -> dict[str, str]:
    return {"limit": str(limit), "offset": str(offset)}


def _as_list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise WomSchemaError(f"expected a list from {what}, got {type(body).__name__}")
    return body
