"""The relay channels: live listener (batched), edits, deletes, and backfill on (re)connect."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord.ext import commands

from bot.app import relay_config
from bot.channel_access import Purpose
from bot.core.tracing import traced
from bot.usecases.backfill import BackfillProgress, backfill_channel
from bot.usecases.harvest import (
    apply_delete,
    apply_edit,
    clan_relay_config,
    ensure_clan_for,
    ingest,
)
from bot.usecases.outage import Outage, database_unavailable
from domain.relay import EmbedIn, RelayConfig, RelayMessageIn

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

FLUSH_AT = 100  # messages
FLUSH_EVERY_S = 1.0
# Messages stored per write transaction when a backlog is flushed (after an outage).
FLUSH_BATCH_MAX = 1000
# While the database cannot store anything, the buffer is retried this often.
OUTAGE_RETRY_S = 2.0
PAGE = 100  # Discord's largest history page
CONFIG_REFRESH_S = 60.0
# The final flush leaves this much of the shutdown's time for closing the database.
FINAL_FLUSH_RESERVE_S = 1.5


def embed_in(embed: discord.Embed) -> EmbedIn:
    return EmbedIn(
        title=embed.title,
        description=embed.description,
        author_name=embed.author.name,
        author_icon_url=embed.author.icon_url,
        footer=embed.footer.text,
        url=embed.url,
        fields=tuple((f.name or "", f.value or "") for f in embed.fields),
    )


def relay_message_in(message: discord.Message) -> RelayMessageIn:
    """Discord's message, as the pure parser reads it."""
    return RelayMessageIn(
        message_id=message.id,
        channel_id=message.channel.id,
        author_id=message.author.id,
        author_name=message.author.name,
        is_bot=message.author.bot,
        webhook_id=message.webhook_id,
        content=message.content,
        embeds=tuple(embed_in(e) for e in message.embeds),
        posted_at=message.created_at,
    )


#: A backfill that met a database outage starts again after this long, doubling up to the max.
BACKFILL_RETRY_FIRST_S = 1.0
BACKFILL_RETRY_MAX_S = 30.0


class RelayCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        self.channel_ids = frozenset(bot.settings.relay_channel_ids)
        self.clan_id = 0
        # Trusted relay authors and custom formats; the clan's name is added as it is learnt.
        self._base_config = relay_config(bot.settings)
        self._config: RelayConfig | None = None
        self._config_at = 0.0
        self._buffer: list[RelayMessageIn] = []
        # While the database is unavailable messages wait in the buffer, up to this many;
        # later ones are counted, not kept: the backfill re-reads them from Discord.
        self._buffer_max = bot.settings.relay_buffer_max
        self._not_buffered = 0
        self._outage = Outage("relay")
        self._not_applied = 0  # edits and deletes that came during an outage
        self._flush_now = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._backfill: asyncio.Task[None] | None = None
        self._backfill_again = False
        self._unloaded = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def cog_load(self) -> None:
        settings = self.bot.settings
        if settings.wom_group_id is None:
            raise RuntimeError("CLANSTATS_WOM_GROUP_ID is not set")
        self.clan_id = await ensure_clan_for(self.bot.app, settings.wom_group_id, settings.guild_id)
        self._flusher = self.bot.tasks.spawn("relay-flusher", self._flush_loop(), daemon=True)

    async def cog_unload(self) -> None:
        # A ready/resumed listener already scheduled may still run: it must not start a
        # backfill that nothing would stop before the database closes.
        self._unloaded = True
        for task in (self._backfill, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._final_flush()

    async def _final_flush(self) -> None:
        """Store what is buffered, within what is left of the shutdown's time.

        What cannot be stored in time (the database is down, or a SQLite writer holds the
        lock) is not lost: it was never behind a backfill cursor, so the next start's
        backfill reads it from Discord again.
        """
        if not self._buffer and not self._not_buffered:
            return
        seconds = self.bot.shutdown_time_left(reserve_s=FINAL_FLUSH_RESERVE_S)
        self.bot.app.db.limit_lock_waits(seconds)
        try:
            await asyncio.wait_for(self.flush(), seconds)
        except Exception as exc:  # discord.py swallows unload errors: say it here
            log.warning(
                "relay.final_flush_incomplete",
                unstored=len(self._buffer) + self._not_buffered,
                reason=database_unavailable(exc) or repr(exc)[:300],
                recovery="the backfill reads them from Discord again on the next start",
            )
        else:
            if self._not_buffered:
                log.warning(
                    "relay.final_flush_incomplete",
                    unstored=self._not_buffered,
                    reason="past the buffer bound during a database outage",
                    recovery="the backfill reads them from Discord again on the next start",
                )

    # -- live --------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.channel.id not in self.channel_ids:
            return
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        if len(self._buffer) >= self._buffer_max:
            # Only while the database has been unavailable for a long time. Not kept, not
            # lost: no backfill cursor has moved past it, so a backfill reads it again.
            if not self._not_buffered:
                log.warning(
                    "relay.buffer_full",
                    buffered=len(self._buffer),
                    recovery="newer messages are re-read by the backfill when the database "
                    "is back (or on the next start)",
                )
            self._not_buffered += 1
            return
        self._buffer.append(relay_message_in(message))
        if len(self._buffer) >= FLUSH_AT and not self._outage.active:
            self._flush_now.set()

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                # During an outage retry at a steady pace, not on every incoming message.
                wait = OUTAGE_RETRY_S if self._outage.active else FLUSH_EVERY_S
                await asyncio.wait_for(self._flush_now.wait(), wait)
            self._flush_now.clear()
            if not self._buffer and not self._not_buffered:
                continue
            with traced():  # each flush is its own unit of work: its own trace id
                await self._flush_or_wait()

    async def _flush_or_wait(self) -> None:
        waiting = len(self._buffer)
        try:
            await self.flush()
        except Exception as exc:
            # The batch stays buffered and is retried: nothing is dropped. Said once.
            self._outage.failed(exc, buffered=waiting)
            return
        self._recovered(stored=waiting)

    def _recovered(self, stored: int = 0) -> None:
        """A write worked: if it ends an outage, say so once and re-read what was not kept."""
        not_buffered, self._not_buffered = self._not_buffered, 0
        if self._outage.active:
            not_applied, self._not_applied = self._not_applied, 0
            self._outage.succeeded(
                stored=stored, not_buffered=not_buffered, edits_deletes_not_applied=not_applied
            )
        if not_buffered:
            self.start_backfill("database back: re-read the messages not buffered")

    async def flush(self) -> None:
        async with self._flush_lock:
            while self._buffer:
                batch = self._buffer[:FLUSH_BATCH_MAX]
                result = await ingest(
                    self.bot.app,
                    self.clan_id,
                    batch,
                    source="live",
                    config=await self._relay_config(),
                )
                del self._buffer[: len(batch)]
                log.debug("relay.flushed", received=result.received, new=result.new)

    async def _relay_config(self) -> RelayConfig:
        # The clan's name (TrackScape broadcasts are authored by it) arrives with the first
        # WOM sync, so the parser's configuration is re-read now and then.
        loop = asyncio.get_running_loop()
        if self._config is None or loop.time() - self._config_at > CONFIG_REFRESH_S:
            self._config = await clan_relay_config(self.bot.app, self.clan_id, self._base_config)
            self._config_at = loop.time()
        return self._config

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.channel_id not in self.channel_ids:
            return
        data: dict[str, Any] = dict(payload.data)
        if "content" not in data and "embeds" not in data:
            return
        edited = data.get("edited_timestamp")
        when = datetime.fromisoformat(edited) if isinstance(edited, str) else self.bot.app.now()
        embeds = tuple(embed_in(discord.Embed.from_dict(e)) for e in data.get("embeds") or [])
        async with self._unless_unavailable("edit"):
            await self.flush()  # the original may still be in the buffer
            await apply_edit(
                self.bot.app,
                payload.message_id,
                config=self._base_config,
                content=str(data.get("content") or ""),
                embeds=embeds,
                edited_at=when,
            )

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.channel_id in self.channel_ids:
            async with self._unless_unavailable("delete"):
                await self.flush()
                await apply_delete(self.bot.app, [payload.message_id], self.bot.app.now())

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.channel_id in self.channel_ids:
            async with self._unless_unavailable("delete"):
                await self.flush()
                await apply_delete(self.bot.app, payload.message_ids, self.bot.app.now())

    @contextlib.asynccontextmanager
    async def _unless_unavailable(self, kind: str) -> AsyncIterator[None]:
        """An edit or delete while the database is unavailable: counted into the outage's
        one warning (no traceback per event) and not applied; any other error propagates."""
        try:
            yield
        except Exception as exc:
            if database_unavailable(exc) is None:
                raise
            self._not_applied += 1
            self._outage.failed(exc, not_applied=kind)
        else:
            self._recovered()

    # -- backfill ----------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.start_backfill("ready")

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self.start_backfill("resumed")

    @commands.Cog.listener()
    async def on_channel_usable(self, purpose: Purpose, channel_id: int) -> None:
        # A relay channel the bot could not read: what was posted meanwhile is read now.
        if purpose == "relay" and channel_id in self.channel_ids:
            self.start_backfill("channel readable again")

    def start_backfill(self, reason: str) -> None:
        """Fill every relay channel's gap; a request during a run queues one more run."""
        if self._unloaded:
            log.info("backfill.not_started", reason=reason, why="relay cog unloaded")
            return
        if self._backfill is not None and not self._backfill.done():
            self._backfill_again = True
            return
        log.info("backfill.requested", reason=reason)
        self._backfill = self.bot.tasks.spawn(
            "relay-backfill", self._backfill_all(), daemon=True, reason=reason
        )

    async def _backfill_all(self) -> None:
        delay = BACKFILL_RETRY_FIRST_S
        while True:
            self._backfill_again = False
            for channel_id in sorted(self.channel_ids):
                # Without View Channel / Read Message History, Discord would answer 403 or
                # an empty history: say so once and keep the cursor until it is fixed.
                if self.bot.channel_access.check("relay", channel_id) is not None:
                    continue
                channel = self.bot.get_channel(channel_id)
                if not isinstance(channel, discord.TextChannel | discord.Thread):
                    log.warning("backfill.channel_unavailable", channel_id=channel_id)
                    self.bot.progress[f"backfill {channel_id}"] = "not a text channel"
                    continue
                try:
                    await backfill_channel(
                        self.bot.app,
                        self.clan_id,
                        channel_id,
                        functools.partial(_pages, channel),
                        config=await clan_relay_config(
                            self.bot.app, self.clan_id, self._base_config
                        ),
                        backfill_days=self.bot.settings.backfill_days,
                        on_progress=self._report,
                    )
                except discord.Forbidden as exc:
                    self.bot.channel_access.refused("relay", channel_id, exc)
                except Exception as exc:
                    reason = database_unavailable(exc)
                    if reason is None:
                        raise
                    # The database is down, or another writer held the SQLite lock past the
                    # busy timeout: an outage, not the end of the backfill. The cursor kept
                    # what was stored; the run starts again after a pause.
                    log.warning(
                        "backfill.database_unavailable",
                        channel_id=channel_id,
                        reason=reason,
                        retry_s=delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKFILL_RETRY_MAX_S)
                    self._backfill_again = True
                    break
            if not self._backfill_again:
                return

    def _report(self, progress: BackfillProgress) -> None:
        channel = self.bot.get_channel(progress.channel_id)
        name = (
            f"#{channel.name}" if isinstance(channel, discord.TextChannel) else progress.channel_id
        )
        self.bot.progress[f"backfill {name}"] = progress.line()


async def _pages(
    channel: discord.TextChannel | discord.Thread, after_id: int | None, since: datetime
) -> AsyncIterator[list[RelayMessageIn]]:
    """History after ``after_id`` (or ``since``), oldest first, a Discord page at a time.

    discord.py fetches the next page only when this one is consumed, so each page is written
    before the next is requested.
    """
    after = discord.Object(id=after_id) if after_id is not None else since
    page: list[RelayMessageIn] = []
    async for message in channel.history(limit=None, after=after, oldest_first=True):
        page.append(relay_message_in(message))
        if len(page) >= PAGE:
            yield page
            page = []
    if page:
        yield page


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(RelayCog(bot))
