"""Background tasks: every long-lived task the process starts goes through :class:`Tasks`.

:meth:`Tasks.spawn` names the task, starts it in a **fresh** context with its own trace id
(so nothing of the caller's context leaks in: a task started during startup does not log
``phase=startup`` for the life of the process), logs its failure, and tracks it so shutdown
can wait for it (or cancel it). Tasks that others create (discord.py's listener and
interaction tasks) are tracked with :meth:`Tasks.adopt`.

A *daemon* (a loop such as the relay flusher) never finishes on its own: shutdown cancels it
instead of waiting for it; its owner stops it first when it has something to flush.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

from bot.core.tracing import TRACE_KEY, new_trace_id

log = structlog.get_logger(__name__)

T = TypeVar("T")


class Tasks:
    """The process's background tasks: spawned, traced, logged when they fail, stopped."""

    def __init__(self) -> None:
        self._waited: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()

    def spawn(
        self,
        name: str,
        coro: Coroutine[Any, Any, T],
        *,
        daemon: bool = False,
        **trace: object,
    ) -> asyncio.Task[T]:
        """Run ``coro`` as a task called ``name`` with a fresh trace id (and ``trace`` keys)."""
        task = asyncio.get_running_loop().create_task(
            _traced(coro, name, trace), name=name, context=contextvars.Context()
        )
        self._track(task, self._daemons if daemon else self._waited)
        return task

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Track a task made elsewhere, so shutdown waits for it too."""
        if not task.done():
            self._track(task, self._waited)

    def _track(self, task: asyncio.Task[Any], into: set[asyncio.Task[Any]]) -> None:
        into.add(task)
        task.add_done_callback(into.discard)
        task.add_done_callback(_log_failure)

    def running(self) -> list[asyncio.Task[Any]]:
        """Tasks shutdown would wait for (daemons excluded), the calling task excluded."""
        current = asyncio.current_task()
        return [t for t in self._waited if not t.done() and t is not current]

    async def finish(self, grace_s: float) -> int:
        """Wait up to ``grace_s`` for the running (non-daemon) tasks, then cancel the rest.

        Returns how many had to be cancelled.
        """
        running = self.running()
        if not running:
            return 0
        _done, pending = await asyncio.wait(running, timeout=grace_s)
        await _cancel(pending)
        return len(pending)

    async def cancel_daemons(self) -> None:
        """Cancel every daemon still running and wait until they have stopped."""
        await _cancel({t for t in self._daemons if t is not asyncio.current_task()})


async def _traced(coro: Coroutine[Any, Any, T], name: str, trace: dict[str, object]) -> T:
    # The task's context starts empty: this id (and the given keys) is all it carries.
    structlog.contextvars.bind_contextvars(**{TRACE_KEY: new_trace_id(), "task": name}, **trace)
    return await coro


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    live = [t for t in tasks if not t.done()]
    for task in live:
        task.cancel()
    if live:
        await asyncio.gather(*live, return_exceptions=True)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("task.failed", task=task.get_name(), error=repr(exc), exc_info=exc)


__all__ = ["Tasks"]
