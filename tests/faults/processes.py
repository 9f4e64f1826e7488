"""Run ``clanstats run`` as a real process in a fake world, and read its JSON log."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from fakes.world import ClanWorld


def subprocess_env(world: ClanWorld, url: str, **overrides: object) -> dict[str, str]:
    """The environment of a ``clanstats run`` process living in ``world``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLANSTATS_")}
    values = world.settings(url, discord_api_url=world.discord.base_url, **overrides)
    for key, value in values.items():
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        env[f"CLANSTATS_{key.upper()}"] = str(value)
    env["CLANSTATS_LOG_LEVEL"] = "INFO"
    env["CLANSTATS_LOG_FORMAT"] = "json"
    return env


async def start_bot_process(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    """``python -m bot run`` with ``env``, its stderr (the JSON log) appended to ``log``."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def log_lines(log: Path) -> list[dict[str, Any]]:
    return [
        json.loads(raw)
        for raw in log.read_text(errors="replace").splitlines()
        if raw.startswith("{")
    ]


def events(log: Path, event: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(log) if line.get("event") == event]
