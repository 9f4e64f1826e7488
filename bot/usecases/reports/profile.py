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
from domain.activity import Gains, is_boss_metric
from domain.holders import holder_at
from domain.names import name_key
from domain.ranks import RankTier, pretty_rank
from storage.repositories import names
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
    #: Start of their membership period as of the moment (their last one, if out now).
    joined_at: datetime | None
    #: When they last left, if they are out of the clan as of the moment.
    left_at: datetime | None
    #: Days in the clan over every membership period.
    days_in_clan: float
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
    """Profile of the member who held ``name`` as of ``as_of`` (else whose current name, then
    earlier name, it is).

    Raises :class:`UnknownPlayerError` when nobody has or had that name.
    """
    key = name_key(name)
    windows = parse_windows(PROFILE_WINDOWS, as_of)
    async with app.db.read() as session:
        held = await names.holders_of(session, clan_id, [key])
        member_id = holder_at(held.get(key, ()), as_of)
        if member_id is None:
            ref = await repo.find_member_by_key(session, clan_id, key)
            if ref is None:
                raise UnknownPlayerError(f"no clan member is or was called {name!r}")
            member_id = ref.member_id
        clan = await clan_facts(session, clan_id)
        data = await load(
            session, clan_id, windows, as_of, member_ids=[member_id], include_departed=True
        )
        latest = await repo.latest_snapshot(session, member_id, as_of)
        history = await repo.name_history(session, clan_id, member_id)
    member = data.members[0]
    acts = data.activities(0), data.activities(1)
    activity = [a[0] for a in acts]
    ranks = rank_config_from(clan)
    bosses: tuple[tuple[str, int], ...] = ()
    if latest is not None:
        kc = [(k, int(v)) for k, v in latest.metrics.items() if is_boss_metric(k) and v > 0]
        kc.sort(key=lambda item: (-item[1], item[0]))
        bosses = tuple(kc[:TOP_COUNT])
    timeline = member.timeline
    in_clan = timeline.is_member(as_of)
    started = [p.joined_at for p in timeline.periods if p.joined_at <= as_of]
    role = (member.role_at(as_of) if in_clan else None) or member.role
    return PlayerProfile(
        member_id=member.member_id,
        rsn=member.rsn_key,
        display_name=member.display_name,
        matched_old_name=key != member.rsn_key,
        role=role,
        rank=pretty_rank(role) if role else "no rank",
        tier=ranks.tier_of(role),
        joined_at=max(started, default=None),
        left_at=None if in_clan else timeline.last_left_at(as_of),
        days_in_clan=timeline.total_days(as_of),
        stats_at=latest.taken_at if latest else None,
        overall_xp=latest.overall_xp if latest else None,
        ehp=latest.ehp if latest else None,
        ehb=latest.ehb if latest else None,
        top_bosses=bosses,
        gains={a.window.label: a.gains for a in activity},
        chat_lines={a.window.label: a.chat.lines for a in activity},
        broadcasts={a.window.label: a.chat.broadcasts for a in activity},
        last_chat_at=activity[0].chat.last_chat_at,
        last_progress_at=activity[0].last_progress_at,
        name_history=tuple(history),
    )
