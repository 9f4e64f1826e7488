"""Rank → Discord role sync against the real bot and the fakes: mappings Discord would refuse
are refused with the reason and never sent; preview before the first apply; a rank change in
WOM → a role change at the next sync; leaving → mapped roles go (the former-member role comes);
unmapped roles are never touched; changes are announced batched. (The 300-member first apply,
which waits on its pacing by design, is in ``tests/faults/test_role_sync_pacing.py``.)"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fakes.discord import FakeInteraction, Permission, SentMessage
from fakes.world import (
    ANNOUNCE_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from tests.e2e.harness import RunningBot, eventually, running_bot
from tests.e2e.test_links_e2e import _code, _links, _post_chat
from tests.e2e.test_officer_e2e import _synced

BOT_ROLE_ID = 1_100_000_000_000_000_060
DEPUTY_ROLE_ID = 1_100_000_000_000_000_061
PROSPECTOR_ROLE_ID = 1_100_000_000_000_000_062
FORMER_ROLE_ID = 1_100_000_000_000_000_063
COUNCIL_ROLE_ID = 1_100_000_000_000_000_064  # above the bot's role
BOOSTER_ROLE_ID = 1_100_000_000_000_000_065  # managed
FRIENDS_ROLE_ID = 1_100_000_000_000_000_066  # never mapped
TYCHE_PLAYER_ID = 2697644  # the last member of the recorded roster (a prospector)
DOC_PLAYER_ID = 1636646  # DocOfMed, deputy_owner


def _set_up_roles(world: ClanWorld) -> None:
    g = world.guild
    g.add_role(BOT_ROLE_ID, "ClanStats", Permission.MANAGE_ROLES, position=10)
    g.add_role(DEPUTY_ROLE_ID, "Deputy", position=5)
    g.add_role(PROSPECTOR_ROLE_ID, "Prospector", position=4)
    g.add_role(FORMER_ROLE_ID, "Former member", position=3)
    g.add_role(COUNCIL_ROLE_ID, "Council", position=20)
    g.add_role(BOOSTER_ROLE_ID, "Booster", position=6, managed=True)
    g.add_role(FRIENDS_ROLE_ID, "Friends", position=7)
    g.members[world.discord.bot_user_id].role_ids.append(BOT_ROLE_ID)
    g.members[MEMBER_USER_ID].role_ids.append(FRIENDS_ROLE_ID)


async def _answer(interaction: FakeInteraction) -> SentMessage:
    responses = await interaction.wait_responses(2, timeout=60)
    return responses[-1]


async def _roles(world: ClanWorld, user_id: int, sub: str, **options: object) -> str:
    asked = await world.discord.invoke_slash(
        GUILD_ID,
        REPORT_CHANNEL_ID,
        user_id,
        "roles",
        [{"name": k, "value": v} for k, v in options.items()],
        subcommand=sub,
    )
    answer = await _answer(asked)
    assert answer.ephemeral
    return answer.content


async def _link(world: ClanWorld, user_id: int, name: str, db_url: str, count: int) -> None:
    code = await _code(world, user_id, name)
    await _post_chat(world, name, f"!link {code}", datetime.now(UTC))

    async def linked() -> bool:
        return len(await _links(db_url)) == count

    await eventually(linked, f"{name} linked")


def _has(world: ClanWorld, user_id: int) -> set[int]:
    return set(world.guild.members[user_id].role_ids)


def _role_requests(world: ClanWorld) -> list[str]:
    return [f"{r.method} {r.path}" for r in world.discord.requests if "/roles/" in r.path]


async def test_rank_roles_follow_wom_and_refuse_what_discord_would(
    world: ClanWorld, db_url: str
) -> None:
    _set_up_roles(world)
    async with running_bot(world, db_url) as running:
        await _synced(running)
        await _link(world, MEMBER_USER_ID, "DocOfMed", db_url, 1)
        await _link(world, OFFICER_USER_ID, "tyche33", db_url, 2)

        # Mappings Discord would refuse: refused with the reason, nothing stored or sent.
        above = await _roles(
            world, OFFICER_USER_ID, "map", rank="deputy owner", role=COUNCIL_ROLE_ID
        )
        assert "Not mapped: @Council is not below the bot's highest role" in above
        managed = await _roles(world, OFFICER_USER_ID, "map", rank="officer", role=BOOSTER_ROLE_ID)
        assert "Not mapped: @Booster is managed by an integration" in managed
        # Discord hides /roles from members; a server that opened it anyway gets a refusal.
        member_try = await world.discord.invoke_slash(
            GUILD_ID,
            REPORT_CHANNEL_ID,
            MEMBER_USER_ID,
            "roles",
            subcommand="show",
            check_permissions=False,
        )
        assert "Only clan officers" in (await member_try.wait_response(timeout=10)).content

        for rank, role in (
            ("Deputy Owner", DEPUTY_ROLE_ID),
            ("prospector", PROSPECTOR_ROLE_ID),
            ("former member", FORMER_ROLE_ID),
        ):
            assert "Mapped:" in await _roles(world, OFFICER_USER_ID, "map", rank=rank, role=role)
        shown = await _roles(world, OFFICER_USER_ID, "show")
        assert "✅ rank Deputy Owner → @Deputy" in shown and "⛔" not in shown

        # The preview before the first apply: nothing is changed yet.
        preview = await _roles(world, OFFICER_USER_ID, "preview")
        assert "**2** change(s) pending for 2 linked member(s)" in preview
        assert "Nothing is applied until an officer runs `/roles apply`." in preview
        assert _role_requests(world) == []
        # A sync before the first apply changes nothing either.
        await _sync_now(world, running)
        assert _role_requests(world) == []

        applied = await _roles(world, OFFICER_USER_ID, "apply")
        assert applied.startswith("2 role change(s) applied, 0 failed")
        assert _has(world, MEMBER_USER_ID) >= {DEPUTY_ROLE_ID, FRIENDS_ROLE_ID}
        assert PROSPECTOR_ROLE_ID in _has(world, OFFICER_USER_ID)
        first = await world.discord.wait_for_sent(
            lambda m: (
                m.channel_id == ANNOUNCE_CHANNEL_ID
                and bool(m.embeds)
                and m.embeds[0]["title"] == "Role changes"
            ),
            timeout=20,
        )
        text = first.embeds[0]["description"]
        assert "➕ @Deputy given to Member Mo: DocOfMed is Deputy Owner" in text

        # In WOM, DocOfMed becomes a prospector and tyche33 leaves the clan.
        world.wom.patch_membership(DOC_PLAYER_ID, values={"role": "prospector"})
        world.wom.keep_only_members(302)
        sent_before = len(world.discord.sent_messages)
        await _sync_now(world, running)

        async def moved() -> bool:
            return _has(world, MEMBER_USER_ID) == {
                PROSPECTOR_ROLE_ID,
                FRIENDS_ROLE_ID,
                *_base_roles(world, MEMBER_USER_ID),
            } and FORMER_ROLE_ID in _has(world, OFFICER_USER_ID)

        await eventually(moved, "roles follow the next sync")
        assert PROSPECTOR_ROLE_ID not in _has(world, OFFICER_USER_ID)
        assert FRIENDS_ROLE_ID in _has(world, MEMBER_USER_ID)  # unmapped: never touched
        second = await world.discord.wait_for_sent(
            lambda m: (
                m.channel_id == ANNOUNCE_CHANNEL_ID
                and bool(m.embeds)
                and m.embeds[0]["title"] == "Role changes"
            ),
            timeout=20,
            start=sent_before,
        )
        lines = second.embeds[0]["description"].splitlines()
        assert len(lines) == 4  # one batched message for the sync's four changes
        assert "➖ @Prospector taken from Officer Olly: tyche33 left the clan" in lines
        # No request ever went to the refused roles.
        assert not [r for r in _role_requests(world) if str(COUNCIL_ROLE_ID) in r]
        assert not [r for r in _role_requests(world) if str(BOOSTER_ROLE_ID) in r]


def _base_roles(world: ClanWorld, user_id: int) -> set[int]:
    """The roles a fake-world member started with (left alone by the sync)."""
    from fakes.world import MEMBER_ROLE_ID, OFFICER_ROLE_ID

    return {r for r in (MEMBER_ROLE_ID, OFFICER_ROLE_ID) if r in _has(world, user_id)}


async def _sync_now(world: ClanWorld, running: RunningBot) -> None:
    asked = await world.discord.invoke_slash(
        GUILD_ID, REPORT_CHANNEL_ID, OFFICER_USER_ID, "sync", subcommand="now"
    )
    await _answer(asked)
    await asyncio.sleep(0.5)  # the role sync runs as the sync's listener
