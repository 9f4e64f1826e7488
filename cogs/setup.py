"""``/setup``: a server's admin wires the clan up from Discord, one confirmed step at a time.

Manage Server only: the command is registered with ``default_member_permissions`` (Discord
hides it from everyone else by default) and the permission is checked again on the command
and on every click (a server can show the command to others in its Integrations settings).

The steps live on one ephemeral message that each click edits: the WOM group (fetched, shown
back), the relay channels (their history read, the webhooks and bots seen listed with a
sample line and the relay format recognised, the admin picks the relays), the report
channel and time, the announcement channel, the officer roles and the clan's time zone,
then a summary with the proposed promotion ladder. Nothing is stored until the summary's
Save; a run again starts from what is stored. Saving makes the clan live at once
(``bot.clans.saved``): no restart.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import time
from typing import TYPE_CHECKING, Any, Literal

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.channel_access import NEEDS, Purpose, missing_permissions
from bot.usecases.outage import database_unavailable
from bot.usecases.setup import (
    GroupPreview,
    SetupError,
    check_report_time,
    check_time_zone,
    parse_group_id,
    preview_group,
    propose_ladder,
    save_setup,
    survey_relay,
)
from cogs.relay import relay_message_in
from domain.clans import DEFAULT_REPORT_TIME, ClanWiring, format_report_time
from domain.relay_survey import SeenAuthor

if TYPE_CHECKING:
    from bot.client import ClanStatsBot

log = structlog.get_logger(__name__)

#: How much of a relay channel's history is read to find its relays (two pages).
HISTORY_LIMIT = 200
MAX_RELAY_CHANNELS = 5
MAX_OFFICER_ROLES = 10
#: Relay authors listed (a select holds 25 options; an embed 25 fields).
MAX_AUTHORS_SHOWN = 10
#: Each click is an interaction of its own (15 minutes to answer): the steps stay usable
#: this long after the last one.
VIEW_TIMEOUT_S = 14 * 60
TEXT_CHANNELS = [discord.ChannelType.text, discord.ChannelType.news]
QUIET = discord.AllowedMentions.none()
ADMIN_ONLY = "Only members with the Manage Server permission can run /setup."
EXPIRED = "This /setup expired before Save: nothing was changed. Run /setup again."

Step = Literal["group", "group_confirm", "relay", "relay_pick", "schedule", "summary"]
STEP_TITLES: dict[Step, str] = {
    "group": "1/4 · Wise Old Man group",
    "group_confirm": "1/4 · Wise Old Man group",
    "relay": "2/4 · Relay channels",
    "relay_pick": "2/4 · Relay authors",
    "schedule": "3/4 · Report, announcements, officers, time zone",
    "summary": "4/4 · Summary",
}


class NotAnAdmin(app_commands.CheckFailure):
    """The member lacks Manage Server."""


def is_admin(member: discord.Member | discord.User) -> bool:
    if not isinstance(member, discord.Member):
        return False
    permissions = member.guild_permissions
    return permissions.manage_guild or permissions.administrator


def admin_only() -> Callable[[Any], Any]:
    async def predicate(interaction: discord.Interaction[ClanStatsBot]) -> bool:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage("This command only works in a server.")
        if not is_admin(interaction.user):
            raise NotAnAdmin(ADMIN_ONLY)
        return True

    return app_commands.check(predicate)


def _safe(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "none"


@dataclass
class Draft:
    """The values being set, from what is stored (a run again) or the defaults."""

    guild_id: int
    stored: ClanWiring | None
    group: GroupPreview | None = None
    relay_channel_ids: list[int] = field(default_factory=list)
    relay_author_ids: list[int] = field(default_factory=list)
    report_channel_id: int | None = None
    report_time: time = DEFAULT_REPORT_TIME
    announce_channel_id: int | None = None
    officer_role_ids: list[int] = field(default_factory=list)
    timezone: str = "UTC"
    #: The relay survey of the chosen channels (step 2).
    seen: list[SeenAuthor] = field(default_factory=list)

    @classmethod
    def start(cls, guild_id: int, stored: ClanWiring | None) -> Draft:
        if stored is None:
            return cls(guild_id=guild_id, stored=None)
        return cls(
            guild_id=guild_id,
            stored=stored,
            relay_channel_ids=list(stored.relay_channel_ids),
            relay_author_ids=list(stored.relay_author_ids),
            report_channel_id=stored.report_channel_id,
            report_time=stored.report_time,
            announce_channel_id=stored.announce_channel_id,
            officer_role_ids=list(stored.officer_role_ids),
            timezone=stored.timezone,
        )

    @property
    def clan_chat(self) -> str | None:
        if self.stored is not None and self.stored.clan_chat_name:
            return self.stored.clan_chat_name
        return self.group.clan_chat if self.group is not None else None

    def wiring(self) -> ClanWiring:
        """What Save stores: the stored wiring's other values (custom relay formats, the clan
        chat override) are kept."""
        assert self.group is not None
        base = self.stored or ClanWiring(
            clan_id=None, guild_id=self.guild_id, wom_group_id=self.group.group_id, name=""
        )
        return replace(
            base,
            wom_group_id=self.group.group_id,
            name=self.group.name[:100],
            relay_channel_ids=tuple(self.relay_channel_ids),
            relay_author_ids=tuple(self.relay_author_ids) if self.relay_channel_ids else (),
            report_channel_id=self.report_channel_id,
            report_time=self.report_time,
            announce_channel_id=self.announce_channel_id,
            officer_role_ids=tuple(self.officer_role_ids),
            timezone=self.timezone,
            active=True,
        )


Callback = Callable[[discord.Interaction[Any]], Coroutine[Any, Any, None]]


class SetupView(discord.ui.View):
    """The steps of one ``/setup`` run, on one ephemeral message."""

    def __init__(self, bot: ClanStatsBot, draft: Draft, owner_id: int) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_S)
        self.bot = bot
        self.draft = draft
        self.owner_id = owner_id
        self.step: Step = "group"
        self.notice: str | None = None
        #: The latest interaction on this setup: its token edits the message at the timeout.
        self.last: discord.Interaction[Any] | None = None

    # -- guards ------------------------------------------------------------------------------

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Only the admin who ran /setup (its message is shown to them alone), and only while
        they still have Manage Server."""
        if interaction.user.id != self.owner_id or not is_admin(interaction.user):
            await interaction.response.send_message(
                ADMIN_ONLY, ephemeral=True, allowed_mentions=QUIET
            )
            return False
        self.last = interaction
        return True

    async def on_timeout(self) -> None:
        """Left unanswered: say so on the message (its buttons would no longer answer)."""
        if self.last is None:
            return
        try:
            await self.last.edit_original_response(content=EXPIRED, embed=None, view=None)
        except discord.HTTPException as exc:
            log.info("setup.expired_unshown", error=repr(exc))
        log.info("setup.expired", step=self.step, guild_id=self.draft.guild_id)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        log.error("setup.failed", step=self.step, error=repr(error), exc_info=error)
        self.notice = "Something went wrong at this step: nothing was saved. Try it again."
        await self._show(interaction)

    # -- rendering ---------------------------------------------------------------------------

    def embed(self) -> discord.Embed:
        embed = discord.Embed(
            title=f"ClanStats setup · {STEP_TITLES[self.step]}", colour=discord.Colour.blurple()
        )
        getattr(self, f"_embed_{self.step}")(embed)
        if self.notice:
            embed.add_field(name="⚠️ Not taken", value=self.notice[:1024], inline=False)
        return embed

    def rebuild(self) -> None:
        self.clear_items()
        getattr(self, f"_items_{self.step}")()

    async def _show(self, interaction: discord.Interaction[Any], *, deferred: bool = False) -> None:
        """Edit the setup message to show the current step (and notice)."""
        self.rebuild()
        if deferred or interaction.response.is_done():
            await interaction.edit_original_response(embed=self.embed(), view=self)
        else:
            await interaction.response.edit_message(embed=self.embed(), view=self)

    async def go(self, interaction: discord.Interaction[Any], step: Step, **kw: Any) -> None:
        self.step = step
        self.notice = None
        await self._show(interaction, **kw)

    async def refuse(
        self, interaction: discord.Interaction[Any], notice: str, *, deferred: bool = False
    ) -> None:
        """Stay on this step, saying why the input was not taken."""
        self.notice = notice
        log.info("setup.input_refused", step=self.step, reason=notice)
        await self._show(interaction, deferred=deferred)

    def button(
        self,
        label: str,
        callback: Callback,
        *,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        item: discord.ui.Button[SetupView] = discord.ui.Button(
            label=label[:80], style=style, disabled=disabled, row=row
        )
        item.callback = callback  # type: ignore[method-assign,assignment]
        self.add_item(item)

    def cancel_button(self, row: int | None = None) -> None:
        self.button("Cancel", self._cancel, style=discord.ButtonStyle.danger, row=row)

    async def _cancel(self, interaction: discord.Interaction[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Setup cancelled: nothing was changed.", embed=None, view=None
        )

    # -- step 1: the WOM group -----------------------------------------------------------------

    def _embed_group(self, embed: discord.Embed) -> None:
        stored = self.draft.stored
        current = (
            f"Now: **{_safe(stored.name or '?')}** (WOM group {stored.wom_group_id})."
            if stored is not None
            else "This server has no clan yet."
        )
        embed.description = (
            "Which Wise Old Man group is this clan? Its id is the number in the group's address "
            f"on wiseoldman.net.\n{current}"
        )

    def _items_group(self) -> None:
        self.button("Enter the group id", self._ask_group, style=discord.ButtonStyle.primary)
        stored = self.draft.stored
        if stored is not None:
            self.button(f"Keep group {stored.wom_group_id}", self._keep_group)
        self.cancel_button()

    async def _ask_group(self, interaction: discord.Interaction[Any]) -> None:
        current = self.draft.group.group_id if self.draft.group else None
        if current is None and self.draft.stored is not None:
            current = self.draft.stored.wom_group_id
        await interaction.response.send_modal(GroupModal(self, current))

    async def _keep_group(self, interaction: discord.Interaction[Any]) -> None:
        assert self.draft.stored is not None
        await self.fetch_group(interaction, str(self.draft.stored.wom_group_id))

    async def fetch_group(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Look the group up on WOM (which may take a few seconds: the answer is deferred)."""
        self.step = "group"
        try:
            group_id = parse_group_id(text)
        except SetupError as exc:
            await self.refuse(interaction, str(exc))
            return
        taken = next(
            (
                w
                for w in self.bot.clans.all()
                if w.wom_group_id == group_id and w.guild_id != self.draft.guild_id
            ),
            None,
        )
        if taken is not None:
            await self.refuse(
                interaction,
                f"WOM group {group_id} is already the clan of another Discord server: a group "
                "is one server's clan.",
            )
            return
        await interaction.response.defer()
        try:
            preview = await preview_group(self.bot.app.wom, group_id)
        except SetupError as exc:
            await self.refuse(interaction, str(exc), deferred=True)
            return
        self.draft.group = preview
        await self.go(interaction, "group_confirm", deferred=True)

    def _embed_group_confirm(self, embed: discord.Embed) -> None:
        group = self.draft.group
        assert group is not None
        embed.description = "Is this the clan? Nothing is saved until the last step."
        embed.add_field(name="Group", value=f"{_safe(group.name) or '?'} ({group.group_id})")
        embed.add_field(
            name="In-game clan chat", value=_safe(group.clan_chat) if group.clan_chat else "unknown"
        )
        embed.add_field(name="Members", value=f"{group.member_count:,}")
        embed.add_field(name="Ranks", value=f"{len(group.role_order)}")

    def _items_group_confirm(self) -> None:
        self.button("Confirm", self._confirm_group, style=discord.ButtonStyle.success)
        self.button("Change", self._back_to_group)
        self.cancel_button()

    async def _confirm_group(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "relay")

    async def _back_to_group(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "group")

    # -- step 2: relay channels and their relays ---------------------------------------------

    def _embed_relay(self, embed: discord.Embed) -> None:
        chosen = ", ".join(_channel(c) for c in self.draft.relay_channel_ids) or "none"
        embed.description = (
            "Which channels does the game chat come into (a RuneLite clan chat webhook, "
            "TrackScape …)? Choose them, then **Read** them: the bot lists who posts there.\n"
            f"Chosen: {chosen}"
        )

    def _items_relay(self) -> None:
        select: discord.ui.ChannelSelect[SetupView] = discord.ui.ChannelSelect(
            channel_types=TEXT_CHANNELS,
            placeholder="Relay channels",
            min_values=0,
            max_values=MAX_RELAY_CHANNELS,
            default_values=[
                discord.Object(id=c, type=discord.abc.GuildChannel)
                for c in self.draft.relay_channel_ids[:MAX_RELAY_CHANNELS]
            ],
            row=0,
        )

        async def chosen(interaction: discord.Interaction[Any]) -> None:
            self.draft.relay_channel_ids = [c.id for c in select.values]
            await self.go(interaction, "relay")

        select.callback = chosen  # type: ignore[method-assign]
        self.add_item(select)
        self.button(
            "Read the chosen channels",
            self._read_relays,
            style=discord.ButtonStyle.primary,
            disabled=not self.draft.relay_channel_ids,
            row=1,
        )
        self.button("No relay channel", self._no_relay, row=1)
        self.button("Back", self._back_to_group, row=1)
        self.cancel_button(row=1)

    def relay_problem(self, guild: discord.Guild, channel_id: int) -> str | None:
        """Why ``channel_id`` cannot be this clan's relay channel, or None."""
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return f"Channel {channel_id} is not a text channel of this server."
        owner = self.bot.clans.for_relay_channel(channel_id)
        if owner is not None and owner.guild_id != guild.id:
            return (
                f"#{_safe(channel.name)} is already the relay channel of another clan "
                f"(WOM group {owner.wom_group_id}): a relay channel belongs to one clan."
            )
        return _permission_problem(channel, guild, "relay")

    async def _read_relays(self, interaction: discord.Interaction[Any]) -> None:
        guild = interaction.guild
        assert guild is not None
        for channel_id in self.draft.relay_channel_ids:
            problem = self.relay_problem(guild, channel_id)
            if problem is not None:
                await self.refuse(interaction, problem)
                return
        await interaction.response.defer()
        messages = []
        for channel_id in self.draft.relay_channel_ids:
            channel = guild.get_channel(channel_id)
            assert isinstance(channel, discord.TextChannel)
            try:
                async for message in channel.history(limit=HISTORY_LIMIT):
                    messages.append(relay_message_in(message))
            except discord.Forbidden as exc:
                await self.refuse(
                    interaction,
                    f"Discord refused to show #{_safe(channel.name)}'s history ({exc.text}): "
                    "give the bot View Channel and Read Message History there.",
                    deferred=True,
                )
                return
        assert self.bot.user is not None
        self.draft.seen = survey_relay(
            messages, clan_chat_name=self.draft.clan_chat, bot_user_id=self.bot.user.id
        )
        unseen = self.unseen_relays()
        if not self.draft.seen and not unseen:
            await self.refuse(
                interaction,
                f"No webhook or bot posted in the last {HISTORY_LIMIT} messages there. Check "
                "that the relay (the RuneLite plugin's webhook, TrackScape …) posts into that "
                "channel, wait for a line from the game, and read it again.",
                deferred=True,
            )
            return
        offered = {a.author_id for a in self.draft.seen[:MAX_AUTHORS_SHOWN]} | set(unseen)
        kept = [a for a in self.draft.relay_author_ids if a in offered]
        self.draft.relay_author_ids = kept or [
            a.author_id for a in self.draft.seen[:MAX_AUTHORS_SHOWN] if a.recognised
        ]
        await self.go(interaction, "relay_pick", deferred=True)

    def unseen_relays(self) -> list[int]:
        """Relays stored before that posted nothing in the history read: still offered (and
        kept unless unticked), so a run again never drops a quiet relay unseen."""
        stored = self.draft.stored.relay_author_ids if self.draft.stored else ()
        shown = {a.author_id for a in self.draft.seen[:MAX_AUTHORS_SHOWN]}
        room = 25 - len(shown)  # a select's options
        return [a for a in stored if a not in shown][:room]

    async def _no_relay(self, interaction: discord.Interaction[Any]) -> None:
        self.draft.relay_channel_ids = []
        self.draft.relay_author_ids = []
        await self.go(interaction, "schedule")

    def _embed_relay_pick(self, embed: discord.Embed) -> None:
        shown = self.draft.seen[:MAX_AUTHORS_SHOWN]
        embed.description = (
            f"Who posted in the last {HISTORY_LIMIT} messages of "
            f"{', '.join(_channel(c) for c in self.draft.relay_channel_ids)} "
            "(people left out). Pick the relays: only their messages are read as game chat."
        )
        for author in shown:
            sample = _safe(author.sample) if author.sample else "(no text)"
            embed.add_field(
                name=f"{author.name} · {author.kind}"[:256],
                value=(
                    f"{author.messages} messages, {author.read} read as game chat · "
                    f"format: `{author.format_label}`\n> {sample}"
                )[:1024],
                inline=False,
            )
        if len(self.draft.seen) > len(shown):
            embed.set_footer(text=f"… and {len(self.draft.seen) - len(shown)} more, less active")
        unseen = self.unseen_relays()
        if unseen:
            embed.add_field(
                name="Relays set before, not seen lately",
                value=", ".join(f"`{a}`" for a in unseen)[:1024],
                inline=False,
            )
        embed.add_field(
            name="Relays picked", value=self.relay_names()[:1024] or "none yet", inline=False
        )

    def relay_names(self) -> str:
        """The picked relays, by name where the history showed them, else by id."""
        names = {a.author_id: _safe(a.name) for a in self.draft.seen}
        return ", ".join(names.get(a, f"`{a}`") for a in self.draft.relay_author_ids)

    def _items_relay_pick(self) -> None:
        shown = self.draft.seen[:MAX_AUTHORS_SHOWN]
        picked = set(self.draft.relay_author_ids)
        options = [
            discord.SelectOption(
                label=f"{a.name} ({a.kind})"[:100],
                value=str(a.author_id),
                description=f"{a.messages} messages · {a.format_label}"[:100],
                default=a.author_id in picked,
            )
            for a in shown
        ] + [
            discord.SelectOption(
                label=f"Relay {a} (not seen lately)",
                value=str(a),
                description=f"set before; nothing from it in the last {HISTORY_LIMIT} messages",
                default=a in picked,
            )
            for a in self.unseen_relays()
        ]
        select: discord.ui.Select[SetupView] = discord.ui.Select(
            placeholder="The relays", min_values=1, max_values=len(options), options=options, row=0
        )

        async def chosen(interaction: discord.Interaction[Any]) -> None:
            self.draft.relay_author_ids = [int(v) for v in select.values]
            await self.go(interaction, "relay_pick")

        select.callback = chosen  # type: ignore[method-assign]
        self.add_item(select)
        self.button(
            "Confirm the relays",
            self._confirm_relays,
            style=discord.ButtonStyle.success,
            disabled=not picked,
            row=1,
        )
        self.button("Back", self._back_to_relay, row=1)
        self.cancel_button(row=1)

    async def _confirm_relays(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "schedule")

    async def _back_to_relay(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "relay")

    # -- step 3: report, announcements, officers, time zone ----------------------------------

    def _embed_schedule(self, embed: discord.Embed) -> None:
        d = self.draft
        roles = ", ".join(f"<@&{r}>" for r in d.officer_role_ids) or "none (Manage Server only)"
        embed.description = (
            "Where the daily report and roster announcements go, who the officers are, and the "
            "clan's time zone (it decides where a day starts and when the report is posted)."
        )
        embed.add_field(
            name="Daily report",
            value=f"{_channel(d.report_channel_id)} at {format_report_time(d.report_time)}",
        )
        embed.add_field(name="Time zone", value=d.timezone)
        embed.add_field(name="Announcements", value=_channel(d.announce_channel_id))
        embed.add_field(name="Officer roles", value=roles[:1024], inline=False)

    def _items_schedule(self) -> None:
        d = self.draft
        report = self._channel_select("Report channel", d.report_channel_id, "report", row=0)
        announce = self._channel_select(
            "Announcement channel", d.announce_channel_id, "announce", row=1
        )
        roles: discord.ui.RoleSelect[SetupView] = discord.ui.RoleSelect(
            placeholder="Officer roles",
            min_values=0,
            max_values=MAX_OFFICER_ROLES,
            default_values=[discord.Object(id=r, type=discord.Role) for r in d.officer_role_ids][
                :MAX_OFFICER_ROLES
            ],
            row=2,
        )

        async def roles_chosen(interaction: discord.Interaction[Any]) -> None:
            self.draft.officer_role_ids = [r.id for r in roles.values]
            await self.go(interaction, "schedule")

        roles.callback = roles_chosen  # type: ignore[method-assign]
        for item in (report, announce, roles):
            self.add_item(item)
        self.button("Report time & time zone…", self._ask_times, row=3)
        self.button("Confirm", self._to_summary, style=discord.ButtonStyle.success, row=3)
        self.button("Back", self._back_to_relay, row=3)
        self.cancel_button(row=3)

    def _channel_select(
        self, placeholder: str, current: int | None, purpose: Purpose, *, row: int
    ) -> discord.ui.ChannelSelect[SetupView]:
        select: discord.ui.ChannelSelect[SetupView] = discord.ui.ChannelSelect(
            channel_types=TEXT_CHANNELS,
            placeholder=placeholder,
            min_values=0,
            max_values=1,
            default_values=(
                [discord.Object(id=current, type=discord.abc.GuildChannel)] if current else []
            ),
            row=row,
        )

        async def chosen(interaction: discord.Interaction[Any]) -> None:
            guild = interaction.guild
            assert guild is not None
            picked = select.values[0].id if select.values else None
            if picked is not None:
                channel = guild.get_channel(picked)
                problem = (
                    _permission_problem(channel, guild, purpose)
                    if isinstance(channel, discord.TextChannel)
                    else f"Channel {picked} is not a text channel of this server."
                )
                if problem is not None:
                    await self.refuse(interaction, problem)
                    return
            if purpose == "report":
                self.draft.report_channel_id = picked
            else:
                self.draft.announce_channel_id = picked
            await self.go(interaction, "schedule")

        select.callback = chosen  # type: ignore[method-assign]
        return select

    async def _ask_times(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(TimesModal(self))

    async def set_times(self, interaction: discord.Interaction[Any], at: str, zone: str) -> None:
        try:
            report_time = check_report_time(at)
            timezone = check_time_zone(zone)
        except SetupError as exc:
            await self.refuse(interaction, str(exc))
            return
        self.draft.report_time, self.draft.timezone = report_time, timezone
        await self.go(interaction, "schedule")

    async def _to_summary(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "summary")

    async def _back_to_schedule(self, interaction: discord.Interaction[Any]) -> None:
        await self.go(interaction, "schedule")

    # -- step 4: summary, ladder, save ---------------------------------------------------------

    def _embed_summary(self, embed: discord.Embed) -> None:
        d = self.draft
        group = d.group
        assert group is not None
        embed.description = "Check everything, then **Save**: the clan starts at once."
        embed.add_field(name="Clan", value=f"{_safe(group.name)} (WOM group {group.group_id})")
        embed.add_field(name="In-game clan chat", value=_safe(d.clan_chat or "unknown"))
        embed.add_field(name="Members", value=f"{group.member_count:,}")
        relay_text = (
            f"{', '.join(_channel(c) for c in d.relay_channel_ids)} · relays: {self.relay_names()}"
            if d.relay_channel_ids
            else "none (no chat is harvested)"
        )
        embed.add_field(name="Relay", value=relay_text[:1024], inline=False)
        self._embed_schedule_fields(embed)
        proposal = propose_ladder(group.role_order)
        if proposal.rungs:
            chain = " → ".join(
                _safe(r) for r in [proposal.rungs[0][0], *(to for _, to in proposal.rungs)]
            )
            tier = ", ".join(_safe(r) for r in proposal.officer_tier) or "none"
            embed.add_field(
                name="Proposed promotion ladder (from WOM's rank order)",
                value=(
                    f"{chain}\nStaff ranks (never auto-promoted): {tier}"[:900]
                    + "\nAfter the first sync, `/config ladder-propose` saves it and "
                    "`/config ladder-rung` edits it."
                ),
                inline=False,
            )
        else:
            embed.add_field(
                name="Proposed promotion ladder",
                value="WOM lists no ranks for this group: no ladder to propose.",
                inline=False,
            )

    def _embed_schedule_fields(self, embed: discord.Embed) -> None:
        d = self.draft
        embed.add_field(
            name="Daily report",
            value=f"{_channel(d.report_channel_id)} at {format_report_time(d.report_time)} "
            f"({d.timezone})",
        )
        embed.add_field(name="Announcements", value=_channel(d.announce_channel_id))
        roles = ", ".join(f"<@&{r}>" for r in d.officer_role_ids) or "none (Manage Server only)"
        embed.add_field(name="Officer roles", value=roles[:1024])

    def _items_summary(self) -> None:
        self.button("Save", self._save, style=discord.ButtonStyle.success)
        self.button("Back", self._back_to_schedule)
        self.cancel_button()

    async def _save(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()
        try:
            saved = await save_setup(self.bot.app, self.draft.wiring(), by=interaction.user.id)
        except SetupError as exc:
            await self.refuse(interaction, str(exc), deferred=True)
            return
        except Exception as exc:
            reason = database_unavailable(exc)
            if reason is None:
                raise  # a bug: on_error says so, with the traceback logged
            log.warning("setup.save_unavailable", reason=reason)
            await self.refuse(
                interaction,
                "The database cannot be written right now: nothing was saved. Press Save "
                "again in a minute.",
                deferred=True,
            )
            return
        await self.bot.clans.saved(saved)
        self.stop()
        embed = discord.Embed(
            title="ClanStats is set up",
            colour=discord.Colour.green(),
            description=(
                f"**{_safe(saved.name)}** is this server's clan. The first Wise Old Man sync "
                "starts now, the relay channels are read from now on, and the daily report "
                f"comes at {format_report_time(saved.report_time)} ({saved.timezone}). "
                "Run /setup again to change any of it."
            ),
        )
        await interaction.edit_original_response(embed=embed, view=None)


def _permission_problem(
    channel: discord.TextChannel, guild: discord.Guild, purpose: Purpose
) -> str | None:
    missing = missing_permissions(channel, guild.me, NEEDS[purpose])
    if not missing:
        return None
    work = {
        "relay": "read its history",
        "report": "post the daily report there",
        "announce": "post announcements there",
    }[purpose]
    return (
        f"The bot cannot {work}: in #{_safe(channel.name)} it lacks {', '.join(missing)}. "
        "Give its role that permission there (channel settings → Permissions), then choose "
        "the channel again."
    )


class GroupModal(discord.ui.Modal, title="Wise Old Man group"):
    def __init__(self, view: SetupView, current: int | None) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_S)
        self.setup_view = view
        self.group_id: discord.ui.TextInput[GroupModal] = discord.ui.TextInput(
            placeholder="11114", default=str(current) if current else None, max_length=20
        )
        self.add_item(
            discord.ui.Label(
                text="Group id",
                description="The number in the group's address on wiseoldman.net",
                component=self.group_id,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        if not await self.setup_view.interaction_check(interaction):
            return
        await self.setup_view.fetch_group(interaction, self.group_id.value)


class TimesModal(discord.ui.Modal, title="Report time and time zone"):
    def __init__(self, view: SetupView) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_S)
        self.setup_view = view
        self.at: discord.ui.TextInput[TimesModal] = discord.ui.TextInput(
            default=format_report_time(view.draft.report_time), min_length=4, max_length=5
        )
        self.zone: discord.ui.TextInput[TimesModal] = discord.ui.TextInput(
            default=view.draft.timezone, max_length=64
        )
        self.add_item(
            discord.ui.Label(
                text="Report time", description="24-hour clock, HH:MM", component=self.at
            )
        )
        self.add_item(
            discord.ui.Label(
                text="Clan time zone",
                description="An IANA name: Europe/London, America/New_York, UTC …",
                component=self.zone,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        if not await self.setup_view.interaction_check(interaction):
            return
        await self.setup_view.set_times(interaction, self.at.value, self.zone.value)


class SetupCog(commands.Cog):
    def __init__(self, bot: ClanStatsBot) -> None:
        self.bot = bot

    @app_commands.command(name="setup", description="Set this server's clan up (Manage Server)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @admin_only()
    async def setup_command(self, interaction: discord.Interaction[ClanStatsBot]) -> None:
        assert interaction.guild_id is not None
        stored = await self._stored(interaction.guild_id)
        view = SetupView(self.bot, Draft.start(interaction.guild_id, stored), interaction.user.id)
        view.rebuild()
        view.last = interaction
        log.info("setup.started", guild_id=interaction.guild_id, again=stored is not None)
        await interaction.response.send_message(
            embed=view.embed(), view=view, ephemeral=True, allowed_mentions=QUIET
        )

    async def _stored(self, guild_id: int) -> ClanWiring | None:
        return self.bot.clans.for_guild(guild_id)


async def setup(bot: ClanStatsBot) -> None:
    await bot.add_cog(SetupCog(bot))
