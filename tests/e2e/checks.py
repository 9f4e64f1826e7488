"""The verdict every end-to-end test ends with: Discord would have accepted everything the bot
sent, and nothing it posted could ping anyone.

The shared ``world`` fixture (``tests/e2e/conftest.py``) applies it at teardown; a test that
means to break a rule says which with ``@pytest.mark.expect_violations("pattern", ...)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fakes.world import ClanWorld


def verdict_problems(world: ClanWorld, expected: Sequence[str] = ()) -> list[str]:
    """Everything wrong with what the bot did in ``world``; empty when all is well.

    ``expected`` are regular expressions: each must match at least one recorded violation,
    and every violation must match one of them. Unknown requests and pinging messages are
    never expected.
    """
    problems: list[str] = []
    violations = list(world.discord.violations)
    patterns = [re.compile(p) for p in expected]
    unexpected = [v for v in violations if not any(p.search(v) for p in patterns)]
    if unexpected:
        problems.append(
            "Discord would have rejected what the bot sent:\n  " + "\n  ".join(unexpected)
        )
    missing = [p.pattern for p in patterns if not any(p.search(v) for v in violations)]
    if missing:
        problems.append(
            f"expected violations that never happened: {missing} (recorded: {violations})"
        )
    if world.discord.unknown_requests:
        problems.append(
            "requests Discord has no route for:\n  " + "\n  ".join(world.discord.unknown_requests)
        )
    loud = [
        m
        for m in world.discord.sent_messages
        if m.allowed_mentions is None
        or m.allowed_mentions.get("parse") not in ([], None)
        or m.allowed_mentions.get("users")
        or m.allowed_mentions.get("roles")
    ]
    if loud:
        problems.append(f"{len(loud)} message(s) could ping: {[m.content[:60] for m in loud]}")
    return problems


def assert_discord_accepted_everything(world: ClanWorld, expected: Sequence[str] = ()) -> None:
    problems = verdict_problems(world, expected)
    assert not problems, "\n".join(problems)
