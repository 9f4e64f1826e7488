"""The daily report: posted at the configured local time, once per day, caught up once.

A run claims ``(report.daily, <local date>)`` in ``job_runs`` before posting, so a restart
never posts the same day twice; on startup, a report whose time passed while the bot was down
is posted once, covering the 24 hours before its scheduled time. A run killed after Discord
took the post but before the database recorded it is found by the next run in the channel's
history (:func:`already_posted`) and recorded, not posted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import discord
import structlog
from apscheduler.triggers.cron import CronTrigger
from discord.ext import commands

from bot.adapters.charts import render_activity_chart
from bot.channel_access import Purpose
from bot.usecases import reports
from bot.usecases.clans import ClanWiring
from bot.usecases.jobs import (
    JobResult,
    ever_ran,
    release_abandoned,
    run_job,
    slot_done,
    slot_failed,
)
from cogs.links import discord_names_of
from cogs.officer._render import daily_report_embeds, named_member_ids

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

REPORT_JOB = "report.daily"
REPORT_JOB_ID = "daily-report"
CATCH_UP_JOB_ID = "daily-report-catch-up"
CHART_NAME = "clan-activity.png"
STARTUP_SYNC_WAIT_S = 600.0
#: How many of the report channel's messages after the report time are looked through for a
#: report an earlier, killed run already posted.
HISTORY_LOOKED_AT = 50


def report_job(wiring: ClanWiring) -> str:
    """A clan's daily report runs in ``job_runs``: ``report.daily:clan-<id>``."""
    return f"{REPORT_JOB}:{wiring.label}"


def report_job_id(wiring: ClanWiring) -> str:
    """The scheduler's id of a clan's daily report (``daily-report:clan-<id>``)."""
    return f"{REPORT_JOB_ID}:{wiring.label}"


def catch_up_job_id(wiring: ClanWiring) -> str:
    return f"{CATCH_UP_JOB_ID}:{wiring.label}"


def last_report_time(now: datetime, settings: Any) -> datetime:
    """The most recent scheduled report time at or before ``now`` (an aware UTC datetime);
    ``settings`` has ``tz`` and ``report_time`` (a clan's wiring)."""
    local = now.astimezone(settings.tz)
    today = local.replace(
        hour=settings.report_time.hour,
        minute=settings.report_time.minute,
        second=0,
        microsecond=0,
    )
    if today > local:
        today -= timedelta(days=1)
    return today.astimezone(now.tzinfo)


class ReportsCog(commands.Cog):
    """Each clan's daily report is a job of its own, at its own time in its own time zone,
    posted in its own channel: one clan's slow report never delays another's."""

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.clans.listen(self._clan_changed)
        await self.bot.when_leader(self.start_jobs)

    async def start_jobs(self, takeover: bool) -> None:
        for wiring in self.bot.clans.all():
            await self.start_clan(wiring, takeover=takeover)

    async def _clan_changed(self, old: ClanWiring | None, new: ClanWiring | None) -> None:
        if old is not None:
            self.bot.remove_job(report_job_id(old))
            self.bot.remove_job(catch_up_job_id(old))
        if new is not None and self.bot.is_scheduler_leader:
            await self.start_clan(new, takeover=False)

    async def start_clan(self, wiring: ClanWiring, *, takeover: bool) -> None:
        """Schedule one clan's daily report and catch a missed one up, once."""
        if wiring.report_channel_id is None:
            log.info("report.disabled", clan=wiring.label, reason="no report channel set")
            return
        app = self.bot.app
        trigger = CronTrigger(
            hour=wiring.report_time.hour, minute=wiring.report_time.minute, timezone=wiring.tz
        )
        guild = {"guild_id": wiring.guild_id}
        self.bot.add_job(self.scheduled_report, trigger, id=report_job_id(wiring), kwargs=guild)
        due = last_report_time(app.now(), wiring)
        slot = self.slot(wiring, due)
        job = report_job(wiring)
        if self.bot.leader_since is not None:
            # A post of this day still marked running from before this process led was a
            # dead process's: the previous leader's (takeover), or this bot's own before a
            # SIGKILL or crash (startup). Leading means no other instance runs it now.
            await release_abandoned(app, job, slot, started_before=self.bot.leader_since)
        if await slot_done(app, job, slot):
            return
        # The bot was down at report time: catch up once, for that day. (A fresh clan has
        # nothing to catch up: its first report comes at the next report time.) On a
        # takeover, a report time passed while this process was already up was missed by
        # the leader that died: caught up too.
        started = self.bot.started_at
        missed_while_up = takeover and started is not None and due > started
        if missed_while_up or await ever_ran(app, job):
            log.info("report.catch_up_scheduled", clan=wiring.label, slot=slot, takeover=takeover)
            self.bot.add_job(
                self.post_report,
                "date",
                run_date=datetime.now(UTC) + timedelta(seconds=0.25),  # scheduler: wall clock
                id=catch_up_job_id(wiring),
                kwargs={**guild, "scheduled": due},
            )

    async def cog_unload(self) -> None:
        for wiring in self.bot.clans.all():
            self.bot.remove_job(report_job_id(wiring))
            self.bot.remove_job(catch_up_job_id(wiring))

    @staticmethod
    def slot(wiring: ClanWiring, scheduled: datetime) -> str:
        return scheduled.astimezone(wiring.tz).strftime("%Y-%m-%d")

    async def scheduled_report(self, guild_id: int) -> None:
        wiring = self.bot.clans.for_guild(guild_id)
        if wiring is not None:
            await self.post_report(guild_id, last_report_time(self.bot.app.now(), wiring))

    @commands.Cog.listener()
    async def on_channel_usable(self, purpose: Purpose, channel_id: int) -> None:
        """A report channel is usable again: post the report that could not be posted."""
        if purpose != "report":
            return
        for wiring in self.bot.clans.all():
            if channel_id != wiring.report_channel_id:
                continue
            due = last_report_time(self.bot.app.now(), wiring)
            slot = self.slot(wiring, due)
            if await slot_failed(self.bot.app, report_job(wiring), slot):
                log.info(
                    "report.retry",
                    clan=wiring.label,
                    slot=slot,
                    reason="report channel usable again",
                )
                await self.post_report(wiring.guild_id, due)

    async def post_report(self, guild_id: int, scheduled: datetime) -> JobResult[None]:
        """Build and post a clan's report for the day before ``scheduled``, once per day."""
        wiring = self.bot.clans.for_guild(guild_id)
        if wiring is None or wiring.clan_id is None:
            return JobResult(REPORT_JOB, "", "skipped", {}, "the clan stopped")
        clan_id = wiring.clan_id
        slot = self.slot(wiring, scheduled)
        with contextlib.suppress(TimeoutError):
            # Right after startup, let the clan's due WOM sync land first: the report is
            # then built on fresh stats (and never on a clan that was never synced).
            await asyncio.wait_for(self.bot.sync_ready(clan_id).wait(), STARTUP_SYNC_WAIT_S)

        async def work() -> tuple[dict[str, Any], None]:
            app = self.bot.app
            channel_id = wiring.report_channel_id or 0
            # A channel the bot cannot post in fails this day's run with the reason (logged
            # once, on /status); the day stays due and is posted when the channel is fixed.
            self.bot.channel_access.require("report", channel_id)
            channel = self.bot.get_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise LookupError(f"report channel {channel_id} not found")
            earlier = await already_posted(channel, self.bot.user, scheduled, wiring.tz)
            if earlier is not None:
                # An earlier run posted it and died before recording so: record it now.
                log.warning(
                    "report.already_posted", clan=wiring.label, slot=slot, message_id=earlier
                )
                return {"already_posted": earlier}, None
            report = await reports.daily_report(app, clan_id, scheduled, wiring.tz)
            png = await asyncio.to_thread(
                render_activity_chart,
                report.heatmap,
                [(d.day, d.chat_lines, d.xp_gained) for d in report.trend],
                title=f"{report.clan_name}: clan activity",
                timezone=report.timezone,
            )
            guild = channel.guild if isinstance(channel, discord.abc.GuildChannel) else None
            names = await discord_names_of(self.bot, guild, clan_id, named_member_ids(report))
            try:
                await channel.send(
                    embeds=daily_report_embeds(
                        report, wiring.tz, chart=CHART_NAME, discord_names=names
                    ),
                    file=discord.File(io.BytesIO(png), filename=CHART_NAME),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.Forbidden as exc:
                self.bot.channel_access.refused("report", channel_id, exc)
                raise
            return {"chat_lines": report.pulse.chat_lines, "xp": report.pulse.xp_gained}, None

        return await run_job(self.bot.app, report_job(wiring), slot, work)


async def already_posted(
    channel: discord.abc.Messageable,
    me: discord.abc.Snowflake | None,
    scheduled: datetime,
    tz: tzinfo,
) -> int | None:
    """The id of this day's report when it is already in the channel, else None.

    A run killed between Discord's answer and the database write leaves its day unrecorded:
    the next run finds the post here (the bot's own message, not an answer to a command,
    after the report time, titled for that day) instead of posting it twice. A channel
    whose history the bot may not read cannot be checked: the report is posted."""
    if me is None:
        return None
    day = f"daily report, {scheduled.astimezone(tz):%a %d %b %Y}"
    try:
        async for message in channel.history(
            limit=HISTORY_LOOKED_AT, after=scheduled - timedelta(minutes=1), oldest_first=True
        ):
            if (
                message.author.id == me.id
                # the report job's own post, not an officer's public `/clan report` answer
                and message.interaction_metadata is None
                and any((embed.title or "").endswith(day) for embed in message.embeds[:1])
            ):
                return message.id
    except discord.HTTPException as exc:
        log.info("report.history_unreadable", status=exc.status, reason=str(exc)[:200])
    return None


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(ReportsCog(bot))
