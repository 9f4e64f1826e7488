"""``/config``: the clan's rules, shown, changed (each change previewed, then saved on Save)
and their history. Manage Server only: Discord hides the group from other members
(``default_member_permissions``) and the bot checks again at run time, since a server's
integration settings can open a command to anyone.

Every change goes through :mod:`bot.usecases.clan_config` (the same checks as
``clanstats config``): a refused value (an unknown rank, a ladder loop, a number out of
bounds) is answered with the reason and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.usecases.clan_config import (
    ChangePreview,
    ConfigError,
    apply_change,
    config_history,
    config_show,
    preview_change,
    propose_change,
)
from cogs._checks import clan_id_of
from domain.clan_config import (
    INACTIVITY_KEYS,
    LADDER_KEY,
    SETTINGS,
    THRESHOLD_KEYS,
    TIER_KEYS,
    TIER_LIST_KEYS,
    Json,
    parse_text,
)
from domain.ranks import pretty_rank, role_key

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
#: How long the Save / Cancel buttons of a preview work.
CONFIRM_TIMEOUT_S = 300.0
#: Discord's limit on an embed description.
_DESCRIPTION_MAX = 4096
ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)


class NotAnAdmin(app_commands.CheckFailure):
    """The invoking member lacks Manage Server."""


def is_admin(member: discord.Member | discord.User) -> bool:
    """Manage Server (or Administrator) in this server."""
    if not isinstance(member, discord.Member):
        return False
    perms = member.guild_permissions
    return perms.manage_guild or perms.administrator


T = TypeVar("T")


def admin_only() -> Callable[[T], T]:
    """An app-command check run on every invocation: Manage Server."""

    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage("This command only works in a server.")
        if not is_admin(interaction.user):
            raise NotAnAdmin("Only members with Manage Server can see or change the clan's rules.")
        return True

    return app_commands.check(predicate)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _readable(setting: str, text: str) -> str:
    """A ladder's rungs one per line; anything else as it is."""
    if setting == LADDER_KEY and "; " in text:
        return "\n" + "\n".join(f"• {rung}" for rung in text.split("; "))
    return text


def preview_embed(
    preview: ChangePreview,
    title: str = "Change the clan's rules?",
    labels: tuple[str, str] = ("now", "new"),
) -> discord.Embed:
    """What a change would do, old → new, for the admin to confirm."""
    old, new = labels
    parts = [
        f"**{item.setting}**\n{old}: {_readable(item.setting, item.old_text)}\n"
        f"{new}: {_readable(item.setting, item.new_text)}"
        for item in preview.items
    ]
    embed = discord.Embed(
        title=title,
        description=_cut("\n\n".join(parts), _DESCRIPTION_MAX),
        colour=discord.Colour.orange(),
    )
    embed.set_footer(text="Nothing is saved until you press Save.")
    return embed


def _done_embed(
    preview: ChangePreview, title: str, colour: discord.Colour, *, saved: bool = False
) -> discord.Embed:
    embed = preview_embed(preview, title, ("was", "now") if saved else ("now", "not saved"))
    embed.colour = colour
    embed.remove_footer()
    return embed


class ConfirmView(discord.ui.View):
    """Save or Cancel a previewed change; only the admin who asked can press them."""

    def __init__(self, cog: ConfigCog, preview: ChangePreview, owner_id: int) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT_S)
        self.cog = cog
        self.preview = preview
        self.owner_id = owner_id
        self.interaction: discord.Interaction[ClanStatsBot] | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.owner_id and is_admin(interaction.user):
            return True
        await interaction.response.send_message(
            "Only the admin who asked for this change can save or cancel it.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )
        return False

    @discord.ui.button(label="Save", style=discord.ButtonStyle.success, custom_id="config:save")
    async def save(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[ConfirmView]
    ) -> None:
        self.stop()
        user = interaction.user
        try:
            await apply_change(
                self.cog.bot.app, self.preview, actor_id=user.id, actor_name=user.name
            )
        except ConfigError as exc:
            log.info("config.refused", reason=str(exc), user_id=user.id)
            embed = _done_embed(self.preview, "Not saved", discord.Colour.red())
            embed.add_field(name="Why", value=_cut(str(exc), 1024), inline=False)
            await interaction.response.edit_message(embed=embed, view=None)
            return
        log.info("config.saved", user_id=user.id, settings=[i.setting for i in self.preview.items])
        embed = _done_embed(self.preview, "Saved", discord.Colour.green(), saved=True)
        embed.set_footer(text=f"Saved by {user.name}; /config history lists every change.")
        await interaction.response.edit_message(embed=embed, view=None)

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, custom_id="config:cancel"
    )
    async def cancel(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[ConfirmView]
    ) -> None:
        self.stop()
        embed = _done_embed(self.preview, "Cancelled: nothing changed", discord.Colour.dark_grey())
        await interaction.response.edit_message(embed=embed, view=None)

    async def on_timeout(self) -> None:
        """Expired: say so and take the buttons away, so nobody presses a dead control."""
        if self.interaction is None:
            return
        embed = _done_embed(self.preview, "Expired: nothing changed", discord.Colour.dark_grey())
        try:
            await self.interaction.edit_original_response(embed=embed, view=None)
        except discord.HTTPException as exc:
            log.info("config.expire_edit_failed", error=repr(exc))


def _choices(keys: tuple[str, ...]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=k, value=k) for k in keys]


class ConfigCog(commands.Cog):
    config = app_commands.Group(
        name="config",
        description="The clan's rules: show, change (previewed first), history",
        guild_only=True,
        default_permissions=ADMIN_PERMISSIONS,
    )

    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    async def _clan_id(self, interaction: discord.Interaction[ClanStatsBot]) -> int:
        """This guild's clan: the one place the cog asks (clans are per guild)."""
        return clan_id_of(interaction)

    async def _propose(
        self, interaction: discord.Interaction[ClanStatsBot], values: dict[str, Json | None]
    ) -> None:
        """Preview ``values``: refused with the reason, or shown with Save / Cancel."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            preview = await preview_change(self.bot.app, await self._clan_id(interaction), values)
        except ConfigError as exc:
            await self._refuse(interaction, exc)
            return
        await self._offer(interaction, preview)

    async def _refuse(
        self, interaction: discord.Interaction[ClanStatsBot], exc: ConfigError
    ) -> None:
        log.info("config.refused", reason=str(exc), user_id=interaction.user.id)
        await interaction.followup.send(
            _cut(f"Not changed: {exc}", 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def _offer(
        self, interaction: discord.Interaction[ClanStatsBot], preview: ChangePreview
    ) -> None:
        if preview.changes_nothing:
            await interaction.followup.send(
                "Nothing to change: the clan already has these values.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        view = ConfirmView(self, preview, interaction.user.id)
        view.interaction = interaction
        await interaction.followup.send(
            embed=preview_embed(preview), view=view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def _parsed(
        self, interaction: discord.Interaction[ClanStatsBot], key: str, text: str
    ) -> Json | None:
        try:
            return parse_text(key, text)
        except ConfigError as exc:
            await interaction.response.send_message(
                _cut(f"Not changed: {exc}", 2000), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            raise

    # -- reading ---------------------------------------------------------------------------

    @config.command(name="show", description="Every rule setting and the value in use")
    @admin_only()
    async def show(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        view = await config_show(self.bot.app, await self._clan_id(interaction))
        lines = [
            f"{'**' if s.is_set else ''}`{s.key}`{'**' if s.is_set else ''}: "
            f"{_readable(s.key, s.value)}"
            for s in view.settings
        ]
        embed = discord.Embed(
            title=f"Rules of {view.clan_name or 'the clan'}",
            description=_cut("\n".join(lines), _DESCRIPTION_MAX),
            colour=discord.Colour.blurple(),
        )
        embed.set_footer(text="Bold: set by the clan; the rest are defaults. docs/configuration.md")
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @config.command(name="history", description="Who changed which rule, when, old → new")
    @admin_only()
    async def history(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        entries = await config_history(self.bot.app, await self._clan_id(interaction), 15)
        lines = [
            f"{discord.utils.format_dt(e.changed_at, 'f')} "
            f"{f'<@{e.actor_id}>' if e.actor_id else e.actor_name}: **{e.setting}** "
            f"{_cut(e.old_text, 300)} → {_cut(e.new_text, 300)}"
            for e in entries
        ]
        embed = discord.Embed(
            title="Rule changes, newest first",
            description=_cut("\n".join(lines), _DESCRIPTION_MAX)
            if lines
            else "No change recorded yet: every rule has its default.",
            colour=discord.Colour.blurple(),
        )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # -- changing --------------------------------------------------------------------------

    @config.command(name="inactivity", description="The purge list's window and minimum tenure")
    @admin_only()
    @app_commands.describe(
        window_days="Days with no chat and no progress that make a member inactive (7–365)",
        min_tenure_days="Members fewer days in the clan are never listed (0–365)",
    )
    async def inactivity(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        window_days: app_commands.Range[int, 7, 365] | None = None,
        min_tenure_days: app_commands.Range[int, 0, 365] | None = None,
    ) -> None:
        given = dict(zip(INACTIVITY_KEYS, (window_days, min_tenure_days), strict=True))
        values = {k: v for k, v in given.items() if v is not None}
        if not values:
            await interaction.response.send_message(
                "Give window_days, min_tenure_days or both.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await self._propose(interaction, dict(values))

    @config.command(name="threshold", description="One alert or audit threshold")
    @admin_only()
    @app_commands.describe(
        name="The threshold", value="A number: 20, 0.3 or 30%, 1m; 'default' resets it"
    )
    @app_commands.choices(name=_choices(THRESHOLD_KEYS))
    async def threshold(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        name: str,
        value: app_commands.Range[str, 1, 40],
    ) -> None:
        try:
            parsed = await self._parsed(interaction, name, value)
        except ConfigError:
            return
        await self._propose(interaction, {name: parsed})

    @config.command(name="tier", description="Which ranks are owner, deputy, leadership, officer")
    @admin_only()
    @app_commands.describe(
        tier="The tier", ranks="Ranks, comma-separated ('none' for no rank, 'default' resets)"
    )
    @app_commands.choices(tier=_choices(TIER_KEYS))
    async def tier(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        tier: str,
        ranks: app_commands.Range[str, 1, 1000],
    ) -> None:
        try:
            parsed = await self._parsed(interaction, tier, ranks)
        except ConfigError:
            return
        await self._propose(interaction, {tier: parsed})

    @config.command(name="protected", description="Ranks never listed as purge candidates")
    @admin_only()
    @app_commands.describe(ranks="Ranks, comma-separated ('none' for no rank, 'default' resets)")
    async def protected(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        ranks: app_commands.Range[str, 1, 1000],
    ) -> None:
        try:
            parsed = await self._parsed(interaction, "protected", ranks)
        except ConfigError:
            return
        await self._propose(interaction, {"protected": parsed})

    @config.command(
        name="watched-tiers", description="Tiers the officer audit or slump alert watch"
    )
    @admin_only()
    @app_commands.describe(
        setting="audit_tiers or slump_tiers",
        tiers="owner, deputy, leadership, officer, member (comma-separated; 'default' resets)",
    )
    @app_commands.choices(setting=_choices(TIER_LIST_KEYS))
    async def watched_tiers(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        setting: str,
        tiers: app_commands.Range[str, 1, 200],
    ) -> None:
        try:
            parsed = await self._parsed(interaction, setting, tiers)
        except ConfigError:
            return
        await self._propose(interaction, {setting: parsed})

    @config.command(name="ladder-rung", description="Add or replace the promotion rung of a rank")
    @admin_only()
    @app_commands.describe(
        from_rank="The rank members are promoted from",
        to_rank="The rank they move to",
        min_days="Days at rank first",
        min_xp="XP gained in 30 days",
        min_chat="Chat lines in 30 days",
        min_boss_kc="Boss kills gained in 30 days",
        all_required="Every requirement given must be met (default: any one of them)",
    )
    async def ladder_rung(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        from_rank: app_commands.Range[str, 1, 64],
        to_rank: app_commands.Range[str, 1, 64],
        min_days: app_commands.Range[int, 0, 3650],
        min_xp: app_commands.Range[int, 0, 4_600_000_000] | None = None,
        min_chat: app_commands.Range[int, 0, 1_000_000] | None = None,
        min_boss_kc: app_commands.Range[int, 0, 1_000_000] | None = None,
        all_required: bool = False,
    ) -> None:
        rung = {
            "from_rank": from_rank,
            "to_rank": to_rank,
            "min_tenure_days": min_days,
            "min_xp": min_xp,
            "min_lines": min_chat,
            "min_boss_kc": min_boss_kc,
            "any_of": not all_required,
        }
        ladder = await self._stored_ladder(interaction)
        kept = [r for r in ladder if role_key(str(r.get("from_rank", ""))) != role_key(from_rank)]
        await self._propose(interaction, {LADDER_KEY: [*kept, rung]})

    @config.command(name="ladder-remove", description="Remove the promotion rung of a rank")
    @admin_only()
    @app_commands.describe(from_rank="The rank whose rung goes")
    async def ladder_remove(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        from_rank: app_commands.Range[str, 1, 64],
    ) -> None:
        ladder = await self._stored_ladder(interaction)
        kept = [r for r in ladder if role_key(str(r.get("from_rank", ""))) != role_key(from_rank)]
        if len(kept) == len(ladder):
            await interaction.response.send_message(
                f"Not changed: the clan's ladder has no rung for {pretty_rank(from_rank)}.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await self._propose(interaction, {LADDER_KEY: kept})

    @config.command(
        name="ladder-propose",
        description="A ladder and tiers built from the clan's Wise Old Man rank order",
    )
    @admin_only()
    async def ladder_propose(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            preview = await propose_change(self.bot.app, await self._clan_id(interaction))
        except ConfigError as exc:
            await self._refuse(interaction, exc)
            return
        await self._offer(interaction, preview)

    @config.command(name="reset", description="Put one setting back to its default")
    @admin_only()
    @app_commands.describe(setting="The setting")
    @app_commands.choices(setting=_choices(tuple(SETTINGS)))
    async def reset(self, interaction: discord.Interaction[ClanStatsBot], setting: str) -> None:
        await self._propose(interaction, {setting: None})

    async def _stored_ladder(
        self, interaction: discord.Interaction[ClanStatsBot]
    ) -> list[dict[str, Any]]:
        """The clan's own ladder (empty while the built-in default applies: it names ranks
        most clans do not have)."""
        view = await config_show(self.bot.app, await self._clan_id(interaction))
        stored = next(s.stored for s in view.settings if s.key == LADDER_KEY)
        return [dict(r) for r in stored or []]

    @ladder_rung.autocomplete("from_rank")
    @ladder_rung.autocomplete("to_rank")
    @ladder_remove.autocomplete("from_rank")
    async def rank_names(
        self, interaction: discord.Interaction[ClanStatsBot], current: str
    ) -> list[app_commands.Choice[str]]:
        view = await config_show(self.bot.app, await self._clan_id(interaction))
        typed = role_key(current)
        ranks = [r for r in view.role_order if typed in r][:25]
        return [app_commands.Choice(name=pretty_rank(r)[:100], value=r[:100]) for r in ranks]


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(ConfigCog(bot))
