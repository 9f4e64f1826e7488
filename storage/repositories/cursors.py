"""Per-channel backfill cursors: everything up to the cursor is stored, without gaps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import upsert
from storage.models import ChannelCursor


async def get_cursor(session: AsyncSession, channel_id: int) -> int | None:
    return (
        await session.execute(
            select(ChannelCursor.message_id).where(ChannelCursor.channel_id == channel_id)
        )
    ).scalar_one_or_none()


async def advance_cursor(
    session: AsyncSession, *, clan_id: int, channel_id: int, message_id: int, now: datetime
) -> None:
    """Move the cursor forward to ``message_id`` (never backwards)."""
    current = await get_cursor(session, channel_id)
    if current is not None and current >= message_id:
        return
    await upsert(
        session,
        ChannelCursor,
        [
            {
                "channel_id": channel_id,
                "clan_id": clan_id,
                "message_id": message_id,
                "updated_at": now,
            }
        ],
        conflict_columns=["channel_id"],
        update_columns=["message_id", "updated_at"],
    )
