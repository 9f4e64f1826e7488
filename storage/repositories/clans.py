"""Clans: a Discord guild linked to a Wise Old Man group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.clans import (
    ClanWiring,
    WiringConflict,
    format_report_time,
    parse_report_time,
    wiring_problems,
)
from storage.bulk import insert_ignore
from storage.models import Clan, RelayChannel, utcnow


async def ensure_clan(
    session: AsyncSession, *, wom_group_id: int, name: str, guild_id: int | None = None
) -> Clan:
    """Return the clan for ``wom_group_id``, creating it on first use."""
    await insert_ignore(
        session,
        Clan,
        [
            {
                "wom_group_id": wom_group_id,
                "name": name,
                "guild_id": guild_id,
                "role_order": [],
                "settings": {},
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        ],
        conflict_columns=["wom_group_id"],
    )
    clan = (
        await session.execute(select(Clan).where(Clan.wom_group_id == wom_group_id))
    ).scalar_one()
    if guild_id is not None and clan.guild_id != guild_id:
        clan.guild_id = guild_id
    return clan


async def get_clan_by_group(session: AsyncSession, wom_group_id: int) -> Clan | None:
    return (
        await session.execute(select(Clan).where(Clan.wom_group_id == wom_group_id))
    ).scalar_one_or_none()


# -- wiring (revision 0009) -------------------------------------------------------------------


def _wiring(clan: Clan, channel_ids: Sequence[int]) -> ClanWiring:
    assert clan.guild_id is not None
    return ClanWiring(
        clan_id=clan.id,
        guild_id=clan.guild_id,
        wom_group_id=clan.wom_group_id,
        name=clan.name,
        relay_channel_ids=tuple(sorted(channel_ids)),
        relay_author_ids=tuple(int(i) for i in clan.relay_author_ids or ()),
        relay_custom_formats=dict(clan.relay_custom_formats or {}),
        clan_chat_name=clan.clan_chat_override,
        report_channel_id=clan.report_channel_id,
        report_time=parse_report_time(clan.report_time),
        announce_channel_id=clan.announce_channel_id,
        officer_role_ids=tuple(int(i) for i in clan.officer_role_ids or ()),
        timezone=clan.timezone or "UTC",
        active=clan.active,
    )


async def _channels_of(session: AsyncSession, clan_ids: Sequence[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(RelayChannel.clan_id, RelayChannel.channel_id).where(
            RelayChannel.clan_id.in_(clan_ids)
        )
    )
    found: dict[int, list[int]] = {clan_id: [] for clan_id in clan_ids}
    for clan_id, channel_id in rows:
        found[clan_id].append(channel_id)
    return found


async def wiring_for_guild(session: AsyncSession, guild_id: int) -> ClanWiring | None:
    """The clan set up in ``guild_id`` (active or not), or None when none was set up there.

    A clan row that only carries the guild (made by an older version, before ``/setup``) has
    no wiring yet: None.
    """
    clan = (
        await session.execute(
            select(Clan).where(Clan.guild_id == guild_id, Clan.setup_at.is_not(None))
        )
    ).scalar_one_or_none()
    if clan is None:
        return None
    channels = await _channels_of(session, [clan.id])
    return _wiring(clan, channels[clan.id])


async def active_wirings(session: AsyncSession) -> list[ClanWiring]:
    """Every clan set up in a guild the bot is in, by clan id."""
    clans = (
        (
            await session.execute(
                select(Clan)
                .where(Clan.setup_at.is_not(None), Clan.active.is_(True))
                .order_by(Clan.id)
            )
        )
        .scalars()
        .all()
    )
    channels = await _channels_of(session, [c.id for c in clans])
    return [_wiring(c, channels[c.id]) for c in clans]


async def all_wirings(session: AsyncSession) -> list[ClanWiring]:
    """Every clan set up in some guild, active or not, by clan id (the CLI lists them)."""
    clans = (
        (await session.execute(select(Clan).where(Clan.setup_at.is_not(None)).order_by(Clan.id)))
        .scalars()
        .all()
    )
    channels = await _channels_of(session, [c.id for c in clans])
    return [_wiring(c, channels[c.id]) for c in clans]


async def _clan_to_wire(session: AsyncSession, wiring: ClanWiring) -> Clan:
    """The row ``wiring`` is saved into: the guild's clan, else the WOM group's clan when no
    other guild holds it (a row an older version or a CLI sync made), else a new one."""
    by_guild = (
        await session.execute(select(Clan).where(Clan.guild_id == wiring.guild_id))
    ).scalar_one_or_none()
    by_group = await get_clan_by_group(session, wiring.wom_group_id)
    if by_group is not None and by_group is not by_guild and by_group.guild_id is not None:
        raise WiringConflict(
            f"WOM group {wiring.wom_group_id} is already the clan of another Discord server"
        )
    if by_guild is not None:
        if by_group is not None and by_group is not by_guild:
            # A row with this group and no guild (a CLI sync): one clan per group.
            raise WiringConflict(
                f"WOM group {wiring.wom_group_id} already has its own clan in the database "
                f"(clan {by_group.id}, not linked to a server): this server's clan is "
                f"WOM group {by_guild.wom_group_id}"
            )
        by_guild.wom_group_id = wiring.wom_group_id
        return by_guild
    if by_group is not None:
        by_group.guild_id = wiring.guild_id
        return by_group
    clan = Clan(
        wom_group_id=wiring.wom_group_id,
        guild_id=wiring.guild_id,
        name=wiring.name,
        role_order=[],
        settings={},
    )
    session.add(clan)
    await session.flush()
    return clan


async def _save_channels(session: AsyncSession, clan_id: int, channel_ids: Sequence[int]) -> None:
    """The clan's relay channels become exactly ``channel_ids``; a channel another clan
    relays in is refused."""
    wanted = set(channel_ids)
    if wanted:
        taken = (
            await session.execute(
                select(RelayChannel.channel_id, RelayChannel.clan_id).where(
                    RelayChannel.channel_id.in_(wanted), RelayChannel.clan_id != clan_id
                )
            )
        ).all()
        if taken:
            ids = ", ".join(str(channel_id) for channel_id, _ in sorted(taken))
            raise WiringConflict(f"relay channel {ids} already belongs to another clan")
    await session.execute(
        delete(RelayChannel).where(
            RelayChannel.clan_id == clan_id, RelayChannel.channel_id.not_in(wanted)
        )
    )
    have = set(
        (
            await session.execute(
                select(RelayChannel.channel_id).where(RelayChannel.clan_id == clan_id)
            )
        ).scalars()
    )
    for channel_id in sorted(wanted - have):
        session.add(RelayChannel(channel_id=channel_id, clan_id=clan_id))
    await session.flush()


async def save_wiring(
    session: AsyncSession, wiring: ClanWiring, *, by: int | None, now: datetime
) -> ClanWiring:
    """Create or update the clan of ``wiring.guild_id`` (active again), return it saved.

    Raises :class:`ValueError` listing every problem of the wiring, or
    :class:`WiringConflict` when a relay channel or the WOM group belongs to another clan;
    nothing is saved then (the caller's transaction rolls back).
    """
    problems = wiring_problems(wiring)
    if problems:
        raise ValueError("; ".join(problems))
    clan = await _clan_to_wire(session, wiring)
    if wiring.name:
        clan.name = wiring.name
    clan.relay_author_ids = list(wiring.relay_author_ids)
    clan.relay_custom_formats = dict(wiring.relay_custom_formats)
    clan.clan_chat_override = wiring.clan_chat_name
    clan.report_channel_id = wiring.report_channel_id
    clan.report_time = format_report_time(wiring.report_time)
    clan.announce_channel_id = wiring.announce_channel_id
    clan.officer_role_ids = list(wiring.officer_role_ids)
    clan.timezone = wiring.timezone
    clan.setup_at = now
    clan.setup_by = by
    clan.active = True
    clan.updated_at = now
    await session.flush()
    await _save_channels(session, clan.id, wiring.relay_channel_ids)
    return _wiring(clan, wiring.relay_channel_ids)


async def set_active(session: AsyncSession, guild_id: int, active: bool, *, now: datetime) -> None:
    """Mark the guild's clan active (the bot is in the guild) or not (it left: data kept)."""
    await session.execute(
        update(Clan)
        .where(Clan.guild_id == guild_id)
        .values(active=active, updated_at=now)
        .execution_options(synchronize_session=False)
    )
