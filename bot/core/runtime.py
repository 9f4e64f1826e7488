"""Process-wide runtime tuning shared by every ``clanstats`` command (and the benchmarks).

CPython's cyclic garbage collector runs a young collection every 700 allocations and now and
then a full one that walks every tracked object, including the ~100,000 that importing
discord.py, SQLAlchemy and pydantic leaves behind and that live as long as the process. A
report builds a few hundred thousand short-lived tuples, dicts and datetimes, so with the
defaults a full collection lands in one report out of two and adds ~50 ms to it.

:func:`tune_gc` moves everything alive at startup into the permanent generation (never walked
again) and collects the young generation every 10,000 allocations instead of 700. Nothing
here keeps cyclic garbage for long: reference counting still frees everything else at once.

Freed memory is not given back to the system by itself: objects bigger than 512 bytes (a
WOM response's text, a page of rows) come from the C library's allocator, which keeps every
freed hole below the last block still in use. A long-running process's RSS then ratchets up
to the most it ever needed at once and stays there (the chaos soak grew by 30 to 80 MB in
five minutes, more on a busy machine where work piles up). :func:`release_free_memory`
hands those free pages back (glibc's ``malloc_trim``); the bot does it after each job.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import math
import sys
import time
from collections.abc import Callable
from typing import Final

#: ``gc.set_threshold`` values of a tuned process (young, middle, old).
GC_THRESHOLDS: Final = (10_000, 10, 10)

_tuned = False


def tune_gc() -> bool:
    """Freeze the objects alive now and raise the collection thresholds, once per process.

    Call it when startup imports are done. Returns False (and changes nothing) when the
    process was already tuned, so a second call cannot freeze later garbage for good.
    """
    global _tuned
    if _tuned:
        return False
    _tuned = True
    gc.collect()  # what is already garbage must not be frozen
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return True


#: Full collections :func:`collect_after_job` makes at most this often (seconds).
FULL_COLLECTION_EVERY_S: Final = 60.0

_last_full = -math.inf


def collect_after_job(now: float | None = None) -> bool:
    """A full collection after a job of the long-running bot (a sync, a report), at most once
    a minute; True when it ran.

    Objects that lived through two young collections (a paged list open for minutes, a sync's
    rows) reach the old generation, and what of them ends up in reference cycles waits for a
    full collection, which the thresholds above make rare: in the chaos soak such garbage
    piled up by about 10,000 objects a minute. One pass after each job frees it (tens of
    milliseconds; the frozen startup objects are not walked).
    """
    global _last_full
    at = time.monotonic() if now is None else now
    if at - _last_full < FULL_COLLECTION_EVERY_S:
        return False
    _last_full = at
    gc.collect()
    release_free_memory()
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Give the C allocator's free pages back to the system (glibc's ``malloc_trim(0)``:
    every arena, every whole free page, a few milliseconds). True when it could be asked;
    False where the C library has no such call (nothing is lost: RSS just stays higher)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


__all__ = [
    "FULL_COLLECTION_EVERY_S",
    "GC_THRESHOLDS",
    "collect_after_job",
    "release_free_memory",
    "tune_gc",
]
