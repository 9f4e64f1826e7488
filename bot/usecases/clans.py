"""The clans this process serves, one per Discord guild, and how their wiring changes.

:class:`ClanDirectory` is the bot's in-memory view of the active clans (loaded at start,
updated by ``/setup`` and when the bot leaves or rejoins a guild): every per-clan read (the
relay channel a message came from, the guild an interaction came from) asks it, never the
settings. Listeners (the cogs) hear of every change and (re)schedule that clan's jobs.

The environment settings of a single-clan install are the defaults of that one guild's clan:
:func:`import_env_wiring` stores them once, on the first start that finds no wiring for that
guild; afterwards the database wins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence, Set
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import IntegrityError

from bot.usecases.context import App
from bot.usecases.reports.loader import ReportInputError
from domain.clans import ClanWiring, WiringConflict
from storage.repositories.clans import (
    active_wirings,
    all_wirings,
    get_clan_by_group,
    save_wiring,
    set_active,
    wiring_for_guild,
)

__all__ = [
    "ChosenClan",
    "ClanChoiceError",
    "ClanDirectory",
    "ClanWiring",
    "WiringConflict",
    "choose_clan",
    "every_wiring",
    "import_env_wiring",
    "live_wiring_problems",
    "load_wirings",
    "mark_active",
    "save_clan",
]

log = structlog.get_logger(__name__)

#: Called with the clan's wiring after it changed (saved, activated) or with ``None`` as the
#: new value when the clan stopped (the bot left its guild): ``(old, new)``.
ClanListener = Callable[[ClanWiring | None, ClanWiring | None], Awaitable[None]]


class ClanDirectory:
    """The active clans of this process, by guild and by relay channel."""

    def __init__(self, wirings: Iterable[ClanWiring] = ()) -> None:
        self._by_guild: dict[int, ClanWiring] = {}
        self._by_channel: dict[int, ClanWiring] = {}
        self._listeners: list[ClanListener] = []
        for wiring in wirings:
            self._put(wiring)

    # -- reads -----------------------------------------------------------------------------

    def for_guild(self, guild_id: int | None) -> ClanWiring | None:
        """The active clan of ``guild_id``, or None (no clan set up there, or none active)."""
        return self._by_guild.get(guild_id) if guild_id is not None else None

    def for_relay_channel(self, channel_id: int) -> ClanWiring | None:
        """The clan whose relay channel ``channel_id`` is (one clan at most)."""
        return self._by_channel.get(channel_id)

    def for_clan(self, clan_id: int) -> ClanWiring | None:
        return next((w for w in self._by_guild.values() if w.clan_id == clan_id), None)

    def all(self) -> list[ClanWiring]:
        """Every active clan, by clan id."""
        return sorted(self._by_guild.values(), key=lambda w: w.clan_id or 0)

    def __len__(self) -> int:
        return len(self._by_guild)

    # -- changes ---------------------------------------------------------------------------

    def listen(self, listener: ClanListener) -> None:
        """Hear of every change from now on (a cog schedules a clan's jobs from it)."""
        self._listeners.append(listener)

    async def saved(self, wiring: ClanWiring) -> None:
        """``wiring`` was saved (``/setup``, a rejoin): the view takes it, listeners
        (re)schedule that clan's jobs, without a restart."""
        old = self._by_guild.get(wiring.guild_id)
        if not wiring.active:
            await self.stopped(wiring.guild_id)
            return
        self._drop(wiring.guild_id)
        self._put(wiring)
        log.info("clans.wiring_applied", clan=wiring.label, guild_id=wiring.guild_id)
        for listener in self._listeners:
            await listener(old, wiring)

    async def stopped(self, guild_id: int) -> ClanWiring | None:
        """The clan of ``guild_id`` stops (the bot left): gone from the view, listeners stop
        its jobs. Returns it, or None when there was none."""
        old = self._drop(guild_id)
        if old is None:
            return None
        log.info("clans.stopped", clan=old.label, guild_id=guild_id)
        for listener in self._listeners:
            await listener(old, None)
        return old

    def _put(self, wiring: ClanWiring) -> None:
        self._by_guild[wiring.guild_id] = wiring
        for channel_id in wiring.relay_channel_ids:
            self._by_channel[channel_id] = wiring

    def _drop(self, guild_id: int) -> ClanWiring | None:
        old = self._by_guild.pop(guild_id, None)
        if old is not None:
            for channel_id in old.relay_channel_ids:
                if self._by_channel.get(channel_id) is old:
                    del self._by_channel[channel_id]
        return old


async def load_wirings(app: App) -> list[ClanWiring]:
    """Every active clan, as stored."""
    async with app.db.read() as session:
        return await active_wirings(session)


async def every_wiring(app: App) -> list[ClanWiring]:
    """Every clan ever set up, active or not (the CLI's list of clans)."""
    async with app.db.read() as session:
        return await all_wirings(session)


async def save_clan(app: App, wiring: ClanWiring, *, by: int | None) -> ClanWiring:
    """Validate and store ``wiring`` (one write transaction); the saved wiring, with its id.

    Raises ``ValueError`` (bad values) or :class:`WiringConflict`, having saved nothing.
    """
    async with app.db.write() as session:
        return await save_wiring(session, wiring, by=by, now=app.now())


async def mark_active(app: App, guild_id: int, active: bool) -> ClanWiring | None:
    """The bot joined (``True``) or left (``False``) ``guild_id``: its clan, as now stored
    (None when no clan was set up there)."""
    async with app.db.write() as session:
        await set_active(session, guild_id, active, now=app.now())
        return await wiring_for_guild(session, guild_id)


async def import_env_wiring(app: App, wiring: ClanWiring) -> ClanWiring | None:
    """Store the environment's single-clan wiring once: when its guild has no wiring yet.

    Afterwards the database wins: the stored wiring is returned as it is, whatever the
    environment now says (a changed ``.env`` is logged, not applied). A wiring that cannot
    be saved (its WOM group is another server's clan: ``CLANSTATS_GUILD_ID`` changed after
    the first import) is logged with the reason and not imported (None): the bot still
    serves every clan the database holds.
    """
    try:
        async with app.db.write() as session:
            stored = await wiring_for_guild(session, wiring.guild_id)
            if stored is None:
                saved = await save_wiring(session, wiring, by=None, now=app.now())
                log.info(
                    "clans.env_imported",
                    clan=saved.label,
                    guild_id=saved.guild_id,
                    wom_group_id=saved.wom_group_id,
                    relay_channels=len(saved.relay_channel_ids),
                    note="the environment settings are now this clan's wiring in the database",
                )
                return saved
    except ValueError as exc:  # WiringConflict included
        log.error(
            "clans.env_not_imported",
            guild_id=wiring.guild_id,
            reason=str(exc),
            fix="set CLANSTATS_GUILD_ID back, or set the clan up with /setup in its server",
        )
        return None
    except IntegrityError:
        # Several instances started at once (PostgreSQL): another one imported it first.
        async with app.db.read() as session:
            stored = await wiring_for_guild(session, wiring.guild_id)
        if stored is None:
            raise
        log.info("clans.env_imported_by_another_instance", clan=stored.label)
    if replace(stored, clan_id=None, name="", active=True) != replace(
        wiring, clan_id=None, name="", active=True
    ):
        log.info(
            "clans.env_differs",
            clan=stored.label,
            guild_id=stored.guild_id,
            note="the database's wiring (from /setup or the first start) is used",
        )
    return stored


def live_wiring_problems(
    wiring: ClanWiring,
    *,
    guild_found: bool,
    channel_ids: Set[int],
    role_ids: Set[int],
) -> list[str]:
    """Every id of a clan's wiring its guild does not have (seen once the bot connected)."""
    if not guild_found:
        return [f"the bot is not in the server {wiring.guild_id} of {wiring.label}"]
    problems = [
        f"relay channel {cid}: not a channel of this server"
        for cid in wiring.relay_channel_ids
        if cid not in channel_ids
    ]
    for label, cid in (
        ("report channel", wiring.report_channel_id),
        ("announcement channel", wiring.announce_channel_id),
    ):
        if cid is not None and cid not in channel_ids:
            problems.append(f"{label} {cid}: not a channel of this server")
    problems += [
        f"officer role {rid}: not a role of this server"
        for rid in wiring.officer_role_ids
        if rid not in role_ids
    ]
    return problems


class ClanChoiceError(ReportInputError):
    """A command-line command cannot tell which clan it is about (exit 2, with the clans)."""


@dataclass(frozen=True)
class ChosenClan:
    """The clan a command-line command answers for: its WOM group, its id once it has data
    (None: never synced yet), its wiring when it was set up, and its time zone."""

    wom_group_id: int
    clan_id: int | None
    wiring: ClanWiring | None
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def label(self) -> str | None:
        """``clan-<id>`` as the bot names this clan's jobs (None: not set up in a guild)."""
        return self.wiring.label if self.wiring is not None else None


def _listed(wirings: Sequence[ClanWiring]) -> str:
    return "; ".join(
        f"--guild {w.guild_id} ({w.name or 'not synced yet'}, WOM group {w.wom_group_id}"
        + ("" if w.active else ", inactive: the bot left that server")
        + ")"
        for w in wirings
    )


async def choose_clan(
    app: App,
    *,
    guild_id: int | None,
    env_guild_id: int | None,
    env_group_id: int | None,
    env_timezone: str,
) -> ChosenClan:
    """The clan of ``--guild`` (the environment's own guild names its clan even before the
    bot's first start stored it); else the environment's single clan (its guild's wiring,
    else its WOM group, as before many clans); else the only clan set up. Raises
    :class:`ClanChoiceError` naming the clans to choose from."""
    async with app.db.read() as session:
        if guild_id is not None:
            wiring = await wiring_for_guild(session, guild_id)
            if wiring is None and guild_id == env_guild_id and env_group_id is not None:
                # The environment's own clan, before the bot's first start imported it.
                clan = await get_clan_by_group(session, env_group_id)
                return ChosenClan(env_group_id, clan.id if clan else None, None, env_timezone)
            if wiring is None:
                every = await all_wirings(session)
                raise ClanChoiceError(
                    f"no clan is set up for the Discord server {guild_id}"
                    + (f": the clans are {_listed(every)}" if every else "")
                )
            return ChosenClan(wiring.wom_group_id, wiring.clan_id, wiring, wiring.timezone)
        if env_guild_id is not None:
            wiring = await wiring_for_guild(session, env_guild_id)
            if wiring is not None:
                return ChosenClan(wiring.wom_group_id, wiring.clan_id, wiring, wiring.timezone)
        if env_group_id is not None:
            clan = await get_clan_by_group(session, env_group_id)
            return ChosenClan(env_group_id, clan.id if clan else None, None, env_timezone)
        every = await all_wirings(session)
    if len(every) == 1:
        only = every[0]
        return ChosenClan(only.wom_group_id, only.clan_id, only, only.timezone)
    if not every:
        raise ClanChoiceError(
            "no clan is set up yet: run /setup in Discord, or set CLANSTATS_GUILD_ID and "
            "CLANSTATS_WOM_GROUP_ID"
        )
    raise ClanChoiceError(
        f"this database serves {len(every)} clans: say which with {_listed(every)}"
    )
