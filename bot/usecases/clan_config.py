"""A clan's rule settings, shown, changed and their history (``/config`` and
``clanstats config``), without Discord.

A change is made in two steps: :func:`preview_change` checks the new values against the
clan's WOM rank order (:mod:`domain.clan_config`: an unknown rank, a ladder loop, a number out
of bounds is refused with the reason) and says what would change, old → new; then
:func:`apply_change` saves it and records who made it, in one transaction, unless someone
changed the same setting in between (then nothing is saved and the admin looks again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.usecases.context import App
from bot.usecases.reports.loader import ClanNotSyncedError
from domain.clan_config import (
    ConfigError,
    Json,
    ShownSetting,
    check_value,
    format_value,
    proposal,
    show,
    spec_of,
    stored_value,
    with_value,
)
from storage.repositories.clan_config import (
    ChangeIn,
    ClanRules,
    clan_rules,
    save_settings,
)
from storage.repositories.clan_config import config_history as history_rows

#: Who a change made with ``clanstats config set`` (on the host) is recorded as.
HOST_ADMIN = "host admin"


class StaleChangeError(ConfigError):
    """The setting changed since the preview: nothing was saved."""


async def _rules(app: App, clan_id: int) -> ClanRules:
    async with app.db.read() as session:
        rules = await clan_rules(session, clan_id)
    if rules is None:
        raise ClanNotSyncedError(f"no clan {clan_id}")
    return rules


@dataclass(frozen=True, slots=True)
class ConfigView:
    """``/config show``: every setting with the value in use."""

    clan_name: str
    role_order: tuple[str, ...]
    settings: list[ShownSetting]


async def config_show(app: App, clan_id: int) -> ConfigView:
    """Every rule setting of the clan with the value the rules use now."""
    rules = await _rules(app, clan_id)
    return ConfigView(rules.name, rules.role_order, show(rules.settings, rules.role_order))


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One setting a change touches: stored values (None: the default) and their texts."""

    setting: str
    old: Json | None
    new: Json | None
    old_text: str
    new_text: str


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """What a change would do, shown before it is saved; empty when nothing would change."""

    clan_id: int
    items: tuple[ChangeItem, ...]

    @property
    def changes_nothing(self) -> bool:
        return not self.items


async def preview_change(
    app: App, clan_id: int, values: Mapping[str, Json | None]
) -> ChangePreview:
    """Check ``values`` (setting → new value, None: back to the default) and say what they
    would change. :class:`ConfigError` with the reason when one is refused; nothing is
    saved either way."""
    rules = await _rules(app, clan_id)
    items: list[ChangeItem] = []
    for key, value in values.items():
        setting = spec_of(key).key
        new = check_value(setting, value, rules.role_order)
        old = stored_value(rules.settings, setting)
        if new == old:
            continue
        items.append(
            ChangeItem(
                setting,
                old,
                new,
                format_value(setting, old, rules.role_order),
                format_value(setting, new, rules.role_order),
            )
        )
    return ChangePreview(clan_id, tuple(items))


async def apply_change(
    app: App, preview: ChangePreview, *, actor_id: int | None, actor_name: str
) -> datetime:
    """Save a previewed change and record it as made by the actor; return when.

    Checked again in the write transaction: a setting someone changed since the preview
    (:class:`StaleChangeError`) or a value the rank order no longer allows
    (:class:`ConfigError`) saves nothing.
    """
    at = app.now()
    async with app.db.write() as session:
        rules = await clan_rules(session, preview.clan_id, for_update=True)
        if rules is None:
            raise ClanNotSyncedError(f"no clan {preview.clan_id}")
        settings = dict(rules.settings)
        for item in preview.items:
            if stored_value(settings, item.setting) != item.old:
                raise StaleChangeError(
                    f"{item.setting} was changed by someone else since this preview: "
                    "nothing was saved, look at it again"
                )
            new = check_value(item.setting, item.new, rules.role_order)
            settings = with_value(settings, item.setting, new)
        await save_settings(
            session,
            preview.clan_id,
            settings,
            [ChangeIn(i.setting, i.old, i.new) for i in preview.items],
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
        )
    return at


async def propose_change(app: App, clan_id: int) -> ChangePreview:
    """The ladder, tiers and protected ranks proposed from the clan's WOM rank order
    (:func:`domain.clan_config.proposal`), as a change to confirm."""
    rules = await _rules(app, clan_id)
    if not rules.role_order:
        raise ConfigError(
            "the clan's rank order is not known yet: a Wise Old Man sync stores it "
            "(/sync now or `clanstats sync --once`), then try again"
        )
    return await preview_change(app, clan_id, proposal(rules.role_order))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded change as ``/config history`` shows it."""

    changed_at: datetime
    actor_id: int | None
    actor_name: str
    setting: str
    old_text: str
    new_text: str


async def config_history(app: App, clan_id: int, limit: int = 25) -> list[HistoryEntry]:
    """The clan's latest changes, newest first, with their old and new values as text."""
    async with app.db.read() as session:
        rules = await clan_rules(session, clan_id)
        rows = await history_rows(session, clan_id, limit)
    order = () if rules is None else rules.role_order
    return [
        HistoryEntry(
            r.changed_at,
            r.actor_id,
            r.actor_name,
            r.setting,
            _text(r.setting, r.old_value, order),
            _text(r.setting, r.new_value, order),
        )
        for r in rows
    ]


def _text(setting: str, value: Json | None, order: tuple[str, ...]) -> str:
    try:
        return format_value(setting, value, order)
    except ConfigError:  # a setting a later version no longer knows
        return repr(value)


__all__ = [
    "HOST_ADMIN",
    "ChangeItem",
    "ChangePreview",
    "ConfigError",
    "ConfigView",
    "HistoryEntry",
    "StaleChangeError",
    "apply_change",
    "config_history",
    "config_show",
    "preview_change",
    "propose_change",
]
