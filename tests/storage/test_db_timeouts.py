"""Every database call is bounded: a server that is down, frozen or too slow fails the call
within its timeout, and the failure is recognised as the database being unavailable."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.cli import main
from storage.engine import Database, DbTimeouts
from storage.errors import unavailable_reason
from tests.e2e.harness import captured_logs
from tests.tcp_proxy import pg_proxy

QUICK = DbTimeouts(connect_s=0.5, statement_s=0.5, busy_s=0.2)
SLACK_S = 2.0  # scheduling on a busy 2-core machine


async def _select_one(db: Database) -> None:
    async with db.read() as s:
        await s.execute(text("SELECT 1"))


async def _fails_within(db: Database, limit_s: float, sql: str = "SELECT 1") -> str:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        async with db.read() as s:
            await s.execute(text(sql))
    elapsed = time.monotonic() - started
    assert elapsed < limit_s + SLACK_S, f"took {elapsed:.1f} s"
    reason = unavailable_reason(caught.value)
    assert reason is not None, repr(caught.value)
    return reason


async def test_a_server_that_accepts_but_never_answers_fails_at_the_connect_timeout(
    pg_url: str,
) -> None:
    async with pg_proxy(pg_url) as proxy:
        proxy.blackhole = True
        db = Database.from_url(proxy.url(pg_url), timeouts=QUICK)
        try:
            assert "in time" in await _fails_within(db, QUICK.connect_s)
        finally:
            await db.dispose()


async def test_a_server_frozen_mid_session_fails_at_the_statement_timeout(pg_url: str) -> None:
    async with pg_proxy(pg_url) as proxy:
        db = Database.from_url(proxy.url(pg_url), timeouts=QUICK)
        try:
            await _select_one(db)  # a pooled connection, alive
            proxy.freeze()
            await _fails_within(db, QUICK.statement_s)
            proxy.thaw()
            await _select_one(db)  # the pool replaces the broken connection
        finally:
            await db.dispose()


async def test_a_server_that_is_down_fails_at_once_and_is_used_again_when_back(
    pg_url: str,
) -> None:
    async with pg_proxy(pg_url) as proxy:
        db = Database.from_url(proxy.url(pg_url), timeouts=QUICK)
        try:
            await _select_one(db)
            await proxy.down()
            await _fails_within(db, QUICK.connect_s)
            await proxy.up()
            await _select_one(db)  # pre-ping drops the dead pooled connection
        finally:
            await db.dispose()


async def test_a_statement_running_past_the_timeout_is_cancelled(pg_url: str) -> None:
    db = Database.from_url(pg_url, timeouts=QUICK)
    try:
        await _fails_within(db, QUICK.statement_s, "SELECT pg_sleep(5)")
    finally:
        await db.dispose()


async def test_a_sqlite_write_waits_for_a_held_lock_no_longer_than_the_busy_timeout(
    sqlite_url: str, tmp_path: Path
) -> None:
    db = Database.from_url(sqlite_url, timeouts=QUICK)
    holder = sqlite3.connect(tmp_path / "clanstats.sqlite3", isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            async with db.write() as s:
                await s.execute(text("CREATE TABLE t (x INTEGER)"))
        assert time.monotonic() - started < QUICK.busy_s + SLACK_S
        assert "locked" in (unavailable_reason(caught.value) or "")
        # a shutdown's last writes may wait even less
        db.limit_lock_waits(0.0)
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            async with db.write() as s:
                await s.execute(text("CREATE TABLE t (x INTEGER)"))
        assert time.monotonic() - started < 0.5
        assert "locked" in (unavailable_reason(caught.value) or "")
    finally:
        holder.rollback()
        holder.close()
        await db.dispose()


def test_other_errors_are_not_taken_for_an_outage() -> None:
    assert unavailable_reason(ValueError("bad")) is None
    assert unavailable_reason(sqlite3.IntegrityError("UNIQUE constraint failed")) is None
    assert unavailable_reason(socket.gaierror(-2, "Name or service not known")) is None


@pytest.fixture
def frozen_server() -> Iterator[int]:
    """A port where connections are accepted by the kernel and never answered."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_sync_once_against_a_frozen_server_fails_in_one_line_within_the_timeout(
    frozen_server: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"postgresql://u@127.0.0.1:{frozen_server}/x")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    monkeypatch.setenv("CLANSTATS_DB_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("CLANSTATS_LOG_FORMAT", "json")
    started = time.monotonic()
    assert main(["sync", "--once"]) == 2
    assert time.monotonic() - started < 1 + SLACK_S
    out, err = capsys.readouterr()
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("clanstats sync: "), err
    assert "did not answer in time" in lines[0]
    assert "Traceback" not in err


def test_sync_once_against_a_stopped_server_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CLANSTATS_DATABASE_URL", f"postgresql://u@127.0.0.1:{port}/x")
    monkeypatch.setenv("CLANSTATS_WOM_GROUP_ID", "11114")
    assert main(["sync", "--once"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("clanstats sync: "), err
    assert "refused" in err


async def test_abort_cuts_a_call_stuck_on_a_frozen_server_at_once(pg_url: str) -> None:
    slow = DbTimeouts(connect_s=30, statement_s=30)
    async with pg_proxy(pg_url) as proxy:
        db = Database.from_url(proxy.url(pg_url), timeouts=slow)
        try:
            await _select_one(db)
            proxy.freeze()
            stuck = asyncio.create_task(_select_one(db))
            await asyncio.sleep(0.3)
            assert not stuck.done()
            started = time.monotonic()
            assert db.abort() >= 1
            with pytest.raises(Exception) as caught:
                await asyncio.wait_for(stuck, 5)
            assert time.monotonic() - started < 1.0
            assert unavailable_reason(caught.value) is not None, repr(caught.value)
        finally:
            proxy.thaw()
            await db.dispose()


async def _hold_two_connections(db: Database) -> None:
    async def hold() -> None:
        async with db.read() as s:
            await s.execute(text("SELECT 1"))
            await asyncio.sleep(0.2)

    await asyncio.gather(hold(), hold())


async def test_disposing_after_the_server_froze_is_quick_and_logs_no_error(pg_url: str) -> None:
    with captured_logs("INFO") as logs:
        async with pg_proxy(pg_url) as proxy:
            db = Database.from_url(proxy.url(pg_url), timeouts=QUICK)
            try:
                await _hold_two_connections(db)  # two pooled connections
                proxy.freeze()
                await _fails_within(db, QUICK.statement_s)  # one of them meets the freeze
                started = time.monotonic()
                await db.dispose()  # the other is cut, not politely closed
                assert time.monotonic() - started < 1.0
            finally:
                proxy.thaw()
                await db.dispose()
    lines = [json.loads(x) for x in logs.buffer.getvalue().splitlines() if x.startswith("{")]
    assert [x["event"] for x in lines if x.get("level") == "error"] == []
