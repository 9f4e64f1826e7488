"""A clan's wiring in its Discord guild: which WOM group, which channels, roles, times.

One process serves many clans, one per guild. Everything that used to be a single-guild
setting (relay channels and authors, report channel and time, announcement channel, officer
roles, time zone) is a field of a clan's :class:`ClanWiring`, set by ``/setup`` or imported
once from the environment settings of a single-clan install.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ClanWiring",
    "WiringConflict",
    "format_report_time",
    "parse_report_time",
    "wiring_problems",
]

DEFAULT_REPORT_TIME = time(9, 0)
_HHMM = re.compile(r"(\d{2}):(\d{2})")
# Discord snowflakes: positive 64-bit integers.
_SNOWFLAKE_MAX = 2**63 - 1


class WiringConflict(ValueError):
    """Saving this wiring would take something another clan owns (a relay channel, a WOM
    group): refused, with the reason, and nothing is saved."""


@dataclass(frozen=True, slots=True)
class ClanWiring:
    """One clan's configuration in its guild (the contract between ``/setup`` and the bot).

    ``clan_id`` is None before the first save. ``clan_chat_name`` is the admin's override of
    the in-game clan chat's name (else WOM's ``clanChat``, else the group's name).
    """

    clan_id: int | None
    guild_id: int
    wom_group_id: int
    name: str
    relay_channel_ids: tuple[int, ...] = ()
    relay_author_ids: tuple[int, ...] = ()
    relay_custom_formats: Mapping[str, str] = field(default_factory=dict)
    clan_chat_name: str | None = None
    report_channel_id: int | None = None
    report_time: time = DEFAULT_REPORT_TIME
    announce_channel_id: int | None = None
    officer_role_ids: tuple[int, ...] = ()
    timezone: str = "UTC"
    active: bool = True

    @property
    def tz(self) -> ZoneInfo:
        """The clan's time zone (day boundaries, report time)."""
        return ZoneInfo(self.timezone)

    @property
    def label(self) -> str:
        """How logs and job names name this clan: ``clan-<id>`` (``guild-<id>`` unsaved)."""
        return f"clan-{self.clan_id}" if self.clan_id is not None else f"guild-{self.guild_id}"


def parse_report_time(text: str | None) -> time:
    """``"HH:MM"`` as stored; None or empty is the default (09:00)."""
    if not text:
        return DEFAULT_REPORT_TIME
    match = _HHMM.fullmatch(text)
    if match is None:
        raise ValueError(f"report time {text!r} is not HH:MM")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"report time {text!r} is not a time of day")
    return time(hour, minute)


def format_report_time(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _bad_ids(label: str, ids: Iterable[int | None]) -> list[str]:
    return [
        f"{label} {value} is not a Discord id"
        for value in ids
        if value is not None and not 0 < value <= _SNOWFLAKE_MAX
    ]


def wiring_problems(wiring: ClanWiring) -> list[str]:
    """Every reason this wiring cannot be saved (empty when it can), each one line."""
    problems: list[str] = []
    problems += _bad_ids("guild", [wiring.guild_id])
    if not 0 < wiring.wom_group_id < 2**31:
        problems.append(f"WOM group {wiring.wom_group_id} is not a WOM group id")
    problems += _bad_ids("relay channel", wiring.relay_channel_ids)
    problems += _bad_ids("relay author", wiring.relay_author_ids)
    problems += _bad_ids("report channel", [wiring.report_channel_id])
    problems += _bad_ids("announcement channel", [wiring.announce_channel_id])
    problems += _bad_ids("officer role", wiring.officer_role_ids)
    if len(set(wiring.relay_channel_ids)) != len(wiring.relay_channel_ids):
        problems.append("a relay channel is listed twice")
    if wiring.relay_channel_ids and not wiring.relay_author_ids:
        problems.append("relay channels need at least one relay author (webhook or bot id)")
    if len(wiring.name) > 100:
        problems.append("the clan's name is longer than 100 characters")
    if wiring.clan_chat_name is not None and not 0 < len(wiring.clan_chat_name) <= 100:
        problems.append("the clan chat's name must be 1 to 100 characters")
    try:
        if len(wiring.timezone) > 64:
            raise ValueError("too long")
        ZoneInfo(wiring.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"time zone {wiring.timezone!r} is not an IANA time zone name")
    if wiring.report_time.second or wiring.report_time.microsecond:
        problems.append("the report time is set to the minute (HH:MM)")
    return problems
