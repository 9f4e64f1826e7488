"""Backfill / gap fill: read a relay channel's history after the cursor, page by page.

Each page is ingested and the channel's cursor moved past it in the same write transaction,
so a crash at any point resumes at the first page not stored: nothing is lost, and
re-reading a page stores nothing twice (ingest is insert-ignore by message id).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.usecases.context import App
from bot.usecases.harvest import IngestResult, ingest
from domain.relay import RelayConfig, RelayMessageIn
from storage.repositories.cursors import get_cursor

log = structlog.get_logger(__name__)

# What a backfill resumes from: a message id (exclusive), or a time for an empty channel.
HistoryPages = Callable[[int | None, datetime], AsyncIterator[list[RelayMessageIn]]]


@dataclass
class BackfillProgress:
    channel_id: int
    pages: int = 0
    messages: int = 0
    new: int = 0
    started: float = 0.0
    finished: bool = False

    @property
    def rate(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return self.messages / elapsed

    def line(self) -> str:
        state = "done" if self.finished else "running"
        return (
            f"{state}: {self.pages} pages, {self.messages:,} messages "
            f"({self.new:,} new), {self.rate:,.0f} msg/s"
        )


async def backfill_channel(
    app: App,
    clan_id: int,
    channel_id: int,
    pages: HistoryPages,
    *,
    config: RelayConfig,
    backfill_days: int,
    on_progress: Callable[[BackfillProgress], None] | None = None,
) -> BackfillProgress:
    """Store the channel's history after its cursor (or the last ``backfill_days``).

    ``config`` is the clan's parser configuration (see
    :func:`bot.usecases.harvest.clan_relay_config`).
    """
    async with app.db.read() as session:
        cursor = await get_cursor(session, channel_id)
    since = app.now() - timedelta(days=backfill_days)
    progress = BackfillProgress(channel_id=channel_id, started=time.monotonic())
    log.info("backfill.started", channel_id=channel_id, after_message_id=cursor)
    async for page in pages(cursor, since):
        if not page:
            continue
        result: IngestResult = await ingest(
            app,
            clan_id,
            page,
            source="backfill",
            config=config,
            cursor=(channel_id, max(m.message_id for m in page)),
        )
        progress.pages += 1
        progress.messages += len(page)
        progress.new += result.new
        if on_progress is not None:
            on_progress(progress)
        if progress.pages % 20 == 0:
            log.info(
                "backfill.progress",
                channel_id=channel_id,
                pages=progress.pages,
                messages=progress.messages,
                new=progress.new,
                rate=round(progress.rate),
            )
    progress.finished = True
    if on_progress is not None:
        on_progress(progress)
    log.info(
        "backfill.finished",
        channel_id=channel_id,
        pages=progress.pages,
        messages=progress.messages,
        new=progress.new,
        rate=round(progress.rate),
    )
    return progress
