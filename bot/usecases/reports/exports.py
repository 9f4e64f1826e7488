"""Renderings of report use cases as files and text: member rows as JSON / CSV / XLSX, and the
daily report as text and JSON.

Timestamps are ISO-8601 UTC with a ``Z`` (``2025-12-23T20:00:00Z``); window figures are keyed
by window label (``"30d"``) in JSON and flattened into ``messages_30d``-style columns in CSV and
XLSX. XLSX cells hold real (naive, UTC) datetimes so spreadsheets can sort and filter them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from bot.adapters.tables import iso_utc, write_csv, write_xlsx
from bot.usecases.reports.daily import DailyReport, Ranked
from bot.usecases.reports.leaderboard import Leaderboard
from bot.usecases.reports.members import MemberRow
from bot.usecases.reports.profile import PlayerProfile
from domain.activity import Gains, whole_days
from domain.metrics import metric_label
from domain.ranks import pretty_rank
from domain.report import WEEKDAYS
from domain.rules import Finding, UnmatchedFinding

#: Per-window fields of a member row, in column order.
WINDOW_FIELDS: tuple[str, ...] = (
    "messages",
    "broadcasts",
    "xp_gained",
    "ehp_gained",
    "ehb_gained",
    "boss_kills_gained",
)
BASE_FIELDS: tuple[str, ...] = ("rsn", "display_name", "role", "joined_at")
TIME_FIELDS: tuple[str, ...] = ("last_chat_at", "last_progress_at")
EXPORT_FORMATS: tuple[str, ...] = ("json", "csv", "xlsx")


def window_labels(rows: Sequence[MemberRow], fallback: Sequence[str] = ()) -> list[str]:
    """The window labels of ``rows`` in their order (``fallback`` when there are no rows)."""
    return list(rows[0].messages) if rows else list(fallback)


# ---------------------------------------------------------------------------------------------
# Member rows


def member_row_dict(row: MemberRow) -> dict[str, Any]:
    """A member row as a JSON-ready object (window figures keyed by label)."""
    return {
        "rsn": row.rsn,
        "display_name": row.display_name,
        "role": row.role,
        "joined_at": iso_utc(row.joined_at),
        **{name: dict(getattr(row, name)) for name in WINDOW_FIELDS},
        "last_chat_at": iso_utc(row.last_chat_at),
        "last_progress_at": iso_utc(row.last_progress_at),
    }


def members_json(rows: Sequence[MemberRow]) -> str:
    """Member rows as a JSON array (pretty-printed, UTF-8 names kept)."""
    return json.dumps([member_row_dict(r) for r in rows], indent=2, ensure_ascii=False) + "\n"


def member_columns(windows: Sequence[str]) -> list[str]:
    """CSV / XLSX header: base fields, ``<field>_<window>`` for each window, then times."""
    flat = [f"{name}_{label}" for label in windows for name in WINDOW_FIELDS]
    return [*BASE_FIELDS, *flat, *TIME_FIELDS]


def _flat(row: MemberRow, windows: Sequence[str]) -> list[Any]:
    values: list[Any] = [row.rsn, row.display_name, row.role, row.joined_at]
    for label in windows:
        values.extend(getattr(row, name)[label] for name in WINDOW_FIELDS)
    values.extend([row.last_chat_at, row.last_progress_at])
    return values


def write_members_csv(rows: Sequence[MemberRow], out: IO[str], windows: Sequence[str] = ()) -> None:
    """Write member rows as CSV with flattened per-window columns (``messages_30d``)."""
    labels = window_labels(rows, windows)
    write_csv(member_columns(labels), (_flat(row, labels) for row in rows), out)


def write_members_xlsx(rows: Sequence[MemberRow], path: Path, windows: Sequence[str] = ()) -> None:
    """Write member rows to one XLSX sheet ("Members"): bold, frozen header, autofilter."""
    labels = window_labels(rows, windows)
    write_xlsx(member_columns(labels), (_flat(row, labels) for row in rows), path, sheet="Members")


# ---------------------------------------------------------------------------------------------
# Daily report


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "kind": str(finding.kind),
        "display_name": finding.display_name,
        "role": finding.role,
        "reason": finding.reason,
        "numbers": dict(finding.numbers),
        "tags": list(finding.tags),
    }


def _ranked_dict(item: Ranked) -> dict[str, Any]:
    return {"display_name": item.display_name, "value": item.value, "detail": item.detail}


def daily_report_dict(report: DailyReport, *, top: int = 5) -> dict[str, Any]:
    """The daily report as a JSON-ready object: attention lists as counts plus the top few."""
    notable = report.notable
    attention = report.attention
    return {
        "clan": report.clan_name,
        "as_of": iso_utc(report.as_of),
        "start": iso_utc(report.start),
        "timezone": report.timezone,
        "pulse": {
            "chat_lines": report.pulse.chat_lines,
            "chat_lines_avg_7d": report.pulse.chat_lines_avg_7d,
            "active_chatters": report.pulse.active_chatters,
            "guest_lines": report.pulse.guest_lines,
            "xp_gained": report.pulse.xp_gained,
            "members": report.pulse.members,
        },
        "top_chatters": [_ranked_dict(r) for r in report.top_chatters],
        "top_xp": [_ranked_dict(r) for r in report.top_xp],
        "top_bosses": [_ranked_dict(r) for r in report.top_bosses],
        "notable": {
            "drops": [
                {"display_name": line.display_name, "coins": coins, "text": line.text}
                for line, coins in notable.drops
            ],
            "pets": [{"display_name": p.display_name, "text": p.text} for p in notable.pets],
            "level_99s": [
                {"display_name": p.display_name, "text": p.text} for p in notable.level_99s
            ],
        },
        "roster_changes": [
            {
                "kind": e.kind,
                "display_name": e.display_name,
                "old": e.old_value,
                "new": e.new_value,
                "at": iso_utc(e.occurred_at),
            }
            for e in report.roster_changes
        ],
        "attention": {
            "inactive": {
                "count": len(attention.inactive),
                "top": [_finding_dict(f) for f in attention.inactive[:top]],
            },
            "alerts": {
                "count": len(attention.alerts),
                "top": [_finding_dict(f) for f in attention.alerts[:top]],
            },
            "promotions": {
                "count": len(attention.promotions),
                "top": [_finding_dict(f) for f in attention.promotions[:top]],
            },
            "unmatched": {
                "count": len(attention.unmatched),
                "top": [
                    {
                        "name": u.display_name,
                        "chat_lines": u.lines,
                        "broadcasts": u.broadcasts,
                        "last_seen": iso_utc(u.last_seen),
                    }
                    for u in attention.unmatched[:top]
                ],
            },
        },
        "charts": {
            "heatmap": {
                "days": report.heatmap_days,
                "weekdays": list(WEEKDAYS),
                "counts": [list(row) for row in report.heatmap],
            },
            "trend": [
                {"date": d.day.isoformat(), "chat_lines": d.chat_lines, "xp_gained": d.xp_gained}
                for d in report.trend
            ],
        },
    }


def daily_report_json(report: DailyReport) -> str:
    return json.dumps(daily_report_dict(report), indent=2, ensure_ascii=False) + "\n"


def _local(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _minute(value: datetime | None) -> str:
    """A moment for people: ``2025-02-14 12:45 UTC`` (JSON keeps the full ISO time)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ranked_lines(title: str, items: Sequence[Ranked], unit: str) -> list[str]:
    if not items:
        return [f"{title}: nobody"]
    lines = [f"{title}:"]
    for place, item in enumerate(items, start=1):
        detail = f" ({item.detail})" if item.detail else ""
        lines.append(f"  {place}. {item.display_name}: {_number(item.value)} {unit}{detail}")
    return lines


def daily_report_text(report: DailyReport, tz: tzinfo, *, top: int = 3) -> str:
    """The daily report as plain text (the CLI's output; the cog renders embeds instead)."""
    p = report.pulse
    out = [
        f"Daily report: {report.clan_name}",
        f"{_local(report.start, tz)} → {_local(report.as_of, tz)} ({report.timezone})",
        "",
        f"Chat: {_count(p.chat_lines, 'line')} (7-day average {p.chat_lines_avg_7d:,.1f}), "
        f"{p.active_chatters} of {p.members} members chatted",
        f"  of them from guests and departed members: {_count(p.guest_lines, 'line')}",
        f"XP gained: {p.xp_gained:,}",
        "",
        *_ranked_lines("Top chatters", report.top_chatters, "lines"),
        *_ranked_lines("Top XP", report.top_xp, "XP"),
        *_ranked_lines("Top boss kills", report.top_bosses, "kills"),
        "",
        "Notable broadcasts:",
    ]
    n = report.notable
    out.extend(f"  drop: {line.text} [{coins:,} coins]" for line, coins in n.drops)
    out.extend(f"  pet: {line.text}" for line in n.pets)
    out.extend(f"  99: {line.text}" for line in n.level_99s)
    if not (n.drops or n.pets or n.level_99s):
        out.append("  none")
    out.append("")
    out.append(f"Roster changes: {len(report.roster_changes)}")
    for e in report.roster_changes:
        what = {
            "joined": "joined",
            "left": "left",
            "role_changed": f"rank {_rank(e.old_value)} → {_rank(e.new_value)}",
            "renamed": f"renamed {e.old_value} → {e.new_value}",
        }.get(e.kind, e.kind)
        out.append(f"  {e.display_name or '?'}: {what}")
    a = report.attention
    out.extend(["", "Needs attention:"])
    for title, found in (
        ("Inactive (60d)", a.inactive),
        ("Alerts", a.alerts),
        ("Promotions due", a.promotions),
    ):
        out.append(f"  {title}: {len(found)}")
        out.extend(f"    - {f.display_name}: {f.reason}" for f in found[:top])
    out.append(f"  Unmatched names: {len(a.unmatched)}")
    out.extend(
        f"    - {u.display_name} ({u.lines} chat lines, {u.broadcasts} broadcasts, "
        f"last {_seen(u.last_seen, report.as_of)})"
        for u in a.unmatched[:top]
    )
    out.extend(["", "Last 14 days (date: chat lines, XP gained):"])
    out.extend(
        f"  {d.day}: {d.chat_lines:,} lines, "
        + ("XP not tracked yet" if d.xp_gained is None else f"{d.xp_gained:,} XP")
        for d in report.trend
    )
    return "\n".join(out) + "\n"


def _rank(role: str | None) -> str:
    return pretty_rank(role) if role else "none"


def _seen(moment: datetime | None, as_of: datetime) -> str:
    if moment is None:
        return "never"
    days = whole_days((as_of - moment).total_seconds() / 86_400)
    return f"{days} days ago"


def leaderboard_title(metric: str, window_label: str) -> str:
    """``Chambers Of Xeric (7d)``: a leaderboard's heading."""
    return f"{metric_label(metric)} ({window_label})"


def default_xlsx_name(as_of: datetime) -> str:
    """``clanstats-members-2025-12-23.xlsx`` (UTC date of ``as_of``)."""
    day: date = as_of.astimezone(UTC).date()
    return f"clanstats-members-{day.isoformat()}.xlsx"


# ---------------------------------------------------------------------------------------------
# Officer answers, for the CLI twins of the slash commands


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def findings_json(kind: str, window: str, as_of: datetime, found: Sequence[Finding]) -> str:
    """One officer list as JSON: what was asked and every finding with its numbers."""
    return _json(
        {
            "list": kind,
            "window": window,
            "as_of": iso_utc(as_of),
            "count": len(found),
            "findings": [_finding_dict(f) for f in found],
        }
    )


def findings_text(kind: str, window: str, as_of: datetime, found: Sequence[Finding]) -> str:
    """One officer list as plain text, one line a finding."""
    out = [f"{kind} ({window}, as of {iso_utc(as_of)}): {len(found)}"]
    for f in found:
        rank = f" ({pretty_rank(f.role)})" if f.role else ""
        tags = f" [{', '.join(f.tags)}]" if f.tags else ""
        out.append(f"  {f.display_name}{rank}: {f.reason}{tags}")
    return "\n".join(out) + "\n"


def unmatched_json(as_of: datetime, found: Sequence[UnmatchedFinding]) -> str:
    """Unmatched relay names as JSON: chat lines and broadcasts apart."""
    return _json(
        {
            "list": "unmatched",
            "as_of": iso_utc(as_of),
            "count": len(found),
            "names": [
                {
                    "name": u.display_name,
                    "key": u.rsn_key,
                    "chat_lines": u.lines,
                    "broadcasts": u.broadcasts,
                    "last_seen": iso_utc(u.last_seen),
                }
                for u in found
            ],
        }
    )


def unmatched_text(as_of: datetime, found: Sequence[UnmatchedFinding]) -> str:
    out = [f"unmatched names (as of {iso_utc(as_of)}): {len(found)}"]
    out.extend(
        f"  {u.display_name}: {u.lines} chat lines, {u.broadcasts} broadcasts, "
        f"last {_seen(u.last_seen, as_of)}"
        for u in found
    )
    return "\n".join(out) + "\n"


def _gains_dict(gains: Gains) -> dict[str, Any]:
    return {
        "xp": gains.xp,
        "ehp": round(gains.ehp, 4),
        "ehb": round(gains.ehb, 4),
        "boss_kills": gains.boss_kills,
        "clues": gains.clues,
    }


def profile_dict(profile: PlayerProfile, as_of: datetime) -> dict[str, Any]:
    """``/player`` as a JSON-ready object."""
    return {
        "as_of": iso_utc(as_of),
        "rsn": profile.rsn,
        "display_name": profile.display_name,
        "matched_old_name": profile.matched_old_name,
        "rank": profile.role,
        "tier": profile.tier.value,
        "joined_at": iso_utc(profile.joined_at),
        "left_at": iso_utc(profile.left_at),
        "days_in_clan": round(profile.days_in_clan, 2),
        "stats_at": iso_utc(profile.stats_at),
        "overall_xp": profile.overall_xp,
        "ehp": profile.ehp,
        "ehb": profile.ehb,
        "top_bosses": [{"boss": name, "kills": kills} for name, kills in profile.top_bosses],
        "gains": {label: _gains_dict(g) for label, g in profile.gains.items()},
        "chat_lines": dict(profile.chat_lines),
        "broadcasts": dict(profile.broadcasts),
        "last_chat_at": iso_utc(profile.last_chat_at),
        "last_progress_at": iso_utc(profile.last_progress_at),
        "name_history": [
            {"old": c.old_name, "new": c.new_name, "at": iso_utc(c.changed_at)}
            for c in profile.name_history
        ],
    }


def profile_json(profile: PlayerProfile, as_of: datetime) -> str:
    return _json(profile_dict(profile, as_of))


def profile_text(profile: PlayerProfile, as_of: datetime) -> str:
    """``/player`` as plain text."""
    p = profile
    status = "in the clan" if p.left_at is None else f"left {_minute(p.left_at)}"
    out = [
        f"{p.display_name}" + (" (found by an earlier name)" if p.matched_old_name else ""),
        f"  rank: {_rank(p.role)} ({p.tier.value}), {status}",
        f"  joined: {_minute(p.joined_at)}, {p.days_in_clan:,.0f} days in the clan",
        f"  last chat: {_seen(p.last_chat_at, as_of)}, "
        f"last progress: {_seen(p.last_progress_at, as_of)}",
    ]
    if p.overall_xp is not None:
        out.append(f"  stats: {p.overall_xp:,} XP as of {_minute(p.stats_at)}")
    for label, g in p.gains.items():
        lines, broadcasts = p.chat_lines.get(label, 0), p.broadcasts.get(label, 0)
        out.append(
            f"  {label}: {g.xp:,} XP, {_count(g.boss_kills, 'boss kill')}, "
            f"{_count(lines, 'chat line')}, {_count(broadcasts, 'broadcast')}"
        )
    for change in p.name_history:
        out.append(f"  was {change.old_name} until {_minute(change.changed_at)}")
    return "\n".join(out) + "\n"


def leaderboard_json(board: Leaderboard, as_of: datetime) -> str:
    return _json(
        {
            "metric": board.metric,
            "label": board.metric_label,
            "window": board.window.label,
            "as_of": iso_utc(as_of),
            "entries": [
                {"place": e.place, "display_name": e.display_name, "value": e.value}
                for e in board.entries
            ],
        }
    )


def leaderboard_text(board: Leaderboard, as_of: datetime) -> str:
    out = [f"{leaderboard_title(board.metric, board.window.label)}, as of {iso_utc(as_of)}"]
    out.extend(f"  {e.place}. {e.display_name}: {_number(e.value)}" for e in board.entries)
    if not board.entries:
        out.append("  nobody gained anything")
    return "\n".join(out) + "\n"
