"""WOM sync on a schedule, ``/sync now`` and ``/sync confirm-departures`` for officers,
roster-change announcements and the officers' notice of held departures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.app import sync_options
from bot.channel_access import Purpose
from bot.usecases.announce import (
    HeldDeparturesNotice,
    RosterChangeLine,
    mark_changes_announced,
    mark_hold_notice_announced,
    pending_hold_notice,
    pending_roster_changes,
)
from bot.usecases.jobs import (
    SYNC_JOB,
    JobResult,
    interval_slot,
    release_abandoned,
    until_sync_due,
)
from bot.usecases.sync import SyncOptions, SyncReport, confirm_departures, run_sync
from cogs._checks import officer_only

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

SYNC_JOB_ID = "wom-sync"
MAX_LINES = 40  # one embed, well inside the 4,096-character description

_VERBS = {
    "joined": "joined",
    "rejoined": "rejoined",
    "left": "left",
    "role_changed": "rank",
    "renamed": "renamed",
}


def render_changes(lines: list[RosterChangeLine]) -> discord.Embed:
    """One embed for all roster changes of a sync, however many there are."""
    shown: list[str] = []
    for line in lines[:MAX_LINES]:
        name = discord.utils.escape_markdown(line.display_name)
        if line.kind == "role_changed":
            text = f"🔁 **{name}**: {line.old_value or '?'} → {line.new_value or '?'}"
        elif line.kind == "renamed":
            old = discord.utils.escape_markdown(line.old_value or "?")
            text = f"✏️ **{old}** is now **{line.new_value or name}**"
        elif line.kind == "left":
            text = f"👋 **{name}** left the clan"
        else:
            text = f"🎉 **{name}** {_VERBS.get(line.kind, line.kind)} the clan"
        shown.append(discord.utils.escape_mentions(text))
    if len(lines) > MAX_LINES:
        shown.append(f"… and {len(lines) - MAX_LINES} more")
    embed = discord.Embed(
        title="Roster changes", description="\n".join(shown)[:4096], colour=discord.Colour.teal()
    )
    embed.set_footer(text=f"{len(lines)} change(s) from Wise Old Man")
    return embed


def render_hold_notice(notice: HeldDeparturesNotice) -> discord.Embed:
    """The officers' notice of departures a sync held back."""
    names = ", ".join(discord.utils.escape_markdown(n) for n in notice.names[:MAX_LINES])
    if len(notice.names) > MAX_LINES:
        names += f" … and {len(notice.names) - MAX_LINES} more"
    text = (
        f"**{len(notice.names)}** members missing from Wise Old Man's roster were **not** "
        f"marked as left: {notice.reason}.\n"
        f"{notice.pending} departures are held in all. If they really left, an officer can "
        "apply them with `/sync confirm-departures`; a member back in the roster is never "
        f"marked left.\n\nHeld: {names}"
    )
    embed = discord.Embed(
        title="Departures held for an officer",
        description=discord.utils.escape_mentions(text)[:4096],
        colour=discord.Colour.orange(),
    )
    embed.set_footer(text="ClanStats departure guard")
    return embed


def render_result(result: JobResult[SyncReport]) -> str:
    if result.value is not None:
        return result.value.summary()[:1900]
    if result.outcome == "skipped":
        return "A sync for this slot already ran or is running; nothing to do."
    return f"The sync failed: {result.error}"[:1900]


class SyncCog(commands.Cog):
    sync_group = app_commands.Group(
        name="sync", description="Wise Old Man sync (officers)", guild_only=True
    )

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        # A scheduled sync and /sync can finish together: one announcer at a time, so a
        # change is never posted twice.
        self._announcing = asyncio.Lock()
        self.options: SyncOptions = sync_options(bot.settings)
        self._clan_id: int | None = None  # the clan announced for, once a sync has run

    async def cog_load(self) -> None:
        if not self.bot.is_scheduler_leader:
            # Nothing to wait for in this process: another instance runs the syncs.
            self.bot.startup_sync_done.set()
        await self.bot.when_leader(self.start_jobs)

    async def start_jobs(self, takeover: bool) -> None:
        """Schedule the sync (this process leads); run a due one at once, never twice."""
        app = self.bot.app
        minutes = self.options.interval_minutes
        if self.bot.leader_since is not None:
            # A run of this slot still marked running from before this process led was a
            # dead process's (the previous leader's, or this bot's own before a SIGKILL):
            # without this, a restart inside the slot would skip the sync until the next.
            await release_abandoned(
                app,
                SYNC_JOB,
                interval_slot(app.now(), minutes),
                started_before=self.bot.leader_since,
            )
        # The scheduler runs on the wall clock (the app's clock may be a demo's or a test's).
        wait = await until_sync_due(app, app.now(), minutes)
        if wait <= timedelta(0):
            first = datetime.now(UTC) + timedelta(seconds=0.25)  # caught up right away
            # A report caught up now waits for this sync, as it does at startup.
            self.bot.startup_sync_done.clear()
            log.info("sync.catch_up_scheduled", reason="last good sync older than the interval")
        else:
            # Keep the cadence of the last sync (a takeover does not restart the interval).
            first = datetime.now(UTC) + wait
            self.bot.startup_sync_done.set()
        self.bot.add_job(
            self.scheduled_sync, "interval", minutes=minutes, id=SYNC_JOB_ID, next_run_time=first
        )

    async def cog_unload(self) -> None:
        if self.bot.scheduler.get_job(SYNC_JOB_ID):
            self.bot.scheduler.remove_job(SYNC_JOB_ID)

    async def scheduled_sync(self) -> None:
        try:
            result = await run_sync(self.bot.app, self.options)
        finally:
            self.bot.startup_sync_done.set()
        if result.value is not None:
            await self.announce(result.value.clan_id)

    async def announce(self, clan_id: int) -> None:
        """Post pending roster changes to the announce channel, once each, and tell officers
        of newly held departures (announce channel, else the report channel), once."""
        self._clan_id = clan_id
        async with self._announcing:
            channel_id = self.bot.settings.announce_channel_id
            if channel_id is not None:
                await self._announce(clan_id, channel_id)
            await self._notify_held(clan_id)

    async def _notify_held(self, clan_id: int) -> None:
        notice = await pending_hold_notice(self.bot.app, clan_id)
        if notice is None:
            return
        settings = self.bot.settings
        purpose: Purpose = "announce"
        channel_id = settings.announce_channel_id
        if channel_id is None:
            purpose, channel_id = "report", settings.report_channel_id
        if channel_id is None:
            return  # logged by the sync, and said in its summary
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("sync.notice_channel_missing", channel_id=channel_id)
            return
        if self.bot.channel_access.check(purpose, channel_id) is not None:
            return
        try:
            await channel.send(
                embed=render_hold_notice(notice), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.Forbidden as exc:
            self.bot.channel_access.refused(purpose, channel_id, exc)
            return
        await mark_hold_notice_announced(self.bot.app, notice)

    @commands.Cog.listener()
    async def on_channel_usable(self, purpose: Purpose, channel_id: int) -> None:
        """The announce channel is usable again: post what waited (else the next sync does)."""
        if purpose in ("announce", "report") and self._clan_id is not None:
            await self.announce(self._clan_id)

    async def _announce(self, clan_id: int, channel_id: int) -> None:
        lines = await pending_roster_changes(self.bot.app, clan_id)
        if not lines:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("sync.announce_channel_missing", channel_id=channel_id)
            return
        # Unposted changes stay pending: a channel the bot cannot post in is logged once
        # (and shown on /status), and they are announced once it is fixed.
        if self.bot.channel_access.check("announce", channel_id) is not None:
            return
        try:
            await channel.send(
                embed=render_changes(lines), allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.Forbidden as exc:
            self.bot.channel_access.refused("announce", channel_id, exc)
            return
        await mark_changes_announced(self.bot.app, lines)

    @sync_group.command(name="now", description="Sync the roster and stats from Wise Old Man now")
    @officer_only()
    async def sync_now(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        slot = f"manual-{interaction.id}"
        result = await run_sync(self.bot.app, self.options, slot=slot)
        await interaction.followup.send(
            render_result(result), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        if result.value is not None:
            await self.announce(result.value.clan_id)

    @sync_group.command(
        name="confirm-departures",
        description="Apply the departures a sync held back (members missing from WOM's roster)",
    )
    @officer_only()
    async def confirm_departures(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        app = self.bot.app
        done = await confirm_departures(
            app, self.options.group_id, by=f"discord:{interaction.user.id}"
        )
        result: JobResult[SyncReport] | None = None
        if done is None:
            text = "The clan was never synced: run `/sync now` first."
        elif not done.confirmed and not done.already_confirmed:
            text = done.summary()
        else:
            # Applied at once: a sync now marks those still missing as left.
            result = await run_sync(app, self.options, slot=f"confirm-{interaction.id}")
            text = f"{done.summary()}\n\n{render_result(result)}"
        await interaction.followup.send(
            text[:1900], ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        if result is not None and result.value is not None:
            await self.announce(result.value.clan_id)


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(SyncCog(bot))
