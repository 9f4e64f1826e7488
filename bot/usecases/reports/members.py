"""Member rows: every member's chat and progress per window (exports, member lists)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from bot.usecases.reports.loader import (
    load,
    parse_windows,
)
from domain.activity import last_progress_at

# ---------------------------------------------------------------------------------------------
# Member rows (exports, member lists)


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member's chat and progress over several windows, keyed by window label."""

    member_id: int
    rsn: str
    display_name: str
    role: str | None
    joined_at: datetime | None
    messages: dict[str, int]
    broadcasts: dict[str, int]
    xp_gained: dict[str, int]
    ehp_gained: dict[str, float]
    ehb_gained: dict[str, float]
    boss_kills_gained: dict[str, int]
    last_chat_at: datetime | None
    last_progress_at: datetime | None


async def member_rows(
    app: App, clan_id: int, windows: Sequence[str], as_of: datetime
) -> list[MemberRow]:
    """Every member in the clan at ``as_of`` with messages, broadcasts and gains per window.

    ``messages`` counts in-game chat lines only; everything counts only while a member
    (docs/metrics.md). Ordered by rank (highest first), then name.
    Raises :class:`ReportInputError` for a bad window, :class:`ClanNotSyncedError` when the
    clan has no members stored.
    """
    parsed = parse_windows(windows, as_of)
    async with app.db.read() as session:
        data = await load(session, clan_id, parsed, as_of, memo=app.memo)
    per_window = [data.activities(i) for i in range(len(parsed))]
    ranks = data.ranks()
    labels = [w.label for w in parsed]
    rows: list[MemberRow] = []
    for position, member in enumerate(data.members):
        acts = [acts[position] for acts in per_window]
        gains = [a.gains for a in acts]
        rows.append(
            MemberRow(
                member_id=member.member_id,
                rsn=member.rsn_key,
                display_name=member.display_name,
                role=member.role_at(as_of) or member.role,
                joined_at=member.joined_at(as_of),
                messages={a.window.label: a.chat.lines for a in acts},
                broadcasts={a.window.label: a.chat.broadcasts for a in acts},
                xp_gained={label: g.xp for label, g in zip(labels, gains, strict=True)},
                ehp_gained={label: round(g.ehp, 4) for label, g in zip(labels, gains, strict=True)},
                ehb_gained={label: round(g.ehb, 4) for label, g in zip(labels, gains, strict=True)},
                boss_kills_gained={
                    label: g.boss_kills for label, g in zip(labels, gains, strict=True)
                },
                last_chat_at=data.last_chat[as_of].get(member.member_id),
                last_progress_at=last_progress_at(
                    (data.latest_progress[as_of].get(member.member_id) or (None, None))[0],
                    member.last_changed_at,
                    as_of,
                ),
            )
        )
    rows.sort(key=lambda r: (ranks.sort_key(r.role), r.display_name.casefold(), r.member_id))
    return rows
