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


class _Response:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    async def send_message(self, content: str, **kwargs: object) -> None:
        self.sent.append((content, kwargs))


class _Interaction:
    def __init__(self) -> None:
        self.response = _Response()


async def test_a_file_asked_for_as_its_pager_closes_is_refused_politely() -> None:
    """A click dispatched just before the pager closed finds its list gone: the officer is
    told so (privately), instead of the button failing."""
    pager = _pager(0)
    button = next(item for item in pager.children if isinstance(item, paging._FileButton))
    await pager.on_timeout()
    clicked = _Interaction()
    await button.callback(clicked)  # type: ignore[arg-type]
    [(content, kwargs)] = clicked.response.sent
    assert content == "This list has expired: run the command again."
    assert kwargs["ephemeral"] is True and "file" not in kwargs
