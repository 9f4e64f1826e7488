"""Import benchmark: a generated DiscordChatExporter export through ``clanstats import``.

Generates an export of N messages (default 1,000,000: clanchat.net chat lines, broadcasts,
TrackScape embeds, repeat relays and ordinary chatter from ~1,000 players), imports it into
a fresh SQLite file with the real CLI in a subprocess, and prints messages/s and the child's
peak RSS against the targets (>= 30,000 messages/s, < 300 MB). Then measures live ingest:
``ingest()`` called with batches of 100, as the live listener would.

    python benchmarks/import_benchmark.py [--messages N] [--live-messages N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.adapters.dce import message_entries, message_from_dce  # noqa: E402
from bot.app import App, relay_config, wom_client  # noqa: E402
from bot.core.config import Settings  # noqa: E402
from bot.core.logging import configure_logging  # noqa: E402
from bot.usecases.harvest import clan_relay_config, ensure_clan_for, ingest  # noqa: E402
from domain.names import name_key  # noqa: E402
from domain.relay import RelayMessageIn  # noqa: E402
from fakes.dce_export import (  # noqa: E402
    CHANNEL_ID,
    TRACKSCAPE_BOT_ID,
    WEBHOOK_ID,
    player_names,
    relay_traffic,
    write_export,
)
from storage.engine import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.repositories.roster import upsert_members  # noqa: E402

TARGET_RATE = 30_000
TARGET_RSS_MB = 300
GROUP_ID = 11114


def settings_for(db_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db_path}",
        wom_group_id=GROUP_ID,
        relay_channel_ids=[CHANNEL_ID],
        relay_author_ids=[WEBHOOK_ID, TRACKSCAPE_BOT_ID],
        log_level="WARNING",
    )


async def prepare_db(db_path: Path, members: list[str]) -> None:
    """A migrated database with the clan and its members (90% of the players who chat)."""
    settings = settings_for(db_path)
    db = Database.from_url(settings.database_url)
    try:
        await upgrade(db)
        app = App(db=db, wom=wom_client(settings))
        clan_id = await ensure_clan_for(app, GROUP_ID)
        now = datetime.now(UTC)
        rows = [
            {
                "clan_id": clan_id,
                "wom_player_id": index + 1,
                "rsn_key": name_key(name),
                "display_name": name,
                "role": "member",
                "account_type": None,
                "build": None,
                "status": None,
                "joined_at": now,
                "left_at": None,
                "wom_updated_at": None,
                "last_changed_at": None,
                "updated_at": now,
            }
            for index, name in enumerate(members)
        ]
        async with db.write() as session:
            await upsert_members(session, rows)
        await app.wom.close()
    finally:
        await db.dispose()


def run_import(export: Path, db_path: Path) -> tuple[float, float, str]:
    """Run ``clanstats import`` in a subprocess: (wall seconds, child peak RSS MB, stdout)."""
    env = dict(os.environ)
    env.update(
        {
            "CLANSTATS_DATABASE_URL": f"sqlite:///{db_path}",
            "CLANSTATS_WOM_GROUP_ID": str(GROUP_ID),
            "CLANSTATS_RELAY_CHANNEL_IDS": str(CHANNEL_ID),
            "CLANSTATS_RELAY_AUTHOR_IDS": f"{WEBHOOK_ID},{TRACKSCAPE_BOT_ID}",
            "CLANSTATS_LOG_LEVEL": "WARNING",
        }
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(export)],
        env=env,
        cwd=export.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        raise SystemExit(f"clanstats import exited {done.returncode}")
    # ru_maxrss is in KiB on Linux.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak_mb, done.stdout


async def live_ingest(export: Path, db_path: Path, members: list[str], count: int) -> float:
    """messages/s of ``ingest()`` called with batches of 100, as the live listener calls it."""
    await prepare_db(db_path, members)
    messages: list[RelayMessageIn] = []
    with export.open("rb") as handle:
        for raw in message_entries(handle):
            message = message_from_dce(raw, CHANNEL_ID)
            if message is not None:
                messages.append(message)
            if len(messages) >= count:
                break
    settings = settings_for(db_path)
    db = Database.from_url(settings.database_url)
    app = App(db=db, wom=wom_client(settings))
    try:
        clan_id = await ensure_clan_for(app, GROUP_ID)
        config = await clan_relay_config(app, clan_id, relay_config(settings))
        started = time.perf_counter()
        for start in range(0, len(messages), 100):
            batch = messages[start : start + 100]
            await ingest(app, clan_id, batch, source="live", config=config)
        return len(messages) / (time.perf_counter() - started)
    finally:
        await app.wom.close()
        await db.dispose()


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--players", type=int, default=1_000)
    parser.add_argument("--live-messages", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    args = parser.parse_args()
    configure_logging(level="WARNING", fmt="console", secrets=[])

    with tempfile.TemporaryDirectory(prefix="clanstats-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        export = folder / "export.json"
        players = player_names(args.players)
        members = players[: int(len(players) * 0.9)]

        started = time.monotonic()
        write_export(export, relay_traffic(args.messages, players=players))
        size_mb = export.stat().st_size / 1e6
        print(
            f"generated {args.messages:,} messages ({size_mb:,.0f} MB) in "
            f"{time.monotonic() - started:.1f} s"
        )

        db_path = folder / "import.sqlite3"
        for leftover in folder.glob("*.sqlite3*"):
            leftover.unlink()
        asyncio.run(prepare_db(db_path, members))
        elapsed, peak_mb, summary = run_import(export, db_path)
        rate = args.messages / elapsed
        print(summary.rstrip())
        print(
            f"import: {args.messages:,} messages in {elapsed:.1f} s wall (process start, "
            f"migration check and summary included) = {rate:,.0f} messages/s "
            f"[target >= {TARGET_RATE:,}: {verdict(rate >= TARGET_RATE)}]"
        )
        print(
            f"import: peak RSS {peak_mb:,.0f} MB "
            f"[target < {TARGET_RSS_MB} MB: {verdict(peak_mb < TARGET_RSS_MB)}]"
        )

        live_db = folder / "live.sqlite3"
        live_rate = asyncio.run(live_ingest(export, live_db, members, args.live_messages))
        print(f"live ingest: batches of 100, {live_rate:,.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
