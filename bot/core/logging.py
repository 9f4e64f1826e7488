"""Structured logging: structlog for our code, the same pipeline for stdlib loggers.

JSON when stderr is not a TTY, readable console output when it is. Every line carries the
trace id bound in context (see :mod:`bot.core.tracing`), and known secret values are scrubbed from
every line before it is written, whatever logger wrote it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor

REDACTED = "***"
_secrets: list[str] = []

# discord.py, SQLAlchemy, APScheduler and aiohttp are chatty at INFO on their own loggers.
_QUIET_LOGGERS = {
    "sqlalchemy.engine": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "apscheduler.scheduler": logging.INFO,
    "apscheduler.executors": logging.WARNING,
    "discord.gateway": logging.INFO,
    "discord.http": logging.WARNING,
    "alembic": logging.WARNING,
    "asyncio": logging.WARNING,
}


# What SQLAlchemy's pool says, at error level with a traceback, when it cannot close or reset
# a connection to a server that went away or froze: the outage itself is already reported
# (once, as a warning) by the code that met it, and the pool drops the connection either way.
_POOL_CLOSE_FAILURES = (
    "Exception closing connection",
    "Exception terminating connection",
    "Exception during reset or similar",
)


class _PoolCloseFailures(logging.Filter):
    """Turn the pool's close/reset failures into one warning line without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.name.startswith("sqlalchemy.pool")
            and record.levelno >= logging.ERROR
            and isinstance(record.msg, str)
            and record.msg.startswith(_POOL_CLOSE_FAILURES)
        ):
            error = record.exc_info[1] if record.exc_info else None
            record.msg = "db.connection_close_failed"
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
            record.error = type(error).__name__ if error is not None else None
        return True


def register_secrets(values: Iterable[str]) -> None:
    """Values that must never appear in a log line (tokens, keys, codes)."""
    for value in values:
        if value and len(value) >= 4 and value not in _secrets:
            _secrets.append(value)
    _secrets.sort(key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v) for v in value)
    if isinstance(value, BaseException):
        return redact(repr(value))
    return value


def _redact_processor(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    if not _secrets:
        return event_dict
    return {k: _scrub(v) for k, v in event_dict.items()}


class _RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """Scrub the final rendered line too: exceptions and tracebacks are rendered last."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _redact_processor,
    ]


def configure_logging(
    *,
    level: str = "INFO",
    fmt: Literal["json", "console", "auto"] = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Route structlog and every stdlib logger through one formatter on ``stream``."""
    register_secrets(secrets)
    tty = (stream or sys.stderr).isatty()
    use_json = fmt == "json" or (fmt == "auto" and not tty)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    shared = _shared_processors()
    structlog.configure(
        processors=[
            # Drop filtered-out levels before any work is done on them.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if use_json:
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    formatter = _RedactingFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    handler.addFilter(_PoolCloseFailures())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, quiet in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, logging.getLevelName(level.upper())))
    logging.captureWarnings(True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (it may be replaced
    after logging is set up, as test harnesses and embedding programs do)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def context() -> MutableMapping[str, Any]:
    """The key/values bound for the current task (trace id …)."""
    return structlog.contextvars.get_contextvars()
