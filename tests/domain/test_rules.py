"""Moderation and promotion rules over hand-built clans with known answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.activity import (
    RAID_METRICS,
    ChatStats,
    Gains,
    MemberActivity,
    MemberInfo,
    Window,
    parse_window,
)
from domain.membership import RosterEventIn, build_timeline
from domain.ranks import RankConfig, RankTier, order_roles
from domain.rules import (
    ANY_RANK,
    TAG_CARRY_POTENTIAL,
    TAG_HIGH_VELOCITY,
    TAG_SOCIAL_PILLAR,
    Finding,
    FindingKind,
    PromotionRung,
    RuleSettings,
    UnmatchedFinding,
    alerts,
    inactive,
    member_tags,
    officer_audit,
    promotions,
    unmatched,
)

AS_OF = datetime(2025, 12, 23, 12, 0, tzinfo=UTC)
GROUP_FIXTURE = sorted((Path(__file__).parents[2] / "fakes" / "data" / "wom").glob("group-*.json"))[
    0
]
SETTINGS = RuleSettings()
WEEK = parse_window("7d", AS_OF)
MONTH = parse_window("30d", AS_OF)
SIXTY = parse_window("60d", AS_OF)


def _fixture_ranks() -> RankConfig:
    payload = json.loads(GROUP_FIXTURE.read_text(encoding="utf-8"))
    return RankConfig.from_role_order(
        order_roles((r["role"], r["index"]) for r in payload["roleOrders"])
    )


# The fixture clan: owner, deputy_owner; leadership zenyte/dragonstone/saviour (protected);
# officers dragon/therapist/zamorakian/doctor/prodigy; members wrath … short_green_guy,
# prospector.
RANKS = _fixture_ranks()


def ago(days: float | None) -> datetime | None:
    return None if days is None else AS_OF - timedelta(days=days)


def act(
    member_id: int,
    name: str,
    role: str | None = "gamer",
    *,
    window: Window = SIXTY,
    lines: int = 0,
    xp: int = 0,
    joined: float | None = 365,
    left: float | None = None,
    rank_since: float | None = None,
    last_chat: float | None = None,
    last_progress: float | None = None,
    broadcasts: dict[str, int] | None = None,
    per_metric: dict[str, float] | None = None,
) -> MemberActivity:
    info = member(member_id, name, role, joined=joined, left=left, rank_since=rank_since)
    chat = ChatStats(lines, broadcasts or {}, ago(last_chat))
    metrics = per_metric or ({"overall": xp} if xp else {})
    raids = int(sum(v for name, v in metrics.items() if name in RAID_METRICS))
    gains = Gains(xp=xp, per_metric=metrics, raid_kills=raids)
    progress = ago(last_progress)
    # A progress time inside the window stands for a counted step showing progress there.
    return MemberActivity(info, window, chat, gains, progress, window.contains(progress))


def member(
    member_id: int,
    name: str,
    role: str | None,
    *,
    joined: float | None = 365,
    left: float | None = None,
    rank_since: float | None = None,
) -> MemberInfo:
    """A member who joined ``joined`` days ago (as ``role``, unless they got it
    ``rank_since`` days ago) and left ``left`` days ago; no join date: never a member."""
    events = []
    if joined is not None:
        joined_at = AS_OF - timedelta(days=joined)
        events.append(RosterEventIn("joined", joined_at, role if rank_since is None else None, 1))
        if rank_since is not None:
            events.append(
                RosterEventIn("role_changed", AS_OF - timedelta(days=rank_since), role, 2)
            )
        if left is not None:
            events.append(RosterEventIn("left", AS_OF - timedelta(days=left), None, 3))
    return MemberInfo(
        member_id, name.lower(), name, role, build_timeline(events, current_rank=role)
    )


def names(findings: list[Finding]) -> list[str]:
    return [f.display_name for f in findings]


def kinds(findings: list[Finding]) -> list[tuple[FindingKind, str]]:
    return [(f.kind, f.display_name) for f in findings]


# ---------------------------------------------------------------------------------------------
# Empty and tiny clans


@pytest.mark.parametrize(
    "rule",
    [
        lambda a: inactive(a, RANKS, SETTINGS, AS_OF),
        lambda a: officer_audit(a, RANKS, SETTINGS, AS_OF),
        lambda a: alerts(a, a, RANKS, SETTINGS, AS_OF),
        lambda a: promotions(a, RANKS, SETTINGS, AS_OF),
        lambda a: list(member_tags(a, RANKS, SETTINGS, AS_OF).items()),
    ],
    ids=["inactive", "officer_audit", "alerts", "promotions", "tags"],
)
def test_empty_clan_gives_no_findings(rule: Callable[[list[MemberActivity]], list[Any]]) -> None:
    assert rule([]) == []


def test_one_member_clan_officer_is_the_median_and_so_is_ok() -> None:
    [finding] = officer_audit([act(1, "Solo", "dragon", lines=4, xp=10)], RANKS, SETTINGS, AS_OF)
    assert finding.kind is FindingKind.OFFICER_OK
    assert finding.numbers["median_lines"] == 4
    assert finding.numbers["lines_pct_of_median"] == 100.0


# ---------------------------------------------------------------------------------------------
# Inactive / purge candidates


@pytest.mark.parametrize(
    ("activity", "listed"),
    [
        pytest.param(act(1, "Idle"), True, id="member-with-nothing"),
        pytest.param(act(1, "Idle", "dragon"), True, id="officers-are-not-protected"),
        pytest.param(act(1, "Idle", None), True, id="no-rank"),
        pytest.param(act(1, "Idle", "zenyte"), False, id="protected-leadership"),
        pytest.param(act(1, "Idle", "owner"), False, id="protected-owner"),
        pytest.param(act(1, "Idle", joined=10), False, id="too-new"),
        pytest.param(act(1, "Idle", joined=None), False, id="tenure-unknown"),
        pytest.param(act(1, "Idle", left=5), False, id="left"),
        pytest.param(act(1, "Idle", joined=40, left=50), True, id="rejoined-long-enough-ago"),
        pytest.param(act(1, "Idle", lines=1), False, id="chatted"),
        pytest.param(act(1, "Idle", broadcasts={"drop": 1}), False, id="got-a-drop"),
        pytest.param(act(1, "Idle", broadcasts={"invite": 1}), True, id="invite-is-not-play"),
        pytest.param(act(1, "Idle", xp=1), False, id="gained-xp"),
        pytest.param(act(1, "Idle", last_progress=59), False, id="wom-saw-progress"),
        pytest.param(act(1, "Idle", last_chat=61, last_progress=90), True, id="quiet-for-long"),
    ],
)
def test_purge_candidate_needs_tenure_no_chat_no_progress_and_no_protection(
    activity: MemberActivity, listed: bool
) -> None:
    assert names(inactive([activity], RANKS, SETTINGS, AS_OF)) == (["Idle"] if listed else [])


def test_purge_list_longest_silent_first_never_seen_on_top_then_by_name() -> None:
    clan = [
        act(1, "bravo", last_chat=70),
        act(2, "Alpha", last_chat=70, joined=400),
        act(3, "charlie", last_chat=200, last_progress=65),
        act(4, "delta"),
        act(5, "Echo", lines=3),
    ]
    found = inactive(clan, RANKS, SETTINGS, AS_OF)
    # Alpha and bravo are tied on silence; Alpha has the longer tenure.
    assert names(found) == ["delta", "Alpha", "bravo", "charlie"]
    assert found[0].numbers["days_since_seen"] == "never"
    assert found[3].numbers == {
        "window_days": 60,
        "tenure_days": 365,
        "days_since_chat": 200,
        "days_since_progress": 65,
        "days_since_seen": 65,
    }
    assert "last chat 200 days ago, last progress 65 days ago" in found[3].reason
    assert found[3].kind is FindingKind.INACTIVE


def test_custom_tenure_threshold_lists_newer_members() -> None:
    recruit = act(1, "Recruit", joined=10)
    assert names(inactive([recruit], RANKS, RuleSettings(inactive_min_tenure_days=7), AS_OF)) == [
        "Recruit"
    ]


# ---------------------------------------------------------------------------------------------
# Officer audit


def _audit_clan() -> list[MemberActivity]:
    # Medians over the six active members (dormant m4, AWOL and departed officers left out):
    # lines (20 + 30) / 2 = 25, XP (300 k + 1 M) / 2 = 650 k.
    return [
        act(1, "m1", lines=10, xp=1_000_000, window=MONTH),
        act(2, "m2", lines=20, xp=2_000_000, window=MONTH),
        act(3, "m3", lines=30, xp=3_000_000, window=MONTH),
        act(4, "m4", window=MONTH),  # dormant: not part of the median
        act(10, "Busy Officer", "dragon", lines=40, xp=100, window=MONTH),
        act(11, "Lazy Officer", "doctor", lines=2, xp=300_000, window=MONTH),
        act(12, "Gone Officer", "prodigy", window=MONTH),
        act(13, "Chatty Leader", "zenyte", lines=50, window=MONTH),
        act(14, "Left Officer", "dragon", left=2, window=MONTH),
    ]


def test_officer_audit_statuses_awol_then_slacking_then_ok() -> None:
    found = officer_audit(_audit_clan(), RANKS, SETTINGS, AS_OF)
    assert kinds(found) == [
        (FindingKind.OFFICER_AWOL, "Gone Officer"),
        (FindingKind.OFFICER_SLACKING, "Lazy Officer"),
        (FindingKind.OFFICER_OK, "Busy Officer"),
        (FindingKind.OFFICER_OK, "Chatty Leader"),
    ]
    lazy = found[1]
    assert lazy.numbers["status"] == "slacking"
    assert lazy.numbers["tier"] == "officer"
    assert (lazy.numbers["median_lines"], lazy.numbers["median_xp"]) == (25.0, 650_000.0)
    assert lazy.numbers["lines_pct_of_median"] == 8.0
    assert "both under 50% of the clan median" in lazy.reason


@pytest.mark.parametrize(
    ("lines", "xp", "status"),
    [
        (13, 400_000, FindingKind.OFFICER_OK),  # lines not below half the median (12.5)
        (5, 600_000, FindingKind.OFFICER_OK),  # XP not below half the median
        (5, 400_000, FindingKind.OFFICER_SLACKING),
        (0, 0, FindingKind.OFFICER_AWOL),
    ],
)
def test_slacking_needs_both_chat_and_xp_under_half_the_median(
    lines: int, xp: int, status: FindingKind
) -> None:
    clan = [act(i, f"m{i}", lines=25, xp=1_000_000) for i in range(5)]
    clan.append(act(9, "Officer", "therapist", lines=lines, xp=xp))
    [finding] = officer_audit(clan, RANKS, SETTINGS, AS_OF)
    assert finding.kind is status


def test_officer_audit_without_active_members_reports_no_median() -> None:
    [finding] = officer_audit([act(1, "Gone", "dragon")], RANKS, SETTINGS, AS_OF)
    assert finding.kind is FindingKind.OFFICER_AWOL
    assert finding.numbers["median_lines"] == "n/a"
    assert finding.numbers["median_xp"] == "n/a"
    assert finding.numbers["xp_pct_of_median"] == "n/a"


def test_officer_audit_tiers_are_configurable() -> None:
    only_officers = RuleSettings(audit_tiers=frozenset({RankTier.OFFICER}))
    found = officer_audit(_audit_clan(), RANKS, only_officers, AS_OF)
    assert "Chatty Leader" not in names(found)


# ---------------------------------------------------------------------------------------------
# Alerts


@pytest.mark.parametrize(
    ("week", "month", "expected"),
    [
        pytest.param(act(1, "Dep", "deputy_owner", window=WEEK), None, ["leadership_slump"]),
        pytest.param(act(1, "Off", "dragon", window=WEEK), None, [], id="officer-no-slump"),
        pytest.param(act(1, "Dep", "deputy_owner", lines=1, window=WEEK), None, [], id="lead-ok"),
        pytest.param(
            act(1, "Quiet", lines=2, window=WEEK),
            act(1, "Quiet", lines=60, window=MONTH),
            ["churn_risk"],
            id="2-a-day-down-to-0.3",
        ),
        pytest.param(
            act(1, "Quiet", lines=10, window=WEEK),
            act(1, "Quiet", lines=60, window=MONTH),
            [],
            id="still-chatting",
        ),
        pytest.param(
            act(1, "Quiet", window=WEEK),
            act(1, "Quiet", lines=19, window=MONTH),
            [],
            id="too-few-lines-to-judge",
        ),
        pytest.param(
            act(1, "Grinder", xp=1_200_000, window=WEEK), None, ["silent_grinder"], id="grinder"
        ),
        pytest.param(act(1, "Grinder", xp=1_200_000, lines=1, window=WEEK), None, [], id="talks"),
        pytest.param(act(1, "Grinder", xp=999_999, window=WEEK), None, [], id="under-1m"),
        pytest.param(
            act(1, "Chatter", lines=50, window=WEEK), None, ["chatter_no_progress"], id="chatter"
        ),
        pytest.param(act(1, "Chatter", lines=50, xp=5, window=WEEK), None, [], id="plays-too"),
        pytest.param(act(1, "Chatter", lines=49, window=WEEK), None, [], id="under-50"),
        pytest.param(
            act(1, "Dep", "owner", lines=60, window=WEEK, left=1), None, [], id="left-excluded"
        ),
    ],
)
def test_alert_thresholds(
    week: MemberActivity, month: MemberActivity | None, expected: list[str]
) -> None:
    found = alerts([week], [] if month is None else [month], RANKS, SETTINGS, AS_OF)
    assert [f.kind.value for f in found] == expected


def test_churn_alert_carries_both_rates() -> None:
    [finding] = alerts(
        [act(1, "Quiet", lines=2, window=WEEK)],
        [act(1, "Quiet", lines=60, window=MONTH)],
        RANKS,
        SETTINGS,
        AS_OF,
    )
    assert finding.numbers == {
        "lines_short": 2,
        "lines_long": 60,
        "rate_short_per_day": 0.29,
        "rate_long_per_day": 2.0,
        "rate_share_pct": 14.3,
    }
    assert "14% of their usual rate" in finding.reason


def test_alerts_sorted_by_kind_then_severity_then_name() -> None:
    week = [
        act(1, "owner guy", "owner", window=WEEK, last_chat=3),
        act(2, "Deputy", "deputy_owner", window=WEEK, last_chat=20),
        act(3, "small grind", xp=1_000_000, window=WEEK),
        act(4, "Big Grind", xp=9_000_000, window=WEEK),
        act(5, "chatter", lines=80, window=WEEK),
        act(6, "Fading", lines=1, window=WEEK),
        act(7, "gone", lines=0, window=WEEK),
    ]
    month = [
        act(6, "Fading", lines=100, window=MONTH),
        act(7, "gone", lines=100, window=MONTH),
        act(5, "chatter", lines=300, window=MONTH),
    ]
    assert kinds(alerts(week, month, RANKS, SETTINGS, AS_OF)) == [
        (FindingKind.LEADERSHIP_SLUMP, "Deputy"),
        (FindingKind.LEADERSHIP_SLUMP, "owner guy"),
        (FindingKind.CHURN_RISK, "gone"),
        (FindingKind.CHURN_RISK, "Fading"),
        (FindingKind.SILENT_GRINDER, "Big Grind"),
        (FindingKind.SILENT_GRINDER, "small grind"),
        (FindingKind.CHATTER_NO_PROGRESS, "chatter"),
    ]


# ---------------------------------------------------------------------------------------------
# Promotions


@pytest.mark.parametrize(
    ("activity", "to_rank"),
    [
        pytest.param(act(1, "P", "prospector", joined=20, xp=1_500_000), "short_green_guy"),
        pytest.param(act(1, "P", "prospector", joined=20, lines=60), "short_green_guy"),
        pytest.param(act(1, "P", "prospector", joined=10, xp=9_000_000), None, id="too-new"),
        pytest.param(
            act(1, "P", "prospector", joined=20, xp=900_000, lines=49), None, id="not-enough"
        ),
        pytest.param(act(1, "T", "tztok", joined=40, xp=6_000_000), "wild", id="generic-rung"),
        pytest.param(act(1, "T", "tztok", joined=40, lines=200), "wild", id="generic-lines"),
        pytest.param(act(1, "T", "tztok", joined=40, xp=4_000_000), None, id="generic-not-enough"),
        pytest.param(act(1, "W", "wrath", joined=90, xp=50_000_000), None, id="never-to-officer"),
        pytest.param(act(1, "O", "dragon", joined=90, xp=50_000_000), None, id="staff-by-hand"),
        pytest.param(act(1, "U", "mystery", joined=90, xp=50_000_000), None, id="unknown-rank"),
        pytest.param(act(1, "N", None, joined=90, xp=50_000_000), None, id="no-rank"),
        pytest.param(act(1, "L", "tztok", joined=90, xp=9_000_000, left=1), None, id="left"),
        pytest.param(
            act(1, "R", "tztok", joined=400, rank_since=5, xp=9_000_000), None, id="just-promoted"
        ),
        pytest.param(act(1, "Q", "tztok", joined=None, xp=9_000_000), None, id="tenure-unknown"),
    ],
)
def test_default_ladder(activity: MemberActivity, to_rank: str | None) -> None:
    found = promotions([activity], RANKS, SETTINGS, AS_OF)
    assert [f.numbers["to_rank"] for f in found] == ([] if to_rank is None else [to_rank])


@pytest.mark.parametrize(
    ("rung", "xp", "lines", "due"),
    [
        (PromotionRung("gamer", None, 10, 100, 10, any_of=False), 100, 10, True),
        (PromotionRung("gamer", None, 10, 100, 10, any_of=False), 100, 9, False),
        (PromotionRung("gamer", None, 10, 100, 10), 0, 10, True),
        (PromotionRung("gamer", None, 10), 0, 0, True),  # tenure alone
        (PromotionRung("gamer", None, 10, min_lines=5), 10**9, 4, False),
        (PromotionRung("Gamer", "dragon", 10, 100), 100, 0, True),  # explicit target followed
        (PromotionRung("gamer", None, 400), 10**9, 10**6, False),
        (PromotionRung(ANY_RANK, None, 10, 1), 1, 0, True),
        (PromotionRung("wild", None, 10, 1), 1, 0, False),  # no rung for gamer
    ],
)
def test_custom_ladder_rungs(rung: PromotionRung, xp: int, lines: int, due: bool) -> None:
    settings = RuleSettings(ladder=(rung,))
    found = promotions([act(1, "G", "gamer", xp=xp, lines=lines)], RANKS, settings, AS_OF)
    assert bool(found) is due
    if due:
        assert found[0].numbers["to_rank"] == (rung.to_rank or "artillery")


def test_promotions_most_xp_first_with_reason_and_tags() -> None:
    clan = [
        act(1, "Second", "prospector", joined=20, xp=2_000_000, lines=500),
        act(2, "first", "prospector", joined=20, xp=3_000_000),
        act(3, "Third", "prospector", joined=20, lines=60),
        act(4, "Green", "short_green_guy", joined=9, xp=1_000_000),
    ]
    found = promotions(clan, RANKS, SETTINGS, AS_OF)
    assert names(found) == ["first", "Second", "Third"]
    assert found[0].tags == (TAG_HIGH_VELOCITY,)
    assert found[1].tags == (TAG_HIGH_VELOCITY, TAG_SOCIAL_PILLAR)
    assert found[2].tags == ()
    assert found[1].reason == (
        "Prospector → Short Green Guy: 20 days at rank, 2,000,000 XP and 500 chat lines "
        "in the last 60d (high velocity, social pillar)"
    )
    assert found[1].numbers["rule"] == "any of"


@pytest.mark.parametrize(
    ("activity", "tags"),
    [
        pytest.param(act(1, "A", "tztok", xp=2_000_001), (TAG_HIGH_VELOCITY,), id="beats-rank"),
        pytest.param(act(1, "A", "tztok", xp=2_000_000), (), id="equal-is-not-above"),
        pytest.param(act(1, "A", "owner", xp=10**9), (), id="no-rank-above"),
        pytest.param(act(1, "A", "gamer", xp=10**9), (), id="nobody-in-rank-above"),
        pytest.param(act(1, "A", lines=41), (TAG_SOCIAL_PILLAR,), id="top-chatter"),
        pytest.param(act(1, "A", lines=40), (TAG_SOCIAL_PILLAR,), id="tied-at-cutoff"),
        pytest.param(act(1, "A", lines=39), (), id="below-cutoff"),
        pytest.param(
            act(1, "A", per_metric={"chambers_of_xeric": 10, "tombs_of_amascut_expert": 15}),
            (TAG_CARRY_POTENTIAL,),
            id="raids-add-up",
        ),
        pytest.param(act(1, "A", per_metric={"vorkath": 500}), (), id="bosses-are-not-raids"),
    ],
)
def test_member_tags(activity: MemberActivity, tags: tuple[str, ...]) -> None:
    # The rank above tztok ("wild") gains a median 2 M; the top 10 % of these 12 members by
    # chat is 2 members, behind a 45-line talker the cut-off is the second place.
    others = [act(100 + i, f"o{i}", "wild", xp=2_000_000, lines=i) for i in range(9)]
    others += [act(200, "talker", lines=40), act(201, "loud", lines=45)]
    clan = [*others, activity]
    assert member_tags(clan, RANKS, SETTINGS, AS_OF).get(1, ()) == tags


# ---------------------------------------------------------------------------------------------
# Settings, unmatched names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slacking_ratio": 1.5},
        {"churn_ratio": -0.1},
        {"social_pillar_share": 2},
        {"inactive_min_tenure_days": -1},
        {"carry_min_raid_kc": -5},
    ],
)
def test_settings_reject_nonsense_thresholds(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="rule settings"):
        RuleSettings(**kwargs)  # type: ignore[arg-type]


def test_rung_rejects_negative_tenure_and_normalises_rank_names() -> None:
    with pytest.raises(ValueError, match="min_tenure_days"):
        PromotionRung("gamer", None, -1)
    rung = PromotionRung("Short green-guy", "Wild", 1)
    assert (rung.from_rank, rung.to_rank) == ("short_green_guy", "wild")


def test_unmatched_names_most_seen_then_most_recent_then_key() -> None:
    entries = [
        UnmatchedFinding("guest b", "Guest B", 2, 1, datetime(2025, 12, 1, tzinfo=UTC)),
        UnmatchedFinding("old name", "Old Name", 10, 0, None),
        UnmatchedFinding("guest a", "Guest A", 3, 0, datetime(2025, 12, 1, tzinfo=UTC)),
        UnmatchedFinding("recent", "Recent", 0, 3, datetime(2025, 12, 20, tzinfo=UTC)),
        UnmatchedFinding("unknown", "Unknown", 3, 0, None),
        UnmatchedFinding("once", "Once", 1, 0, None),
    ]
    ordered = [e.rsn_key for e in unmatched(entries)]
    assert ordered == ["old name", "recent", "guest a", "guest b", "unknown", "once"]
    assert [e.rsn_key for e in unmatched(entries, min_count=5)] == ["old name"]


# ---------------------------------------------------------------------------------------------
# Every reason, number, boundary and ordering, worked by hand (docs/testing.md: each of these
# was a mutant no test caught). Multi-member clans put the member a rule skips FIRST: a loop
# that stopped at them instead of skipping them would drop everyone after.


def test_rule_settings_accept_the_ends_of_their_ranges() -> None:
    ends = RuleSettings(
        slacking_ratio=0,
        churn_ratio=1,
        social_pillar_share=1,
        inactive_min_tenure_days=0,
        churn_min_lines_30d=0,
        silent_grinder_min_xp=0,
        chatter_min_lines=0,
        carry_min_raid_kc=0,
    )
    assert (ends.slacking_ratio, ends.churn_ratio, ends.carry_min_raid_kc) == (0, 1, 0)
    assert PromotionRung("gamer", None, 0).min_tenure_days == 0


def test_rule_settings_and_rungs_say_exactly_what_is_wrong() -> None:
    with pytest.raises(ValueError) as ratio:
        RuleSettings(churn_ratio=1.5)
    assert str(ratio.value) == "rule settings: churn_ratio must be between 0 and 1, got 1.5"
    with pytest.raises(ValueError) as count:
        RuleSettings(chatter_min_lines=-1)
    assert str(count.value) == "rule settings: chatter_min_lines must be ≥ 0"
    with pytest.raises(ValueError) as rung:
        PromotionRung("gamer", None, -1)
    assert str(rung.value) == "promotion rung: min_tenure_days must be ≥ 0"


def test_purge_skips_protected_active_and_new_members_listed_before_the_idle_one() -> None:
    clan = [
        act(1, "Leader", "zenyte"),  # protected
        act(2, "Talker", lines=3),  # active
        act(3, "Recruit", joined=29),  # too new
        act(4, "Unknown", joined=None),  # tenure unknown
        act(5, "Idle"),
    ]
    assert names(inactive(clan, RANKS, SETTINGS, AS_OF)) == ["Idle"]


def test_purge_tenure_threshold_is_inclusive() -> None:
    # Exactly 30 days in the clan is "at least 30 days".
    assert names(inactive([act(1, "Thirty", joined=30)], RANKS, SETTINGS, AS_OF)) == ["Thirty"]


def test_purge_finding_in_full_for_a_member_never_seen() -> None:
    window = parse_window("5h", AS_OF)  # 5/24 = 0.2083… days
    [finding] = inactive([act(7, "Ghost", "gamer", window=window)], RANKS, SETTINGS, AS_OF)
    assert finding == Finding(
        kind=FindingKind.INACTIVE,
        member_id=7,
        display_name="Ghost",
        role="gamer",
        reason=(
            "no chat and no progress in the last 5h: last chat never, last progress never, "
            "365 days in the clan"
        ),
        numbers={
            "window_days": 0.21,
            "tenure_days": 365,
            "days_since_chat": "never",
            "days_since_progress": "never",
            "days_since_seen": "never",
        },
    )


def test_purge_counts_a_line_less_than_a_day_old_as_zero_days() -> None:
    # A chat line half a day ago outside any counted chat (lines 0): quiet, seen today.
    [finding] = inactive([act(1, "Lurker", last_chat=0.5)], RANKS, SETTINGS, AS_OF)
    assert finding.numbers["days_since_chat"] == 0
    assert finding.numbers["days_since_seen"] == 0
    assert "last chat 0 days ago, last progress never" in finding.reason


def _median_clan() -> list[MemberActivity]:
    # Five members at 20 lines and 1 M XP: with any one officer added the medians stay
    # 20 lines and 1,000,000 XP, so half the median is 10 lines and 500,000 XP.
    return [act(i, f"m{i}", lines=20, xp=1_000_000, window=MONTH) for i in range(5)]


@pytest.mark.parametrize(
    ("lines", "xp", "status"),
    [
        pytest.param(10, 400_000, FindingKind.OFFICER_OK, id="lines-at-half-is-not-under"),
        pytest.param(9, 500_000, FindingKind.OFFICER_OK, id="xp-at-half-is-not-under"),
        pytest.param(9, 499_999, FindingKind.OFFICER_SLACKING, id="both-under"),
    ],
)
def test_slacking_is_strictly_under_half_the_median(
    lines: int, xp: int, status: FindingKind
) -> None:
    clan = [*_median_clan(), act(9, "Officer", "therapist", lines=lines, xp=xp, window=MONTH)]
    [finding] = officer_audit(clan, RANKS, SETTINGS, AS_OF)
    assert finding.kind is status


def test_officer_audit_findings_in_full() -> None:
    found = officer_audit(_audit_clan(), RANKS, SETTINGS, AS_OF)
    by_name = {f.display_name: f for f in found}
    assert by_name["Gone Officer"] == Finding(
        kind=FindingKind.OFFICER_AWOL,
        member_id=12,
        display_name="Gone Officer",
        role="prodigy",
        reason="AWOL: no chat and no progress in the last 30d",
        numbers={
            "status": "awol",
            "tier": "officer",
            "lines": 0,
            "xp": 0,
            "median_lines": 25.0,
            "median_xp": 650_000.0,
            "lines_pct_of_median": 0.0,
            "xp_pct_of_median": 0.0,
            "days_since_seen": "never",
        },
    )
    # 2 / 25 = 8 %; 300,000 / 650,000 = 46.15… % → 46.2
    assert by_name["Lazy Officer"].reason == (
        "slacking: 2 lines and 300,000 XP in the last 30d, both under 50% of the clan median "
        "(25 lines, 650,000 XP)"
    )
    assert by_name["Lazy Officer"].numbers["xp_pct_of_median"] == 46.2
    assert by_name["Busy Officer"].reason == "ok: 40 lines and 100 XP in the last 30d"
    assert dict(by_name["Busy Officer"].numbers) == {
        "status": "ok",
        "tier": "officer",
        "lines": 40,
        "xp": 100,
        "median_lines": 25.0,
        "median_xp": 650_000.0,
        "lines_pct_of_median": 160.0,
        "xp_pct_of_median": 0.0,
        "days_since_seen": "never",
    }
    assert (by_name["Chatty Leader"].role, by_name["Chatty Leader"].numbers["tier"]) == (
        "zenyte",
        "leadership",
    )


def test_officer_audit_percentages_keep_one_decimal_and_days_since_seen() -> None:
    # Medians of the three active members: 3 lines, 1 XP. The officer: 1 line (33.3 %),
    # 2 XP (200 %), last chat 2.5 days ago → 2 days.
    clan = [
        act(1, "a", lines=3, xp=1, window=MONTH),
        act(2, "b", lines=5, xp=1, window=MONTH),
        act(3, "Officer", "dragon", lines=1, xp=2, last_chat=2.5, window=MONTH),
    ]
    [finding] = officer_audit(clan, RANKS, SETTINGS, AS_OF)
    assert finding.numbers["median_lines"] == 3.0
    assert finding.numbers["median_xp"] == 1.0
    assert finding.numbers["lines_pct_of_median"] == 33.3
    assert finding.numbers["xp_pct_of_median"] == 200.0
    assert finding.numbers["days_since_seen"] == 2


def test_officer_audit_percentage_of_a_zero_median_is_not_a_number() -> None:
    # The active members all progressed without a line: the median of lines is 0.
    clan = [
        act(1, "a", xp=5, window=MONTH),
        act(2, "Officer", "dragon", xp=5, window=MONTH),
    ]
    [finding] = officer_audit(clan, RANKS, SETTINGS, AS_OF)
    assert finding.numbers["median_lines"] == 0.0
    assert finding.numbers["lines_pct_of_median"] == "n/a"
    assert finding.numbers["xp_pct_of_median"] == 100.0


def test_leadership_slump_finding_in_full() -> None:
    window = parse_window("5h", AS_OF)
    [finding] = alerts(
        [act(3, "Dep", "deputy_owner", window=window, last_chat=20.5)], [], RANKS, SETTINGS, AS_OF
    )
    assert finding == Finding(
        kind=FindingKind.LEADERSHIP_SLUMP,
        member_id=3,
        display_name="Dep",
        role="deputy_owner",
        reason="Deputy Owner with no chat and no progress in the last 5h; last seen 20 days ago",
        numbers={"window_days": 0.21, "days_since_seen": 20},
    )


def test_a_slump_of_a_watched_member_without_a_rank_says_no_rank() -> None:
    watch_members = RuleSettings(slump_tiers=frozenset({RankTier.MEMBER}))
    [finding] = alerts([act(1, "Nobody", None, window=WEEK)], [], RANKS, watch_members, AS_OF)
    assert finding.reason == (
        "no rank with no chat and no progress in the last 7d; last seen never"
    )


def test_leadership_slumps_longest_unseen_first_whatever_the_names() -> None:
    week = [
        act(1, "Alpha", "owner", window=WEEK, last_chat=3),
        act(2, "Zulu", "deputy_owner", window=WEEK, last_chat=20),
        act(3, "Mike", "zenyte", window=WEEK),  # never seen: first
    ]
    assert names(alerts(week, [], RANKS, SETTINGS, AS_OF)) == ["Mike", "Zulu", "Alpha"]


def test_churn_finding_in_full_with_rates_rounded_to_two_places() -> None:
    # 50 lines in 30 days = 1.666… a day; none this week.
    [finding] = alerts(
        [act(4, "Fading", window=WEEK)],
        [act(4, "Fading", lines=50, window=MONTH)],
        RANKS,
        SETTINGS,
        AS_OF,
    )
    assert finding == Finding(
        kind=FindingKind.CHURN_RISK,
        member_id=4,
        display_name="Fading",
        role="gamer",
        reason=(
            "chat fell to 0% of their usual rate: 0.0 lines/day in the last 7d against 1.7 "
            "in the last 30d"
        ),
        numbers={
            "lines_short": 0,
            "lines_long": 50,
            "rate_short_per_day": 0.0,
            "rate_long_per_day": 1.67,
            "rate_share_pct": 0.0,
        },
    )


def test_churn_reason_names_both_rates() -> None:
    [finding] = alerts(
        [act(1, "Quiet", lines=2, window=WEEK)],
        [act(1, "Quiet", lines=60, window=MONTH)],
        RANKS,
        SETTINGS,
        AS_OF,
    )
    # 2 / 7 = 0.2857 a day against 60 / 30 = 2.0: 14 %.
    assert finding.reason == (
        "chat fell to 14% of their usual rate: 0.3 lines/day in the last 7d against 2.0 "
        "in the last 30d"
    )


@pytest.mark.parametrize(
    ("week_lines", "month_lines", "settings", "churn"),
    [
        pytest.param(0, 20, SETTINGS, True, id="exactly-the-minimum-month-lines"),
        # 60 lines / 30 d = 2 a day; half of it is 1 a day = 7 lines in 7 days: not under.
        pytest.param(7, 60, RuleSettings(churn_ratio=0.5), False, id="rate-at-the-ratio"),
        pytest.param(6, 60, RuleSettings(churn_ratio=0.5), True, id="rate-under-the-ratio"),
    ],
)
def test_churn_boundaries(
    week_lines: int, month_lines: int, settings: RuleSettings, churn: bool
) -> None:
    found = alerts(
        [act(1, "Q", lines=week_lines, window=WEEK)],
        [act(1, "Q", lines=month_lines, window=MONTH)],
        RANKS,
        settings,
        AS_OF,
    )
    assert [f.kind for f in found] == ([FindingKind.CHURN_RISK] if churn else [])


def test_churn_ties_on_share_list_the_bigger_talker_first_whatever_the_names() -> None:
    week = [act(1, "Alpha", window=WEEK), act(2, "Zulu", window=WEEK)]
    month = [act(1, "Alpha", lines=50, window=MONTH), act(2, "Zulu", lines=100, window=MONTH)]
    assert names(alerts(week, month, RANKS, SETTINGS, AS_OF)) == ["Zulu", "Alpha"]


def test_silent_grinder_and_idle_chatter_findings_in_full() -> None:
    week = [
        act(5, "Grinder", xp=1_200_000, window=WEEK),
        act(6, "Chatter", "wild", lines=50, window=WEEK),
    ]
    grinder, chatter = alerts(week, [], RANKS, SETTINGS, AS_OF)
    assert grinder == Finding(
        kind=FindingKind.SILENT_GRINDER,
        member_id=5,
        display_name="Grinder",
        role="gamer",
        reason="1,200,000 XP in the last 7d without a single chat line",
        numbers={"xp": 1_200_000, "lines": 0},
    )
    assert chatter == Finding(
        kind=FindingKind.CHATTER_NO_PROGRESS,
        member_id=6,
        display_name="Chatter",
        role="wild",
        reason="50 chat lines in the last 7d and no progress at all",
        numbers={"lines": 50, "xp": 0},
    )


def test_idle_chatters_most_lines_first_whatever_the_names() -> None:
    week = [act(1, "Alpha", lines=60, window=WEEK), act(2, "Zulu", lines=80, window=WEEK)]
    assert names(alerts(week, [], RANKS, SETTINGS, AS_OF)) == ["Zulu", "Alpha"]


def test_social_pillar_needs_at_least_one_line() -> None:
    # Nobody talked: the cut-off is 0 lines, and 0 lines is never a pillar.
    clan = [act(1, "a"), act(2, "b")]
    assert member_tags(clan, RANKS, SETTINGS, AS_OF) == {}
    # One line at the top of a quiet clan is enough.
    clan = [act(1, "a", lines=1), *(act(i, f"q{i}") for i in range(2, 11))]
    assert member_tags(clan, RANKS, SETTINGS, AS_OF) == {1: (TAG_SOCIAL_PILLAR,)}


@pytest.mark.parametrize(
    ("min_kc", "kills", "tagged"),
    [(1, 1, True), (0, 1, True), (0, 0, False), (2, 1, False)],
)
def test_carry_potential_threshold_never_below_one_raid(
    min_kc: int, kills: int, tagged: bool
) -> None:
    settings = RuleSettings(carry_min_raid_kc=min_kc)
    raider = act(1, "Raider", per_metric={"theatre_of_blood": kills} if kills else None)
    tags = member_tags([raider], RANKS, settings, AS_OF).get(1, ())
    assert (TAG_CARRY_POTENTIAL in tags) is tagged


def test_promotions_skip_ineligible_members_listed_before_the_due_one() -> None:
    clan = [
        act(1, "No Rank", None, joined=90, xp=9_000_000),
        act(2, "Officer", "dragon", joined=90, xp=9_000_000),
        act(3, "Wrath", "wrath", joined=90, xp=9_000_000),  # above is an officer rank
        act(4, "Too New", "prospector", joined=13, xp=9_000_000),
        act(5, "Not Enough", "prospector", joined=20, xp=10),
        act(6, "Due", "prospector", joined=20, xp=1_000_000),
    ]
    assert names(promotions(clan, RANKS, SETTINGS, AS_OF)) == ["Due"]


def test_a_rank_without_a_rung_is_skipped_and_the_next_member_still_checked() -> None:
    settings = RuleSettings(ladder=(PromotionRung("wild", None, 10),))
    # The fixture's order: … artillery, gamer, wild, tztok …
    clan = [act(1, "Gamer", "gamer"), act(2, "Wild", "wild")]
    assert [f.numbers["to_rank"] for f in promotions(clan, RANKS, settings, AS_OF)] == ["gamer"]


def test_staff_are_never_promoted_even_by_a_rung_naming_their_rank() -> None:
    settings = RuleSettings(ladder=(PromotionRung("dragon", "wrath", 0),))
    assert promotions([act(1, "Officer", "dragon")], RANKS, settings, AS_OF) == []


def test_promotion_tenure_is_inclusive() -> None:
    # Exactly 14 days at prospector is the rung's 14 days.
    found = promotions([act(1, "P", "prospector", joined=14, lines=50)], RANKS, SETTINGS, AS_OF)
    assert names(found) == ["P"]


def test_promotion_finding_in_full() -> None:
    [finding] = promotions(
        [act(8, "Newbie", "prospector", joined=20, xp=1_500_000)], RANKS, SETTINGS, AS_OF
    )
    assert finding == Finding(
        kind=FindingKind.PROMOTION,
        member_id=8,
        display_name="Newbie",
        role="prospector",
        reason=(
            "Prospector → Short Green Guy: 20 days at rank, 1,500,000 XP and 0 chat lines "
            "in the last 60d"
        ),
        numbers={
            "to_rank": "short_green_guy",
            "days_in_rank": 20,
            "xp": 1_500_000,
            "lines": 0,
            "min_tenure_days": 14,
            "min_xp": 1_000_000,
            "min_lines": 50,
            "rule": "any of",
        },
    )


@pytest.mark.parametrize(
    ("rung", "min_xp", "min_lines", "rule"),
    [
        (PromotionRung("gamer", None, 10, min_lines=5, any_of=False), "n/a", 5, "all of"),
        (PromotionRung("gamer", None, 10, min_xp=100), 100, "n/a", "any of"),
    ],
)
def test_promotion_numbers_say_which_criteria_the_rung_has(
    rung: PromotionRung, min_xp: object, min_lines: object, rule: str
) -> None:
    settings = RuleSettings(ladder=(rung,))
    [finding] = promotions([act(1, "G", "gamer", xp=100, lines=5)], RANKS, settings, AS_OF)
    assert (finding.numbers["min_xp"], finding.numbers["min_lines"]) == (min_xp, min_lines)
    assert finding.numbers["rule"] == rule
    assert finding.numbers["min_tenure_days"] == 10


def test_promotions_tied_on_xp_list_the_bigger_talker_first_whatever_the_names() -> None:
    clan = [
        act(1, "Alpha", "prospector", joined=20, xp=2_000_000, lines=1),
        act(2, "Zulu", "prospector", joined=20, xp=2_000_000, lines=9),
    ]
    assert names(promotions(clan, RANKS, SETTINGS, AS_OF)) == ["Zulu", "Alpha"]
