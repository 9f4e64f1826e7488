"""Relay formats read and not understood, counted at ingest, shown by /status and the import
summary: each stored message once, whichever path saw it first (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, wom_client
from bot.core.config import Settings
from bot.usecases.harvest import compile_relay_config, ensure_clan_for, ingest
from bot.usecases.importer import import_exports
from bot.usecases.status import build_status
from domain.relay import EmbedIn, RelayMessageIn
from domain.relay_stats import MAX_EXAMPLES, NOTHING_READ, FormatTally
from fakes.dce_export import CHANNEL_ID, WEBHOOK_ID, dce_message, write_export
from storage.engine import Database
from storage.models import RelayUnread

HUMAN_ID = 555_000_000_000_000_001
T0 = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)
CONFIG = compile_relay_config([WEBHOOK_ID], {})


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    settings = Settings(database_url="sqlite://", wom_group_id=11114)
    application = App(db=db, wom=wom_client(settings), clock=lambda: T0)
    try:
        yield application
    finally:
        await application.wom.close()


def _message(
    message_id: int,
    content: str = "",
    *,
    minutes: int = 0,
    author: int = WEBHOOK_ID,
    embeds: tuple[EmbedIn, ...] = (),
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=message_id,
        channel_id=CHANNEL_ID,
        author_id=author,
        author_name="relay",
        is_bot=True,
        webhook_id=author if author == WEBHOOK_ID else None,
        content=content,
        embeds=embeds,
        posted_at=T0 + timedelta(minutes=minutes),
    )


def _day() -> list[RelayMessageIn]:
    return [
        _message(1, "**Zezima**: hello"),
        _message(2, "**Zezima**: again", minutes=1),
        _message(3, "Zezima received a drop: Abyssal whip (1,456,814 coins).", minutes=2),
        _message(4, "Zezima has frobnicated the wug <@&42>", minutes=3),
        # a relay message the parser reads nothing from: an embed of fields only
        _message(5, embeds=(EmbedIn(fields=(("Boss", "Vorkath"),)),), minutes=4),
        # Discord chatter is no relay message
        _message(6, "hi from discord", author=HUMAN_ID, minutes=5),
    ]


def _counts(formats: FormatTally) -> dict[str, tuple[int, int]]:
    return {fmt: (c.messages, c.not_understood) for fmt, c in formats.counts.items()}


async def _unread_rows(app: App) -> int:
    async with app.db.read() as session:
        return int(await session.scalar(select(func.count(RelayUnread.id))) or 0)


async def test_status_counts_each_stored_relay_message_once_per_format(app: App) -> None:
    clan_id = await ensure_clan_for(app, 11114)
    day = _day()
    first = await ingest(app, clan_id, day, source="live", config=CONFIG)
    expected = _counts(first.read)
    # what was read is what the parser says of the relay messages, not hard-coded formats
    assert first.unread == 1 and expected[NOTHING_READ] == (1, 1)
    assert sum(m for m, _ in expected.values()) == 5  # the Discord chatter is not counted
    assert sum(n for _, n in expected.values()) == 2  # the unknown broadcast and the fields

    status = await build_status(app)
    assert _counts(status.relay_formats) == expected
    assert status.formats_since is not None
    examples = [e.text for _, c in status.relay_formats.ordered() for e in c.examples]
    assert "Zezima has frobnicated the wug @role" in examples
    assert "Boss: Vorkath" in examples

    # The same messages again (a backfill after the live listener, then an import): no
    # message is counted twice, and the unread one is kept once.
    again = await ingest(app, clan_id, day, source="backfill", config=CONFIG)
    await ingest(app, clan_id, list(reversed(day)), source="import", config=CONFIG)
    assert again.new == 0 and again.unread == 0
    assert _counts(again.read) == expected  # read again, as the import summary says
    assert _counts((await build_status(app)).relay_formats) == expected
    assert await _unread_rows(app) == 1


async def test_status_keeps_the_five_most_recent_examples_across_batches(app: App) -> None:
    clan_id = await ensure_clan_for(app, 11114)
    for batch in range(3):
        messages = [
            _message(100 + 10 * batch + i, f"Zezima odd line {batch}-{i}", minutes=10 * batch + i)
            for i in range(3)
        ]
        await ingest(app, clan_id, messages, source="live", config=CONFIG)
    status = await build_status(app)
    ((_fmt, count),) = status.relay_formats.ordered()
    assert (count.messages, count.not_understood) == (9, 9)
    assert [e.text for e in count.examples] == [
        f"Zezima odd line {b}-{i}" for b, i in [(2, 2), (2, 1), (2, 0), (1, 2), (1, 1)]
    ][:MAX_EXAMPLES]


async def test_the_import_summary_shows_formats_read_and_examples(app: App, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    write_export(
        path,
        [
            dce_message(1_000 + i, T0 + timedelta(minutes=i), content)
            for i, content in enumerate(
                [
                    "**Zezima**: hello",
                    "Zezima has frobnicated the wug",
                    "Zezima received a drop: Abyssal whip (1,456,814 coins).",
                ]
            )
        ],
    )
    report = await import_exports(
        app, [path], group_id=11114, config=CONFIG, channel_ids=[CHANNEL_ID]
    )
    summary = report.summary()
    assert "relay messages read per format (3 read, 1 not understood):" in summary
    assert "2025-12-23 18:01 Zezima has frobnicated the wug" in summary
    for fmt, count in report.ingest.read.ordered():
        assert f"{fmt:<16} {count.messages:>10,} read {count.not_understood:>8,}" in summary
    # a second import reads the same: the summary is about the files, /status about the store
    again = await import_exports(
        app, [path], group_id=11114, config=CONFIG, channel_ids=[CHANNEL_ID]
    )
    assert again.ingest.new == 0 and _counts(again.ingest.read) == _counts(report.ingest.read)
    assert _counts((await build_status(app)).relay_formats) == _counts(report.ingest.read)
