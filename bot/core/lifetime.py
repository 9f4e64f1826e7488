"""Child processes that never outlive their parent, however the parent ends.

A worker process (the import's reader) blocked on a full queue would otherwise wait forever
once its parent is gone: SIGKILL runs no cleanup, and Python's default SIGTERM runs none
either. :func:`die_with_parent` is called first thing in the child.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import signal
import sys
import threading
import time

# linux/prctl.h: deliver a signal to this process when the thread that created it ends.
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, *, poll_s: float = 0.5, use_prctl: bool = True) -> None:
    """End this process when the process ``parent_pid`` (its parent) ends.

    On Linux the kernel sends SIGKILL at the parent's death (``prctl(PR_SET_PDEATHSIG)``;
    the parent must start the child from a thread that lives as long as the parent, such as
    its main thread). Everywhere, a daemon thread also checks every ``poll_s`` seconds that
    the parent is still this process's parent, and ends the process when it is not. A parent
    that died before this call ends the process at once.
    """
    if use_prctl and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if os.getppid() != parent_pid:
        os._exit(1)
    watcher = threading.Thread(
        target=_watch, args=(parent_pid, poll_s), name="parent-watch", daemon=True
    )
    watcher.start()


def run_bound_to_parent(parent_pid: int, target: str, *args: object) -> None:
    """A spawned process's entry: :func:`die_with_parent` first, then ``target``
    (``"package.module:function"``) called with ``args``.

    A spawned process imports what its target and arguments need before it runs anything;
    the importer's modules (SQLAlchemy, aiohttp, the relay parser) take a second or two,
    more under load, and a parent killed meanwhile left its child running until then. This
    module is small: the child is bound within its first fraction of a second, and the
    target's module is imported after.
    """
    die_with_parent(parent_pid)
    module, _, name = target.partition(":")
    getattr(importlib.import_module(module), name)(*args)


def _watch(parent_pid: int, poll_s: float) -> None:
    while True:
        time.sleep(poll_s)
        if os.getppid() != parent_pid:
            os._exit(1)
