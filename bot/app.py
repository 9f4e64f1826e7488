"""The composition root's parts: the :class:`App` every use case, job, cog and CLI shares.

Nothing here runs at import. :func:`open_app` builds the graph (database migrated to head),
and the bot's ``setup_hook`` or a CLI command owns it for the life of the process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from bot.config import Settings
from bot.wom import HttpWomClient, WomApi
from storage.engine import Database
from storage.migrate import upgrade

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """What use cases, jobs, cogs and the CLI share: one per process."""

    settings: Settings
    db: Database
    wom: WomApi
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    async def aclose(self) -> None:
        try:
            await self.wom.close()
        finally:
            await self.db.dispose()


def wom_client(settings: Settings) -> HttpWomClient:
    return HttpWomClient(
        settings.wom_base_url,
        settings.wom_api_key,
        settings.wom_user_agent,
        timeout_s=settings.wom_timeout_s,
        rate_window_s=settings.wom_rate_window_s,
    )


async def build_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utc_now
) -> App:
    """Open the database (migrated to head unless ``migrate`` is false) and wire the app."""
    db = Database.from_url(settings.database_url)
    try:
        if migrate:
            await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return App(settings=settings, db=db, wom=wom_client(settings), clock=clock)


@asynccontextmanager
async def open_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[App]:
    """:func:`build_app` as a context manager that always closes what it opened."""
    app = await build_app(settings, migrate=migrate, clock=clock)
    try:
        yield app
    finally:
        await app.aclose()
