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

from bot.app import clan_relay_base
from bot.channel_access import Purpose
from bot.core.config import ConfigError
from bot.core.tracing import traced
from bot.usecases.backfill import BackfillProgress, backfill_channel
from bot.usecases.clans import ClanWiring
from bot.usecases.harvest import (
    apply_delete,
    apply_edit,
    clan_relay_config,
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
    """Every clan's relay channels: a message is stored for the clan whose relay channel it
    was posted in (a channel belongs to one clan), and only when that channel is in the
    clan's own guild. Each clan's backfill runs on its own."""

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        # Per clan id: its parser configuration (relay authors, custom formats), with the
        # clan's name added as it is learnt, and when that was read.
        self._configs: dict[int, tuple[RelayConfig, float]] = {}
        # Messages waiting to be stored, each with the clan it belongs to.
        self._buffer: list[tuple[int, RelayMessageIn]] = []
        # While the database is unavailable messages wait in the buffer, up to this many;
        # later ones are counted, not kept: the backfill re-reads them from Discord.
        self._buffer_max = bot.settings.relay_buffer_max
        self._not_buffered = 0
        self._outage = Outage("relay")
        self._not_applied = 0  # edits and deletes that came during an outage
        self._flush_now = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        # Per guild: the clan's backfill task, and whether another run was asked for.
        self._backfills: dict[int, asyncio.Task[None]] = {}
        self._backfill_again: set[int] = set()
        self._unloaded = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def cog_load(self) -> None:
        self.bot.clans.listen(self._clan_changed)
        self._flusher = self.bot.tasks.spawn("relay-flusher", self._flush_loop(), daemon=True)

    async def _clan_changed(self, old: ClanWiring | None, new: ClanWiring | None) -> None:
        """A clan was set up or re-wired (read its channels now) or stopped (stop reading)."""
        if old is not None and old.clan_id is not None:
            self._configs.pop(old.clan_id, None)
        if new is None and old is not None:
            task = self._backfills.pop(old.guild_id, None)
            if task is not None and not task.done():
                task.cancel()
            return
        if new is not None and self.bot.is_ready():
            self.start_backfill("clan set up", guild_id=new.guild_id)

    async def cog_unload(self) -> None:
        # A ready/resumed listener already scheduled may still run: it must not start a
        # backfill that nothing would stop before the database closes.
        self._unloaded = True
        for task in (*self._backfills.values(), self._flusher):
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

    def _clan_of_channel(self, channel_id: int, guild_id: int | None) -> ClanWiring | None:
        """The clan whose relay channel this is, if the channel is in that clan's guild."""
        wiring = self.bot.clans.for_relay_channel(channel_id)
        if wiring is None or wiring.clan_id is None:
            return None
        if guild_id != wiring.guild_id:
            # Nothing crosses guilds: a channel id saved by one guild's clan that Discord
            # reports in another guild is not that clan's relay.
            log.warning(
                "relay.channel_in_other_guild",
                channel_id=channel_id,
                guild_id=guild_id,
                clan=wiring.label,
            )
            return None
        return wiring

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.clans.for_relay_channel(message.channel.id) is None:
            return
        wiring = self._clan_of_channel(
            message.channel.id, message.guild.id if message.guild is not None else None
        )
        if wiring is None or wiring.clan_id is None:
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
        self._buffer.append((wiring.clan_id, relay_message_in(message)))
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
        """Store the buffer, each clan's messages for that clan, oldest first."""
        async with self._flush_lock:
            while self._buffer:
                clan_id = self._buffer[0][0]
                count = 0
                for owner, _ in self._buffer[:FLUSH_BATCH_MAX]:
                    if owner != clan_id:
                        break
                    count += 1
                batch = [message for _, message in self._buffer[:count]]
                config = await self._relay_config(clan_id)
                if config is None:  # the clan stopped, or its formats cannot be compiled
                    del self._buffer[:count]
                    continue
                result = await ingest(self.bot.app, clan_id, batch, source="live", config=config)
                del self._buffer[:count]
                log.debug("relay.flushed", received=result.received, new=result.new)
                if result.links:
                    self.bot.dispatch("links_made", clan_id)

    def _base_config(self, clan_id: int) -> RelayConfig | None:
        wiring = self.bot.clans.for_clan(clan_id)
        if wiring is None:
            return None
        try:
            return clan_relay_base(wiring)
        except ConfigError as exc:
            log.error("relay.bad_formats", clan=wiring.label, error=str(exc)[:300])
            return None

    async def _relay_config(self, clan_id: int) -> RelayConfig | None:
        # The clan's name (TrackScape broadcasts are authored by it) arrives with the first
        # WOM sync, so the parser's configuration is re-read now and then.
        loop = asyncio.get_running_loop()
        cached = self._configs.get(clan_id)
        if cached is None or loop.time() - cached[1] > CONFIG_REFRESH_S:
            base = self._base_config(clan_id)
            if base is None:
                return None
            config = await clan_relay_config(self.bot.app, clan_id, base)
            self._configs[clan_id] = (config, loop.time())
            return config
        return cached[0]

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        wiring = self._clan_of_channel(payload.channel_id, payload.guild_id)
        if wiring is None or wiring.clan_id is None:
            return
        data: dict[str, Any] = dict(payload.data)
        if "content" not in data and "embeds" not in data:
            return
        base = self._base_config(wiring.clan_id)
        if base is None:
            return
        edited = data.get("edited_timestamp")
        when = datetime.fromisoformat(edited) if isinstance(edited, str) else self.bot.app.now()
        embeds = tuple(embed_in(discord.Embed.from_dict(e)) for e in data.get("embeds") or [])
        async with self._unless_unavailable("edit"):
            await self.flush()  # the original may still be in the buffer
            await apply_edit(
                self.bot.app,
                payload.message_id,
                config=base,
                content=str(data.get("content") or ""),
                embeds=embeds,
                edited_at=when,
            )

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if self._clan_of_channel(payload.channel_id, payload.guild_id) is not None:
            async with self._unless_unavailable("delete"):
                await self.flush()
                await apply_delete(self.bot.app, [payload.message_id], self.bot.app.now())

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if self._clan_of_channel(payload.channel_id, payload.guild_id) is not None:
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
        wiring = self.bot.clans.for_relay_channel(channel_id)
        if purpose == "relay" and wiring is not None:
            self.start_backfill("channel readable again", guild_id=wiring.guild_id)

    def start_backfill(self, reason: str, *, guild_id: int | None = None) -> None:
        """Fill the relay channels' gaps of one clan (``guild_id``) or of every clan, each
        clan in a task of its own; a request during a clan's run queues one more run."""
        if self._unloaded:
            log.info("backfill.not_started", reason=reason, why="relay cog unloaded")
            return
        clans = self.bot.clans.all()
        for wiring in clans if guild_id is None else [self.bot.clans.for_guild(guild_id)]:
            if wiring is None or not wiring.relay_channel_ids:
                continue
            running = self._backfills.get(wiring.guild_id)
            if running is not None and not running.done():
                self._backfill_again.add(wiring.guild_id)
                continue
            log.info("backfill.requested", reason=reason, clan=wiring.label)
            self._backfills[wiring.guild_id] = self.bot.tasks.spawn(
                f"relay-backfill:{wiring.label}",
                self._backfill_clan(wiring.guild_id),
                daemon=True,
                reason=reason,
            )

    async def _backfill_clan(self, guild_id: int) -> None:
        delay = BACKFILL_RETRY_FIRST_S
        while True:
            self._backfill_again.discard(guild_id)
            wiring = self.bot.clans.for_guild(guild_id)
            if wiring is None or wiring.clan_id is None:
                return  # stopped meanwhile
            base = self._base_config(wiring.clan_id)
            if base is None:
                return
            for channel_id in sorted(wiring.relay_channel_ids):
                try:
                    await self._backfill_one(wiring, wiring.clan_id, channel_id, base)
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
                        clan=wiring.label,
                        reason=reason,
                        retry_s=delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, BACKFILL_RETRY_MAX_S)
                    self._backfill_again.add(guild_id)
                    break
            # A `!link` line typed while the bot was away: its member is told now.
            self.bot.dispatch("links_made", wiring.clan_id)
            if guild_id not in self._backfill_again:
                return

    async def _backfill_one(
        self, wiring: ClanWiring, clan_id: int, channel_id: int, base: RelayConfig
    ) -> None:
        # Without View Channel / Read Message History, Discord would answer 403 or an empty
        # history: say so once and keep the cursor until it is fixed.
        if self.bot.channel_access.check("relay", channel_id) is not None:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            log.warning("backfill.channel_unavailable", channel_id=channel_id)
            self.bot.set_progress(f"backfill {channel_id}", "not a text channel", wiring.guild_id)
            return
        if channel.guild.id != wiring.guild_id:
            log.warning(
                "relay.channel_in_other_guild",
                channel_id=channel_id,
                guild_id=channel.guild.id,
                clan=wiring.label,
            )
            return
        try:
            await backfill_channel(
                self.bot.app,
                clan_id,
                channel_id,
                functools.partial(_pages, channel),
                config=await clan_relay_config(self.bot.app, clan_id, base),
                backfill_days=self.bot.settings.backfill_days,
                on_progress=functools.partial(self._report, wiring.guild_id),
            )
        except discord.Forbidden as exc:
            self.bot.channel_access.refused("relay", channel_id, exc)

    def _report(self, guild_id: int, progress: BackfillProgress) -> None:
        channel = self.bot.get_channel(progress.channel_id)
        name = (
            f"#{channel.name}" if isinstance(channel, discord.TextChannel) else progress.channel_id
        )
        self.bot.set_progress(f"backfill {name}", progress.line(), guild_id)


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
