"""What every use case is handed: the database, the WOM client and the clock.

The composition root (:mod:`bot.app`) builds one :class:`App` per process; use cases, jobs,
cogs and the CLI share it. It carries no settings: a use case takes the values it needs as
arguments, so the same code serves a single-clan ``.env`` install and per-clan configuration.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.adapters.wom import WomApi
from storage.engine import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """The process's database, WOM client and clock: one per process."""

    db: Database
    wom: WomApi
    clock: Callable[[], datetime] = field(default=utc_now)
    #: What use cases keep between calls while the data behind it has not changed (each
    #: entry checks that itself): e.g. a clan's members and their timelines.
    memo: dict[Any, Any] = field(default_factory=dict)
    #: One WOM sync at a time per WOM group in this process: a sync applies what it fetched
    #: against what is stored, so two overlapping ones could apply older data over newer.
    #: Clans never wait for each other's syncs.
    sync_locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()

    def sync_lock(self, group_id: int) -> asyncio.Lock:
        """The lock that keeps the syncs of WOM group ``group_id`` from overlapping."""
        lock = self.sync_locks.get(group_id)
        if lock is None:
            lock = self.sync_locks[group_id] = asyncio.Lock()
        return lock

    async def aclose(self) -> None:
        try:
            await self.wom.close()
        finally:
            await self.db.dispose()
