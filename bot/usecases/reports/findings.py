"""Officer findings: the purge list, the staff audit, alerts, promotions, unmatched names."""

from __future__ import annotations

from datetime import datetime

from bot.usecases.context import App
from bot.usecases.reports.loader import (
    ALERTS_LONG_WINDOW,
    FINDINGS_BROADCASTS,
    FINDINGS_GAINS,
    FINDINGS_KINDS,
    FINDINGS_WINDOWS,
    FindingsKind,
    Loaded,
    ReportInputError,
    inactive_window_label,
    load,
    parse_windows,
    rule_settings_from,
)
from domain.activity import MemberInfo
from domain.rules import (
    Finding,
    RuleSettings,
    UnmatchedFinding,
    alerts,
    inactive,
    officer_audit,
    promotions,
)
from domain.rules import unmatched as unmatched_rule
from storage.repositories import reports as repo

# ---------------------------------------------------------------------------------------------
# Officer findings


async def findings(
    app: App,
    clan_id: int,
    kind: FindingsKind,
    as_of: datetime,
    settings: RuleSettings | None = None,
    *,
    window: str | None = None,
) -> list[Finding]:
    """The findings of one officer rule at ``as_of``, most severe first.

    ``kind``: ``inactive`` (purge list over the clan's ``inactive_window_days``, 60d by
    default), ``audit`` (staff against the clan median, 30d),
    ``alerts`` (7d against 30d) or ``promotions`` (30d); ``window`` replaces the default
    (the short one for alerts). ``settings`` defaults to the clan's ``settings["rules"]``.
    """
    if kind not in FINDINGS_WINDOWS:
        raise ReportInputError(f"unknown findings kind {kind!r}: use {', '.join(FINDINGS_KINDS)}")
    if window is None and kind == "inactive":
        window = await inactive_window_label(app, clan_id)
    labels = [window or FINDINGS_WINDOWS[kind]]
    if kind == "alerts":
        labels.append(ALERTS_LONG_WINDOW)
    parsed = parse_windows(labels, as_of)
    if kind == "alerts" and len(parsed) == 1:
        parsed.append(parsed[0])
    async with app.db.read() as session:
        data = await load(
            session,
            clan_id,
            parsed,
            as_of,
            memo=app.memo,
            counted=0 if kind == "inactive" else None,
            broadcasts=FINDINGS_BROADCASTS[kind],
            gains=FINDINGS_GAINS.get(kind),
            last_seen=kind == "inactive",
        )
        rules = settings if settings is not None else rule_settings_from(data.clan.settings)
        await data.read_last_seen(session, _shown_last_seen(kind, data, rules, as_of))
    return _run_rule(kind, data, rules, as_of)


def _shown_last_seen(
    kind: FindingsKind, data: Loaded, rules: RuleSettings, as_of: datetime
) -> list[MemberInfo]:
    """The members whose last chat line and latest progress the rule shows (``days since
    seen``): every audited staff member; the alerts' leadership members with no chat and no
    progress in the short window (a slump); nobody in the promotions. The purge list reads
    them for everyone when it loads (its window is presence-only)."""
    ranks = data.ranks()
    if kind == "audit":
        tiers = rules.audit_tiers
        return [a.member for a in data.activities(0) if ranks.tier_of(a.role) in tiers]
    if kind == "alerts":
        tiers = rules.slump_tiers
        return [
            a.member for a in data.activities(0) if ranks.tier_of(a.role) in tiers and not a.active
        ]
    return []


def _run_rule(
    kind: FindingsKind, data: Loaded, rules: RuleSettings, as_of: datetime
) -> list[Finding]:
    ranks = data.ranks()
    if kind == "inactive":
        return inactive(data.activities(0), ranks, rules, as_of)
    if kind == "audit":
        return officer_audit(data.activities(0), ranks, rules, as_of)
    if kind == "alerts":
        return alerts(data.activities(0), data.activities(1), ranks, rules, as_of)
    return promotions(data.activities(0), ranks, rules, as_of)


async def unmatched(app: App, clan_id: int, *, min_count: int = 1) -> list[UnmatchedFinding]:
    """Relay names matching no member or alias, seen at least ``min_count`` times."""
    async with app.db.read() as session:
        names = await repo.unmatched_names(session, clan_id)
    return unmatched_rule(names, min_count=min_count)
