"""The Discord bot shell: owns the app, the scheduler and the cogs for one process."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

import discord
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

from bot.app import App, build_app, env_wiring, utc_now
from bot.channel_access import ChannelAccess
from bot.core.config import Settings
from bot.core.tasks import Tasks
from bot.core.tracing import TRACE_KEY, new_trace_id, traced
from bot.usecases.clans import ClanDirectory, ClanWiring, import_env_wiring, load_wirings
from bot.usecases.outage import database_unavailable
from bot.usecases.reports import ReportError
from storage.leader import SchedulerLease

log = structlog.get_logger(__name__)

# Loaded in this order, one by one; startup fails if any one fails (a half-loaded bot would
# answer some commands and silently miss its relay or its jobs).
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    "cogs.admin",
    "cogs.relay",
    "cogs.sync",
    "cogs.officer",
    "cogs.reports",
    "cogs.setup",
    "cogs.config",
    "cogs.links",
    "cogs.roles",
    "cogs.help",  # last: it lists what the others registered
)

# A job missed while the bot was down still runs once when it is back within this window;
# older misses are caught up from our own job_runs table instead.
MISFIRE_GRACE_S = 3600
HEARTBEAT_S = 30
# At shutdown a running job (a sync mid-request), slash command or event handler (a /sync
# still announcing, a relay edit being stored) gets this long to finish before it is
# cancelled; its transaction then rolls back (a job's slot is retried later). Only then does
# the database close: a pooled connection still checked out at that point would be leaked.
SHUTDOWN_GRACE_S = 5.0
#: The whole of a shutdown, from any state, stays within this (Docker's stop grace is 10 s,
#: then SIGKILL): running work's grace, the relay's final flush, closing the gateway, the
#: lease and the database. What the final flush cannot store in time is re-read by the next
#: start's backfill.
SHUTDOWN_BUDGET_S = 8.0
#: Kept back from the running work's grace for what comes after it.
CLOSE_RESERVE_S = 3.0
#: This long before the budget ends, open PostgreSQL connections are cut (see close()).
ABORT_RESERVE_S = 2.5
#: The answer to a slash command that arrives while the bot is shutting down.
RESTARTING_MESSAGE = "ClanStats is restarting: try again in a minute."


#: What a cog does on becoming the scheduler leader: called with ``takeover`` False at
#: startup, True when this process takes the jobs over from another instance.
LeaderHook = Callable[[bool], Awaitable[None]]


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


async def _close_app(app: App, seconds: float) -> None:
    """Close the WOM session and the database; never raises.

    A PostgreSQL server that froze could keep closing connections waiting: past ``seconds``
    they are left to the process's exit. (SQLite's are always closed: an unclosed one keeps
    its thread, and so the process, alive; its lock waits are bounded already.)
    """
    limit = max(seconds, 1.0) if app.db.dialect != "sqlite" else None
    try:
        await asyncio.wait_for(app.aclose(), limit)
    except Exception as exc:
        log.warning("bot.close_failed", step="database", error=_one_line(exc))


def intents() -> discord.Intents:
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class TracingTree(app_commands.CommandTree["ClanStatsBot"]):
    """Binds a fresh trace id for every interaction before any check or callback runs."""

    async def interaction_check(self, interaction: discord.Interaction[ClanStatsBot]) -> bool:
        structlog.contextvars.bind_contextvars(**{TRACE_KEY: new_trace_id()})
        log.info(
            "interaction.received",
            command=interaction.command.qualified_name if interaction.command else None,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
        )
        bot = interaction.client
        if bot.shutting_down:
            # Its database may already be closing: start nothing new, but say why.
            log.info("interaction.refused", reason="shutting down", user_id=interaction.user.id)
            if interaction.type is discord.InteractionType.application_command:
                with contextlib.suppress(discord.HTTPException):
                    await interaction.response.send_message(
                        RESTARTING_MESSAGE,
                        ephemeral=True,
                        allowed_mentions=discord.AllowedMentions.none(),
                    )
            return False
        # This check runs first in the task discord.py made for the interaction: track that
        # task, so shutdown lets the command finish before the database closes.
        task = asyncio.current_task()
        if task is not None:
            bot.track_handler(task)
        return True

    async def on_error(
        self,
        interaction: discord.Interaction[ClanStatsBot],
        error: app_commands.AppCommandError,
    ) -> None:
        """One place turns every command failure into a friendly, ephemeral reply."""
        trace_id = structlog.contextvars.get_contextvars().get(TRACE_KEY, "-")
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.CheckFailure):
            message = str(error) or "You are not allowed to use this command."
            log.info("interaction.refused", reason=message, user_id=interaction.user.id)
        elif isinstance(original, ReportError):
            # A bad window, an unknown player, a clan not synced yet: the user can act on it.
            message = str(original)
            log.info("interaction.user_error", error=message)
        elif (reason := database_unavailable(original)) is not None:
            # An outage or an overload (every pooled connection busy), not a bug: one line,
            # no traceback, and the user knows a retry may work.
            log.warning("interaction.database_unavailable", reason=reason)
            message = "The database is busy or unreachable right now: try again in a minute."
        else:
            log.error("interaction.failed", error=repr(original), exc_info=original)
            message = "Something went wrong while answering that."
        text = f"{message}\n-# trace id `{trace_id}`"
        try:
            quiet = discord.AllowedMentions.none()
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=quiet)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=quiet
                )
        except discord.HTTPException as exc:
            log.warning("interaction.error_reply_failed", error=repr(exc))


class ClanStatsBot(commands.Bot):
    """``setup_hook`` opens the database and scheduler and loads cogs; ``close`` undoes it."""

    def __init__(
        self,
        settings: Settings,
        *,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        clock: Callable[[], datetime] = utc_now,
        app: App | None = None,
        guild_ready_timeout: float = 2.0,
        identify_delay_s: float = 5.0,
    ) -> None:
        # A text-only bot: discord.py's "voice will NOT be supported" warnings are noise here.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            tree_cls=TracingTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
        )
        # discord.py waits 5 s before re-identifying, to respect Discord's identify limits;
        # a local fake has none, so tests and the demo pass 0.
        self.identify_delay_s = identify_delay_s
        self.settings = settings
        self.extensions_to_load = tuple(extensions)
        self._clock = clock
        self._given_app = app
        self._app: App | None = app
        self._lease: SchedulerLease | None = None
        # The clans this process serves, one per guild (loaded in setup_hook).
        self.clans = ClanDirectory()
        self.is_scheduler_leader = False
        # When this process started (the app's clock) and since when it runs the jobs.
        self.started_at: datetime | None = None
        self.leader_since: datetime | None = None
        # What each cog does on becoming the leader (schedule its jobs, catch up), in order.
        self._leader_hooks: list[LeaderHook] = []
        self._leader_jobs: set[str] = set()
        self._leader_job_tasks: set[asyncio.Task[Any]] = set()
        self._leadership: asyncio.Task[None] | None = None
        self._lease_unreachable = False
        self._led_before = False  # this process held the lead at some point
        # Jobs, listeners, slash commands and the cogs' long-lived loops: shutdown waits for
        # (or cancels) them before the database closes.
        self.tasks = Tasks()
        self._shutting_down = False
        self._shutdown_deadline: float | None = None  # the event loop's time
        # What /status shows beyond the database, name → one line: channel problems here
        # (which guild each concerns in ``progress_guilds``), each clan's own lines
        # (backfill progress, configuration problems) in ``clan_progress`` by guild id.
        self.progress: dict[str, str] = {}
        self.progress_guilds: dict[str, int] = {}
        self.clan_progress: dict[int, dict[str, str]] = {}
        # Whether the configured channels let the bot do its work (shown in progress).
        self.channel_access = ChannelAccess(
            self.get_channel, self.progress, self.dispatch, self.progress_guilds
        )
        # Per clan id: set once that clan's startup WOM sync (if one was due) has run: its
        # report waits for it, so a caught-up report never runs on a clan not synced yet.
        self._sync_ready: dict[int, asyncio.Event] = {}
        # Guilds whose slash commands this process registered (guild-scoped installs).
        self._commands_synced_for: set[int] = set()
        self.scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
        )

    @property
    def shutting_down(self) -> bool:
        """True once ``close`` has begun: new interactions are refused from then on."""
        return self._shutting_down

    @property
    def app(self) -> App:
        if self._app is None:
            raise RuntimeError("the bot's app is not open yet (setup_hook has not run)")
        return self._app

    async def setup_hook(self) -> None:
        with traced(phase="startup"):
            if self._app is None:
                self._app = await build_app(self.settings, clock=self._clock)
            self.started_at = self._app.now()
            await self._load_clans(self._app)
            self._lease = SchedulerLease(self._app.db)
            self.is_scheduler_leader = await self._lease.acquire()
            if self.is_scheduler_leader:
                self.leader_since = self.started_at
                self._led_before = True
            else:
                log.warning(
                    "bot.not_scheduler_leader",
                    reason="another instance runs the jobs",
                    retry_s=self.settings.leader_retry_s,
                )
            self.scheduler.start()
            if self._app.db.dialect == "postgresql":
                # Followers try for the lock, the leader checks it still holds it.
                self._leadership = self.tasks.spawn(
                    "scheduler-leadership", self._leadership_loop(), daemon=True
                )
            if self.settings.heartbeat_file is not None:
                # Every instance beats, leader or not: it is this process's health.
                self.scheduler.add_job(
                    self._as_task(self._heartbeat, "heartbeat"),
                    "interval",
                    seconds=HEARTBEAT_S,
                    id="heartbeat",
                )
            for name in self.extensions_to_load:
                await self.load_extension(name)
                log.info("bot.extension_loaded", extension=name)
            await self._sync_commands()

    async def _load_clans(self, app: App) -> None:
        """The clans to serve: the environment's single clan imported once, then every
        active clan in the database."""
        wiring = env_wiring(self.settings)
        if wiring is not None:
            await import_env_wiring(app, wiring)
        self.clans = ClanDirectory(await load_wirings(app))
        log.info("bot.clans_loaded", clans=[w.label for w in self.clans.all()])

    async def _sync_commands(self) -> None:
        """Register the slash commands: globally (every guild sees them), or, for an install
        that names its guild (``CLANSTATS_GUILD_ID``), as that guild's commands, which
        Discord shows at once; other guilds get theirs when they become available
        (:meth:`sync_guild_commands`)."""
        guild_id = self.settings.guild_id
        if guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            self._commands_synced_for.add(guild_id)
        log.info("bot.commands_synced", count=len(synced), guild_id=guild_id)

    async def sync_guild_commands(self, guild_id: int) -> None:
        """An install with guild-scoped commands serves another guild: register them there
        too, once per process (a global install has nothing to do)."""
        if self.settings.guild_id is None or guild_id in self._commands_synced_for:
            return
        self._commands_synced_for.add(guild_id)
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            self._commands_synced_for.discard(guild_id)
            log.warning("bot.commands_sync_failed", guild_id=guild_id, error=_one_line(exc))
            return
        log.info("bot.commands_synced", count=len(synced), guild_id=guild_id)

    # -- clans ---------------------------------------------------------------------------------

    def sync_ready(self, clan_id: int) -> asyncio.Event:
        """Set once ``clan_id``'s startup sync (when one was due) has run."""
        event = self._sync_ready.get(clan_id)
        if event is None:
            event = self._sync_ready[clan_id] = asyncio.Event()
        return event

    @property
    def startup_sync_done(self) -> asyncio.Event:
        """The single clan's :meth:`sync_ready` (the first clan's; tests and the demo of a
        single-clan install wait on it)."""
        clans = self.clans.all()
        if not clans or clans[0].clan_id is None:
            return self.sync_ready(0)
        return self.sync_ready(clans[0].clan_id)

    def set_progress(self, key: str, text: str | None, guild_id: int) -> None:
        """One line for the /status of the clan of ``guild_id`` (None removes it)."""
        lines = self.clan_progress.setdefault(guild_id, {})
        if text is None:
            lines.pop(key, None)
        else:
            lines[key] = text

    def progress_for(self, wiring: ClanWiring) -> dict[str, str]:
        """The progress lines about ``wiring``'s clan: its own, then the channel problems of
        its guild, or of one of its channels the bot could not place in a guild."""
        channels = {
            str(c)
            for c in (
                *wiring.relay_channel_ids,
                wiring.report_channel_id,
                wiring.announce_channel_id,
            )
            if c is not None
        }
        out = dict(self.clan_progress.get(wiring.guild_id, {}))
        for key, text in self.progress.items():
            owner = self.progress_guilds.get(key)
            if owner == wiring.guild_id or (owner is None and key.rpartition(" ")[2] in channels):
                out[key] = text
        return out

    def remove_job(self, job_id: str) -> None:
        """Unschedule ``job_id`` if it is scheduled (a clan stopped or was re-wired)."""
        self._leader_jobs.discard(job_id)
        if self.scheduler.get_job(job_id):
            self.scheduler.remove_job(job_id)

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # Listener tasks copy the context when they are created, so each gateway event's
        # handlers (and discord.py's own log lines inside them) carry this trace id.
        with traced():
            super().dispatch(event_name, *args, **kwargs)

    def _schedule_event(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        event_name: str,
        *args: Any,
        **kwargs: Any,
    ) -> asyncio.Task[Any]:
        # Every listener (``on_…`` and cog listeners) runs in a task made here: track it.
        task = super()._schedule_event(coro, event_name, *args, **kwargs)
        self.track_handler(task)
        return task

    def track_handler(self, task: asyncio.Task[Any]) -> None:
        """Let ``close`` wait for (or cancel) ``task`` before the database closes."""
        self.tasks.adopt(task)

    def add_job(self, func: Callable[..., Any], trigger: Any, **options: Any) -> None:
        """Schedule a job, unless another instance holds the scheduler lease.

        Cogs add their jobs from a :meth:`when_leader` hook, so a follower that takes over
        schedules them then.
        """
        if not self.is_scheduler_leader:
            log.info("bot.job_not_scheduled", job=options.get("id"), reason="not the leader")
            return
        name = str(options.get("id") or getattr(func, "__name__", "job"))
        self._leader_jobs.add(name)
        self.scheduler.add_job(
            self._as_task(func, name, leader=True),
            trigger,
            replace_existing=True,
            **{"id": name, **options},
        )

    async def when_leader(self, hook: LeaderHook) -> None:
        """Run ``hook(takeover=False)`` now if this process leads, and ``hook(takeover=True)``
        whenever it takes the lead over from another instance later."""
        self._leader_hooks.append(hook)
        if self.is_scheduler_leader:
            await hook(False)

    def _as_task(
        self, func: Callable[..., Any], name: str, *, leader: bool = False
    ) -> Callable[..., Any]:
        """A scheduler job that runs ``func`` as a spawned task: fresh trace id, tracked.

        APScheduler creates its job tasks from its own timer, in the context the scheduler
        was started in (startup): spawning gives every run a context of its own.
        """

        async def guarded(*args: Any, **kwargs: Any) -> None:
            try:
                await func(*args, **kwargs)
            except Exception as exc:
                reason = database_unavailable(exc)
                if reason is None:
                    raise  # a bug: the task helper logs it with its traceback
                # An outage: one line; the job runs again at its next time.
                log.warning("job.database_unavailable", job=name, reason=reason)

        @functools.wraps(func)
        async def run(*args: Any, **kwargs: Any) -> None:
            task = self.tasks.spawn(f"job:{name}", guarded(*args, **kwargs), job=name)
            if leader:
                self._leader_job_tasks.add(task)
                task.add_done_callback(self._leader_job_tasks.discard)
            with contextlib.suppress(Exception, asyncio.CancelledError):  # logged, or stepped down
                await task

        return run

    async def _leadership_loop(self) -> None:
        """Every ``leader_retry_s``: a follower tries for the lock, the leader checks it."""
        while True:
            await asyncio.sleep(self.settings.leader_retry_s)
            if self._shutting_down:
                return
            try:
                await self._leadership_round()
            except Exception as exc:  # never let failover stop for good
                log.error("scheduler.leadership_failed", error=_one_line(exc), exc_info=exc)

    async def _leadership_round(self) -> None:
        lease = self._lease
        assert lease is not None
        if self.is_scheduler_leader:
            if not await lease.check():
                await self._step_down(lease.lost_because or "lock connection lost")
            return
        try:
            got = await lease.acquire()
        except Exception as exc:
            if not self._lease_unreachable:  # once per outage, not every few seconds
                log.info("scheduler.lease_unreachable", error=_one_line(exc))
            self._lease_unreachable = True
            return
        self._lease_unreachable = False
        if got:
            await self._take_over()

    async def _take_over(self) -> None:
        """This follower now holds the lock: schedule every cog's jobs and catch up."""
        self.is_scheduler_leader = True
        self.leader_since = self.app.now()
        if self._led_before:
            # This process led before the database went away: the stepping down was the news.
            log.info("scheduler.took_over", reason="the database answers again")
        else:
            log.warning(
                "scheduler.took_over",
                reason="the lock was free: the leader stopped, died or lost its connection",
            )
        self._led_before = True
        try:
            for hook in self._leader_hooks:
                await hook(True)
        except Exception as exc:
            # Half the jobs scheduled is worse than none: give the lead back, try again later.
            reason = database_unavailable(exc)
            if reason is None:
                log.error("scheduler.take_over_failed", error=_one_line(exc), exc_info=exc)
            else:  # an outage, not a bug: one line, as for every job it cuts short
                log.warning("scheduler.take_over_failed", reason=reason)
            await self._step_down("taking over failed")
            if self._lease is not None:
                await self._lease.release()

    async def _step_down(self, reason: str) -> None:
        """The lock is lost (its connection died): stop running jobs another may now run."""
        self.is_scheduler_leader = False
        self.leader_since = None
        for job_id in sorted(self._leader_jobs):
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
        self._leader_jobs.clear()
        running = [t for t in self._leader_job_tasks if not t.done()]
        for task in running:
            task.cancel()  # its claim stays "running": the new leader frees it at takeover
        log.warning("scheduler.stepped_down", reason=reason, cancelled_jobs=len(running))

    async def _stop_jobs(self) -> None:
        """Stop scheduling; give running jobs and handlers a moment to finish, then cancel them."""
        if self.scheduler.running:
            # Pause, not shutdown: APScheduler's shutdown cancels running jobs at once.
            self.scheduler.pause()
        await self._finish_or_cancel(reserve_s=CLOSE_RESERVE_S)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _finish_or_cancel(self, reserve_s: float = 0.0) -> None:
        """Wait up to the grace for running jobs and handlers, then cancel what is left."""
        grace = min(SHUTDOWN_GRACE_S, self.shutdown_time_left(reserve_s=reserve_s))
        cancelled = await self.tasks.finish(grace)
        if cancelled:
            log.warning("bot.tasks_cancelled_at_shutdown", count=cancelled)

    def shutdown_time_left(self, *, reserve_s: float = 0.0) -> float:
        """Seconds left of the shutdown's budget, keeping ``reserve_s`` for what follows."""
        if self._shutdown_deadline is None:
            return max(0.0, SHUTDOWN_BUDGET_S - reserve_s)
        left = self._shutdown_deadline - asyncio.get_running_loop().time()
        return max(0.0, left - reserve_s)

    def run_job_now(self, job_id: str) -> None:
        """Run a scheduled job at once instead of at its next time (the demo uses it)."""
        self.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.identify_delay_s)

    async def _heartbeat(self) -> None:
        """Touch the heartbeat file while connected, for the container health check."""
        path = self.settings.heartbeat_file
        if path is not None and self.is_ready() and not self.is_closed():
            await asyncio.to_thread(path.write_text, self._clock().isoformat())

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("bot.ready", user=str(self.user), guilds=len(self.guilds))

    async def close(self) -> None:
        """Stop within :data:`SHUTDOWN_BUDGET_S` from any state, and never raise: the
        database or its server may be gone, but the engine and the WOM session still close."""
        if self._shutdown_deadline is None:
            self._shutdown_deadline = asyncio.get_running_loop().time() + SHUTDOWN_BUDGET_S
        self._shutting_down = True
        if self._leadership is not None:
            self._leadership.cancel()
        watchdog: asyncio.TimerHandle | None = None
        if self._app is not None:
            # No SQLite write begun from now on waits for a lock past this.
            self._app.db.limit_lock_waits(self.shutdown_time_left(reserve_s=CLOSE_RESERVE_S))
            # Near the end, whatever still waits on a frozen PostgreSQL is cut loose.
            watchdog = asyncio.get_running_loop().call_later(
                self.shutdown_time_left(reserve_s=ABORT_RESERVE_S),
                self._abort_database,
                self._app,
            )
        try:
            # Jobs and handlers still running may reply or post: let them, while the gateway
            # and the HTTP session are still open.
            await self._stop_jobs()
            await super().close()
        except Exception as exc:
            log.warning("bot.close_failed", step="stop", error=_one_line(exc), exc_info=exc)
        finally:
            # A listener that started while the cogs unloaded: done before the database closes.
            await self._finish_or_cancel(reserve_s=1.0)
            await self.tasks.cancel_daemons()
            await self._close_storage()
            if watchdog is not None:
                watchdog.cancel()

    def _abort_database(self, app: App) -> None:
        cut = app.db.abort()
        if cut:
            log.warning("bot.database_connections_cut", count=cut, reason="shutdown running late")

    async def _close_storage(self) -> None:
        """Let the lease go, then close the WOM session and the database, whatever fails."""
        try:
            if self._lease is not None:
                # Never raises: a dead connection let it go. Connections cut: nothing to ask.
                cut = self._app is not None and self._app.db.aborted
                await self._lease.release(0.0 if cut else self.shutdown_time_left(reserve_s=1.0))
                self._lease = None
        finally:
            app = self._app
            if app is not None and app is not self._given_app:
                self._app = None
                await _close_app(app, self.shutdown_time_left())
