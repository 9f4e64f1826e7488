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
    Span,
    broadcast_counts_per_member,
    broadcast_lines,
    broadcasts_in_spans,
    broadcasts_per_member,
    chat_lines_in_spans,
    chat_lines_in_windows,
    chat_lines_per_hour,
    chat_lines_per_member,
    last_chat_in_spans,
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
    member_infos,
    members_stamp,
    name_history,
    names_starting_with,
    roster_events,
    unmatched_names,
)
from storage.repositories.reports.snapshots import (
    MetricTotals,
    PeriodSpan,
    StepTotals,
    first_snapshot_before,
    latest_progress,
    latest_snapshot,
    latest_snapshot_before,
    metric_names,
    metric_totals,
    step_totals,
    step_totals_in_spans,
    steps_of,
    xp_in_periods,
)

__all__ = [
    "ClanFacts",
    "MemberRef",
    "MetricTotals",
    "NameChange",
    "PeriodSpan",
    "RosterEvent",
    "Span",
    "StepTotals",
    "broadcast_counts_per_member",
    "broadcast_lines",
    "broadcasts_in_spans",
    "broadcasts_per_member",
    "chat_lines_in_spans",
    "chat_lines_in_windows",
    "chat_lines_per_hour",
    "chat_lines_per_member",
    "clan_facts",
    "find_member_by_key",
    "first_snapshot_before",
    "last_chat_in_spans",
    "last_chat_per_member",
    "latest_progress",
    "latest_snapshot",
    "latest_snapshot_before",
    "member_info",
    "member_infos",
    "members_stamp",
    "metric_names",
    "metric_totals",
    "name_history",
    "names_starting_with",
    "roster_events",
    "step_totals",
    "step_totals_in_spans",
    "steps_of",
    "unmatched_names",
    "xp_in_periods",
]
