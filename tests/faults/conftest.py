"""Fault tests: real ``clanstats run`` processes killed, a PostgreSQL that goes down or
freezes (through :mod:`tests.tcp_proxy`), a SQLite write lock held at shutdown.

They live outside ``tests/e2e/`` because they wait on purpose (timeouts, retries, a stop
grace), which the end-to-end suite's time budget is not meant to pay for; they share its
``world`` fixture, and with it the verdict that Discord would have accepted everything the
bot sent.
"""

from __future__ import annotations

from tests.e2e.conftest import world

__all__ = ["world"]
