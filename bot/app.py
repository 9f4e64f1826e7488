"""The composition root: settings in, a wired :class:`~bot.usecases.context.App` out.

Nothing here runs at import. :func:`open_app` builds the graph (database migrated to head),
and the bot's ``setup_hook`` or a CLI command owns it for the life of the process. This is
also the one place that turns the settings object into the plain values use cases take.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from bot.adapters.wom import HttpWomClient
from bot.core.config import Settings
from bot.usecases.context import App, utc_now
from bot.usecases.harvest import compile_relay_config
from bot.usecases.jobs import SYNC_JOB
from bot.usecases.sync import SyncOptions
from domain.clans import ClanWiring
from domain.relay import RelayConfig
from storage.engine import Database, DbTimeouts
from storage.migrate import upgrade

__all__ = [
    "App",
    "build_app",
    "clan_relay_base",
    "clan_sync_options",
    "db_timeouts",
    "env_wiring",
    "open_app",
    "open_database",
    "relay_config",
    "sync_options",
    "utc_now",
    "wom_client",
]


def wom_client(settings: Settings) -> HttpWomClient:
    return HttpWomClient(
        settings.wom_base_url,
        settings.wom_api_key,
        settings.wom_user_agent,
        timeout_s=settings.wom_timeout_s,
        rate_window_s=settings.wom_rate_window_s,
    )


def db_timeouts(settings: Settings) -> DbTimeouts:
    """How long each database call may take, from the settings."""
    return DbTimeouts(
        connect_s=settings.db_connect_timeout_s,
        statement_s=settings.db_statement_timeout_s,
        busy_s=settings.db_busy_timeout_s,
    )


def open_database(settings: Settings) -> Database:
    """The configured database (not migrated), every call bounded by the timeouts."""
    return Database.from_url(settings.database_url, timeouts=db_timeouts(settings))


def sync_options(settings: Settings) -> SyncOptions:
    """What the sync use case needs from the settings (``wom_group_id`` must be set)."""
    if settings.wom_group_id is None:
        raise ValueError("CLANSTATS_WOM_GROUP_ID is not set")
    return SyncOptions(
        group_id=settings.wom_group_id,
        interval_minutes=settings.sync_interval_minutes,
        max_departure_share=settings.max_departure_share,
        verification_code=settings.wom_verification_code,
    )


def clan_sync_options(settings: Settings, wiring: ClanWiring) -> SyncOptions:
    """One clan's sync: its WOM group and its own ``job_runs`` name (``wom.sync:clan-<id>``),
    the process-wide cadence and departure guard. The WOM verification code belongs to the
    environment's group, so only that clan requests ``update-all``."""
    code = settings.wom_verification_code
    return SyncOptions(
        group_id=wiring.wom_group_id,
        interval_minutes=settings.sync_interval_minutes,
        max_departure_share=settings.max_departure_share,
        verification_code=code if wiring.wom_group_id == settings.wom_group_id else None,
        job=f"{SYNC_JOB}:{wiring.label}",
    )


def clan_relay_base(wiring: ClanWiring) -> RelayConfig:
    """One clan's relay parser configuration (its relay authors, custom formats and the
    clan chat's name when the admin set it). Raises
    :class:`~bot.core.config.ConfigError` naming every bad custom format."""
    return compile_relay_config(
        list(wiring.relay_author_ids),
        dict(wiring.relay_custom_formats),
        clan_name=wiring.clan_chat_name,
    )


def relay_config(settings: Settings, *, clan_name: str | None = None) -> RelayConfig:
    """The relay parser's configuration from the settings (trusted authors, custom formats,
    the in-game clan name when ``CLANSTATS_CLAN_CHAT_NAME`` sets it).

    Raises :class:`~bot.core.config.ConfigError` naming every bad custom format.
    """
    return compile_relay_config(
        settings.relay_author_ids,
        settings.relay_custom_formats,
        clan_name=clan_name or settings.clan_chat_name,
    )


def env_wiring(settings: Settings) -> ClanWiring | None:
    """The single-clan wiring the environment settings describe, or None when they name no
    guild and WOM group (an install set up from Discord alone).

    Imported into the database on the first start that finds no wiring for that guild
    (:func:`bot.usecases.clans.import_env_wiring`); afterwards the database wins.
    """
    if settings.guild_id is None or settings.wom_group_id is None:
        return None
    return ClanWiring(
        clan_id=None,
        guild_id=settings.guild_id,
        wom_group_id=settings.wom_group_id,
        name="",  # learnt from WOM by the first sync
        relay_channel_ids=tuple(dict.fromkeys(settings.relay_channel_ids)),
        relay_author_ids=tuple(dict.fromkeys(settings.relay_author_ids)),
        relay_custom_formats=dict(settings.relay_custom_formats),
        clan_chat_name=settings.clan_chat_name,
        report_channel_id=settings.report_channel_id,
        report_time=settings.report_time.replace(second=0, microsecond=0),
        announce_channel_id=settings.announce_channel_id,
        officer_role_ids=tuple(dict.fromkeys(settings.officer_role_ids)),
        timezone=settings.timezone,
    )


async def build_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utc_now
) -> App:
    """Open the database (migrated to head unless ``migrate`` is false) and wire the app."""
    db = open_database(settings)
    try:
        if migrate:
            await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return App(db=db, wom=wom_client(settings), clock=clock)


@asynccontextmanager
async def open_app(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], datetime] = utc_now
) -> AsyncIterator[App]:
    """:func:`build_app` as a context manager that always closes what it opened."""
    app = await build_app(settings, migrate=migrate, clock=clock)
    try:
        yield app
    finally:
        await app.aclose()
