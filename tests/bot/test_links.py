"""Proven links through the real ingest and a real database (SQLite and PostgreSQL), and a
property test over generated relay traffic: no way to link without the code coming from the
claimed name through a relay author."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import App, wom_client
from bot.core.config import Settings
from bot.usecases.harvest import compile_relay_config, ensure_clan_for, ingest
from bot.usecases.links import (
    LinkError,
    allow_accounts,
    start_link,
    take_link_notices,
    unlink,
    whois,
)
from domain.links import Allowance
from domain.relay import RelayMessageIn
from fakes.chat_script import chat
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import LinkCode, RelayMessage, RsnLink
from tests.bot.test_harvest import add_member

WEBHOOK_ID = 1_144_000_000_000_000_001
ROGUE_BOT_ID = 1_144_000_000_000_000_009
CHANNEL_ID = 1_100_000_000_000_000_777
HUMAN_ID = 555_000_000_000_000_001
USER, OTHER_USER = 900_000_000_000_000_001, 900_000_000_000_000_002
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CONFIG = compile_relay_config([WEBHOOK_ID], {})


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def chooser(code: str) -> Callable[[str], str]:
    """A "random" source that spells ``code``, so the test knows what to type."""
    letters: Iterator[str] = iter(code)
    return lambda _alphabet: next(letters)


def make_app(db: Database, clock: Clock) -> App:
    settings = Settings(database_url="sqlite://", wom_group_id=1)
    return App(db=db, wom=wom_client(settings), clock=clock)


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(db: Database, clock: Clock) -> AsyncIterator[App]:
    application = make_app(db, clock)
    try:
        yield application
    finally:
        await application.wom.close()


_ids = itertools.count(1_200_000_000_000_000_000)


def relayed(name: str, text: str, at: datetime, *, author: int = WEBHOOK_ID) -> RelayMessageIn:
    """A chat line as the Clan Chat Webhook relay (clanchat.net) posts it."""
    return RelayMessageIn(
        message_id=next(_ids),
        channel_id=CHANNEL_ID,
        author_id=author,
        author_name="Osrs clanchat",
        is_bot=True,
        webhook_id=author,
        content=chat(0, name, text).content,
        embeds=(),
        posted_at=at,
    )


def typed_by_human(text: str, at: datetime) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=next(_ids),
        channel_id=CHANNEL_ID,
        author_id=HUMAN_ID,
        author_name="someone",
        is_bot=False,
        webhook_id=None,
        content=text,
        embeds=(),
        posted_at=at,
    )


async def links_of(app: App, clan_id: int) -> list[tuple[int, int]]:
    async with app.db.read() as s:
        rows = await s.execute(
            select(RsnLink.discord_user_id, RsnLink.member_id).where(
                RsnLink.clan_id == clan_id, RsnLink.unlinked_at.is_(None)
            )
        )
        return sorted((u, m) for u, m in rows)


async def test_the_full_link_flow_and_its_refusals(app: App, clock: Clock) -> None:
    clan_id = await ensure_clan_for(app, 11114)
    doc = await add_member(app, clan_id, 1, "DocOfMed")
    jb = await add_member(app, clan_id, 2, "Jbwell")
    await add_member(app, clan_id, 3, "Gone Guy", left_at=T0 - timedelta(days=1))

    with pytest.raises(LinkError, match="No current clan member is called 'Nobody'"):
        await start_link(app, clan_id, USER, "Nobody")
    with pytest.raises(LinkError, match="No current clan member"):
        await start_link(app, clan_id, USER, "Gone Guy")

    issued = await start_link(app, clan_id, USER, "docofmed", choice=chooser("ABC234"))
    assert (issued.code, issued.display_name) == ("ABC234", "DocOfMed")
    assert issued.expires_at == T0 + timedelta(minutes=30)
    async with app.db.read() as s:
        stored = (await s.execute(select(LinkCode.code_hash))).scalars().all()
    assert stored and all("ABC234" not in h for h in stored)

    in_window = T0 + timedelta(minutes=5)
    refused = [
        typed_by_human("DocOfMed: !link ABC234", in_window),  # a human in the channel
        relayed("DocOfMed", "!link ABC234", in_window, author=ROGUE_BOT_ID),  # not a relay
        relayed("Jbwell", "!link ABC234", in_window),  # another name
        relayed("Stranger", "!link ABC234", in_window),  # nobody's name
        relayed("DocOfMed", "!link ABC235", in_window),  # a wrong code
        relayed("DocOfMed", "!link ABC234", T0 - timedelta(minutes=1)),  # before /link
        relayed("DocOfMed", "!link ABC234", T0 + timedelta(minutes=31)),  # expired
        relayed("DocOfMed", "I will !link ABC234", in_window),  # not the command
    ]
    result = await ingest(app, clan_id, refused, source="live", config=CONFIG)
    assert result.new == len(refused) and result.links == 0
    assert await links_of(app, clan_id) == []
    # An imported export never proves anything, even with the right line.
    right = relayed("DocOfMed", "!link abc234", in_window)
    imported = await ingest(app, clan_id, [right], source="import", config=CONFIG)
    assert imported.links == 0 and await links_of(app, clan_id) == []

    # The right line, relayed live: the link is made, and the line is stored once as chat.
    live = relayed("DocOfMed", "!link abc234", in_window)
    made = await ingest(app, clan_id, [live], source="live", config=CONFIG)
    assert (made.links, made.chat) == (1, 1)
    assert await links_of(app, clan_id) == [(USER, doc)]
    # Seen again by the backfill: stored once, never read twice; a replay of the code fails.
    again = await ingest(app, clan_id, [live], source="backfill", config=CONFIG)
    assert (again.new, again.links) == (0, 0)
    replay = await ingest(
        app, clan_id, [relayed("DocOfMed", "!link ABC234", in_window)], source="live", config=CONFIG
    )
    assert replay.links == 0
    async with app.db.read() as s:
        count = (
            await s.execute(select(func.count()).where(RelayMessage.message_id == live.message_id))
        ).scalar_one()
    assert count == 1

    # Told once, at the next command.
    assert [a.display_name for a in await take_link_notices(app, clan_id, USER)] == ["DocOfMed"]
    assert await take_link_notices(app, clan_id, USER) == []
    assert [a.display_name for a in await whois(app, clan_id, USER)] == ["DocOfMed"]

    # One account per member, one member per account.
    with pytest.raises(LinkError, match="already linked to \\*\\*DocOfMed"):
        await start_link(app, clan_id, USER, "DocOfMed")
    with pytest.raises(LinkError, match="already have a linked account"):
        await start_link(app, clan_id, USER, "Jbwell")
    with pytest.raises(LinkError, match="linked to another Discord member"):
        await start_link(app, clan_id, OTHER_USER, "DocOfMed")
    # An officer allows a second account: now it works.
    await allow_accounts(app, clan_id, USER, Allowance(max_accounts=2), by=OTHER_USER)
    await start_link(app, clan_id, USER, "Jbwell", choice=chooser("JBW234"))
    await ingest(
        app, clan_id, [relayed("Jbwell", "!link JBW234", in_window)], source="live", config=CONFIG
    )
    assert await links_of(app, clan_id) == sorted([(USER, doc), (USER, jb)])

    # A newer /link replaces an older unused code.
    await unlink(app, clan_id, USER, name="Jbwell", by=USER)
    await start_link(app, clan_id, USER, "Jbwell", choice=chooser("OLD234"))
    await start_link(app, clan_id, USER, "Jbwell", choice=chooser("NEW234"))
    old = await ingest(
        app, clan_id, [relayed("Jbwell", "!link OLD234", in_window)], source="live", config=CONFIG
    )
    assert old.links == 0

    # /unlink, and nothing left to unlink.
    assert await unlink(app, clan_id, USER, name=None, by=USER) == 1
    with pytest.raises(LinkError, match="no linked account"):
        await unlink(app, clan_id, USER, name=None, by=USER)
    with pytest.raises(LinkError, match="No link to 'DocOfMed'"):
        await unlink(app, clan_id, USER, name="DocOfMed", by=USER)
    assert await links_of(app, clan_id) == []


async def test_a_rename_keeps_the_link(app: App, clock: Clock) -> None:
    clan_id = await ensure_clan_for(app, 11114)
    doc = await add_member(app, clan_id, 1, "DocOfMed")
    await start_link(app, clan_id, USER, "DocOfMed", choice=chooser("REN234"))
    await ingest(
        app,
        clan_id,
        [relayed("DocOfMed", "!link REN234", T0 + timedelta(minutes=1))],
        source="live",
        config=CONFIG,
    )
    async with app.db.write() as s:
        from storage.models import Member

        member = await s.get(Member, doc)
        assert member is not None
        member.display_name, member.rsn_key = "Doc Renamed", "doc renamed"
    assert [a.display_name for a in await whois(app, clan_id, USER)] == ["Doc Renamed"]


# ---------------------------------------------------------------------------------------------
# Property: generated relay traffic


@dataclass(frozen=True)
class Post:
    author: str  # relay | human | rogue_bot
    speaker: str  # A | B | stranger
    code: str  # code_a | code_b | wrong
    minutes: int  # after /link
    source: str  # live | backfill | import
    upper: bool


MINUTES = st.sampled_from([-5, -1, 0, 1, 15, 29, 30, 31, 35])
RANDOM_POSTS = st.builds(
    Post,
    author=st.sampled_from(["relay", "human", "rogue_bot"]),
    speaker=st.sampled_from(["A", "B", "stranger"]),
    code=st.sampled_from(["code_a", "code_b", "wrong"]),
    minutes=MINUTES,
    source=st.sampled_from(["live", "backfill", "import"]),
    upper=st.booleans(),
)
# Near misses: the right line for one code, spoilt in one or two ways (a human or an
# unconfigured bot typing it, another name, another code, too early, too late, imported).
SPOILS = {
    "human": {"author": "human"},
    "rogue": {"author": "rogue_bot"},
    "other name": {"speaker": "stranger"},
    "swapped name": {"speaker": "swap"},
    "wrong code": {"code": "wrong"},
    "early": {"minutes": -1},
    "late": {"minutes": 31},
    "imported": {"source": "import"},
}


@st.composite
def near_miss(draw: st.DrawFn) -> Post:
    who = draw(st.sampled_from(["A", "B"]))
    fields = {
        "author": "relay",
        "speaker": who,
        "code": f"code_{who.lower()}",
        "minutes": draw(st.sampled_from([0, 1, 15, 30])),
        "source": draw(st.sampled_from(["live", "backfill"])),
        "upper": draw(st.booleans()),
    }
    for spoil in draw(st.lists(st.sampled_from(sorted(SPOILS)), max_size=2, unique=True)):
        fields.update(SPOILS[spoil])
    if fields["speaker"] == "swap":
        fields["speaker"] = "B" if who == "A" else "A"
    return Post(**fields)  # type: ignore[arg-type]


POSTS = st.one_of(near_miss(), RANDOM_POSTS)
CODES = {"code_a": "AAA234", "code_b": "BBB234", "wrong": "WWW234"}
NAMES = {"A": "Alpha Guy", "B": "Bravo Guy", "stranger": "Charlie Guy"}


def _message(post: Post) -> RelayMessageIn:
    code = CODES[post.code]
    text = f"!link {code if post.upper else code.lower()}"
    at = T0 + timedelta(minutes=post.minutes)
    if post.author == "human":
        return typed_by_human(f"{NAMES[post.speaker]}: {text}", at)
    author = WEBHOOK_ID if post.author == "relay" else ROGUE_BOT_ID
    return relayed(NAMES[post.speaker], text, at, author=author)


def _proves(post: Post, code: str, speaker: str) -> bool:
    return (
        post.author == "relay"
        and post.speaker == speaker
        and post.code == code
        and 0 <= post.minutes <= 30
        and post.source != "import"
    )


def test_no_link_without_the_code_from_the_claimed_name_through_a_relay(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'links.sqlite3'}"
    groups = itertools.count(20_000)

    # One engine for every example (its pool closed after each): SQLAlchemy caches compiled
    # statements per engine, and an engine per example compiled them all again each time.
    db = Database.from_url(url)

    async def migrate() -> None:
        await upgrade(db)
        await db.dispose()

    asyncio.run(migrate())

    async def scenario(posts: list[Post], replays: list[int], cut: int) -> None:
        app = make_app(db, Clock())
        try:
            clan_id = await ensure_clan_for(app, next(groups))
            a = await add_member(app, clan_id, 1, NAMES["A"])
            b = await add_member(app, clan_id, 2, NAMES["B"])
            await start_link(app, clan_id, USER, NAMES["A"], choice=chooser("AAA234"))
            await start_link(app, clan_id, OTHER_USER, NAMES["B"], choice=chooser("BBB234"))
            messages = [(_message(p), p.source) for p in posts]
            # Replays: the same Discord message seen again, later, by another path.
            messages += [(messages[i % len(messages)][0], "backfill") for i in replays]
            stored_ids = {m.message_id for m, _ in messages}
            # Delivered in order, in batches: a new batch at ``cut`` and wherever the path
            # (live, backfill, import) changes.
            runs = itertools.groupby(enumerate(messages), key=lambda x: (x[0] < cut, x[1][1]))
            for (_, source), run in runs:
                batch = [m for _, (m, _s) in run]
                await ingest(app, clan_id, batch, source=source, config=CONFIG)
            made = await links_of(app, clan_id)
            # Each message stored exactly once, whatever way and however often it came.
            async with app.db.read() as s:
                counted = (
                    await s.execute(select(func.count()).where(RelayMessage.clan_id == clan_id))
                ).scalar_one()
            assert counted == len(stored_ids)
            # A message's first arrival decides (a replay is never read again): what can
            # prove a code is a first arrival through a linking source.
            first: dict[int, Post] = {}
            for post, (message, _src) in zip(posts, messages, strict=False):
                first.setdefault(message.message_id, post)
            valid_a = any(_proves(p, "code_a", "A") for p in first.values())
            valid_b = any(_proves(p, "code_b", "B") for p in first.values())
            expected = sorted([(USER, a)] * valid_a + [(OTHER_USER, b)] * valid_b)
            assert made == expected, (posts, made)
        finally:
            await app.wom.close()
            await db.dispose()

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        posts=st.lists(POSTS, min_size=1, max_size=8),
        replays=st.lists(st.integers(min_value=0, max_value=7), max_size=3),
        cut=st.integers(min_value=0, max_value=11),
    )
    def check(posts: list[Post], replays: list[int], cut: int) -> None:
        asyncio.run(scenario(posts, replays, cut))

    check()
