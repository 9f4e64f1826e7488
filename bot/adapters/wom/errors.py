"""Typed errors raised by the Wise Old Man client.

Messages carry the HTTP status, WOM's error code and the request path, never the API key or
the group verification code (the client scrubs both from anything the server echoes back).
"""

from __future__ import annotations


class WomError(Exception):
    """Base class: any failure talking to Wise Old Man."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.path = path

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.path:
            parts.append(f"path={self.path}")
        return " ".join(parts)


class WomNotFound(WomError):
    """404: unknown group/player (``code`` GROUP_NOT_FOUND, PLAYER_NOT_FOUND) or missing route."""


class WomForbidden(WomError):
    """403: the API key was rejected."""


class WomBadRequest(WomError):
    """400 (and other non-retryable 4xx): e.g. INVALID_VERIFICATION_CODE."""


class WomRateLimited(WomError):
    """429 that retrying cannot fix (retries exhausted, or PLAYER_IS_RATE_LIMITED)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        code: str | None = None,
        path: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, path=path)
        self.retry_after_s = retry_after_s


class WomUnavailable(WomError):
    """5xx, network errors, timeouts or unreadable bodies, after every retry was spent."""


class WomSchemaError(WomError):
    """A 2xx body lacks something we cannot do without (e.g. a player's id)."""
