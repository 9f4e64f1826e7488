"""Window queries behind reports, officer commands and exports: one question per function.

:mod:`.members` (members, names, roster events), :mod:`.chat` (relayed lines) and
:mod:`.snapshots` (stats); this package re-exports them.

Written for a clan of ~1,000 members with millions of relayed lines and a year of snapshots:

* counted chat is ``kind = 'chat'`` with ``duplicate_of IS NULL AND deleted_at IS NULL``; the
  partial indexes of migration 0002 hold exactly those rows, so the counts are index-only
  scans. The ``'chat'`` literal is inlined on purpose: SQLite (and a generic PostgreSQL plan)
  only uses a partial index whose predicate the query states literally, not a bound parameter;
* several windows ending at the same moment are counted in ONE scan of the longest one;
* gains need snapshot *endpoints* only, so :func:`snapshot_endpoints` fetches per member the
  few snapshots a window needs (by correlated ``ORDER BY taken_at LIMIT 1`` seeks on the
  ``(member_id, taken_at)`` unique index), never a year of them.

Time ranges are half-open ``[start, end)`` for relayed lines and roster events; snapshots
follow :func:`domain.activity.compute_gains` (baseline ``≤ start``, end ``≤ end``).
"""

from storage.repositories.reports.chat import (
    broadcast_counts_per_member,
    broadcast_lines,
    broadcasts_per_member,
    chat_lines_in_windows,
    chat_lines_per_hour,
    chat_lines_per_member,
    last_chat_per_member,
)
from storage.repositories.reports.members import (
    ClanFacts,
    MemberRef,
    NameChange,
    RosterEvent,
    clan_facts,
    find_member_by_key,
    member_info,
    members_as_of,
    name_history,
    names_starting_with,
    roster_events,
    unmatched_names,
)
from storage.repositories.reports.snapshots import (
    ALL_METRICS,
    MetricsSpec,
    SnapshotWindow,
    latest_snapshot,
    metric_names,
    snapshot_endpoints,
    xp_at,
)

__all__ = [
    "ALL_METRICS",
    "ClanFacts",
    "MemberRef",
    "MetricsSpec",
    "NameChange",
    "RosterEvent",
    "SnapshotWindow",
    "broadcast_counts_per_member",
    "broadcast_lines",
    "broadcasts_per_member",
    "chat_lines_in_windows",
    "chat_lines_per_hour",
    "chat_lines_per_member",
    "clan_facts",
    "find_member_by_key",
    "last_chat_per_member",
    "latest_snapshot",
    "member_info",
    "members_as_of",
    "metric_names",
    "name_history",
    "names_starting_with",
    "roster_events",
    "snapshot_endpoints",
    "unmatched_names",
    "xp_at",
]
