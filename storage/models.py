"""Typed SQLAlchemy 2 models for ClanStats (docs/architecture.md).

Every timestamp is timezone-aware UTC (:class:`UtcDateTime`); conversion to a clan's timezone
happens only when rendering. Discord snowflakes are plain ``BigInteger`` columns; surrogate keys
use :data:`BigIntPK` so they autoincrement on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigIntPK = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` that refuses naive values and always returns UTC.

    SQLite has no time zones: values are stored as UTC and given back tz-aware, so code never
    compares a naive datetime with an aware one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class Clan(Base):
    """A Discord guild linked to a Wise Old Man group."""

    __tablename__ = "clans"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    wom_group_id: Mapped[int] = mapped_column(Integer, unique=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # The in-game clan chat's name as WOM gives it (the group's clanChat); None when unknown.
    clan_chat: Mapped[str | None] = mapped_column(String(100))
    role_order: Mapped[list[str]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The clan's wiring in its guild (revision 0009): set by /setup, or imported once from
    # the environment settings of a single-clan install. Its relay channels are rows of
    # ``relay_channels`` (a channel belongs to one clan).
    relay_author_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    relay_custom_formats: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The in-game clan chat's name when the admin sets it; else ``clan_chat`` (WOM's).
    clan_chat_override: Mapped[str | None] = mapped_column(String(100))
    report_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    report_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", clan time zone
    announce_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    officer_role_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name
    setup_at: Mapped[datetime | None]
    setup_by: Mapped[int | None] = mapped_column(BigInteger)  # Discord user; None: the host
    # False once the bot left the guild: its jobs stop, its data stays.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RelayChannel(Base):
    """A Discord channel where a clan's in-game chat is relayed: it belongs to one clan."""

    __tablename__ = "relay_channels"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"), index=True)


class Member(Base):
    """A player who is or was in the clan's WOM group; never deleted, only marked as left."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("clan_id", "wom_player_id"),
        Index("ix_members_clan_rsn_key", "clan_id", "rsn_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    wom_player_id: Mapped[int] = mapped_column(BigInteger)
    rsn_key: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(64))
    account_type: Mapped[str | None] = mapped_column(String(32))
    build: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    wom_updated_at: Mapped[datetime | None]
    last_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MemberAlias(Base):
    """An earlier name of a member (from WOM name changes), so old history follows them."""

    __tablename__ = "member_aliases"
    __table_args__ = (
        UniqueConstraint("clan_id", "rsn_key", "member_id"),
        Index("ix_member_aliases_clan_rsn_key", "clan_id", "rsn_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    rsn_key: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(32), default="wom_name_change")


class MemberEvent(Base):
    """Joined / left / role_changed / renamed, with where we learned it.

    ``dedupe_key`` makes polling the same WOM activity twice a no-op.
    """

    __tablename__ = "member_events"
    __table_args__ = (
        UniqueConstraint("clan_id", "dedupe_key"),
        Index("ix_member_events_clan_occurred", "clan_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str | None] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    announced_at: Mapped[datetime | None]


class HeldDeparture(Base):
    """A departure a sync found but did not apply: too many members would have left (in one
    roster or within 24 h) without an officer's confirmation (docs/wom-api.md).

    Pending while ``resolved_at`` is null; ``/sync confirm-departures`` sets ``confirmed_at``
    and the next sync applies it (``outcome`` "applied"), unless the member is back
    ("returned"). Announced to officers once (``announced_at``).
    """

    __tablename__ = "held_departures"
    __table_args__ = (Index("ix_held_departures_clan_resolved", "clan_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    held_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300))
    announced_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))


class ConfigChange(Base):
    """One change of a clan's rule settings (``/config``, ``clanstats config set``): who made
    it, when, and the stored value before and after (null: the default)."""

    __tablename__ = "config_changes"
    __table_args__ = (Index("ix_config_changes_clan_changed", "clan_id", "changed_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime]
    #: The Discord user who confirmed it; null for a change made on the host (the CLI).
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(100))
    setting: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any | None] = mapped_column(JSON)
    new_value: Mapped[Any | None] = mapped_column(JSON)


class Snapshot(Base):
    """A member's stats as WOM measured them at ``taken_at``; stored only when changed.

    ``metrics`` keeps every metric by name (skills' experience, bosses' kills, activities'
    score, computed values), ``-1`` meaning unranked; unknown new metrics are kept as they come.

    The ``*_gained``, ``gained`` and ``progress`` columns are the *step* this snapshot makes
    over the member's snapshot before it (taken at ``previous_taken_at``; NULL for their first
    one), as :func:`domain.activity.snapshot_step` defines it; the ``total_*`` columns add up
    the member's steps to this one (:class:`domain.activity.RunningTotals`). Reports take the
    difference of two running totals instead of re-reading every snapshot of a window.
    """

    __tablename__ = "snapshots"
    __table_args__ = (
        UniqueConstraint("member_id", "taken_at"),
        # Covering: the daily trend adds up a day's XP steps off the index alone.
        Index("ix_snapshots_clan_taken", "clan_id", "taken_at", "member_id", "xp_gained"),
        # A member's running totals at a moment: one seek that reads only this index.
        Index(
            "ix_snapshots_member_totals",
            "member_id",
            "taken_at",
            "previous_taken_at",
            "progress",
            "total_xp",
            "total_ehp",
            "total_ehb",
            "total_boss_kills",
            "total_clues",
            "total_raid_kills",
            "total_progress_steps",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime]
    overall_xp: Mapped[int] = mapped_column(BigInteger)
    ehp: Mapped[float] = mapped_column(Float)
    ehb: Mapped[float] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(32), default="wom")
    previous_taken_at: Mapped[datetime | None]
    xp_gained: Mapped[int] = mapped_column(BigInteger, default=0)
    ehp_gained: Mapped[float] = mapped_column(Float, default=0.0)
    ehb_gained: Mapped[float] = mapped_column(Float, default=0.0)
    boss_kills_gained: Mapped[int] = mapped_column(BigInteger, default=0)
    clues_gained: Mapped[int] = mapped_column(Integer, default=0)
    raid_kills_gained: Mapped[int] = mapped_column(Integer, default=0)
    total_xp: Mapped[int] = mapped_column(BigInteger, default=0)
    total_ehp: Mapped[float] = mapped_column(Float, default=0.0)
    total_ehb: Mapped[float] = mapped_column(Float, default=0.0)
    total_boss_kills: Mapped[int] = mapped_column(BigInteger, default=0)
    total_clues: Mapped[int] = mapped_column(BigInteger, default=0)
    total_raid_kills: Mapped[int] = mapped_column(BigInteger, default=0)
    total_progress_steps: Mapped[int] = mapped_column(Integer, default=0)
    #: Metric name → gained in this step (only the metrics that went up).
    gained: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[bool] = mapped_column(Boolean, default=False)


class SnapshotGain(Base):
    """One boss or activity metric a snapshot's step gained (skills' XP stays in
    ``snapshots.gained`` only): leaderboards of a boss and raid totals read a range of this
    table's index instead of every snapshot's JSON."""

    __tablename__ = "snapshot_gains"
    __table_args__ = (
        UniqueConstraint("member_id", "taken_at", "metric"),
        Index(
            "ix_snapshot_gains_clan_metric",
            "clan_id",
            "metric",
            "taken_at",
            "member_id",
            "previous_taken_at",
            "gained",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime]
    previous_taken_at: Mapped[datetime]
    metric: Mapped[str] = mapped_column(String(64))
    gained: Mapped[float] = mapped_column(Float)


#: Relay rows that count (not a repeat relay, not deleted), as a partial index predicate.
COUNTED_SQL = "duplicate_of IS NULL AND deleted_at IS NULL"
#: Counted in-game chat lines. Queries must state ``kind = 'chat'`` literally to use it.
COUNTED_CHAT_SQL = "kind = 'chat' AND duplicate_of IS NULL AND deleted_at IS NULL"


class RelayMessage(Base):
    """One relay event from a Discord message (a message with several embeds gives several).

    ``(message_id, part)`` is unique, so the live listener, backfill and import can overlap.
    """

    __tablename__ = "relay_messages"
    __table_args__ = (
        UniqueConstraint("message_id", "part"),
        Index("ix_relay_messages_clan_member_posted", "clan_id", "member_id", "posted_at"),
        Index("ix_relay_messages_clan_posted", "clan_id", "posted_at"),
        Index("ix_relay_messages_channel_message", "channel_id", "message_id"),
        Index("ix_relay_messages_clan_rsn_key", "clan_id", "rsn_key"),
        # Report queries (storage/repositories/reports.py) count only these rows; partial
        # indexes over them make window counts and "last chat" index-only seeks and scans.
        Index(
            "ix_relay_messages_chat_member_posted",
            "clan_id",
            "member_id",
            "posted_at",
            sqlite_where=text(COUNTED_CHAT_SQL),
            postgresql_where=text(COUNTED_CHAT_SQL),
        ),
        Index(
            "ix_relay_messages_counted_kind_posted",
            "clan_id",
            "kind",
            "posted_at",
            "member_id",
            "broadcast_type",
            sqlite_where=text(COUNTED_SQL),
            postgresql_where=text(COUNTED_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    part: Mapped[int] = mapped_column(Integer, default=0)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))  # chat | broadcast | discord
    broadcast_type: Mapped[str | None] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    rsn_key: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(64))
    rank_title: Mapped[str | None] = mapped_column(String(64))
    account_type: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    # Set on a repeat relay of the same line (same player and text within 20 s): it is
    # remembered as seen but not counted.
    duplicate_of: Mapped[int | None] = mapped_column(BigInteger)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(16), default="live")
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelCursor(Base):
    """How far a relay channel's history is known to be stored, oldest first, without gaps.

    Backfill advances it page by page; live messages never do (they can run ahead of a
    backfill that is still filling a gap), so a restart resumes exactly where backfill stopped.
    """

    __tablename__ = "channel_cursors"

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class UnmatchedName(Base):
    """A name in relayed chat that no member held when its lines were posted: its counted
    chat lines and broadcasts, kept apart (rebuilt from the relay rows whenever attribution
    changes)."""

    __tablename__ = "unmatched_names"
    __table_args__ = (UniqueConstraint("clan_id", "rsn_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    rsn_key: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int] = mapped_column(Integer, default=0)
    broadcasts: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class RelayFormatCount(Base):
    """Per clan and relay format: relay messages read, those not understood (an unknown
    broadcast, or nothing read at all), and up to five recent examples of them.

    Kept by ingest in the transaction that stores the rows, from the rows that were new, so
    it counts each stored message once however often live, backfill and import see it; read
    by ``/status`` without scanning the relay table.
    """

    __tablename__ = "relay_format_counts"
    __table_args__ = (UniqueConstraint("clan_id", "format"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(64))
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    not_understood: Mapped[int] = mapped_column(BigInteger, default=0)
    #: ``[{"posted_at": ISO-8601, "text": excerpt}]``, most recent first.
    examples: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    #: When the first of these messages was stored (rows stored before this table existed
    #: are not counted).
    since: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RelayUnread(Base):
    """A relay message the parser read nothing from (no chat line, no broadcast): kept once
    by Discord message id, so it is counted once, with its text for the examples."""

    __tablename__ = "relay_unread"
    __table_args__ = (UniqueConstraint("message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(BigInteger)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="live")
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """One run of a scheduled job in one slot: claimed first, so a duplicate run is a no-op."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "slot"),
        Index("ix_job_runs_job_finished", "job", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    trace_id: Mapped[str | None] = mapped_column(String(64))


class RsnLink(Base):
    """A proven link between a Discord member and a clan member's account (issue 16).

    Made only when a one-time code (:class:`LinkCode`) came back through the relay, typed
    in clan chat by the claimed account. It follows the member row, so a WOM rename keeps
    it. Active while ``unlinked_at`` is null; an unlinked row is kept as history.
    ``notified_at`` is set once the Discord member was told the link was made.
    """

    __tablename__ = "rsn_links"
    __table_args__ = (
        Index("ix_rsn_links_clan_user", "clan_id", "discord_user_id"),
        Index("ix_rsn_links_clan_member", "clan_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime]
    #: The relayed Discord message that carried the code.
    message_id: Mapped[int] = mapped_column(BigInteger)
    notified_at: Mapped[datetime | None]
    unlinked_at: Mapped[datetime | None]
    unlinked_by: Mapped[int | None] = mapped_column(BigInteger)


class LinkCode(Base):
    """A one-time code handed out by ``/link``: bound to one Discord member and one clan
    member, valid until ``expires_at``, used once. Only a SHA-256 of the code is stored."""

    __tablename__ = "link_codes"
    __table_args__ = (
        UniqueConstraint("clan_id", "code_hash"),
        Index("ix_link_codes_clan_user", "clan_id", "discord_user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    #: Set when the code made its link, or was replaced by a newer ``/link`` of the member.
    used_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))


class LinkAllowance(Base):
    """An officer's exception to "one account per Discord member, one member per account":
    how many accounts this Discord member may link, and whether their accounts may also be
    linked by another member."""

    __tablename__ = "link_allowances"
    __table_args__ = (UniqueConstraint("clan_id", "discord_user_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    max_accounts: Mapped[int] = mapped_column(Integer, default=1)
    shared_accounts: Mapped[bool] = mapped_column(Boolean, default=False)
    granted_by: Mapped[int] = mapped_column(BigInteger)
    granted_at: Mapped[datetime]


class RoleMapping(Base):
    """An officer's mapping of an in-game rank (``rank_key``: a role key) or rank tier
    (``tier:<tier>``), or of former members (``former``), to a Discord role."""

    __tablename__ = "role_mappings"
    __table_args__ = (UniqueConstraint("clan_id", "rank_key", "discord_role_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    rank_key: Mapped[str] = mapped_column(String(80))
    discord_role_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    created_by: Mapped[int] = mapped_column(BigInteger)


class RoleSyncState(Base):
    """Per clan: whether an officer confirmed the first apply (after ``/roles preview``);
    from then on every sync applies the changes on its own."""

    __tablename__ = "role_sync_state"

    clan_id: Mapped[int] = mapped_column(
        ForeignKey("clans.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)


class RoleChange(Base):
    """One role given or taken (or refused, or failed) by the rank → role sync: the record
    behind the batched announcement (``announced_at``)."""

    __tablename__ = "role_changes"
    __table_args__ = (Index("ix_role_changes_clan_announced", "clan_id", "announced_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    clan_id: Mapped[int] = mapped_column(ForeignKey("clans.id", ondelete="CASCADE"))
    discord_user_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    discord_role_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(8))  # add | remove
    outcome: Mapped[str] = mapped_column(String(16))  # applied | failed
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    announced_at: Mapped[datetime | None]
