"""``/link``, ``/unlink``, ``/whois`` and ``/link-allow``: proven links between Discord members
and in-game accounts (issue 16). The link itself is made by relay ingest (see
:mod:`bot.usecases.links`); these commands hand out the code and show or end links."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.clan_values import clan_values
from bot.usecases import reports
from bot.usecases.links import (
    LinkError,
    allow_accounts,
    linked_users_of,
    mark_links_notified,
    start_link,
    take_link_notices,
    unlink,
    unnotified_links,
    whois,
)
from bot.usecases.outage import database_unavailable
from cogs._checks import OFFICER_DEFAULT_PERMISSIONS, NotAnOfficer, is_officer, officer_only
from domain.links import Allowance
from domain.ranks import pretty_rank

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def safe(text: str) -> str:
    """A name as shown: no markdown, no mention."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


#: The commands whose own answer carries a pending link notice.
NOTICE_IN_ANSWER = frozenset({"link", "unlink", "whois", "player"})


async def link_notice(bot: ClanStatsBot, interaction: discord.Interaction[ClanStatsBot]) -> str:
    """ "You are now linked to …" for links made since this member last ran a command, once."""
    values = await clan_values(bot, interaction.guild_id)
    fresh = await take_link_notices(bot.app, values.clan_id, interaction.user.id)
    if not fresh:
        return ""
    names = ", ".join(f"**{safe(a.display_name)}**" for a in fresh)
    return f"✅ Your link is proven: you are now linked to {names}.\n\n"


async def linked_display_names(guild: discord.Guild | None, user_ids: list[int]) -> list[str]:
    """The server display names of linked Discord members (mention-free, for ``/player``);
    one who left the server is shown as such."""
    shown: list[str] = []
    for user_id in user_ids:
        member = guild.get_member(user_id) if guild is not None else None
        if member is None and guild is not None:
            try:
                member = await guild.fetch_member(user_id)
            except discord.NotFound:
                member = None
        shown.append(member.display_name if member is not None else "a member who left the server")
    return shown


async def discord_names_of(
    bot: ClanStatsBot, guild: discord.Guild | None, clan_id: int, member_ids: list[int]
) -> dict[int, str]:
    """Clan member id → the server display names of the Discord members who proved the
    account theirs (mention-free), for the few members a report names."""
    linked = await linked_users_of(bot.app, clan_id, sorted(set(member_ids)))
    return {
        member_id: ", ".join(await linked_display_names(guild, users))
        for member_id, users in linked.items()
    }


class LinksCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_links_made(self, clan_id: int) -> None:
        """Tell each newly linked member by DM; one who does not accept DMs is told at their
        next command instead (the link stays un-notified until then)."""
        try:
            await self._tell_linked(clan_id)
        except Exception as exc:
            reason = database_unavailable(exc)
            if reason is None:
                raise
            # Nothing is lost: the links stay un-notified and are told at the next chance.
            log.warning("link.notice_postponed", clan_id=clan_id, reason=reason)

    async def _tell_linked(self, clan_id: int) -> None:
        told: list[int] = []
        for account in await unnotified_links(self.bot.app, clan_id):
            try:
                user = self.bot.get_user(account.discord_user_id) or await self.bot.fetch_user(
                    account.discord_user_id
                )
                await user.send(
                    f"✅ Your link is proven: you are now linked to "
                    f"**{safe(account.display_name)}** in the clan.",
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as exc:
                log.info("link.dm_refused", user_id=account.discord_user_id, status=exc.status)
                continue
            told.append(account.link_id)
        if told:
            await mark_links_notified(self.bot.app, told)
            log.info("link.dm_sent", links=len(told))

    @commands.Cog.listener()
    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        """A member whose link was proven while DMs were closed is told after whatever command
        they run next (these four say it in their own answer)."""
        if command.qualified_name in NOTICE_IN_ANSWER or interaction.guild_id is None:
            return
        try:
            notice = await link_notice(self.bot, interaction)
        except (reports.ClanNotSyncedError, LookupError):
            return  # no clan in this server: nothing could have been linked
        except Exception as exc:
            reason = database_unavailable(exc)
            if reason is None:
                raise
            log.warning("link.notice_postponed", reason=reason)
            return
        if notice:
            await interaction.followup.send(
                notice.strip(), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def _reply(self, interaction: discord.Interaction[ClanStatsBot], text: str) -> None:
        await interaction.followup.send(text[:1900], ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="link", description="Prove an in-game name is yours")
    @app_commands.guild_only()
    @app_commands.describe(name="Your in-game name")
    async def link(self, interaction: discord.Interaction[ClanStatsBot], name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await clan_values(self.bot, interaction.guild_id)
        notice = await link_notice(self.bot, interaction)
        issued = await start_link(self.bot.app, values.clan_id, interaction.user.id, name)
        expires = int(issued.expires_at.timestamp())
        await self._reply(
            interaction,
            f"{notice}To prove **{safe(issued.display_name)}** is yours, type this in clan chat "
            f"while logged in as {safe(issued.display_name)}:\n\n`!link {issued.code}`\n\n"
            f"The code works once, for you and that name only, until <t:{expires}:t> "
            "(30 minutes). I will tell you when the link is made.",
        )

    @link.autocomplete("name")
    async def link_names(
        self, interaction: discord.Interaction[ClanStatsBot], current: str
    ) -> list[app_commands.Choice[str]]:
        values = await clan_values(self.bot, interaction.guild_id)
        found = await reports.roster_names(self.bot.app, values.clan_id, current)
        return [app_commands.Choice(name=n, value=n) for n in found[:25]]

    @app_commands.command(name="unlink", description="Remove a linked in-game name")
    @app_commands.guild_only()
    @app_commands.describe(
        name="Only this linked name (default: all of them)",
        member="Officers: the Discord member to unlink (default: you)",
    )
    async def unlink_(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        name: str | None = None,
        member: discord.Member | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await clan_values(self.bot, interaction.guild_id)
        target = member.id if member is not None else interaction.user.id
        if target != interaction.user.id and not is_officer(
            interaction.user, list(values.officer_role_ids)
        ):
            raise NotAnOfficer("Only clan officers can unlink another member.")
        notice = await link_notice(self.bot, interaction)
        ended = await unlink(
            self.bot.app, values.clan_id, target, name=name, by=interaction.user.id
        )
        whose = "Your" if member is None else f"{safe(member.display_name)}'s"
        await self._reply(interaction, f"{notice}{whose} link(s) removed: {ended}.")

    @app_commands.command(name="whois", description="The in-game name linked to a Discord member")
    @app_commands.guild_only()
    @app_commands.describe(member="The Discord member")
    async def whois_(
        self, interaction: discord.Interaction[ClanStatsBot], member: discord.Member
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await clan_values(self.bot, interaction.guild_id)
        notice = await link_notice(self.bot, interaction)
        accounts = await whois(self.bot.app, values.clan_id, member.id)
        who = safe(member.display_name)
        if not accounts:
            await self._reply(interaction, f"{notice}{who} has no proven in-game name.")
            return
        lines = [
            f"✅ **{safe(a.display_name)}**: "
            + (f"{pretty_rank(a.role) if a.role else 'no rank'}" if a.in_clan else "left the clan")
            + f", linked <t:{int(a.linked_at.timestamp())}:D>"
            for a in accounts
        ]
        await self._reply(interaction, f"{notice}{who} is linked to:\n" + "\n".join(lines))

    @app_commands.command(
        name="link-allow",
        description="Officers: let a member link several accounts, or share one",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(OFFICER_DEFAULT_PERMISSIONS)
    @officer_only()
    @app_commands.describe(
        member="The Discord member",
        accounts="How many accounts they may link (default 1)",
        shared="Their accounts may also be linked by another member who may share",
    )
    async def link_allow(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        member: discord.Member,
        accounts: app_commands.Range[int, 1, 20] = 1,
        shared: bool = False,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        values = await clan_values(self.bot, interaction.guild_id)
        await allow_accounts(
            self.bot.app,
            values.clan_id,
            member.id,
            Allowance(max_accounts=accounts, shared_accounts=shared),
            by=interaction.user.id,
        )
        await self._reply(
            interaction,
            f"{safe(member.display_name)} may link {accounts} account(s)"
            + (", and share them." if shared else "."),
        )


__all__ = [
    "LinkError",
    "LinksCog",
    "discord_names_of",
    "link_notice",
    "linked_display_names",
]


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(LinksCog(bot))
