"""The WOM rate limit is shared by every clan of the process and spent fairly: turns go
round the clans with requests waiting, so one clan's backlog never starves another."""

from __future__ import annotations

import asyncio

from bot.adapters.wom import WomRateLimiter, wom_party


class FakeTime:
    """A clock that moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def limiter(time: FakeTime, limit: int = 2) -> WomRateLimiter:
    return WomRateLimiter(limit, 10.0, margin_s=0.0, clock=time.clock, sleep=time.sleep)


async def test_turns_go_round_the_clans_with_requests_waiting() -> None:
    time = FakeTime()
    wom = limiter(time)

    async def request(party: str) -> None:
        with wom_party(party):
            await wom.acquire()

    # Clan A queues ten requests before B (three) and C (one) queue theirs.
    tasks = [asyncio.create_task(request(p)) for p in ["A"] * 10 + ["B"] * 3 + ["C"]]
    await asyncio.gather(*tasks)

    # A's first three got through before the others queued (two fit in the budget at
    # once; the third was already waiting for the window). From then on: A, B, C in turn,
    # then A and B, then A alone.
    assert list(wom.granted) == [*"AAA", *"ABC", *"AB", *"AB", *"AAAA"]
    # The budget held: never more than 2 requests in any 10 s window.
    assert time.now == 60.0


async def test_fifo_within_a_clan_and_one_party_without_clans() -> None:
    time = FakeTime()
    wom = limiter(time, limit=1)
    order: list[int] = []

    async def request(n: int) -> None:
        await wom.acquire()  # no party: the CLI's own requests
        order.append(n)

    await asyncio.gather(*(request(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert list(wom.granted) == [None] * 5


async def test_a_request_cancelled_while_waiting_frees_its_place() -> None:
    time = FakeTime()
    wom = limiter(time, limit=1)
    await wom.acquire("A")  # the budget is spent until t=10
    first = asyncio.create_task(wom.acquire("A"))  # granted the turn, sleeping on the budget
    cancelled = asyncio.create_task(wom.acquire("B"))
    waiting = asyncio.create_task(wom.acquire("C"))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.gather(first, waiting)
    assert cancelled.cancelled()
    assert list(wom.granted) == ["A", "A", "C"]


async def test_a_request_cancelled_while_it_has_the_turn_passes_it_on() -> None:
    time = FakeTime()
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        await gate.wait()  # stays asleep until the test lets it go
        time.now += seconds

    wom = WomRateLimiter(1, 10.0, margin_s=0.0, clock=time.clock, sleep=slow_sleep)
    await wom.acquire("A")
    holder = asyncio.create_task(wom.acquire("A"))  # has the turn, sleeping on the budget
    other = asyncio.create_task(wom.acquire("B"))
    await asyncio.sleep(0)
    holder.cancel()
    await asyncio.sleep(0)
    gate.set()
    await asyncio.wait_for(other, 5)
    assert list(wom.granted) == ["A", "B"]
