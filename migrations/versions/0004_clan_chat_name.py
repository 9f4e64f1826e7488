"""clans.clan_chat: the in-game clan chat's name, as WOM gives it (the group's clanChat)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:45:00

The relay parser tells the clan's own lines (TrackScape authors its broadcasts with the
in-game name) from players' by this name; a WOM group's own name is free text and often
differs. Filled by the next WOM sync.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, never a batch copy: on SQLite a batch operation re-creates ``clans``, and
# dropping it would cascade to every row that belongs to a clan.


def upgrade() -> None:
    op.add_column("clans", sa.Column("clan_chat", sa.String(length=100), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE clans DROP COLUMN clan_chat")  # SQLite 3.35+
    else:
        op.drop_column("clans", "clan_chat")
