"""A whole clan's world on loopback: a fake Discord guild and a fake WOM group, wired up.

Both the end-to-end tests and ``clanstats demo`` build their world here, so what the demo
shows is exactly what the tests prove.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fakes.discord import ALL_PERMISSIONS, FakeDiscord, FakeGuild
from fakes.wom import DEFAULT_API_KEYS, FakeWom

GUILD_ID = 1_100_000_000_000_000_001
RELAY_CHANNEL_ID = 1_100_000_000_000_000_010
REPORT_CHANNEL_ID = 1_100_000_000_000_000_011
ANNOUNCE_CHANNEL_ID = 1_100_000_000_000_000_012
GENERAL_CHANNEL_ID = 1_100_000_000_000_000_013
OFFICER_ROLE_ID = 1_100_000_000_000_000_020
MEMBER_ROLE_ID = 1_100_000_000_000_000_021
RELAY_WEBHOOK_ID = 1_100_000_000_000_000_030
TRACKSCAPE_BOT_ID = 1_100_000_000_000_000_031
OFFICER_USER_ID = 1_100_000_000_000_000_040
MEMBER_USER_ID = 1_100_000_000_000_000_041
ADMIN_USER_ID = 1_100_000_000_000_000_042
CLAN_NAME = "Nevr Lucky"


@dataclass
class ClanWorld:
    discord: FakeDiscord
    wom: FakeWom
    guild: FakeGuild

    def settings(self, database_url: str, **overrides: Any) -> dict[str, Any]:
        """Settings (as keyword arguments) for a bot living in this world."""
        values: dict[str, Any] = {
            "database_url": database_url,
            "discord_token": self.discord.token,
            "discord_api_url": self.discord.base_url,
            "guild_id": GUILD_ID,
            "wom_group_id": self.wom.group_id,
            "wom_base_url": self.wom.base_url,
            "wom_api_key": DEFAULT_API_KEYS[0],
            "wom_rate_window_s": self.wom.rate_window_s,
            "wom_timeout_s": 3.0,
            "relay_channel_ids": [RELAY_CHANNEL_ID],
            "relay_author_ids": [RELAY_WEBHOOK_ID, TRACKSCAPE_BOT_ID],
            "report_channel_id": REPORT_CHANNEL_ID,
            "announce_channel_id": ANNOUNCE_CHANNEL_ID,
            "officer_role_ids": [OFFICER_ROLE_ID],
            "timezone": "Europe/London",
        }
        values.update(overrides)
        return values


def build_guild(discord: FakeDiscord) -> FakeGuild:
    guild = discord.add_guild(GUILD_ID, "Nevr Lucky Clan", owner_id=ADMIN_USER_ID)
    for channel_id, name in (
        (RELAY_CHANNEL_ID, "clan-chat"),
        (REPORT_CHANNEL_ID, "officer-reports"),
        (ANNOUNCE_CHANNEL_ID, "roster"),
        (GENERAL_CHANNEL_ID, "general"),
    ):
        guild.add_channel(channel_id, name)
    guild.add_role(OFFICER_ROLE_ID, "Officer")
    guild.add_role(MEMBER_ROLE_ID, "Member")
    guild.add_member(OFFICER_USER_ID, "Officer Olly", [OFFICER_ROLE_ID, MEMBER_ROLE_ID])
    guild.add_member(MEMBER_USER_ID, "Member Mo", [MEMBER_ROLE_ID])
    admin_role = 1_100_000_000_000_000_022
    guild.add_role(admin_role, "Admin", ALL_PERMISSIONS)
    guild.add_member(ADMIN_USER_ID, "Admin Ada", [admin_role])
    guild.add_member(TRACKSCAPE_BOT_ID, "TrackScape", bot=True)
    discord.add_webhook_user(RELAY_WEBHOOK_ID, "Osrs clanchat", RELAY_CHANNEL_ID)
    # What the README asks of an admin: open the bot's commands to the officer role in
    # Server Settings → Integrations (officer commands need Manage Server by default).
    discord.set_command_permissions(
        GUILD_ID, [{"id": OFFICER_ROLE_ID, "type": 1, "permission": True}]
    )
    return guild


@asynccontextmanager
async def clan_world(
    *, wom_rate_window_s: float = 1.0, **wom_options: Any
) -> AsyncIterator[ClanWorld]:
    """Start both fakes with the recorded clan; stop them on exit."""
    async with (
        FakeDiscord() as discord,
        FakeWom(rate_window_s=wom_rate_window_s, **wom_options) as wom,
    ):
        guild = build_guild(discord)
        yield ClanWorld(discord=discord, wom=wom, guild=guild)
