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
from domain.relay import EmbedIn, RelayConfig, RelayMessageIn

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

FLUSH_AT = 100  # messages
FLUSH_EVERY_S = 1.0
PAGE = 100  # Discord's largest history page
CONFIG_REFRESH_S = 60.0


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
        try:
            await self.flush()  # nothing buffered is lost on shutdown
        except Exception as exc:  # discord.py swallows unload errors: say it here
            log.error("relay.final_flush_failed", error=repr(exc), exc_info=exc)

    # -- live --------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.channel.id not in self.channel_ids:
            return
        if self.bot.user is not None and message.author.id == self.bot.user.id:
            return
        self._buffer.append(relay_message_in(message))
        if len(self._buffer) >= FLUSH_AT:
            self._flush_now.set()

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), FLUSH_EVERY_S)
            self._flush_now.clear()
            if not self._buffer:
                continue
            with traced():  # each flush is its own unit of work: its own trace id
                try:
                    await self.flush()
                except Exception as exc:
                    # The batch stays buffered and is retried next tick: nothing is dropped.
                    log.error("relay.flush_failed", error=repr(exc), exc_info=exc)

    async def flush(self) -> None:
        async with self._flush_lock:
            if not self._buffer:
                return
            batch = self._buffer[:]
            result = await ingest(
                self.bot.app, self.clan_id, batch, source="live", config=await self._relay_config()
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
        await self.flush()  # the original may still be in the buffer
        edited = data.get("edited_timestamp")
        when = datetime.fromisoformat(edited) if isinstance(edited, str) else self.bot.app.now()
        embeds = tuple(embed_in(discord.Embed.from_dict(e)) for e in data.get("embeds") or [])
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
            await self.flush()
            await apply_delete(self.bot.app, [payload.message_id], self.bot.app.now())

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.channel_id in self.channel_ids:
            await self.flush()
            await apply_delete(self.bot.app, payload.message_ids, self.bot.app.now())

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
