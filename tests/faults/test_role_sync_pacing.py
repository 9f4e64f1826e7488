"""A 300-member first rank → role apply, spread out under Discord's rate limits: no 429.

It waits on purpose (the role sync paces its requests), so it sits outside the end-to-end
suite's time budget, with the fault tests; it ends with the same verdict as every e2e test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.discord_roles import ROLE_REQUESTS_PER_S
from fakes.world import OFFICER_USER_ID, ClanWorld
from storage.models import Member, RsnLink
from tests.e2e.harness import running_bot
from tests.e2e.test_links_e2e import _links
from tests.e2e.test_officer_e2e import _synced
from tests.e2e.test_roles_e2e import DEPUTY_ROLE_ID, _has, _roles, _set_up_roles


@pytest.mark.timeout(240)
async def test_a_300_member_first_apply_is_spread_out_without_a_429(
    world: ClanWorld, sqlite_url: str
) -> None:
    _set_up_roles(world)
    clan_role = DEPUTY_ROLE_ID
    users = [1_400_000_000_000_000_000 + i for i in range(300)]
    for user_id in users:
        world.guild.add_member(user_id, f"member{user_id % 1000}")
    async with running_bot(world, sqlite_url) as running:
        await _synced(running)
        db = running.bot.app.db
        async with db.write() as s:
            members = list((await s.execute(select(Member).order_by(Member.id))).scalars())
            for user_id, member in zip(users, members, strict=False):
                s.add(
                    RsnLink(
                        clan_id=member.clan_id,
                        discord_user_id=user_id,
                        member_id=member.id,
                        linked_at=datetime.now(UTC),
                        message_id=1,
                    )
                )
            ranks = {m.role for m in members if m.role}
        for rank in sorted(ranks):
            assert "Mapped:" in await _roles(
                world, OFFICER_USER_ID, "map", rank=rank, role=clan_role
            )
        # discord.py loads the extension as its own module object: the class is not
        # cogs.roles.RolesCog as imported here, so the cog is found by name.
        cog = running.bot.get_cog("RolesCog")
        assert cog is not None and hasattr(cog, "pace_per_s")
        assert cog.pace_per_s == ROLE_REQUESTS_PER_S == 10.0
        cog.pace_per_s = 40.0  # as fast as Discord's global 50/s leaves room for
        started = len(world.discord.requests)
        applied = await _roles(world, OFFICER_USER_ID, "apply")
        assert applied.startswith("300 role change(s) applied, 0 failed")
        assert all(clan_role in _has(world, u) for u in users)
        sent = world.discord.requests[started:]
        assert not [r for r in sent if r.status == 429]
        assert not world.discord.rate_limits.answered
        # Spread out: never more than 45 requests in any second.
        times = sorted(r.at for r in sent)
        busiest = max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times))
        assert busiest <= 45, busiest
    assert len(await _links(sqlite_url)) == 300
