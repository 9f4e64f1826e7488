"""The daily report: posted at the configured local time, once per day, caught up once.

A run claims ``(report.daily, <local date>)`` in ``job_runs`` before posting, so a restart
never posts the same day twice; on startup, a report whose time passed while the bot was down
is posted once, covering the 24 hours before its scheduled time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import discord
import structlog
from apscheduler.triggers.cron import CronTrigger
from discord.ext import commands

from bot.adapters.charts import render_activity_chart
from bot.channel_access import Purpose
from bot.usecases import reports
from bot.usecases.jobs import (
    JobResult,
    ever_ran,
    release_abandoned,
    run_job,
    slot_done,
    slot_failed,
)
from cogs.officer._render import daily_report_embeds

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

REPORT_JOB = "report.daily"
REPORT_JOB_ID = "daily-report"
CHART_NAME = "clan-activity.png"
STARTUP_SYNC_WAIT_S = 600.0


def last_report_time(now: datetime, settings: Any) -> datetime:
    """The most recent scheduled report time at or before ``now`` (an aware UTC datetime)."""
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
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if self.bot.settings.report_channel_id is None:
            log.info("report.disabled", reason="CLANSTATS_REPORT_CHANNEL_ID is not set")
            return
        await self.bot.when_leader(self.start_jobs)

    async def start_jobs(self, takeover: bool) -> None:
        """Schedule the daily report (this process leads) and catch a missed one up, once."""
        settings, app = self.bot.settings, self.bot.app
        trigger = CronTrigger(
            hour=settings.report_time.hour, minute=settings.report_time.minute, timezone=settings.tz
        )
        self.bot.add_job(self.scheduled_report, trigger, id=REPORT_JOB_ID)
        due = last_report_time(app.now(), settings)
        slot = self.slot(due)
        if self.bot.leader_since is not None:
            # A post of this day still marked running from before this process led was a
            # dead process's: the previous leader's (takeover), or this bot's own before a
            # SIGKILL or crash (startup). Leading means no other instance runs it now.
            await release_abandoned(app, REPORT_JOB, slot, started_before=self.bot.leader_since)
        if await slot_done(app, REPORT_JOB, slot):
            return
        # The bot was down at report time: catch up once, for that day. (A fresh install
        # has nothing to catch up: its first report comes at the next report time.) On a
        # takeover, a report time passed while this process was already up was missed by
        # the leader that died: caught up too.
        started = self.bot.started_at
        missed_while_up = takeover and started is not None and due > started
        if missed_while_up or await ever_ran(app, REPORT_JOB):
            log.info("report.catch_up_scheduled", slot=slot, takeover=takeover)
            self.bot.add_job(
                self.post_report,
                "date",
                run_date=datetime.now(UTC) + timedelta(seconds=0.25),  # scheduler: wall clock
                id="daily-report-catch-up",
                kwargs={"scheduled": due},
            )

    async def cog_unload(self) -> None:
        for job_id in (REPORT_JOB_ID, "daily-report-catch-up"):
            if self.bot.scheduler.get_job(job_id):
                self.bot.scheduler.remove_job(job_id)

    def slot(self, scheduled: datetime) -> str:
        return scheduled.astimezone(self.bot.settings.tz).strftime("%Y-%m-%d")

    async def scheduled_report(self) -> None:
        await self.post_report(last_report_time(self.bot.app.now(), self.bot.settings))

    @commands.Cog.listener()
    async def on_channel_usable(self, purpose: Purpose, channel_id: int) -> None:
        """The report channel is usable again: post the report that could not be posted."""
        if purpose != "report" or channel_id != self.bot.settings.report_channel_id:
            return
        due = last_report_time(self.bot.app.now(), self.bot.settings)
        if await slot_failed(self.bot.app, REPORT_JOB, self.slot(due)):
            log.info("report.retry", slot=self.slot(due), reason="report channel usable again")
            await self.post_report(due)

    async def post_report(self, scheduled: datetime) -> JobResult[None]:
        """Build and post the report for the 24 hours before ``scheduled``, once per day."""
        with contextlib.suppress(TimeoutError):
            # Right after startup, let the due WOM sync land first: the report is then
            # built on fresh stats (and never on a clan that was never synced).
            await asyncio.wait_for(self.bot.startup_sync_done.wait(), STARTUP_SYNC_WAIT_S)

        async def work() -> tuple[dict[str, Any], None]:
            app, settings = self.bot.app, self.bot.settings
            channel_id = settings.report_channel_id or 0
            # A channel the bot cannot post in fails this day's run with the reason (logged
            # once, on /status); the day stays due and is posted when the channel is fixed.
            self.bot.channel_access.require("report", channel_id)
            channel = self.bot.get_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise LookupError(f"report channel {channel_id} not found")
            clan_id = await reports.configured_clan_id(app, settings.wom_group_id)
            report = await reports.daily_report(app, clan_id, scheduled, settings.tz)
            png = render_activity_chart(
                report.heatmap,
                [(d.day, d.chat_lines, d.xp_gained) for d in report.trend],
                title=f"{report.clan_name}: clan activity",
                timezone=report.timezone,
            )
            try:
                await channel.send(
                    embeds=daily_report_embeds(report, settings.tz, chart=CHART_NAME),
                    file=discord.File(io.BytesIO(png), filename=CHART_NAME),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.Forbidden as exc:
                self.bot.channel_access.refused("report", channel_id, exc)
                raise
            return {"chat_lines": report.pulse.chat_lines, "xp": report.pulse.xp_gained}, None

        return await run_job(self.bot.app, REPORT_JOB, self.slot(scheduled), work)


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(ReportsCog(bot))
