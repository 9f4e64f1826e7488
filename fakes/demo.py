"""``clanstats demo``: the real bot against local fakes of Discord and WOM, no token needed.

It loads the recorded clan, replays a scripted day of relayed clan chat, runs the scheduled
jobs and a few officer commands, then prints every message and embed the bot posted.

The fakes know nothing of the bot's code: the CLI passes in how to start the bot
(:data:`StartBot`), and the demo watches it only through :class:`BotHandle` and the database.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Protocol, TextIO

from sqlalchemy import func, select

from domain.timestamps import MARKUP
from fakes.chat_script import day_posts, history_days
from fakes.discord import FakeInteraction, SentMessage
from fakes.wom import DATA_DIR
from fakes.world import (
    ADMIN_USER_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
    clan_world,
)
from storage.engine import Database
from storage.models import JobRun, RelayMessage


class BotHandle(Protocol):
    """What the demo needs of the running bot."""

    @property
    def user(self) -> object: ...

    def is_ready(self) -> bool: ...

    def run_job_now(self, job_id: str) -> None: ...


#: Starts the real bot with these settings values, clock and stop event, calls back with the
#: bot once it is built, and returns its exit code when stopped.
StartBot = Callable[
    [dict[str, Any], Callable[[], datetime], asyncio.Event, Callable[[BotHandle], None]],
    Coroutine[Any, Any, int],
]

EVENING_FIXTURE = "2025-12-23T1935Z"
# The demo lives on the day the WOM recordings were made: it starts just after the morning
# recording, chats through the day, and moves on to the evening one.
MORNING = datetime(2025, 12, 23, 9, 5, tzinfo=UTC)
EVENING = datetime(2025, 12, 23, 19, 40, tzinfo=UTC)
REPORT_TIME = clock_time(19, 30)


def _member_names() -> list[str]:
    """Display names of the recorded clan, as the morning recording lists them."""
    data = json.loads((DATA_DIR / "group-11114-2025-12-23T0901Z.json").read_text())
    return [str(m["player"]["displayName"]) for m in data["memberships"]]


class DemoClock:
    """The bot's clock during the demo: real seconds pass, the date is the recordings' day."""

    def __init__(self, start: datetime) -> None:
        self.jump(start)

    def jump(self, to: datetime) -> None:
        self._offset = to - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset


_KIND_LABEL = {
    "message": "post",
    "message_edit": "edit",
    "interaction_response": "reply",
    "interaction_update": "update",
    "followup": "follow-up",
    "original_edit": "reply (edited)",
    "followup_edit": "follow-up (edited)",
}


class Transcript:
    """Prints what happens, then everything the bot posted, readably."""

    def __init__(self, out: TextIO, attachments_dir: Path) -> None:
        self.out = out
        self.attachments_dir = attachments_dir
        self.started = time.monotonic()

    def step(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", file=self.out, flush=True)

    def messages(self, world: ClanWorld, sent: list[SentMessage], users: dict[int, str]) -> None:
        channels = {c.id: c.name for c in world.guild.channels.values()}
        print("\n" + "=" * 78, file=self.out)
        print(f"What the bot posted ({len(sent)} messages)", file=self.out)
        print("=" * 78, file=self.out)
        for number, message in enumerate(sent, 1):
            where = f"#{channels.get(message.channel_id or 0, message.channel_id)}"
            label = _KIND_LABEL.get(message.kind, message.kind)
            who = users.get(message.interaction_id or 0, "")
            flags = " (only visible to the invoker)" if message.ephemeral else ""
            header = f"--- {number}. {label} in {where}{' to ' + who if who else ''}{flags}"
            print("\n" + header, file=self.out)
            if message.content:
                print(_indent(message.content), file=self.out)
            for embed in message.embeds:
                self._embed(embed)
            for attachment in message.attachments:
                path = self.attachments_dir / attachment.filename
                path.write_bytes(attachment.data)
                print(f"  [attachment] {path} ({len(attachment.data):,} bytes)", file=self.out)
            if message.components:
                ids = message.custom_ids()
                print(
                    f"  [buttons] {', '.join(ids) if ids else len(message.components)}",
                    file=self.out,
                )

    def _embed(self, embed: dict[str, Any]) -> None:
        print(f"  ┌ {embed.get('title') or '(embed)'}", file=self.out)
        if embed.get("description"):
            print(_indent(str(embed["description"]), "  │ "), file=self.out)
        for item in embed.get("fields") or []:
            print(f"  │ ▸ {item.get('name')}", file=self.out)
            print(_indent(str(item.get("value")), "  │     "), file=self.out)
        if embed.get("image"):
            print(f"  │ [image] {embed['image'].get('url')}", file=self.out)
        footer = [(embed.get("footer") or {}).get("text") or ""]
        if embed.get("timestamp"):  # Discord shows it after the footer, in the reader's zone
            moment = datetime.fromisoformat(str(embed["timestamp"]))
            footer.append(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))
        if any(footer):
            print(f"  └ {' · '.join(part for part in footer if part)}", file=self.out)


def _indent(text: str, prefix: str = "  ") -> str:
    # Discord renders <t:UNIX:R> in the reader's time zone; a terminal shows it in UTC.
    text = MARKUP.sub(
        lambda m: datetime.fromtimestamp(int(m[1]), UTC).strftime("%Y-%m-%d %H:%M UTC"), text
    )
    return "\n".join(prefix + line for line in text.splitlines())


async def _until(check: Callable[[], Awaitable[bool]], limit_s: float, what: str) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: {what} did not happen within {limit_s:.0f} s")
        await asyncio.sleep(0.05)


async def _count_ok(db: Database, job: str) -> int:
    async with db.read() as s:
        return int(
            (
                await s.execute(
                    select(func.count(JobRun.id)).where(JobRun.job == job, JobRun.outcome == "ok")
                )
            ).scalar_one()
        )


async def run_demo(
    start_bot: StartBot,
    *,
    database: Path | None = None,
    out: TextIO = sys.stdout,
    keep_dir: Path | None = None,
) -> int:
    workdir = keep_dir or Path(tempfile.mkdtemp(prefix="clanstats-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = database or workdir / "demo.sqlite3"
    transcript = Transcript(out, workdir)
    transcript.step(f"Database: {db_path}")
    # The demo's own connection to the bot's database, to watch its jobs and stored lines.
    db = Database.from_url(f"sqlite:///{db_path}")
    try:
        return await _run(start_bot, db, db_path, workdir, transcript, out)
    finally:
        await db.dispose()


async def _run(
    start_bot: StartBot,
    db: Database,
    db_path: Path,
    workdir: Path,
    transcript: Transcript,
    out: TextIO,
) -> int:
    async with clan_world(wom_rate_window_s=1.0) as world:
        settings = world.settings(f"sqlite:///{db_path}", report_time=REPORT_TIME)
        clock = DemoClock(MORNING)
        names = _member_names()[:60]
        past = history_days(names, MORNING, days=14)
        world.discord.seed_history(RELAY_CHANNEL_ID, past)
        transcript.step(
            f"Fake Discord at {world.discord.base_url}, fake Wise Old Man at {world.wom.base_url}"
        )
        holder: list[BotHandle] = []
        stop = asyncio.Event()
        invokers: dict[int, str] = {}
        task = asyncio.create_task(start_bot(settings, clock, stop, holder.append))
        try:
            await asyncio.sleep(0)
            bot = holder[0]

            async def ready() -> bool:
                if task.done():
                    task.result()
                return bot.is_ready()

            await _until(ready, 20, "login")
            transcript.step(f"Bot logged in as {bot.user}; slash commands registered")
            await _until(lambda: _positive(_count_ok(db, "wom.sync:clan-1")), 30, "first sync")
            transcript.step("Scheduled WOM sync ran (the clan had never been synced)")

            await _until(
                lambda: _stored_at_least(db, len(past)), 60, "backfill of the past two weeks"
            )
            transcript.step(f"Backfilled {len(past):,} relayed lines from the last 14 days")
            posts = list(day_posts(MORNING + timedelta(minutes=30)))
            for _post, kwargs in posts:
                await world.discord.post_message(RELAY_CHANNEL_ID, **kwargs)
            transcript.step(f"Replayed {len(posts)} relayed clan-chat posts")
            await asyncio.sleep(1.5)  # the relay listener flushes at least once a second

            clock.jump(EVENING)
            world.wom.use_fixture(EVENING_FIXTURE)
            world.wom.rename_player(1636646, "Doc Of Med", EVENING - timedelta(minutes=30))
            transcript.step(
                "Evening: WOM moved on to its 19:35 recording; DocOfMed renamed to Doc Of Med"
            )

            async def slash(user: int, who: str, name: str, **kw: Any) -> FakeInteraction:
                interaction = await world.discord.invoke_slash(
                    GUILD_ID, REPORT_CHANNEL_ID, user, name, **kw
                )
                invokers[interaction.id] = who
                await interaction.wait_answer(timeout=30)
                return interaction

            sync = await slash(OFFICER_USER_ID, "Officer Olly", "sync", subcommand="now")
            await sync.wait_responses(2, timeout=60)
            transcript.step("Officer ran /sync now")
            await slash(OFFICER_USER_ID, "Officer Olly", "status")
            transcript.step("Officer ran /status")
            await slash(OFFICER_USER_ID, "Officer Olly", "help")
            await slash(MEMBER_USER_ID, "Member Mo", "help")
            transcript.step(
                "Officer and an ordinary member ran /help (Discord hides officer commands "
                "from members)"
            )
            # The built-in ladder fits no clan (this one names its 27 ranks freely): the admin
            # saves the ladder and tiers proposed from the group's WOM rank order.
            proposed = await slash(
                ADMIN_USER_ID, "Admin Ada", "config", subcommand="ladder-propose"
            )
            preview = (await proposed.wait_responses(2, timeout=30))[-1]
            save = await world.discord.click_button(preview, "config:save", ADMIN_USER_ID)
            invokers[save.id] = "Admin Ada"
            await save.wait_response(timeout=30)
            transcript.step(
                "Admin ran /config ladder-propose and saved the promotion ladder proposed "
                "from the clan's Wise Old Man ranks"
            )
            for sub in ("inactive", "promotions", "unmatched"):
                asked = await slash(OFFICER_USER_ID, "Officer Olly", "clan", subcommand=sub)
                await asked.wait_responses(2, timeout=30)
            transcript.step("Officer ran /clan inactive, /clan promotions, /clan unmatched")
            for name, options in (
                ("player", [{"name": "name", "value": "partymarty94"}]),
                (
                    "leaderboard",
                    [{"name": "metric", "value": "xp"}, {"name": "period", "value": "1d"}],
                ),
            ):
                asked = await slash(MEMBER_USER_ID, "Member Mo", name, options=options)
                await asked.wait_responses(2, timeout=30)
            transcript.step("A member ran /player partymarty94 and /leaderboard xp 1d")
            posted = len(world.discord.sent_messages)
            bot.run_job_now("daily-report:clan-1")
            await world.discord.wait_for_sent(
                lambda m: m.channel_id == REPORT_CHANNEL_ID and m.kind == "message",
                timeout=30,
                start=posted,
            )
            transcript.step("The daily report job ran and posted")
            await asyncio.sleep(0.5)
        finally:
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
        transcript.step("Bot stopped cleanly")
        transcript.messages(world, world.discord.sent_messages, invokers)
        if world.discord.violations:
            print("\nDiscord would have rejected:", *world.discord.violations, sep="\n  ", file=out)
            return 1
    print(f"\nDemo files (database, attachments): {workdir}", file=out)
    return 0


async def _stored_at_least(db: Database, count: int) -> bool:
    async with db.read() as s:
        stored = (await s.execute(select(func.count(RelayMessage.id)))).scalar_one()
    return int(stored) >= count


async def _positive(value: Awaitable[int]) -> bool:
    return await value > 0
