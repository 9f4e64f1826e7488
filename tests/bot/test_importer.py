"""``clanstats import``: DiscordChatExporter exports through the same ingest as live."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.app import App, wom_client
from bot.cli import main
from bot.core.config import Settings
from bot.usecases.harvest import compile_relay_config
from bot.usecases.importer import READER_PROCESS_MIN_BYTES, defers_indexes, import_exports
from fakes.dce_export import (
    CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    WEBHOOK_ID,
    dce_message,
    player_names,
    relay_traffic,
    snowflake,
    write_export,
)
from storage.engine import Database
from storage.migrate import upgrade
from storage.models import RelayMessage
from storage.repositories import relay as relay_repo

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
#: Where the app fixture's imports go: the recorded clan, its relay authors and channel.
TARGET: dict[str, Any] = {
    "group_id": 11114,
    "config": compile_relay_config([WEBHOOK_ID, TRACKSCAPE_BOT_ID], {}),
    "channel_ids": [CHANNEL_ID],
}
OTHER_CHANNEL = 1_100_000_000_000_000_888


@pytest.fixture
async def app(db: Database) -> AsyncIterator[App]:
    settings = Settings(
        database_url="sqlite://",
        wom_group_id=11114,
        relay_channel_ids=[CHANNEL_ID],
        relay_author_ids=[WEBHOOK_ID, TRACKSCAPE_BOT_ID],
    )
    application = App(db=db, wom=wom_client(settings))
    try:
        yield application
    finally:
        await application.wom.close()


async def stored(app: App) -> int:
    async with app.db.read() as session:
        return int((await session.execute(select(func.count(RelayMessage.id)))).scalar_one())


def traffic(count: int) -> list[dict[str, Any]]:
    return list(relay_traffic(count, players=player_names(40), start=T0))


async def test_import_of_a_generated_export_stores_every_event(app: App, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    write_export(path, traffic(500))
    report = await import_exports(app, [path], batch_size=64, **TARGET)
    assert report.failures == [] and report.bad_entries == 0
    assert (report.files, report.messages_read) == (1, 500)
    got = report.ingest
    assert got.new == await stored(app) > 500  # TrackScape messages hold several embeds
    assert got.chat > 0 and got.broadcast > 0 and got.discord > 0
    assert got.duplicate_relays > 0
    assert got.new == got.chat + got.broadcast + got.discord
    if app.db.dialect == "sqlite":  # the query planner's statistics come with the rows
        async with app.db.read() as session:
            found = await session.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1"))
            assert "relay_messages" in set(found.scalars())


async def test_second_import_adds_nothing(app: App, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    write_export(path, traffic(300))
    first = await import_exports(app, [path], batch_size=50, **TARGET)
    again = await import_exports(app, [path], batch_size=70, **TARGET)
    assert again.ingest.new == 0
    assert again.ingest.duplicates_of_known == first.ingest.new == await stored(app)
    assert again.ingest.duplicate_relays == 0


async def test_malformed_entries_are_skipped_counted_and_reported(app: App, tmp_path: Path) -> None:
    good = [
        dce_message(snowflake(T0, i), T0 + timedelta(seconds=i), f"**P{i}**: hi") for i in range(4)
    ]
    missing_id = dict(good[0], id=None)
    bad_time = dict(good[1], id=str(snowflake(T0, 90)), timestamp="yesterday")
    bad_author = dict(good[2], id=str(snowflake(T0, 91)), author="me")
    bad_embeds = dict(good[3], id=str(snowflake(T0, 92)), embeds={"x": 1})
    not_object = "just a string"
    path = tmp_path / "export.json"
    write_export(path, [good[0], missing_id, good[1], bad_time, bad_author, not_object, good[2],
                        bad_embeds, good[3]])  # fmt: skip
    report = await import_exports(app, [path], **TARGET)
    assert report.failures == []
    assert report.messages_read == 9 and report.bad_entries == 5
    assert report.ingest.new == 4 == await stored(app)
    assert report.bad_examples[0].endswith("message #1: missing id")
    assert "message #3: bad timestamp 'yesterday'" in report.bad_examples[1]
    assert "skipped bad:       5" in report.summary()


async def test_truncated_file_keeps_the_prefix_and_fails(app: App, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    messages = [
        dce_message(snowflake(T0, i), T0 + timedelta(seconds=i), f"**P{i}**: hi") for i in range(10)
    ]
    write_export(path, messages, truncate_last=True)
    report = await import_exports(app, [path], batch_size=3, **TARGET)
    assert report.ingest.new == 9 == await stored(app)  # all but the one cut in half
    assert len(report.failures) == 1 and "cut short" in report.failures[0]


async def test_other_channels_are_ignored_unless_any_channel(app: App, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.json"
    write_export(path, traffic(20), channel_id=OTHER_CHANNEL)
    skipped = await import_exports(app, [path], **TARGET)
    assert skipped.files == 0 and skipped.ingest.new == 0 and await stored(app) == 0
    assert "--any-channel" in skipped.summary()
    taken = await import_exports(app, [path], any_channel=True, **TARGET)
    assert taken.files == 1 and taken.ingest.new == await stored(app) > 0


def test_cli_imports_and_prints_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.json"
    write_export(path, traffic(200))
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_RELAY_CHANNEL_IDS", str(CHANNEL_ID))
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", f"{WEBHOOK_ID},{TRACKSCAPE_BOT_ID}")
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    assert main(["import", str(path)]) == 0
    out = capsys.readouterr()
    assert "Imported 1 file(s): 200 messages read" in out.out
    assert "stored new:" in out.out and "messages/s" in out.out
    assert "messages/s" in out.err  # progress goes to stderr
    assert main(["import", str(path)]) == 0
    assert "stored new:        0" in capsys.readouterr().out


def test_cli_exits_1_on_a_truncated_file_and_2_without_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.json"
    write_export(path, traffic(30), truncate_last=True)
    assert main(["import", str(path)]) == 2  # no group, channels or relay ids configured
    assert "CLANSTATS_RELAY_AUTHOR_IDS" in capsys.readouterr().err
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_RELAY_AUTHOR_IDS", str(WEBHOOK_ID))
    monkeypatch.setenv("CLANSTATS_LOG_LEVEL", "WARNING")
    assert main(["import", "--any-channel", str(path)]) == 1
    assert "FAILED" in capsys.readouterr().out


async def test_reader_process_gives_the_same_import(app: App, tmp_path: Path) -> None:
    """Reading and parsing in a separate process stores exactly what in-process reading does."""
    path = tmp_path / "export.json"
    write_export(path, traffic(600))
    bad = dict(dce_message(snowflake(T0, 999_999), T0), timestamp="never")
    with_bad = tmp_path / "with_bad.json"
    write_export(with_bad, [bad, *traffic(600)])
    separate = await import_exports(app, [with_bad], batch_size=128, reader_process=True, **TARGET)
    assert separate.failures == [] and separate.bad_entries == 1
    assert separate.bad_examples == [f"{with_bad}: message #0: bad timestamp 'never'"]
    assert separate.messages_read == 601
    assert separate.ingest.new == await stored(app) > 600
    assert separate.ingest.duplicate_relays > 0
    again = await import_exports(app, [path], batch_size=97, reader_process=False, **TARGET)
    assert again.ingest.new == 0 and again.ingest.duplicates_of_known == separate.ingest.new


async def test_reader_process_keeps_the_prefix_of_a_truncated_file(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "cut.json"
    messages = [
        dce_message(snowflake(T0, i), T0 + timedelta(seconds=i), f"**P{i}**: hi") for i in range(10)
    ]
    write_export(path, messages, truncate_last=True)
    report = await import_exports(app, [path], batch_size=4, reader_process=True, **TARGET)
    assert report.ingest.new == 9 == await stored(app)
    assert len(report.failures) == 1 and "cut short" in report.failures[0]


def test_reader_chunks_are_bounded_and_in_file_order(tmp_path: Path) -> None:
    from bot.app import relay_config
    from bot.usecases.importer import read_export

    path = tmp_path / "export.json"
    write_export(path, traffic(250))
    config = relay_config(Settings(relay_author_ids=[WEBHOOK_ID, TRACKSCAPE_BOT_ID]))
    chunks = list(read_export(path, CHANNEL_ID, config, 100))
    assert [c.parsed.received for c in chunks] == [100, 100, 50]
    assert sum(c.messages_read for c in chunks) == 250
    ids = [row[0] for c in chunks for row in c.parsed.rows]
    assert ids == sorted(ids)


async def _index_names(db: Database) -> set[str]:
    async with db.read() as session:
        if db.dialect == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'relay_messages'"
        return {str(row[0]) for row in await session.execute(text(query))}


def _relay_index_names() -> set[str]:
    return {str(index.name) for index in RelayMessage.__table__.indexes}


async def _rows(db: Database) -> list[tuple[Any, ...]]:
    t = RelayMessage
    async with db.read() as session:
        found = await session.execute(
            select(
                t.message_id, t.part, t.kind, t.member_id, t.rsn_key, t.text, t.duplicate_of
            ).order_by(t.message_id, t.part)
        )
        rows = [tuple(row) for row in found]
        ids = dict(
            (row_id, (message_id, part))
            for row_id, message_id, part in await session.execute(
                select(t.id, t.message_id, t.part)
            )
        )
    # duplicate_of holds a row id: compare by the message it points at.
    return [(*row[:-1], ids.get(row[-1])) for row in rows]


async def test_an_import_that_builds_its_indexes_at_the_end_stores_the_same(
    app: App, tmp_path: Path
) -> None:
    """A big import drops the member- and name-keyed relay indexes, stores, and builds them
    again: the rows are exactly those of an import that kept them up row by row, and every
    index of the schema is there afterwards."""
    path = tmp_path / "export.json"
    write_export(path, traffic(700))
    progress = io.StringIO()
    deferred = await import_exports(
        app, [path], batch_size=100, defer_indexes=True, progress=progress, **TARGET
    )
    assert _relay_index_names() <= await _index_names(app.db)
    if app.db.dialect == "sqlite":
        assert "building 3 indexes of the relay messages" in progress.getvalue()

    plain_db = Database.from_url(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    await upgrade(plain_db)
    plain_app = App(db=plain_db, wom=app.wom)
    try:
        kept = await import_exports(
            plain_app, [path], batch_size=100, defer_indexes=False, **TARGET
        )
        assert (deferred.ingest.new, deferred.ingest.duplicate_relays) == (
            kept.ingest.new,
            kept.ingest.duplicate_relays,
        )
        assert deferred.ingest.duplicate_relays > 0
        assert await _rows(app.db) == await _rows(plain_db)
    finally:
        await plain_db.dispose()


async def test_indexes_an_import_did_not_build_again_come_back_at_the_next_start(
    sqlite_db: Database,
) -> None:
    """An import killed before building its indexes again leaves them to the schema check
    every start makes (`upgrade`), which creates the missing ones as the schema has them."""
    async with sqlite_db.write() as session:
        dropped = await relay_repo.drop_deferrable_indexes(session)
    assert sorted(dropped) == sorted(relay_repo.DEFERRABLE_INDEXES)
    assert not _relay_index_names() <= await _index_names(sqlite_db)
    await upgrade(sqlite_db)
    assert _relay_index_names() <= await _index_names(sqlite_db)
    async with sqlite_db.read() as session:
        assert await relay_repo.missing_indexes(session) == []


def test_indexes_are_built_at_the_end_only_of_an_import_big_for_the_table() -> None:
    big = READER_PROCESS_MIN_BYTES
    assert defers_indexes(big, 0)
    assert defers_indexes(big * 10, big * 10 // 500)
    assert not defers_indexes(big * 10, big * 10 // 500 + 1)  # more rows stored than it holds
    assert not defers_indexes(big - 1, 0)  # small imports keep them up row by row


async def test_an_import_whose_indexes_cannot_be_built_keeps_its_rows(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Building the indexes failing (a full disk, say) loses no row and fails no import: the
    import says so, and the next start builds them."""
    import sqlite3

    async def disk_full(_session: Any) -> list[str]:
        raise sqlite3.OperationalError("database or disk is full")

    path = tmp_path / "export.json"
    write_export(path, traffic(200))
    settings = Settings(database_url="sqlite://", wom_group_id=11114)
    app = App(db=sqlite_db, wom=wom_client(settings))
    progress = io.StringIO()
    monkeypatch.setattr(relay_repo, "create_missing_indexes", disk_full)
    try:
        report = await import_exports(
            app, [path], batch_size=64, defer_indexes=True, progress=progress, **TARGET
        )
    finally:
        await app.wom.close()
    monkeypatch.undo()
    assert report.failures == [] and report.ingest.new == await stored(app) > 200
    assert "could not build the indexes now (OperationalError)" in progress.getvalue()
    assert not _relay_index_names() <= await _index_names(sqlite_db)
    await upgrade(sqlite_db)
    assert _relay_index_names() <= await _index_names(sqlite_db)
