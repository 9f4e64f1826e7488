"""Database outages, said once: one warning when one begins, one line when it ends.

Work that retries until the database is back (the relay flusher) reports each attempt here;
only the first failure of an outage is logged at warning level (with a one-line reason, no
traceback, when it is the database being unavailable: down, restarting, frozen, locked),
and the first success after it says the outage is over and how long it lasted.
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from storage.errors import unavailable_reason

log = structlog.get_logger(__name__)


def database_unavailable(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means the database cannot be used right now, else None."""
    return unavailable_reason(exc)


class Outage:
    """The state of one kind of database work (e.g. ``relay``) across failures."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.failures = 0

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, **fields: Any) -> None:
        """An attempt failed: the first failure of an outage is logged, later ones are not."""
        self.failures += 1
        if self.since is not None:
            log.debug(f"{self.what}.still_failing", failures=self.failures, error=repr(exc)[:200])
            return
        self.since = time.monotonic()
        reason = unavailable_reason(exc)
        if reason is None:
            # Not an outage we know: keep the traceback (once) for whoever has to fix it.
            log.error(f"{self.what}.failing", error=repr(exc)[:500], exc_info=exc, **fields)
        else:
            log.warning(f"{self.what}.database_unavailable", reason=reason, **fields)

    def succeeded(self, **fields: Any) -> bool:
        """An attempt worked: True (and one info line) when it ends an outage."""
        if self.since is None:
            return False
        log.info(
            f"{self.what}.database_recovered",
            outage_s=round(time.monotonic() - self.since, 1),
            failed_attempts=self.failures,
            **fields,
        )
        self.since, self.failures = None, 0
        return True


__all__ = ["Outage", "database_unavailable"]
