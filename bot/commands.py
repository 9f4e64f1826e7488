"""Subcommands added by features beyond the foundation (registered in one place)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXTRA_COMMANDS: list[Callable[[Any], None]] = []
