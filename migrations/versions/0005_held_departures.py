"""held departures: departures a sync did not apply until an officer confirms them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:50:00.000000

A roster that would mark more of the clan as left than allowed, in one sync or within a
rolling 24 h, is held; ``/sync confirm-departures`` lets an officer apply it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = storage.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "held_departures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("clan_id", _ID, nullable=False),
        sa.Column("member_id", _ID, nullable=False),
        sa.Column("held_at", _UTC, nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("announced_at", _UTC, nullable=True),
        sa.Column("confirmed_at", _UTC, nullable=True),
        sa.Column("confirmed_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", _UTC, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["clan_id"],
            ["clans.id"],
            name=op.f("fk_held_departures_clan_id_clans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_held_departures_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_departures")),
    )
    with op.batch_alter_table("held_departures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_held_departures_clan_resolved", ["clan_id", "resolved_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("held_departures", schema=None) as batch_op:
        batch_op.drop_index("ix_held_departures_clan_resolved")
    op.drop_table("held_departures")
