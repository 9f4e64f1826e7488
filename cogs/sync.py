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

from bot.app import clan_sync_options
from bot.channel_access import Purpose
from bot.usecases.announce import (
    HeldDeparturesNotice,
    RosterChangeLine,
    mark_changes_announced,
    mark_hold_notice_announced,
    pending_hold_notice,
    pending_roster_changes,
)
from bot.usecases.clans import ClanWiring
from bot.usecases.jobs import (
    JobResult,
    interval_slot,
    release_abandoned,
    until_sync_due,
)
from bot.usecases.sync import SyncOptions, SyncReport, confirm_departures, run_sync
from cogs._checks import OFFICER_DEFAULT_PERMISSIONS, clan_of, officer_only
from domain.timestamps import discord_timestamp

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

SYNC_JOB_ID = "wom-sync"


def sync_job_id(wiring: ClanWiring) -> str:
    """The scheduler's id of a clan's sync job (``wom-sync:clan-<id>``)."""
    return f"{SYNC_JOB_ID}:{wiring.label}"


MAX_LINES = 40  # one embed, inside the 4,096-character description
_DESCRIPTION_MAX = 4096

_VERBS = {
    "joined": "joined",
    "rejoined": "rejoined",
    "left": "left",
    "role_changed": "rank",
    "renamed": "renamed",
}


def render_changes(lines: list[RosterChangeLine]) -> discord.Embed:
    """One embed for all roster changes of a sync, however many there are; each says when
    it happened, in the reader's own time zone."""
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
        stamp = discord_timestamp(line.occurred_at, "R")
        shown.append(f"{discord.utils.escape_mentions(text)} {stamp}")
    # Whole lines only: a cut inside a line could leave half a timestamp as raw text.
    kept: list[str] = []
    used = 0
    for index, text in enumerate(shown):
        left_out = len(lines) - index - 1
        note = len(f"\n… and {left_out} more") if left_out else 0
        if used + len(text) + note > _DESCRIPTION_MAX:
            break
        kept.append(text)
        used += len(text) + 1
    if len(lines) > len(kept):
        kept.append(f"… and {len(lines) - len(kept)} more")
    embed = discord.Embed(
        title="Roster changes", description="\n".join(kept), colour=discord.Colour.teal()
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
    """Each clan's WOM sync is a job of its own (``wom-sync:clan-<id>``, its runs
    ``wom.sync:clan-<id>`` in ``job_runs``): one clan's WOM failure or slow sync never
    delays another's."""

    sync_group = app_commands.Group(
        name="sync",
        description="Wise Old Man sync (officers)",
        guild_only=True,
        default_permissions=OFFICER_DEFAULT_PERMISSIONS,
    )

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        # A scheduled sync and /sync can finish together: one announcer at a time per clan,
        # so a change is never posted twice.
        self._announcing: dict[int, asyncio.Lock] = {}

    def options(self, wiring: ClanWiring) -> SyncOptions:
        return clan_sync_options(self.bot.settings, wiring)

    async def cog_load(self) -> None:
        if not self.bot.is_scheduler_leader:
            # Nothing to wait for in this process: another instance runs the syncs.
            for wiring in self.bot.clans.all():
                assert wiring.clan_id is not None
                self.bot.sync_ready(wiring.clan_id).set()
        self.bot.clans.listen(self._clan_changed)
        await self.bot.when_leader(self.start_jobs)

    async def start_jobs(self, takeover: bool) -> None:
        """Schedule every clan's sync (this process leads); run a due one at once."""
        for wiring in self.bot.clans.all():
            await self.start_clan(wiring, takeover=takeover)

    async def _clan_changed(self, old: ClanWiring | None, new: ClanWiring | None) -> None:
        """A clan was set up, re-wired, or stopped (the bot left its guild)."""
        if old is not None:
            self.bot.remove_job(sync_job_id(old))
        if new is not None and self.bot.is_scheduler_leader:
            await self.start_clan(new, takeover=False)

    async def start_clan(self, wiring: ClanWiring, *, takeover: bool) -> None:
        """Schedule one clan's sync; run a due one at once, never twice."""
        app = self.bot.app
        options = self.options(wiring)
        assert wiring.clan_id is not None
        ready = self.bot.sync_ready(wiring.clan_id)
        minutes = options.interval_minutes
        if self.bot.leader_since is not None:
            # A run of this slot still marked running from before this process led was a
            # dead process's (the previous leader's, or this bot's own before a SIGKILL):
            # without this, a restart inside the slot would skip the sync until the next.
            await release_abandoned(
                app,
                options.job,
                interval_slot(app.now(), minutes),
                started_before=self.bot.leader_since,
            )
        # The scheduler runs on the wall clock (the app's clock may be a demo's or a test's).
        wait = await until_sync_due(app, app.now(), minutes, job=options.job)
        if wait <= timedelta(0):
            first = datetime.now(UTC) + timedelta(seconds=0.25)  # caught up right away
            # A report caught up now waits for this sync, as it does at startup.
            ready.clear()
            log.info(
                "sync.catch_up_scheduled",
                clan=wiring.label,
                reason="last good sync older than the interval",
            )
        else:
            # Keep the cadence of the last sync (a takeover does not restart the interval).
            first = datetime.now(UTC) + wait
            ready.set()
        self.bot.add_job(
            self.scheduled_sync,
            "interval",
            minutes=minutes,
            id=sync_job_id(wiring),
            next_run_time=first,
            kwargs={"guild_id": wiring.guild_id},
        )

    async def cog_unload(self) -> None:
        for wiring in self.bot.clans.all():
            self.bot.remove_job(sync_job_id(wiring))

    async def scheduled_sync(self, guild_id: int) -> None:
        wiring = self.bot.clans.for_guild(guild_id)
        if wiring is None or wiring.clan_id is None:
            return  # stopped meanwhile
        try:
            result = await run_sync(self.bot.app, self.options(wiring))
        finally:
            self.bot.sync_ready(wiring.clan_id).set()
        if result.value is not None:
            await self.synced(wiring, result.value.clan_id)

    async def synced(self, wiring: ClanWiring, clan_id: int) -> None:
        """After a sync that stored something: announce, then tell the other cogs
        (``on_wom_synced``: the rank → role sync runs then)."""
        await self.announce(wiring, clan_id)
        self.bot.dispatch("wom_synced", clan_id)

    async def announce(self, wiring: ClanWiring, clan_id: int) -> None:
        """Post pending roster changes to the clan's announce channel, once each, and tell
        its officers of newly held departures (announce channel, else report channel)."""
        lock = self._announcing.setdefault(clan_id, asyncio.Lock())
        async with lock:
            channel_id = wiring.announce_channel_id
            if channel_id is not None:
                await self._announce(clan_id, channel_id)
            await self._notify_held(wiring, clan_id)

    async def _notify_held(self, wiring: ClanWiring, clan_id: int) -> None:
        notice = await pending_hold_notice(self.bot.app, clan_id)
        if notice is None:
            return
        purpose: Purpose = "announce"
        channel_id = wiring.announce_channel_id
        if channel_id is None:
            purpose, channel_id = "report", wiring.report_channel_id
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
        """An announce (or report) channel is usable again: post what waited for its clan."""
        if purpose not in ("announce", "report"):
            return
        for wiring in self.bot.clans.all():
            if channel_id in (wiring.announce_channel_id, wiring.report_channel_id):
                assert wiring.clan_id is not None
                await self.announce(wiring, wiring.clan_id)

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
        wiring = clan_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        slot = f"manual-{interaction.id}"
        result = await run_sync(self.bot.app, self.options(wiring), slot=slot)
        await interaction.followup.send(
            render_result(result), ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        if result.value is not None:
            await self.synced(wiring, result.value.clan_id)

    @sync_group.command(
        name="confirm-departures",
        description="Apply the departures a sync held back (members missing from WOM's roster)",
    )
    @officer_only()
    async def confirm_departures(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        wiring = clan_of(interaction)
        options = self.options(wiring)
        await interaction.response.defer(ephemeral=True, thinking=True)
        app = self.bot.app
        done = await confirm_departures(app, options.group_id, by=f"discord:{interaction.user.id}")
        result: JobResult[SyncReport] | None = None
        if done is None:
            text = "The clan was never synced: run `/sync now` first."
        elif not done.confirmed and not done.already_confirmed:
            text = done.summary()
        else:
            # Applied at once: a sync now marks those still missing as left.
            result = await run_sync(app, options, slot=f"confirm-{interaction.id}")
            text = f"{done.summary()}\n\n{render_result(result)}"
        await interaction.followup.send(
            text[:1900], ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        if result is not None and result.value is not None:
            await self.synced(wiring, result.value.clan_id)


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(SyncCog(bot))
