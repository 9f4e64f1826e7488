"""A small guild for the fake Discord's own tests: two channels, an officer role, two members
and a relay webhook. (The e2e tests use the whole recorded clan: ``fakes/world.py``.)"""

from __future__ import annotations

from fakes.discord import FakeDiscord, FakeGuild, Permission

GUILD_ID = 1_100_000_000_000_000_001
RELAY_CHANNEL_ID = 1_100_000_000_000_000_010
BOT_CHANNEL_ID = 1_100_000_000_000_000_011
OFFICER_ROLE_ID = 1_100_000_000_000_000_020
OFFICER_ID = 1_100_000_000_000_000_030
MEMBER_ID = 1_100_000_000_000_000_031
WEBHOOK_ID = 1_100_000_000_000_000_040


def build_world(fake: FakeDiscord) -> FakeGuild:
    guild = fake.add_guild(GUILD_ID, "Iron Clan")
    guild.add_channel(RELAY_CHANNEL_ID, "clan-chat")
    guild.add_channel(BOT_CHANNEL_ID, "bot")
    guild.add_role(OFFICER_ROLE_ID, "Officer", permissions=Permission.MANAGE_MESSAGES)
    guild.add_member(OFFICER_ID, "Officer Olga", [OFFICER_ROLE_ID])
    guild.add_member(MEMBER_ID, "Member Max")
    fake.add_webhook_user(WEBHOOK_ID, "Osrs clanchat", RELAY_CHANNEL_ID)
    return guild
