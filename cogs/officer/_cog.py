"""Officer commands (/clan …) and the member-facing /player and /leaderboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.usecases import reports
from bot.usecases.links import linked_members_of
from bot.usecases.reports import FINDINGS_WINDOWS, FindingsKind
from bot.usecases.reports.drops import drops_csv
from cogs._checks import (
    OFFICER_DEFAULT_PERMISSIONS,
    clan_id_of,
    clan_of,
    clan_only,
    officer_only,
)
from cogs.links import discord_names_of, link_notice, linked_display_names
from cogs.officer._paging import NO_MENTIONS, Pager
from cogs.officer._render import (
    daily_report_embeds,
    drops_lines,
    finding_line,
    findings_csv,
    findings_xlsx,
    leaderboard_embed,
    named_member_ids,
    profile_embed,
    unmatched_csv,
    unmatched_line,
)
from domain.timestamps import discord_span

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

PERIODS = ("1d", "7d", "30d", "90d", "365d")
_TITLES: dict[FindingsKind, str] = {
    "inactive": "Inactive members: no chat and no progress",
    "audit": "Officer audit: staff against the clan median",
    "alerts": "Alerts",
    "promotions": "Promotions due",
}
_EMPTY: dict[FindingsKind, str] = {
    "inactive": "Nobody is inactive. 🎉",
    "audit": "No staff ranks to audit.",
    "alerts": "No alerts.",
    "promotions": "Nobody is due a promotion yet.",
}

PublicOption = app_commands.describe(public="Post the answer for everyone (default: only you)")


class OfficerCog(commands.Cog):
    clan = app_commands.Group(
        name="clan",
        description="Officer answers about the clan",
        guild_only=True,
        default_permissions=OFFICER_DEFAULT_PERMISSIONS,
    )

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    def _autocomplete_clan(self, interaction: discord.Interaction[ClanStatsBot]) -> int | None:
        """The clan of the guild for an autocomplete (no checks run there): None without one."""
        wiring = self.bot.clans.for_guild(interaction.guild_id)
        return wiring.clan_id if wiring is not None else None

    async def _findings(
        self, interaction: discord.Interaction[ClanStatsBot], kind: FindingsKind, public: bool
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        app = self.bot.app
        clan_id = clan_id_of(interaction)
        found = await reports.findings(app, clan_id, kind, app.now())
        window = FINDINGS_WINDOWS[kind]
        if kind == "inactive":  # the clan's own window (/config inactivity)
            window = await reports.inactive_window_label(app, clan_id)
        stamp = f"{app.now():%Y%m%d}"
        pager = Pager(
            owner_id=interaction.user.id,
            title=_TITLES[kind],
            lines=[finding_line(f) for f in found],
            empty=_EMPTY[kind],
            footer=f"window {window}",
            files={
                f"clan-{kind}-{stamp}.csv": lambda: findings_csv(found),
                f"clan-{kind}-{stamp}.xlsx": lambda: findings_xlsx(found, kind),
            },
        )
        pager.interaction = interaction
        await interaction.followup.send(
            embed=pager.embed(), view=pager, ephemeral=not public, allowed_mentions=NO_MENTIONS
        )

    @clan.command(name="inactive", description="Purge candidates: no chat and no XP in 60 days")
    @officer_only()
    @PublicOption
    async def inactive(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await self._findings(interaction, "inactive", public)

    @clan.command(name="audit", description="How the officers are doing against the clan")
    @officer_only()
    @PublicOption
    async def audit(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await self._findings(interaction, "audit", public)

    @clan.command(name="alerts", description="Slumps, churn risk, silent grinders, idle chatters")
    @officer_only()
    @PublicOption
    async def alerts(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await self._findings(interaction, "alerts", public)

    @clan.command(name="promotions", description="Who is due a promotion, and why")
    @officer_only()
    @PublicOption
    async def promotions(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await self._findings(interaction, "promotions", public)

    @clan.command(name="unmatched", description="Names in clan chat that match no WOM member")
    @officer_only()
    @PublicOption
    async def unmatched(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        items = await reports.unmatched(self.bot.app, clan_id_of(interaction))
        pager = Pager(
            owner_id=interaction.user.id,
            title="Unmatched relay names",
            lines=[unmatched_line(u) for u in items],
            empty="Every name in clan chat matches a member. 🎉",
            files={"clan-unmatched.csv": lambda: unmatched_csv(items)},
        )
        pager.interaction = interaction
        await interaction.followup.send(
            embed=pager.embed(), view=pager, ephemeral=not public, allowed_mentions=NO_MENTIONS
        )

    @clan.command(name="drops", description="Biggest drops, pets, collection log and 99s")
    @officer_only()
    @app_commands.describe(
        period="1d, 7d, 30d, 90d or 365d", public="Post the answer for everyone (default: only you)"
    )
    @app_commands.choices(period=[app_commands.Choice(name=p, value=p) for p in PERIODS])
    async def drops(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        period: str = "7d",
        public: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        app = self.bot.app
        found = await reports.clan_drops(app, clan_id_of(interaction), period, app.now())
        window = found.window
        pager = Pager(
            owner_id=interaction.user.id,
            title=f"Drops, pets, collection log and 99s: {window.label}",
            lines=drops_lines(found),
            empty="No drop with a value, pet, collection-log item or 99 in this period.",
            header=discord_span(window.start, window.end),
            files={f"clan-drops-{window.label}-{app.now():%Y%m%d}.csv": lambda: drops_csv(found)},
        )
        pager.interaction = interaction
        await interaction.followup.send(
            embed=pager.embed(), view=pager, ephemeral=not public, allowed_mentions=NO_MENTIONS
        )

    @clan.command(name="report", description="Today's report: pulse, tops, attention")
    @officer_only()
    @PublicOption
    async def report(
        self, interaction: discord.Interaction[ClanStatsBot], public: bool = False
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        app, tz = self.bot.app, clan_of(interaction).tz
        clan_id = clan_id_of(interaction)
        built = await reports.daily_report(app, clan_id, app.now(), tz)
        names = await discord_names_of(
            self.bot, interaction.guild, clan_id, named_member_ids(built)
        )
        await interaction.followup.send(
            embeds=daily_report_embeds(built, tz, chart=None, discord_names=names),
            ephemeral=not public,
            allowed_mentions=NO_MENTIONS,
        )

    # -- member-facing -----------------------------------------------------------------------

    @app_commands.command(name="player", description="A member's stats, gains, chat and names")
    @app_commands.guild_only()
    @clan_only()
    @app_commands.describe(name="In-game name (current or earlier)", public="Post for everyone")
    async def player(
        self, interaction: discord.Interaction[ClanStatsBot], name: str, public: bool = False
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        app = self.bot.app
        clan_id = clan_id_of(interaction)
        profile = await reports.player_profile(app, clan_id, name, app.now())
        linked = await linked_display_names(
            interaction.guild, await linked_members_of(app, clan_id, profile.member_id)
        )
        notice = await link_notice(self.bot, interaction)
        await interaction.followup.send(
            notice if notice and not public else discord.utils.MISSING,
            embed=profile_embed(profile, clan_of(interaction).tz, linked=linked),
            ephemeral=not public,
            allowed_mentions=NO_MENTIONS,
        )
        if notice and public:
            await interaction.followup.send(notice, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @player.autocomplete("name")
    async def player_names(
        self, interaction: discord.Interaction[ClanStatsBot], current: str
    ) -> list[app_commands.Choice[str]]:
        clan_id = self._autocomplete_clan(interaction)
        if clan_id is None:
            return []
        names = await reports.roster_names(self.bot.app, clan_id, current)
        return _choices(names)

    @app_commands.command(
        name="leaderboard", description="Top gains by XP, EHP, EHB, a boss or chat"
    )
    @app_commands.guild_only()
    @clan_only()
    @app_commands.describe(
        metric="xp, ehp, ehb, chat, a boss (cox, tob, toa, zulrah…) or an activity",
        period="1d, 7d, 30d, 90d or 365d",
        public="Post for everyone",
    )
    @app_commands.choices(period=[app_commands.Choice(name=p, value=p) for p in PERIODS])
    async def leaderboard(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        metric: str,
        period: str = "7d",
        public: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=not public, thinking=True)
        app = self.bot.app
        board = await reports.leaderboard(app, clan_id_of(interaction), metric, period, app.now())
        await interaction.followup.send(
            embed=leaderboard_embed(board), ephemeral=not public, allowed_mentions=NO_MENTIONS
        )

    @leaderboard.autocomplete("metric")
    async def metric_names(
        self, interaction: discord.Interaction[ClanStatsBot], current: str
    ) -> list[app_commands.Choice[str]]:
        clan_id = self._autocomplete_clan(interaction)
        if clan_id is None:
            return []
        names = await reports.metric_autocomplete(self.bot.app, clan_id, current)
        return _choices(names)


def _choices(
    values: list[str], label: Callable[[str], str] = str
) -> list[app_commands.Choice[str]]:
    """At most 25 choices, names and values at most 100 characters (Discord's limits)."""
    return [app_commands.Choice(name=label(v)[:100], value=v[:100]) for v in values[:25]]
