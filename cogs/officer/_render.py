"""Embeds and files for officer answers, always inside Discord's limits (docs/discord.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

import discord

from bot.adapters.tables import Cell, csv_bytes, xlsx_bytes
from bot.usecases.reports import ClanDrops, DailyReport, Leaderboard, PlayerProfile
from domain.ranks import pretty_rank
from domain.rules import Finding, UnmatchedFinding
from domain.timestamps import TimestampStyle, discord_span, discord_when

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
EMBEDS_TOTAL_MAX = 6000
LINES_PER_PAGE = 12

_KIND_ICON = {
    "inactive": "💤",
    "officer_awol": "🚨",
    "officer_slacking": "⚠️",
    "officer_ok": "✅",
    "leadership_slump": "📉",
    "churn_risk": "🌧️",
    "silent_grinder": "🤫",
    "chatter_no_progress": "💬",
    "promotion": "⬆️",
}


def safe(text: str) -> str:
    """A player name or message shown as text: no markdown, no mentions."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


_CUT_MARKUP = re.compile(r"<t:[^>]*$")


def clip(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, marked "…" when cut. A cut never leaves half a
    timestamp, which Discord would print as raw text: the broken markup goes whole."""
    if len(text) <= limit:
        return text
    return _CUT_MARKUP.sub("", text[: limit - 1]) + "…"


def human(value: float) -> str:
    """1,234,567 → 1.23M; small numbers as they are."""
    if abs(value) >= 1_000_000_000:
        return f"{value / 1_000_000_000:.2f}B"
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.2f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.1f}k"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def when(value: datetime | None, style: TimestampStyle = "R") -> str:
    """A moment as Discord timestamp markup: each reader sees it in their own time zone."""
    return discord_when(value, style)


def finding_line(finding: Finding) -> str:
    icon = _KIND_ICON.get(finding.kind, "•")
    rank = f" ({pretty_rank(finding.role)})" if finding.role else ""
    tags = f" `{', '.join(finding.tags)}`" if finding.tags else ""
    return clip(f"{icon} **{safe(finding.display_name)}**{rank}: {safe(finding.reason)}{tags}", 300)


def unmatched_line(item: UnmatchedFinding) -> str:
    return clip(
        f"❓ **{safe(item.display_name)}**: {item.lines:,} chat line(s), "
        f"{item.broadcasts:,} broadcast(s), last {when(item.last_seen)}",
        300,
    )


def drops_lines(drops: ClanDrops) -> list[str]:
    """``/clan drops``: the biggest drops by value, then pets, collection-log items, 99s."""
    n = drops.lists.notable
    lines = [f"💰 **{human(coins)} gp** {safe(clip(line.text, 250))}" for line, coins in n.drops]
    lines += [f"🐾 {safe(clip(line.text, 250))}" for line in n.pets]
    lines += [f"📖 {safe(clip(line.text, 250))}" for line in drops.lists.collection_log]
    lines += [f"🎉 {safe(clip(line.text, 250))}" for line in n.level_99s]
    return lines


def page_embed(
    title: str,
    lines: Sequence[str],
    page: int,
    *,
    empty: str,
    footer: str = "",
    header: str = "",
) -> discord.Embed:
    """One page of a long list; ``page`` counts from 0. ``header`` heads every page's
    description (where timestamp markup renders, unlike the footer)."""
    pages = max(1, -(-len(lines) // LINES_PER_PAGE))
    chunk = lines[page * LINES_PER_PAGE : (page + 1) * LINES_PER_PAGE]
    body = "\n".join(chunk) if chunk else empty
    if header:
        body = f"{header}\n{body}"
    embed = discord.Embed(
        title=clip(title, TITLE_MAX),
        description=clip(body, DESCRIPTION_MAX),
        colour=discord.Colour.dark_gold(),
    )
    parts = [f"page {page + 1}/{pages}", f"{len(lines)} in all"]
    if footer:
        parts.append(footer)
    embed.set_footer(text=" · ".join(parts))
    return embed


def _finding_table(findings: Sequence[Finding]) -> tuple[list[str], list[list[Cell]]]:
    """One row per finding, with every number that triggered it."""
    number_keys = sorted({k for f in findings for k in f.numbers})
    header = ["member", "rank", "finding", "reason", "tags", *number_keys]
    rows: list[list[Cell]] = [
        [
            f.display_name,
            f.role or "",
            f.kind,
            f.reason,
            ";".join(f.tags),
            *[f.numbers.get(k) for k in number_keys],
        ]
        for f in findings
    ]
    return header, rows


def findings_csv(findings: Sequence[Finding]) -> bytes:
    """The full list as CSV."""
    return csv_bytes(*_finding_table(findings))


def findings_xlsx(findings: Sequence[Finding], sheet: str) -> bytes:
    """The full list as one XLSX sheet."""
    return xlsx_bytes(*_finding_table(findings), sheet=sheet)


def unmatched_csv(items: Sequence[UnmatchedFinding]) -> bytes:
    return csv_bytes(
        ["name", "key", "chat_lines", "broadcasts", "last_seen"],
        ([u.display_name, u.rsn_key, u.lines, u.broadcasts, u.last_seen] for u in items),
    )


def profile_embed(
    profile: PlayerProfile, tz: tzinfo, *, linked: Sequence[str] = ()
) -> discord.Embed:
    """``/player``; ``linked`` are the display names of the Discord members who proved the
    account theirs (the verified badge)."""
    name = safe(profile.display_name)
    title = f"{profile.display_name} ✅" if linked else profile.display_name
    embed = discord.Embed(title=clip(title, TITLE_MAX), colour=0x2E86C1)
    if profile.matched_old_name:
        embed.description = f"Found by an earlier name; now known as **{name}**."
    if linked:
        embed.add_field(
            name="Verified",
            value=clip("Linked to " + ", ".join(safe(n) for n in linked), FIELD_VALUE_MAX),
            inline=False,
        )
    rank = pretty_rank(profile.role) if profile.role else "no rank"
    status = "left the clan " + when(profile.left_at) if profile.left_at else "in the clan"
    embed.add_field(name="Rank", value=f"{rank} ({profile.tier.value}), {status}")
    embed.add_field(
        name="Joined",
        value=f"{when(profile.joined_at, 'D')}\n{profile.days_in_clan:,.0f} days in the clan",
    )
    embed.add_field(name="Last seen", value=when(profile.last_seen_at))
    if profile.overall_xp is not None:
        embed.add_field(
            name="Stats",
            value=f"{human(profile.overall_xp)} XP · {profile.ehp or 0:,.0f} EHP · "
            f"{profile.ehb or 0:,.0f} EHB\nas of {when(profile.stats_at)}",
            inline=False,
        )
    gains = [
        f"**{label}**: {human(g.xp)} XP, {g.boss_kills:,} boss kills, "
        f"{profile.chat_lines.get(label, 0):,} chat lines"
        for label, g in profile.gains.items()
    ]
    if gains:
        embed.add_field(
            name="Gains and chat", value="\n".join(gains)[:FIELD_VALUE_MAX], inline=False
        )
    if profile.top_bosses:
        bosses = ", ".join(f"{b.replace('_', ' ')} {kc:,}" for b, kc in profile.top_bosses[:6])
        embed.add_field(name="Top bosses", value=clip(bosses, FIELD_VALUE_MAX), inline=False)
    embed.add_field(name="Last chat", value=when(profile.last_chat_at))
    embed.add_field(name="Last progress", value=when(profile.last_progress_at))
    if profile.name_history:
        names = " → ".join(safe(n.old_name) for n in profile.name_history[-8:])
        embed.add_field(
            name="Earlier names", value=clip(f"{names} → {name}", FIELD_VALUE_MAX), inline=False
        )
    return embed


def leaderboard_embed(board: Leaderboard) -> discord.Embed:
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    lines = [
        f"{medals.get(e.place, f'`{e.place:>2}`')} **{safe(e.display_name)}**: {human(e.value)}"
        for e in board.entries
    ]
    span = discord_span(board.window.start, board.window.end)
    body = "\n".join(lines) or "Nobody gained anything in this period."
    embed = discord.Embed(
        title=clip(f"{board.metric_label}: top gains, {board.window.label}", TITLE_MAX),
        # the span first, whole: a cut could only shorten the list below it
        description=clip(f"{span}\n{body}", DESCRIPTION_MAX),
        colour=discord.Colour.gold(),
    )
    return embed


def _ranked(
    items: Sequence[object],
    fmt: str,
    limit: int = 5,
    discord_names: Mapping[int, str] | None = None,
) -> str:
    """A top list: the RSN, and (✅) the linked Discord member's display name when proven."""
    lines = []
    for i, item in enumerate(items[:limit], 1):
        value = getattr(item, "value", 0)
        detail = getattr(item, "detail", "")
        name = safe(str(getattr(item, "display_name", "?")))
        linked = (discord_names or {}).get(getattr(item, "member_id", -1))
        who = f"**{name}** ✅ {safe(linked)}" if linked else f"**{name}**"
        lines.append(
            f"{i}. {who} {fmt.format(human(value))}{f' ({safe(detail)})' if detail else ''}"
        )
    return "\n".join(lines) or "—"


def named_member_ids(report: DailyReport) -> list[int]:
    """The members the report's top lists name (whose linked Discord names it can show)."""
    return [
        r.member_id
        for ranked in (report.top_chatters, report.top_xp, report.top_bosses)
        for r in ranked[:5]
    ]


def daily_report_embeds(
    report: DailyReport,
    tz: tzinfo,
    *,
    chart: str | None,
    discord_names: Mapping[int, str] | None = None,
) -> list[discord.Embed]:
    """The daily post: pulse, tops, notable broadcasts, roster, attention; ≤ 6,000 chars.

    ``discord_names`` (clan member id → linked Discord display names) puts the proven
    Discord name beside the RSN in the top lists, never as a mention."""
    # The title names the clan's day (its time zone decides where days begin); every moment
    # is markup, shown in each reader's own time zone.
    local_day = report.as_of.astimezone(tz)
    p = report.pulse
    trend = "▲" if p.chat_lines >= p.chat_lines_avg_7d else "▼"
    main = discord.Embed(
        title=clip(f"{report.clan_name}: daily report, {local_day:%a %d %b %Y}", TITLE_MAX),
        description=(
            f"{discord_span(report.start, report.as_of)}\n"
            f"**{p.chat_lines:,}** chat lines {trend} (7-day average {p.chat_lines_avg_7d:,.0f})"
            + (f", {p.guest_lines:,} from guests and departed members" if p.guest_lines else "")
            + f" · **{p.active_chatters:,}** of {p.members:,} members chatted · "
            f"**{human(p.xp_gained)}** XP gained"
        ),
        colour=discord.Colour.blurple(),
    )
    names = discord_names or {}
    main.add_field(
        name="Top chatters", value=clip(_ranked(report.top_chatters, "{} lines", 5, names), 1024)
    )
    main.add_field(name="Top XP", value=clip(_ranked(report.top_xp, "{} XP", 5, names), 1024))
    main.add_field(
        name="Top boss kills", value=clip(_ranked(report.top_bosses, "{} kills", 5, names), 1024)
    )
    notable: list[str] = []
    for line, coins in report.notable.drops[:3]:
        notable.append(f"💰 {safe(line.text)} ({human(coins)} gp)")
    notable += [f"🐾 {safe(line.text)}" for line in report.notable.pets[:3]]
    notable += [f"🎉 {safe(line.text)}" for line in report.notable.level_99s[:3]]
    main.add_field(
        name="Notable", value=clip("\n".join(notable) or "—", FIELD_VALUE_MAX), inline=False
    )
    roster = [
        f"{e.kind.replace('_', ' ')}: **{safe(e.display_name or e.new_value or '?')}**"
        + (
            f" ({safe(e.old_value or '')} → {safe(e.new_value or '')})"
            if e.kind in ("role_changed", "renamed")
            else ""
        )
        for e in report.roster_changes[:10]
    ]
    if len(report.roster_changes) > 10:
        roster.append(f"… and {len(report.roster_changes) - 10} more")
    main.add_field(
        name="Roster changes", value=clip("\n".join(roster) or "—", FIELD_VALUE_MAX), inline=False
    )

    a = report.attention
    attention = discord.Embed(title="Needs attention", colour=discord.Colour.orange())
    for label, items, render in (
        ("Inactive (purge candidates)", a.inactive, finding_line),
        ("Alerts", a.alerts, finding_line),
        ("Promotions due", a.promotions, finding_line),
    ):
        shown = [render(i) for i in items[:4]]
        more = (
            f"\n… {len(items) - 4} more: `/clan {label.split()[0].lower()}`"
            if len(items) > 4
            else ""
        )
        attention.add_field(
            name=f"{label}: {len(items)}",
            value=clip("\n".join(shown) + more, FIELD_VALUE_MAX) if items else "—",
            inline=False,
        )
    unmatched = [unmatched_line(u) for u in a.unmatched[:4]]
    attention.add_field(
        name=f"Unmatched relay names: {len(a.unmatched)}",
        value=clip("\n".join(unmatched), FIELD_VALUE_MAX) if unmatched else "—",
        inline=False,
    )
    if chart:
        attention.set_image(url=f"attachment://{chart}")
    attention.set_footer(text=f"days and chart hours in {report.timezone}, the clan's time zone")
    attention.timestamp = report.as_of
    return fit_embeds([main, attention])


def fit_embeds(embeds: list[discord.Embed]) -> list[discord.Embed]:
    """Shorten the longest field values until the message is within 6,000 characters."""
    while sum(len(e) for e in embeds) > EMBEDS_TOTAL_MAX:
        embed, index, field = max(
            ((e, i, f) for e in embeds for i, f in enumerate(e.fields)),
            key=lambda t: len(t[2].value or ""),
        )
        value = field.value or ""
        embed.set_field_at(
            index,
            name=field.name or "",
            value=clip(value, max(20, len(value) // 2)),
            inline=field.inline,
        )
    return embeds
