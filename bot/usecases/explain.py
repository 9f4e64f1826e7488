"""``clanstats relay explain``: the parser configuration ingest would use, for one message."""

from __future__ import annotations

from bot.usecases.context import App
from bot.usecases.harvest import clan_relay_config
from domain.relay import RelayConfig
from storage.repositories.clans import get_clan_by_group


async def ingest_config(app: App, group_id: int | None, base: RelayConfig) -> RelayConfig:
    """``base`` with what the database knows of the clan of WOM group ``group_id`` (its
    in-game name), exactly as ingest completes it; ``base`` when that clan is not stored."""
    if group_id is None:
        return base
    async with app.db.read() as session:
        clan = await get_clan_by_group(session, group_id)
    if clan is None:
        return base
    return await clan_relay_config(app, clan.id, base)
