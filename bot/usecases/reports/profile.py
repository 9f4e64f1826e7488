"""``/player``: one member's stats, gains, chat and names at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from bot.usecases.reports.loader import (
    PROFILE_WINDOWS,
    TOP_COUNT,
    UnknownPlayerError,
    clan_facts,
    load,
    parse_windows,
    rank_config_from,
)
from domain.activity import (
    Gains,
    build_activity,
    is_boss_metric,
)
from domain.names import name_key
from domain.ranks import RankTier, pretty_rank
from storage.repositories import reports as repo
from storage.repositories.reports import (
    NameChange,
)

# ---------------------------------------------------------------------------------------------
# Player profile


@dataclass(frozen=True, slots=True)
class PlayerProfile:
    """What ``/player`` shows about one member at ``as_of``."""

    member_id: int
    rsn: str
    display_name: str
    matched_old_name: bool
    role: str | None
    rank: str
    tier: RankTier
    joined_at: datetime | None
    left_at: datetime | None
    stats_at: datetime | None
    overall_xp: int | None
    ehp: float | None
    ehb: float | None
    top_bosses: tuple[tuple[str, int], ...]
    gains: dict[str, Gains]
    chat_lines: dict[str, int]
    broadcasts: dict[str, int]
    last_chat_at: datetime | None
    last_progress_at: datetime | None
    name_history: tuple[NameChange, ...]

    @property
    def last_seen_at(self) -> datetime | None:
        """Latest of last chat line and last progress."""
        seen = [t for t in (self.last_chat_at, self.last_progress_at) if t is not None]
        return max(seen, default=None)


async def player_profile(app: App, clan_id: int, name: str, as_of: datetime) -> PlayerProfile:
    """Profile of the member named ``name`` (current name first, then earlier names).

    Raises :class:`UnknownPlayerError` when nobody has or had that name.
    """
    key = name_key(name)
    windows = parse_windows(PROFILE_WINDOWS, as_of)
    async with app.db.read() as session:
        ref = await repo.find_member_by_key(session, clan_id, key)
        if ref is None:
            raise UnknownPlayerError(f"no clan member is or was called {name!r}")
        clan = await clan_facts(session, clan_id)
        data = await load(session, clan_id, windows, as_of, member_ids=[ref.member_id])
        infos = data.members
        latest = await repo.latest_snapshot(session, ref.member_id, as_of)
        history = await repo.name_history(session, clan_id, ref.member_id)
        member = infos[0] if infos else await repo.member_info(session, ref.member_id)
    points = data.points(0, member.member_id)
    acts = [
        build_activity(member, w, data.chat(i, member.member_id), points)
        for i, w in enumerate(windows)
    ]
    ranks = rank_config_from(clan)
    bosses: tuple[tuple[str, int], ...] = ()
    if latest is not None:
        kc = [(k, int(v)) for k, v in latest.metrics.items() if is_boss_metric(k) and v > 0]
        kc.sort(key=lambda item: (-item[1], item[0]))
        bosses = tuple(kc[:TOP_COUNT])
    return PlayerProfile(
        member_id=member.member_id,
        rsn=member.rsn_key,
        display_name=member.display_name,
        matched_old_name=ref.matched_old_name,
        role=member.role,
        rank=pretty_rank(member.role) if member.role else "no rank",
        tier=ranks.tier_of(member.role),
        joined_at=member.joined_at,
        left_at=member.left_at,
        stats_at=latest.taken_at if latest else None,
        overall_xp=latest.overall_xp if latest else None,
        ehp=latest.ehp if latest else None,
        ehb=latest.ehb if latest else None,
        top_bosses=bosses,
        gains={a.window.label: a.gains for a in acts},
        chat_lines={a.window.label: a.chat.lines for a in acts},
        broadcasts={a.window.label: a.chat.broadcasts for a in acts},
        last_chat_at=acts[0].chat.last_chat_at,
        last_progress_at=acts[0].last_progress_at,
        name_history=tuple(history),
    )
