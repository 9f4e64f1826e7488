"""Discord snowflakes: ids that encode their creation time (ms since 2015-01-01 UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000
_MAX_INCREMENT = 4096


def snowflake_from_datetime(moment: datetime, *, increment: int = 0, worker_id: int = 0) -> int:
    """Return the snowflake Discord would give something created at ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("snowflake times must be timezone-aware")
    ms = int(moment.timestamp() * 1000)
    return _compose(ms, increment=increment, worker_id=worker_id)


def datetime_from_snowflake(snowflake: int) -> datetime:
    """Return the creation time encoded in ``snowflake`` (UTC, millisecond precision)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def iso_timestamp(moment: datetime) -> str:
    """Format ``moment`` the way Discord does: ``2025-12-23T09:01:00.123000+00:00``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _compose(ms: int, *, increment: int, worker_id: int) -> int:
    if ms < DISCORD_EPOCH_MS:
        raise ValueError("a snowflake cannot predate the Discord epoch (2015-01-01)")
    return ((ms - DISCORD_EPOCH_MS) << 22) | ((worker_id & 0x1F) << 17) | (increment & 0xFFF)


class SnowflakeGenerator:
    """Unique snowflakes; ids made for "now" strictly increase even if the clock stalls."""

    def __init__(self, *, worker_id: int = 1) -> None:
        self._worker_id = worker_id
        self._next_increment: dict[int, int] = {}
        self._last_now_ms = 0

    def next(self, at: datetime | None = None) -> int:
        """Return a new id created at ``at`` (default: now), never one handed out before."""
        if at is None:
            ms = max(int(time.time() * 1000), self._last_now_ms)
        else:
            if at.tzinfo is None:
                raise ValueError("snowflake times must be timezone-aware")
            ms = int(at.timestamp() * 1000)
        while True:
            increment = self._next_increment.get(ms, 0)
            if increment < _MAX_INCREMENT:
                self._next_increment[ms] = increment + 1
                break
            ms += 1
        if at is None:
            self._last_now_ms = ms
        return _compose(ms, increment=increment, worker_id=self._worker_id)

    def reserve(self, snowflake: int) -> None:
        """Mark an id chosen by a caller as used, so generated ids never collide with it."""
        ms = (snowflake >> 22) + DISCORD_EPOCH_MS
        increment = snowflake & 0xFFF
        if (snowflake >> 17) & 0x1F == self._worker_id:
            self._next_increment[ms] = max(self._next_increment.get(ms, 0), increment + 1)
