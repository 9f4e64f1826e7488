"""``/status``: what the bot has stored, its schema, and how its jobs last went."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.app import env_wiring
from bot.channel_access import Purpose
from bot.core.config_check import live_config_problems
from bot.usecases.clans import ClanWiring, live_wiring_problems, mark_active
from bot.usecases.status import StatusReport, build_status
from cogs._checks import OFFICER_DEFAULT_PERMISSIONS, clan_of, officer_only
from domain.relay_stats import FormatTally
from domain.timestamps import discord_timestamp, discord_when

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)


def render_status(report: StatusReport) -> discord.Embed:
    c = report.counts
    embed = discord.Embed(title="ClanStats status", colour=discord.Colour.blurple())
    embed.add_field(name="Database", value=report.database[:1024], inline=False)
    schema = report.schema_revision or "none"
    if report.schema_revision != report.schema_head:
        schema += f" (head {report.schema_head})"
    embed.add_field(name="Schema", value=schema)
    embed.add_field(name="Members", value=f"{c.members - c.members_left} ({c.members_left} left)")
    embed.add_field(name="Snapshots", value=f"{c.snapshots:,}")
    newest = discord_when(c.newest_message_at, "R")
    embed.add_field(name="Relay messages", value=f"{c.relay_messages:,} (newest {newest})")
    if report.jobs:
        lines = [
            f"`{j.job}` {j.outcome} {discord_timestamp(j.started_at, 'R')}" for j in report.jobs
        ]
        embed.add_field(name="Recent jobs", value="\n".join(lines)[:1024], inline=False)
    for name, text in list(report.progress.items())[:5]:
        embed.add_field(name=name[:256], value=text[:1024], inline=False)
    _add_relay_formats(embed, report.relay_formats, report)
    return embed


# Formats whose not-understood examples get a field of their own (25 fields at most).
_FORMATS_WITH_EXAMPLES = 4
# Discord's limit on the characters of all of an embed's texts together.
_EMBED_TOTAL_MAX = 6000


def _safe(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _code(text: str) -> str:
    """A name shown in a code span: no backtick can end it early (nothing else needs escaping
    there, and nothing in one can mention anyone)."""
    return text.replace("`", "'")[:60]


def _whole_lines(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in ``limit`` characters, then how many were left out."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        rest = len(lines) - index
        # room for the note the next line may need ("… and N more")
        note = len(f"\n… and {rest - 1} more") if rest > 1 else 0
        if used + len(line) + note > limit:
            kept.append(f"… and {rest} more")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _add_relay_formats(embed: discord.Embed, formats: FormatTally, report: StatusReport) -> None:
    """Per relay format: messages read and not understood, then recent examples of the
    not-understood ones (a new relay format, or a new broadcast, shows up here first)."""
    if not formats:
        return
    # The date goes in the value, where Discord renders timestamp markup (not in a name).
    since = (
        f"since {discord_timestamp(report.formats_since, 'd')}\n" if report.formats_since else ""
    )
    lines = [
        f"`{_code(fmt)}` {count.messages:,} read · {count.not_understood:,} not understood"
        for fmt, count in formats.ordered()
    ]
    embed.add_field(
        name="Relay formats",
        value=since + _whole_lines(lines, 1024 - len(since)),
        inline=False,
    )
    shown = [(fmt, c) for fmt, c in formats.ordered() if c.examples][:_FORMATS_WITH_EXAMPLES]
    for fmt, count in shown:
        room = _EMBED_TOTAL_MAX - len(embed) - 100
        if room < 200:
            break
        value = "\n".join(f"• {_safe(e.text)}" for e in count.examples)
        embed.add_field(
            name=f"Not understood: {_code(fmt)}"[:256],
            value=value[: min(1024, room)],
            inline=False,
        )


class AdminCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    def check_channels(self) -> None:
        """Check the bot may do its work in every channel of every clan the server has.

        A channel the server lacks is the configuration check's to report (on_ready); one
        the bot cannot use is reported once, and caught up on when fixed
        (:class:`bot.channel_access.ChannelAccess`).
        """
        access = self.bot.channel_access
        for wiring in self.bot.clans.all():
            wanted: list[tuple[Purpose, int | None]] = [
                *(("relay", cid) for cid in wiring.relay_channel_ids),
                ("report", wiring.report_channel_id),
                ("announce", wiring.announce_channel_id),
            ]
            for purpose, channel_id in wanted:
                if channel_id is not None and self.bot.get_channel(channel_id) is not None:
                    access.check(purpose, channel_id)

    # Discord tells the bot about every change that can change its permissions.
    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: object, after: object) -> None:
        self.check_channels()

    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: object) -> None:
        self.check_channels()

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: object, after: object) -> None:
        self.check_channels()

    @commands.Cog.listener()
    async def on_guild_role_create(self, role: object) -> None:
        self.check_channels()

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: object) -> None:
        self.check_channels()

    @commands.Cog.listener()
    async def on_member_update(self, before: object, after: object) -> None:
        self.check_channels()  # the bot's own roles (with the members intent)

    def _problems(self, wiring: ClanWiring) -> list[str]:
        guild = self.bot.get_guild(wiring.guild_id)
        found = {
            "guild_found": guild is not None,
            "channel_ids": {c.id for c in guild.channels} if guild else set(),
            "role_ids": {r.id for r in guild.roles} if guild else set(),
        }
        from_env = env_wiring(self.bot.settings)
        if from_env is not None and replace(from_env, clan_id=None, name="") == replace(
            wiring, clan_id=None, name=""
        ):
            # Still the environment's wiring: name the variables to fix.
            return live_config_problems(self.bot.settings, **found)  # type: ignore[arg-type]
        return live_wiring_problems(wiring, **found)  # type: ignore[arg-type]

    def check_configuration(self) -> None:
        """Say loudly (log and each clan's /status) which of its ids its server does not
        have, and which of its channels the bot cannot do its work in."""
        for wiring in self.bot.clans.all():
            problems = self._problems(wiring)
            for problem in problems:
                log.warning("config.live_mismatch", clan=wiring.label, problem=problem)
            text = "\n".join(problems) if problems else None
            self.bot.set_progress("configuration", text, wiring.guild_id)
        self.check_channels()

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.check_configuration()
        for guild in self.bot.guilds:
            await self.bot.sync_guild_commands(guild.id)

    # -- joining and leaving guilds ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left (was removed from) a guild: its clan's jobs stop, its data stays."""
        wiring = await mark_active(self.bot.app, guild.id, False)
        stopped = await self.bot.clans.stopped(guild.id) or wiring
        log.warning(
            "clans.guild_left",
            guild_id=guild.id,
            clan=stopped.label if stopped is not None else None,
            note="its jobs stopped; its data is kept, and resumes if the bot is added back",
        )

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """The bot was added to a guild: a clan set up there before resumes."""
        await self.bot.sync_guild_commands(guild.id)
        wiring = await mark_active(self.bot.app, guild.id, True)
        if wiring is None:
            log.info("clans.guild_joined", guild_id=guild.id, clan=None, next="/setup")
            return
        log.info("clans.guild_joined", guild_id=guild.id, clan=wiring.label, resumed=True)
        await self.bot.clans.saved(wiring)
        self.check_configuration()

    @app_commands.command(
        name="status", description="What ClanStats has stored and how its jobs went"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(OFFICER_DEFAULT_PERMISSIONS)
    @officer_only()
    async def status(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        wiring = clan_of(interaction)
        # Reading the store can take longer than Discord's 3 s to acknowledge on a busy host.
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await build_status(
            self.bot.app,
            self.bot.progress_for(wiring),
            clan_id=wiring.clan_id,
            job_suffix=f":{wiring.label}",
        )
        await interaction.followup.send(embed=render_status(report), ephemeral=True)


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(AdminCog(bot))
