"""The pager's memory: a closed pager gives back its list at once."""

from __future__ import annotations

import asyncio

import pytest

import cogs.officer._paging as paging
from cogs.officer._paging import Pager


def _pager(n: int) -> Pager:
    lines = [f"{n}: line {i}" for i in range(40)]
    return Pager(
        owner_id=1,
        title=f"list {n}",
        lines=lines,
        empty="nobody",
        files={"list.csv": lambda: "\n".join(lines).encode()},
    )


async def test_a_pager_closed_by_the_cap_drops_its_list_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pager object lives on in reference cycles with its buttons until the collector's
    next full pass; what it held (the list and the findings behind its files) must not: in
    the chaos soak, ~50 closed pagers and their findings piled up each minute."""
    monkeypatch.setattr(paging, "MAX_OPEN_PAGERS", 2)
    pagers = [_pager(n) for n in range(3)]
    await asyncio.sleep(0)  # the grey-out of the closed one runs
    await asyncio.sleep(0)
    oldest, *open_ones = pagers
    assert oldest.is_finished()
    assert (oldest.lines, oldest.files) == ([], {})
    for pager in open_ones:
        assert not pager.is_finished()
        assert len(pager.lines) == 40 and list(pager.files) == ["list.csv"]
    for pager in open_ones:
        pager.stop()
