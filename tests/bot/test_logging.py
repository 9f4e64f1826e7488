"""Logs: one pipeline for structlog and stdlib, trace ids on every line, no secrets ever."""

from __future__ import annotations

import io
import json
import logging

import structlog

from bot.core.logging import configure_logging
from bot.core.tracing import traced

TOKEN = "MTIzNDU2Nzg5.discord-token-value.xyz"
KEY = "wom-api-key-123456"


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_secrets_never_reach_a_log_line_from_any_logger() -> None:
    out = io.StringIO()
    configure_logging(fmt="json", stream=out, secrets=[TOKEN, KEY])
    structlog.get_logger("clanstats").info("login", token=TOKEN, nested={"k": [KEY]})
    logging.getLogger("discord.http").warning("request with %s", TOKEN)
    try:
        raise RuntimeError(f"bad key {KEY}")
    except RuntimeError:
        logging.getLogger("aiohttp.client").exception("failed")
        structlog.get_logger("clanstats").exception("failed.too")
    text = out.getvalue()
    assert TOKEN not in text
    assert KEY not in text
    assert text.count("***") >= 4


def test_stdlib_and_structlog_lines_carry_the_bound_trace_id_as_json() -> None:
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    with traced("abc123"):
        structlog.get_logger("clanstats").info("sync.started", members=303)
        logging.getLogger("discord.client").info("discord says hi")
    structlog.get_logger("clanstats").info("outside")
    lines = _lines(out)
    assert [line["trace_id"] for line in lines[:2]] == ["abc123", "abc123"]
    assert lines[0]["members"] == 303
    assert lines[1]["logger"] == "discord.client"
    assert "trace_id" not in lines[2]


def test_auto_format_is_json_off_a_tty() -> None:
    out = io.StringIO()
    configure_logging(fmt="auto", stream=out)
    structlog.get_logger("x").warning("hello")
    assert _lines(out)[0]["event"] == "hello"


def test_console_format_is_readable_text() -> None:
    out = io.StringIO()
    configure_logging(fmt="console", stream=out)
    structlog.get_logger("x").warning("hello", n=1)
    text = out.getvalue()
    assert "hello" in text and "n=1" in text
    assert not text.lstrip().startswith("{")


def test_a_connection_the_pool_cannot_close_is_one_warning_without_a_traceback() -> None:
    # SQLAlchemy's pool logs these at error level with a traceback when the server is gone or
    # frozen; the outage is reported by the code that met it.
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    pool = logging.getLogger("sqlalchemy.pool.impl.AsyncAdaptedQueuePool")
    try:
        raise TimeoutError
    except TimeoutError:
        pool.error("Exception closing connection %r", "<conn>", exc_info=True)
        pool.error("Exception during reset or similar", exc_info=True)
    pool.error("The garbage collector is trying to clean up non-checked-in connection")
    lines = _lines(out)
    assert [(line["event"], line["level"], line.get("error")) for line in lines[:2]] == [
        ("db.connection_close_failed", "warning", "TimeoutError"),
        ("db.connection_close_failed", "warning", "TimeoutError"),
    ]
    assert "Traceback" not in out.getvalue()
    # anything else the pool says at error level stays an error
    assert lines[2]["level"] == "error"
