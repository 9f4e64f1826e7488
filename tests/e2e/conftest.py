"""Fixtures every end-to-end test shares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fakes.world import ClanWorld, clan_world


@pytest.fixture
async def world() -> AsyncIterator[ClanWorld]:
    """The recorded clan on a fresh fake Discord and fake WOM, both on loopback."""
    async with clan_world() as w:
        yield w
