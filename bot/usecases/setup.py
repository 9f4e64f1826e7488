"""``/setup``: what each step reads, checks and finally saves, without Discord.

The cog (:mod:`cogs.setup`) asks, shows and confirms; this module answers: the WOM group
behind an id (its name, in-game clan chat and member count), which authors of a channel's
history look like relays, whether a time zone and a report time are valid, the proposed
promotion ladder, and the save itself. Every refusal is a :class:`SetupError` whose message
is the answer an admin reads; nothing is stored before the last step's save.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import time
from functools import cache

import structlog

from bot.adapters.wom import WomApi
from bot.adapters.wom.errors import WomError, WomNotFound, WomRateLimited, WomUnavailable
from bot.usecases.clans import save_clan
from bot.usecases.context import App
from domain.clan_config import propose_ladder as propose_rules_ladder
from domain.clan_config import propose_tiers
from domain.clans import ClanWiring, WiringConflict, parse_report_time, wiring_problems
from domain.ranks import RankTier
from domain.relay import RelayConfig, RelayMessageIn
from domain.relay_survey import SeenAuthor, survey_authors

__all__ = [
    "GroupPreview",
    "LadderProposal",
    "SetupError",
    "check_report_time",
    "check_time_zone",
    "parse_group_id",
    "preview_group",
    "propose_ladder",
    "save_setup",
    "survey_relay",
]

log = structlog.get_logger(__name__)

#: WOM group ids are positive 32-bit integers.
_GROUP_ID_MAX = 2**31 - 1
#: Ranks every Old School clan has at its top (the game's own): kept off the promotion
#: ladder, they are its officer tier.


class SetupError(Exception):
    """A step cannot go on: the message says why and what to do, and nothing was saved."""


@dataclass(frozen=True, slots=True)
class GroupPreview:
    """What WOM says of a group: shown back to the admin before it is taken."""

    group_id: int
    name: str
    clan_chat: str | None
    member_count: int
    #: WOM's rank order, highest first (empty when WOM sent none).
    role_order: tuple[str, ...]


def parse_group_id(text: str) -> int:
    """A WOM group id as typed (``11114``, `` #11114 ``), or :class:`SetupError`."""
    cleaned = text.strip().lstrip("#").strip()
    if not cleaned.isdigit() or not 0 < int(cleaned) <= _GROUP_ID_MAX:
        raise SetupError(
            f"`{text.strip()[:40]}` is not a WOM group id: it is the number in the group's "
            "address on Wise Old Man (wiseoldman.net/groups/**11114**)."
        )
    return int(cleaned)


async def preview_group(wom: WomApi, group_id: int) -> GroupPreview:
    """Fetch group ``group_id`` from WOM; :class:`SetupError` when WOM has none or is down."""
    try:
        group = await wom.get_group(group_id)
    except WomNotFound:
        raise SetupError(
            f"Wise Old Man has no group {group_id}. Check the number in the group's address on "
            "wiseoldman.net and enter it again."
        ) from None
    except (WomUnavailable, WomRateLimited):
        raise SetupError(
            "Wise Old Man did not answer in time. Nothing was changed: try this step again in "
            "a minute."
        ) from None
    except WomError as exc:
        log.warning("setup.wom_refused", group_id=group_id, error=str(exc))
        raise SetupError(
            f"Wise Old Man refused to show group {group_id} ({exc.status or 'error'}). "
            "Nothing was changed."
        ) from None
    return GroupPreview(
        group_id=group.id,
        name=group.name,
        clan_chat=group.clan_chat,
        member_count=len(group.memberships) + len(group.unreadable),
        role_order=tuple(group.role_order or ()),
    )


def survey_relay(
    newest_first: Iterable[RelayMessageIn],
    *,
    clan_chat_name: str | None,
    bot_user_id: int,
) -> list[SeenAuthor]:
    """The webhooks and bots of a channel's history, likeliest relays first, each read as if
    it were a relay (the bot itself is never listed)."""
    config = RelayConfig(relay_author_ids=frozenset(), clan_name=clan_chat_name)
    return survey_authors(newest_first, config, exclude=frozenset({bot_user_id}))


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(text: str) -> str:
    """An IANA time zone name (``Europe/London``), or :class:`SetupError` naming the right
    spelling when only the case was wrong."""
    name = text.strip()
    if name in _zone_names():
        return name
    by_case = {zone.lower(): zone for zone in _zone_names()}
    hint = by_case.get(name.lower())
    if hint is not None:
        raise SetupError(f"Time zone `{name[:64]}` is spelt `{hint}`: enter it that way.")
    raise SetupError(
        f"`{name[:64]}` is not a time zone name. Use an IANA name such as `Europe/London`, "
        "`America/New_York` or `UTC`."
    )


def check_report_time(text: str) -> time:
    """``HH:MM`` (24-hour clock) as the report time, or :class:`SetupError`."""
    try:
        return parse_report_time(text.strip())
    except ValueError:
        raise SetupError(
            f"`{text.strip()[:20]}` is not a time of day: use the 24-hour clock, HH:MM "
            "(09:00, 21:30)."
        ) from None


@dataclass(frozen=True, slots=True)
class LadderProposal:
    """A promotion ladder (rungs, lowest rank first) and the staff ranks kept off it."""

    rungs: tuple[tuple[str, str], ...]
    officer_tier: tuple[str, ...]


def propose_ladder(role_order: Sequence[str]) -> LadderProposal:
    """The promotion ladder and staff tiers ``/setup`` shows from WOM's rank order (highest
    first): the rules' own proposal (:func:`domain.clan_config.propose_ladder` and
    ``propose_tiers``), which ``/config ladder-propose`` saves once the first sync has stored
    the ranks, and ``/config ladder-rung`` edits."""
    tiers = propose_tiers(role_order)
    rungs = tuple(
        (rung.from_rank, rung.to_rank)
        for rung in propose_rules_ladder(tiers.role_order, tiers)
        if rung.to_rank is not None
    )
    staff = tuple(r for r in tiers.role_order if tiers.tier_of(r) is not RankTier.MEMBER)
    return LadderProposal(rungs=rungs, officer_tier=staff)


async def save_setup(app: App, wiring: ClanWiring, *, by: int) -> ClanWiring:
    """Save the clan's wiring as ``/setup`` ends, or :class:`SetupError` and nothing saved
    (a bad value, a relay channel or WOM group another clan owns)."""
    problems = wiring_problems(wiring)
    if problems:
        raise SetupError("This setup cannot be saved: " + "; ".join(problems) + ".")
    try:
        saved = await save_clan(app, replace(wiring, active=True), by=by)
    except WiringConflict as exc:
        raise SetupError(f"Nothing was saved: {exc}.") from None
    log.info(
        "setup.saved",
        clan=saved.label,
        guild_id=saved.guild_id,
        wom_group_id=saved.wom_group_id,
        relay_channels=len(saved.relay_channel_ids),
        by=by,
    )
    return saved
