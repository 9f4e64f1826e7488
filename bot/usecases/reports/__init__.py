"""Report use cases, one module per answer; this package re-exports their public names.

:mod:`.loader` (shared loading, errors, settings), :mod:`.members` (member rows),
:mod:`.findings` (officer findings), :mod:`.profile` (``/player``), :mod:`.leaderboard`,
:mod:`.daily` (the daily report), :mod:`.drops` (``/clan drops``) and :mod:`.exports`
(member rows and the daily report as JSON, CSV, XLSX and text).
"""

from bot.usecases.reports.daily import (
    Attention,
    DailyReport,
    Pulse,
    Ranked,
    TrendDay,
    daily_report,
)
from bot.usecases.reports.drops import ClanDrops, NotableLists, clan_drops
from bot.usecases.reports.findings import findings, unmatched
from bot.usecases.reports.leaderboard import (
    Leaderboard,
    LeaderboardEntry,
    known_metrics,
    leaderboard,
    metric_autocomplete,
    roster_names,
)
from bot.usecases.reports.loader import (
    FINDINGS_KINDS,
    FINDINGS_WINDOWS,
    ClanNotSyncedError,
    FindingsKind,
    ReportError,
    ReportInputError,
    UnknownPlayerError,
    configured_clan_id,
    inactive_window_label,
    parse_windows,
    rank_config_from,
    rule_settings_from,
)
from bot.usecases.reports.members import MemberRow, member_rows
from bot.usecases.reports.profile import PlayerProfile, player_profile

__all__ = [
    "FINDINGS_KINDS",
    "FINDINGS_WINDOWS",
    "Attention",
    "ClanDrops",
    "ClanNotSyncedError",
    "DailyReport",
    "FindingsKind",
    "Leaderboard",
    "LeaderboardEntry",
    "MemberRow",
    "NotableLists",
    "PlayerProfile",
    "Pulse",
    "Ranked",
    "ReportError",
    "ReportInputError",
    "TrendDay",
    "UnknownPlayerError",
    "clan_drops",
    "configured_clan_id",
    "daily_report",
    "findings",
    "inactive_window_label",
    "known_metrics",
    "leaderboard",
    "member_rows",
    "metric_autocomplete",
    "parse_windows",
    "player_profile",
    "rank_config_from",
    "roster_names",
    "rule_settings_from",
    "unmatched",
]
