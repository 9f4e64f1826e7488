"""clan wiring: each guild's clan carries its own channels, roles, times (many clans)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01 21:30:00

One process serves many clans, one per Discord guild. What a single-clan install read from
its environment (relay authors and formats, report channel and time, announcement channel,
officer roles, time zone) becomes columns of ``clans``, set by ``/setup`` or imported once
from the environment on start; ``setup_at`` says a clan was set up, ``active`` false that the
bot left its guild (its data stays). ``relay_channels``: a relay channel belongs to exactly
one clan (its primary key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE ADD COLUMN, never a batch copy: on SQLite a batch operation re-creates
# ``clans``, and dropping it would cascade to every row that belongs to a clan.
_COLUMNS = (
    sa.Column("relay_author_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("relay_custom_formats", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    sa.Column("clan_chat_override", sa.String(length=100), nullable=True),
    sa.Column("report_channel_id", sa.BigInteger(), nullable=True),
    sa.Column("report_time", sa.String(length=5), nullable=True),
    sa.Column("announce_channel_id", sa.BigInteger(), nullable=True),
    sa.Column("officer_role_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("timezone", sa.String(length=64), nullable=True),
    sa.Column("setup_at", storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column("setup_by", sa.BigInteger(), nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("true")),
)


def upgrade() -> None:
    for column in _COLUMNS:
        op.add_column("clans", column)
    op.create_table(
        "relay_channels",
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("clan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["clan_id"],
            ["clans.id"],
            name=op.f("fk_relay_channels_clan_id_clans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_relay_channels")),
    )
    op.create_index(op.f("ix_relay_channels_clan_id"), "relay_channels", ["clan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_relay_channels_clan_id"), table_name="relay_channels")
    op.drop_table("relay_channels")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for column in reversed(_COLUMNS):
        if sqlite:
            op.execute(f"ALTER TABLE clans DROP COLUMN {column.name}")  # SQLite 3.35+
        else:
            op.drop_column("clans", column.name)
