"""A 300-member first role apply at the bot's own pace, against the fake Discord's rate limits.

Runs the real bot (``run_bot``, as ``clanstats run``) against the fakes with 300 linked
members whose rank maps to one role, runs ``/roles apply`` and prints how long it took, how
many requests it sent, the busiest second and the 429s Discord answered. Targets: no 429,
never more than the pace (``ROLE_REQUESTS_PER_S``, 10 a second) in any second, plus the
command's own answer.

    python benchmarks/role_sync_benchmark.py [--members N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.discord_roles import ROLE_REQUESTS_PER_S  # noqa: E402
from fakes.discord import Permission  # noqa: E402
from fakes.world import GUILD_ID, OFFICER_USER_ID, REPORT_CHANNEL_ID, clan_world  # noqa: E402
from storage.models import Member, RsnLink  # noqa: E402
from tests.e2e.harness import running_bot  # noqa: E402
from tests.e2e.test_officer_e2e import _synced  # noqa: E402

ROLE_ID = 1_100_000_000_000_000_061
BOT_ROLE_ID = 1_100_000_000_000_000_060


async def _command(world: object, sub: str, **options: object) -> str:
    asked = await world.discord.invoke_slash(  # type: ignore[attr-defined]
        GUILD_ID,
        REPORT_CHANNEL_ID,
        OFFICER_USER_ID,
        "roles",
        [{"name": k, "value": v} for k, v in options.items()],
        subcommand=sub,
    )
    return str((await asked.wait_responses(2, timeout=1200))[-1].content)


async def run(members: int) -> int:
    async with clan_world() as world:
        guild = world.guild
        guild.add_role(BOT_ROLE_ID, "ClanStats", Permission.MANAGE_ROLES, position=10)
        guild.add_role(ROLE_ID, "Clan member", position=5)
        guild.members[world.discord.bot_user_id].role_ids.append(BOT_ROLE_ID)
        users = [1_400_000_000_000_000_000 + i for i in range(members)]
        for user_id in users:
            guild.add_member(user_id, f"member{user_id % 10_000}")
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            async with running_bot(world, url) as running:
                await _synced(running)
                async with running.bot.app.db.write() as s:
                    rows = list((await s.execute(select(Member).order_by(Member.id))).scalars())
                    for user_id, member in zip(users, rows, strict=False):
                        s.add(
                            RsnLink(
                                clan_id=member.clan_id,
                                discord_user_id=user_id,
                                member_id=member.id,
                                linked_at=datetime.now(UTC),
                                message_id=1,
                            )
                        )
                    ranks = sorted({m.role for m in rows if m.role})
                for rank in ranks:
                    await _command(world, "map", rank=rank, role=ROLE_ID)
                first = len(world.discord.requests)
                started = time.perf_counter()
                answer = await _command(world, "apply")
                elapsed = time.perf_counter() - started
                sent = world.discord.requests[first:]
        times = sorted(r.at for r in sent)
        busiest = max(
            (sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times)),
            default=0,
        )
        too_many = [r for r in sent if r.status == 429]
        print(f"linked members:            {min(members, len(rows))}")
        print(f"answer:                    {answer.splitlines()[0]}")
        print(f"first apply took:          {elapsed:.1f} s")
        print(f"requests sent:             {len(sent)}")
        print(f"busiest second:            {busiest} requests (pace {ROLE_REQUESTS_PER_S:g}/s)")
        print(f"429 answers:               {len(too_many)} (target 0)")
        print(f"fake Discord violations:   {len(world.discord.violations)} (target 0)")
        ok = not too_many and not world.discord.violations
        ok = ok and busiest <= ROLE_REQUESTS_PER_S + 2  # + the command's own answer
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    args = parser.parse_args()
    return asyncio.run(run(args.members))


if __name__ == "__main__":
    sys.exit(main())
