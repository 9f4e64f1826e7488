"""Trace ids: one per gateway event, slash-command interaction and scheduled job run."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

TRACE_KEY = "trace_id"


def new_trace_id() -> str:
    return secrets.token_hex(6)


def current_trace_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get(TRACE_KEY)
    return str(value) if value is not None else None


@contextmanager
def traced(trace_id: str | None = None, **extra: object) -> Iterator[str]:
    """Bind a (new) trace id for the duration of the block; tasks created inside inherit it."""
    tid = trace_id or new_trace_id()
    with structlog.contextvars.bound_contextvars(**{TRACE_KEY: tid}, **extra):
        yield tid
