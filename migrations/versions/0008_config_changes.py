"""config changes: every change of a clan's rule settings, who made it, old and new value

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01 21:30:00.000000

``/config`` and ``clanstats config set`` change the rules in ``clans.settings``; each change
is recorded here and shown by ``/config history``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "config_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("clan_id", _ID, nullable=False),
        sa.Column("changed_at", _UTC, nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("setting", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clan_id"],
            ["clans.id"],
            name=op.f("fk_config_changes_clan_id_clans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_changes")),
    )
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_config_changes_clan_changed", ["clan_id", "changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("config_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_config_changes_clan_changed")
    op.drop_table("config_changes")
