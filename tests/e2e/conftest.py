"""Fixtures every end-to-end test shares, and the verdict none of them can forget."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.world import ClanWorld, clan_world
from tests.e2e.checks import verdict_problems


def expected_violations(request: pytest.FixtureRequest) -> list[str]:
    """The patterns of every ``expect_violations`` marker on the test."""
    return [str(p) for m in request.node.iter_markers("expect_violations") for p in m.args]


@pytest.fixture
async def world(request: pytest.FixtureRequest) -> AsyncIterator[ClanWorld]:
    """The recorded clan on a fresh fake Discord and fake WOM, both on loopback.

    At teardown the test fails unless Discord would have accepted everything the bot sent
    (no violation, no unknown request) and nothing it posted could ping anyone; a test that
    provokes violations on purpose names them with ``@pytest.mark.expect_violations``.
    """
    async with clan_world() as w:
        yield w
    problems = verdict_problems(w, expected_violations(request))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
