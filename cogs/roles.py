"""``/roles map|unmap|show|preview|apply`` (officers) and the role sync after every WOM sync,
announced batched in the announcement channel (issue 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.clan_values import ClanValues, clan_values, clan_values_of
from bot.discord_roles import ROLE_REQUESTS_PER_S, DiscordRoleGateway, Pacer
from bot.usecases.roles import (
    RoleChangeLine,
    RoleError,
    RolePlan,
    map_role,
    mark_role_changes_announced,
    pending_role_changes,
    plan_roles,
    show_mappings,
    sync_roles,
    unmap_role,
)
from cogs._checks import OFFICER_DEFAULT_PERMISSIONS, officer_only

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
MAX_LINES = 40


def _safe(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _role_name(guild: discord.Guild | None, role_id: int) -> str:
    role = guild.get_role(role_id) if guild is not None else None
    return _safe(f"@{role.name}" if role is not None else f"role {role_id}")


def _member_name(names: Mapping[int, str], user_id: int) -> str:
    """A Discord member's server display name (never a mention), as looked up."""
    return _safe(names.get(user_id, "a member"))


def render_role_changes(
    guild: discord.Guild | None, lines: list[RoleChangeLine], names: Mapping[int, str]
) -> discord.Embed:
    """One embed for all role changes of a sync, however many (names only, no mentions)."""
    shown: list[str] = []
    for line in lines[:MAX_LINES]:
        sign = "➕" if line.action == "add" else "➖"
        verb = "given to" if line.action == "add" else "taken from"
        failed = " ⚠️ failed" if line.outcome != "applied" else ""
        shown.append(
            f"{sign} {_role_name(guild, line.role_id)} {verb} "
            f"{_member_name(names, line.discord_user_id)}: {_safe(line.reason)}{failed}"
        )
    if len(lines) > MAX_LINES:
        shown.append(f"… and {len(lines) - MAX_LINES} more")
    embed = discord.Embed(
        title="Role changes", description="\n".join(shown)[:4096], colour=discord.Colour.blue()
    )
    embed.set_footer(text=f"{len(lines)} change(s) from in-game ranks")
    return embed


def render_plan(guild: discord.Guild | None, plan: RolePlan, names: Mapping[int, str]) -> str:
    lines = [
        f"{'➕' if c.action == 'add' else '➖'} {_role_name(guild, c.role_id)} "
        f"{'to' if c.action == 'add' else 'from'} {_member_name(names, c.discord_user_id)}: "
        f"{_safe(c.reason)}"
        for c in plan.changes[:25]
    ]
    if len(plan.changes) > 25:
        lines.append(f"… and {len(plan.changes) - 25} more")
    for role_id, reason in sorted(plan.unusable.items()):
        lines.append(f"⛔ {_role_name(guild, role_id)} cannot be applied: {_safe(reason)}")
    head = (
        f"**{len(plan.changes)}** change(s) pending for {plan.members_checked} linked "
        f"member(s); {len(plan.not_in_server)} not found in the server."
    )
    tail = (
        "\nChanges apply after every sync."
        if plan.confirmed
        else "\nNothing is applied until an officer runs `/roles apply`."
    )
    return "\n".join([head, *lines]) + tail


class RolesCog(commands.Cog):
    roles = app_commands.Group(
        name="roles",
        description="In-game ranks → Discord roles (officers)",
        guild_only=True,
        default_permissions=OFFICER_DEFAULT_PERMISSIONS,
    )

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot
        #: Role-sync requests per second; tests with a big clan raise it.
        self.pace_per_s = ROLE_REQUESTS_PER_S
        # A sync and /roles apply may finish together: one apply at a time.
        self._applying = asyncio.Lock()

    def _gateway(self, guild: discord.Guild) -> DiscordRoleGateway:
        return DiscordRoleGateway(guild, Pacer(self.pace_per_s))

    async def _officer(self, interaction: discord.Interaction[ClanStatsBot]) -> ClanValues:
        """The clan's values; the officer check itself is :func:`officer_only` on each
        command (checked at run time, and the group hidden from members by Discord)."""
        return await clan_values(self.bot, interaction.guild_id)

    async def _reply(self, interaction: discord.Interaction[ClanStatsBot], text: str) -> None:
        await interaction.followup.send(text[:1900], ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- after every WOM sync ----------------------------------------------------------------

    @commands.Cog.listener()
    async def on_wom_synced(self, clan_id: int) -> None:
        """Apply the role changes (once an officer confirmed the first apply), then announce."""
        try:
            values = await clan_values_of(self.bot, clan_id)
        except LookupError:
            return  # the clan stopped meanwhile
        guild = self.bot.get_guild(values.guild_id or 0)
        if guild is None:
            return
        gateway = self._gateway(guild)
        async with self._applying:
            report = await sync_roles(self.bot.app, clan_id, gateway)
        if report is None:
            log.info("roles.waiting_for_first_apply", clan_id=clan_id)
            return
        await self.announce(values, guild, gateway.display_names())

    async def announce(
        self, values: ClanValues, guild: discord.Guild, names: Mapping[int, str]
    ) -> None:
        """Post the recorded, unannounced role changes in one embed; they stay pending while
        the announcement channel cannot be used."""
        channel_id = values.announce_channel_id
        if channel_id is None:
            return
        lines = await pending_role_changes(self.bot.app, values.clan_id)
        if not lines:
            return
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        if self.bot.channel_access.check("announce", channel_id) is not None:
            return
        for start in range(0, len(lines), MAX_LINES * 5):
            chunk = lines[start : start + MAX_LINES * 5]
            try:
                await channel.send(
                    embed=render_role_changes(guild, chunk, names), allowed_mentions=NO_MENTIONS
                )
            except discord.Forbidden as exc:
                self.bot.channel_access.refused("announce", channel_id, exc)
                return
            await mark_role_changes_announced(self.bot.app, chunk)

    # -- /roles ------------------------------------------------------------------------------

    @roles.command(name="map", description="Give a Discord role to linked members of a rank")
    @app_commands.describe(
        rank="An in-game rank, a tier (owner, deputy, leadership, officer, member) or `former`",
        role="The Discord role",
    )
    @officer_only()
    async def map_(
        self, interaction: discord.Interaction[ClanStatsBot], rank: str, role: discord.Role
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await self._officer(interaction)
        assert interaction.guild is not None
        view = await map_role(
            self.bot.app,
            values.clan_id,
            rank,
            role.id,
            self._gateway(interaction.guild),
            by=interaction.user.id,
        )
        await self._reply(
            interaction,
            _safe(f"Mapped: {view.described} → @{role.name}. `/roles preview` shows the changes."),
        )

    @roles.command(name="unmap", description="Remove a rank's role mapping")
    @app_commands.describe(rank="The rank, tier or `former`", role="Only this role (default: all)")
    @officer_only()
    async def unmap(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        rank: str,
        role: discord.Role | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await self._officer(interaction)
        removed = await unmap_role(
            self.bot.app, values.clan_id, rank, role.id if role is not None else None
        )
        await self._reply(
            interaction,
            f"{removed} mapping(s) removed. Roles already given stay: the bot never takes an "
            "unmapped role.",
        )

    @roles.command(name="show", description="The rank → role mappings and whether they work")
    @officer_only()
    async def show(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await self._officer(interaction)
        assert interaction.guild is not None
        views = await show_mappings(self.bot.app, values.clan_id, self._gateway(interaction.guild))
        if not views:
            await self._reply(interaction, "No mappings yet: `/roles map <rank> <role>`.")
            return
        lines = [
            f"{'✅' if v.refusal is None else '⛔'} {v.described} → "
            f"@{v.role_name or v.role_id}" + (f": {v.refusal}" if v.refusal else "")
            for v in views
        ]
        await self._reply(interaction, _safe("\n".join(lines)))

    @roles.command(name="preview", description="The role changes a sync would make now")
    @officer_only()
    async def preview(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await self._officer(interaction)
        assert interaction.guild is not None
        gateway = self._gateway(interaction.guild)
        plan = await plan_roles(self.bot.app, values.clan_id, gateway)
        await self._reply(
            interaction, render_plan(interaction.guild, plan, gateway.display_names())
        )

    @roles.command(
        name="apply", description="Apply the role changes now; from then on after every sync"
    )
    @officer_only()
    async def apply(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await self._officer(interaction)
        guild = interaction.guild
        assert guild is not None
        gateway = self._gateway(guild)
        async with self._applying:
            report = await sync_roles(
                self.bot.app, values.clan_id, gateway, confirmed_by=interaction.user.id
            )
        assert report is not None
        await self._reply(interaction, report.summary() + " Changes now apply after every sync.")
        await self.announce(values, guild, gateway.display_names())


__all__ = ["RoleError", "RolesCog", "render_plan", "render_role_changes"]


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(RolesCog(bot))
