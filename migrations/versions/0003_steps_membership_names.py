"""snapshot steps, membership events for every member, unmatched lines and broadcasts apart

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:18:19.005017

- snapshots: each row carries the step it makes over the member's snapshot before it
  (docs/metrics.md, "Progress"), computed here for the snapshots already stored, and running
  totals of those steps; the (clan, time) index covers the member and the XP step;
- member_events: every member gets the join (and leave) events their membership periods are
  read from; members stored before this revision had none for their first roster;
- snapshot_gains: each step's boss and activity gains, one row a metric (leaderboards);
- unmatched_names: chat lines and broadcasts counted apart (``count`` was both).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.models
from domain.activity import NO_TOTALS, SKILL_METRICS, SnapshotPoint, snapshot_step

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = storage.models.UtcDateTime(timezone=True)
_SNAPSHOTS = sa.table(
    "snapshots",
    sa.column("id", sa.BigInteger()),
    sa.column("clan_id", sa.BigInteger()),
    sa.column("member_id", sa.BigInteger()),
    sa.column("taken_at", _UTC),
    sa.column("overall_xp", sa.BigInteger()),
    sa.column("ehp", sa.Float()),
    sa.column("ehb", sa.Float()),
    sa.column("metrics", sa.JSON()),
    sa.column("previous_taken_at", _UTC),
    sa.column("xp_gained", sa.BigInteger()),
    sa.column("ehp_gained", sa.Float()),
    sa.column("ehb_gained", sa.Float()),
    sa.column("boss_kills_gained", sa.BigInteger()),
    sa.column("clues_gained", sa.Integer()),
    sa.column("raid_kills_gained", sa.Integer()),
    sa.column("gained", sa.JSON()),
    sa.column("progress", sa.Boolean()),
    sa.column("total_xp", sa.BigInteger()),
    sa.column("total_ehp", sa.Float()),
    sa.column("total_ehb", sa.Float()),
    sa.column("total_boss_kills", sa.BigInteger()),
    sa.column("total_clues", sa.BigInteger()),
    sa.column("total_raid_kills", sa.BigInteger()),
    sa.column("total_progress_steps", sa.Integer()),
)
_TOTALS = (
    "total_xp",
    "total_ehp",
    "total_ehb",
    "total_boss_kills",
    "total_clues",
    "total_raid_kills",
    "total_progress_steps",
)
_GAINS = sa.table(
    "snapshot_gains",
    sa.column("clan_id", sa.BigInteger()),
    sa.column("member_id", sa.BigInteger()),
    sa.column("taken_at", _UTC),
    sa.column("previous_taken_at", _UTC),
    sa.column("metric", sa.String()),
    sa.column("gained", sa.Float()),
)
_MEMBERS = sa.table(
    "members",
    sa.column("id", sa.BigInteger()),
    sa.column("clan_id", sa.BigInteger()),
    sa.column("role", sa.String()),
    sa.column("joined_at", _UTC),
    sa.column("left_at", _UTC),
    sa.column("created_at", _UTC),
)
_EVENTS = sa.table(
    "member_events",
    sa.column("id", sa.BigInteger()),
    sa.column("clan_id", sa.BigInteger()),
    sa.column("member_id", sa.BigInteger()),
    sa.column("kind", sa.String()),
    sa.column("occurred_at", _UTC),
    sa.column("source", sa.String()),
    sa.column("old_value", sa.String()),
    sa.column("new_value", sa.String()),
    sa.column("dedupe_key", sa.String()),
    sa.column("announced_at", _UTC),
)
_BATCH = 2_000


def upgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_taken_at", _UTC, nullable=True))
        for name, kind in (
            ("xp_gained", sa.BigInteger()),
            ("ehp_gained", sa.Float()),
            ("ehb_gained", sa.Float()),
            ("boss_kills_gained", sa.BigInteger()),
            ("clues_gained", sa.Integer()),
            ("raid_kills_gained", sa.Integer()),
            ("total_xp", sa.BigInteger()),
            ("total_ehp", sa.Float()),
            ("total_ehb", sa.Float()),
            ("total_boss_kills", sa.BigInteger()),
            ("total_clues", sa.BigInteger()),
            ("total_raid_kills", sa.BigInteger()),
            ("total_progress_steps", sa.Integer()),
        ):
            batch_op.add_column(sa.Column(name, kind, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("gained", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(
            sa.Column("progress", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_snapshots_member_totals",
            ["member_id", "taken_at", "previous_taken_at", "progress", *_TOTALS],
            unique=False,
        )
        batch_op.drop_index("ix_snapshots_clan_taken")
        batch_op.create_index(
            "ix_snapshots_clan_taken", ["clan_id", "taken_at", "member_id", "xp_gained"]
        )
    op.create_table(
        "snapshot_gains",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("clan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("taken_at", _UTC, nullable=False),
        sa.Column("previous_taken_at", _UTC, nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("gained", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clan_id"],
            ["clans.id"],
            name=op.f("fk_snapshot_gains_clan_id_clans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_snapshot_gains_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_gains")),
        sa.UniqueConstraint(
            "member_id",
            "taken_at",
            "metric",
            name=op.f("uq_snapshot_gains_member_id_taken_at_metric"),
        ),
    )
    with op.batch_alter_table("snapshot_gains", schema=None) as batch_op:
        batch_op.create_index(
            "ix_snapshot_gains_clan_metric",
            ["clan_id", "metric", "taken_at", "member_id", "previous_taken_at", "gained"],
            unique=False,
        )
    with op.batch_alter_table("unmatched_names", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("broadcasts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.drop_column("count")

    bind = op.get_bind()
    _fill_steps(bind)
    _fill_membership_events(bind)
    _recount_unmatched(bind)

    # The model has no server defaults: new rows always get their values from the code.
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        for name in (
            "xp_gained",
            "ehp_gained",
            "ehb_gained",
            "boss_kills_gained",
            "clues_gained",
            "raid_kills_gained",
            "gained",
            "progress",
            *_TOTALS,
        ):
            batch_op.alter_column(name, server_default=None)
    with op.batch_alter_table("unmatched_names", schema=None) as batch_op:
        batch_op.alter_column("lines", server_default=None)
        batch_op.alter_column("broadcasts", server_default=None)


def _fill_steps(bind: sa.Connection) -> None:
    """Every stored snapshot's step over the member's snapshot before it."""
    s = _SNAPSHOTS
    update = (
        s.update()
        .where(s.c.id == sa.bindparam("b_id"))
        .values(
            previous_taken_at=sa.bindparam("b_previous"),
            xp_gained=sa.bindparam("b_xp"),
            ehp_gained=sa.bindparam("b_ehp"),
            ehb_gained=sa.bindparam("b_ehb"),
            boss_kills_gained=sa.bindparam("b_kills"),
            clues_gained=sa.bindparam("b_clues"),
            raid_kills_gained=sa.bindparam("b_raids"),
            gained=sa.bindparam("b_gained"),
            progress=sa.bindparam("b_progress"),
            **{name: sa.bindparam(f"b_{name}") for name in _TOTALS},
        )
    )
    pending: list[dict[str, Any]] = []
    side: list[dict[str, Any]] = []
    for member_id, clan_id in bind.execute(
        sa.select(s.c.member_id, s.c.clan_id).distinct()
    ).all():  # one member at a time: memory stays small
        before: SnapshotPoint | None = None
        totals = NO_TOTALS
        for row_id, taken_at, xp, ehp, ehb, metrics in bind.execute(
            sa.select(s.c.id, s.c.taken_at, s.c.overall_xp, s.c.ehp, s.c.ehb, s.c.metrics)
            .where(s.c.member_id == member_id)
            .order_by(s.c.taken_at)
        ).all():
            point = SnapshotPoint(taken_at, xp, ehp, ehb, metrics or {})
            step = snapshot_step(before, point)
            before = point
            totals = totals.after(step)
            pending.append(
                {
                    "b_id": row_id,
                    "b_previous": step.previous_at,
                    "b_xp": step.gains.xp,
                    "b_ehp": step.gains.ehp,
                    "b_ehb": step.gains.ehb,
                    "b_kills": step.gains.boss_kills,
                    "b_clues": step.gains.clues,
                    "b_raids": step.gains.raid_kills,
                    "b_gained": dict(step.gains.per_metric),
                    "b_progress": step.progress,
                    "b_total_xp": totals.xp,
                    "b_total_ehp": totals.ehp,
                    "b_total_ehb": totals.ehb,
                    "b_total_boss_kills": totals.boss_kills,
                    "b_total_clues": totals.clues,
                    "b_total_raid_kills": totals.raid_kills,
                    "b_total_progress_steps": totals.progress_steps,
                }
            )
            if step.previous_at is not None:
                side.extend(
                    {
                        "clan_id": clan_id,
                        "member_id": member_id,
                        "taken_at": taken_at,
                        "previous_taken_at": step.previous_at,
                        "metric": name,
                        "gained": value,
                    }
                    for name, value in step.gains.per_metric.items()
                    if name not in SKILL_METRICS
                )
            if len(pending) >= _BATCH:
                bind.execute(update, pending)
                pending = []
            if len(side) >= _BATCH:
                bind.execute(_GAINS.insert(), side)
                side = []
    if pending:
        bind.execute(update, pending)
    if side:
        bind.execute(_GAINS.insert(), side)


def _fill_membership_events(bind: sa.Connection) -> None:
    """A join event for every member without one (and the leave of one who left)."""
    m, e = _MEMBERS, _EVENTS
    now = datetime.now(UTC)
    events: dict[int, list[tuple[str, datetime, str | None, str | None]]] = {}
    for member_id, kind, at, old, new in bind.execute(
        sa.select(e.c.member_id, e.c.kind, e.c.occurred_at, e.c.old_value, e.c.new_value)
        .where(e.c.member_id.is_not(None))
        .order_by(e.c.occurred_at, e.c.id)
    ):
        events.setdefault(member_id, []).append((kind, at, old, new))
    rows: list[dict[str, Any]] = []
    for member_id, clan_id, role, joined, left, created in bind.execute(
        sa.select(m.c.id, m.c.clan_id, m.c.role, m.c.joined_at, m.c.left_at, m.c.created_at)
    ):
        mine = events.get(member_id, [])
        first = mine[0][1] if mine else None
        if not any(kind in ("joined", "rejoined") for kind, *_ in mine):
            # The first roster's join: WOM's join date (else when we first stored them), when
            # it comes before everything else we know of them.
            fits = [t for t in (joined, created) if t is not None and (first is None or t <= first)]
            start = fits[0] if fits else (first or now) - timedelta(microseconds=1)
            changes = [old for kind, _, old, _ in mine if kind == "role_changed"]
            rows.append(
                _event(clan_id, member_id, "joined", start, changes[0] if changes else role, now)
            )
        last_kind = mine[-1][0] if mine else None
        if left is not None and last_kind != "left":
            rows.append(_event(clan_id, member_id, "left", left, None, now))
    for start in range(0, len(rows), _BATCH):
        bind.execute(e.insert(), rows[start : start + _BATCH])


def _event(
    clan_id: int, member_id: int, kind: str, at: datetime, role: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "clan_id": clan_id,
        "member_id": member_id,
        "kind": kind,
        "occurred_at": at,
        "source": "migration",
        "old_value": None,
        "new_value": role if kind == "joined" else None,
        "dedupe_key": f"migration:{kind}:{member_id}:{at.isoformat()}"[:200],
        "announced_at": now,
    }


def _recount_unmatched(bind: sa.Connection) -> None:
    """Unmatched names' chat lines and broadcasts, each counted from the relay rows."""
    for column, kind in (("lines", "chat"), ("broadcasts", "broadcast")):
        bind.execute(
            sa.text(
                f"UPDATE unmatched_names SET {column} = ("
                "SELECT count(*) FROM relay_messages r WHERE r.clan_id = unmatched_names.clan_id"
                " AND r.rsn_key = unmatched_names.rsn_key AND r.member_id IS NULL"
                f" AND r.kind = '{kind}' AND r.duplicate_of IS NULL AND r.deleted_at IS NULL)"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("unmatched_names", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE unmatched_names SET count = lines + broadcasts")
    with op.batch_alter_table("unmatched_names", schema=None) as batch_op:
        batch_op.alter_column("count", server_default=None)
        batch_op.drop_column("broadcasts")
        batch_op.drop_column("lines")
    op.execute("DELETE FROM member_events WHERE source = 'migration'")
    with op.batch_alter_table("snapshot_gains", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshot_gains_clan_metric")
    op.drop_table("snapshot_gains")
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_member_totals")
        batch_op.drop_index("ix_snapshots_clan_taken")
        batch_op.create_index("ix_snapshots_clan_taken", ["clan_id", "taken_at"], unique=False)
        for name in (
            *_TOTALS,
            "progress",
            "gained",
            "raid_kills_gained",
            "clues_gained",
            "boss_kills_gained",
            "ehb_gained",
            "ehp_gained",
            "xp_gained",
            "previous_taken_at",
        ):
            batch_op.drop_column(name)
