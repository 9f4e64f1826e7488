"""The cheaper load paths of the report use cases give the answers the full loads gave.

Quiet-member broadcasts (only members with no chat and no progress get their broadcasts
read), the one-scan broadcast totals of an export, the per-hour chat counts of the heatmap
and the one-statement snapshot endpoints, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from bot.app import App, open_app
from bot.core.config import Settings
from bot.usecases.reports import findings, member_rows
from bot.usecases.reports.findings import _run_rule
from bot.usecases.reports.loader import (
    ALERTS_LONG_WINDOW,
    FINDINGS_WINDOWS,
    load,
    parse_windows,
)
from domain.rules import RuleSettings
from storage.models import Member, RelayMessage
from storage.repositories import reports as repo
from storage.repositories.reports import snapshots
from tests.bot.test_reports import AS_OF, _seed

DAY = timedelta(days=1)


async def _add_members(app: App) -> None:
    """Frank: no chat, no snapshot, a drop 10 days ago (a presence broadcast). Gina: no
    chat, no snapshot, only an invite broadcast (not presence). Both long in the clan."""
    async with app.db.write() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "id": mid,
                    "clan_id": 1,
                    "wom_player_id": 100 + mid,
                    "rsn_key": name.lower(),
                    "display_name": name,
                    "role": "recruit",
                    "joined_at": AS_OF - 300 * DAY,
                    "left_at": None,
                    "last_changed_at": None,
                    "created_at": AS_OF,
                    "updated_at": AS_OF,
                }
                for mid, name in ((6, "Frank"), (7, "Gina"))
            ],
        )
        await session.execute(
            insert(RelayMessage),
            [
                {
                    "id": 9000 + n,
                    "clan_id": 1,
                    "message_id": 9000 + n,
                    "part": 0,
                    "channel_id": 9,
                    "author_id": 8,
                    "posted_at": at,
                    "kind": "broadcast",
                    "broadcast_type": kind,
                    "member_id": mid,
                    "rsn_key": name.lower(),
                    "display_name": name,
                    "text": f"{name} did something.",
                    "source": "import",
                    "ingested_at": at,
                }
                for n, (mid, name, kind, at) in enumerate(
                    [
                        (6, "Frank", "drop", AS_OF - 10 * DAY),
                        (7, "Gina", "invite", AS_OF - 10 * DAY),
                        (6, "Frank", "level", AS_OF - 90 * DAY),
                    ]
                )
            ],
        )


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    settings = Settings(database_url=db_url, wom_group_id=777)
    async with open_app(settings) as opened:
        await _seed(opened)
        await _add_members(opened)
        yield opened


async def test_a_presence_broadcast_keeps_a_quiet_member_off_the_purge_list(app: App) -> None:
    purge = {f.display_name for f in await findings(app, 1, "inactive", AS_OF)}
    assert "Frank" not in purge  # the drop 10 days ago proves he played
    assert {"Gina", "Dormant Dan"} <= purge  # an invite proves nothing
    audit_7d = await findings(app, 1, "audit", AS_OF, window="7d")
    assert {f.display_name for f in audit_7d} >= {"Alice"}
    # 3 days: Frank's drop is outside, so he is quiet again
    short = {f.display_name for f in await findings(app, 1, "inactive", AS_OF, window="3d")}
    assert "Frank" in short


async def test_export_broadcast_totals_per_window_overlapping_or_not(app: App) -> None:
    rows = {
        r.display_name: r
        for r in await member_rows(app, 1, ["7d", "30d", "2025-09-01..2025-09-30"], AS_OF)
    }
    assert rows["Frank"].broadcasts == {"7d": 0, "30d": 1, "2025-09-01..2025-09-30": 1}
    assert rows["Gina"].broadcasts == {"7d": 0, "30d": 1, "2025-09-01..2025-09-30": 0}
    assert rows["Carol"].broadcasts == {"7d": 2, "30d": 2, "2025-09-01..2025-09-30": 0}
    assert rows["Frank"].messages == {"7d": 0, "30d": 0, "2025-09-01..2025-09-30": 0}
    async with app.db.read() as session:
        assert await repo.broadcast_counts_per_member(session, 1, []) == {}


async def test_chat_lines_per_hour_cuts_partial_hours_at_both_ends(app: App) -> None:
    async with app.db.read() as session:
        start = AS_OF - timedelta(hours=5, minutes=10)  # 14:50
        end = AS_OF - timedelta(hours=2, minutes=30)  # 17:30
        hours = await repo.chat_lines_per_hour(session, 1, start, end)
        assert await repo.chat_lines_per_hour(session, 1, end, end) == {}
    # Bob 15:00 and 15:30 (his repeat relay and deleted line do not count), Alice and the
    # guest at 17:00; Alice's 18:00 line is past the end
    assert hours == {AS_OF - timedelta(hours=5): 2, AS_OF - timedelta(hours=3): 2}


async def test_step_totals_equal_the_steps_added_up_one_by_one(app: App) -> None:
    """The one-scan sums of stored steps give what adding each member's steps gives, and
    members without a snapshot (Frank, Gina) are simply absent: for windows ending together
    (read in one statement) and apart, the same window twice included."""
    windows = [
        (AS_OF - 7 * DAY, AS_OF),
        (AS_OF - 30 * DAY, AS_OF - 7 * DAY),
        (AS_OF - 30 * DAY, AS_OF),
        (AS_OF - DAY, AS_OF),
        (AS_OF - 7 * DAY, AS_OF),
    ]
    async with app.db.read() as session:
        totals = await repo.step_totals(session, 1, windows)
        steps = {
            i: await repo.steps_of(session, [1, 2, 3, 4, 5, 6, 7], start, end)
            for i, (start, end) in enumerate(windows)
        }
        vorkath = await repo.metric_totals(session, 1, *windows[0], ["vorkath"])
    for i in range(len(windows)):
        assert 6 not in totals[i] and 7 not in totals[i]
        # every member with a step in the window, and nobody else
        assert set(totals[i]) == {mid for mid, mine in steps[i].items() if mine[-1].previous_at}
        for member_id, total in totals[i].items():
            mine = steps[i][member_id]
            assert total.xp == sum(s.gains.xp for s in mine)
            assert total.boss_kills == sum(s.gains.boss_kills for s in mine)
            assert total.last_taken_at == max(s.taken_at for s in mine)
            # the snapshot before the window's first step; None: their first is in it
            assert total.first_previous_at == mine[0].previous_at
    # Bob's Vorkath: 2 kills a day, 7 daily steps in the week
    assert vorkath[2].gained == {"vorkath": 14.0}
    assert 1 not in vorkath  # Alice's Vorkath never moved


async def test_step_totals_in_spans_add_up_the_steps_that_count(app: App) -> None:
    """A span's totals are its member's steps taken inside it whose snapshot before is at or
    after the period's start (both snapshots in one period), added up as the steps one by
    one say: for a period begun long before, at the span's start, inside it (the step that
    crosses the join does not count) and after it; spans that hold no snapshot give zeros."""
    cases = [
        (AS_OF - 30 * DAY, AS_OF - 30 * DAY, AS_OF),
        (AS_OF - 400 * DAY, AS_OF - 7 * DAY, AS_OF),
        (AS_OF - 7 * DAY, AS_OF - 7 * DAY, AS_OF),
        (AS_OF - 10 * DAY + timedelta(hours=3), AS_OF - 10 * DAY + timedelta(hours=3), AS_OF),
        (AS_OF - 20 * DAY, AS_OF - 20 * DAY, AS_OF - 12 * DAY),
        (AS_OF + DAY, AS_OF + DAY, AS_OF + 2 * DAY),
    ]
    spans = [(mid, since, start, end) for mid in range(1, 8) for since, start, end in cases]
    async with app.db.read() as session:
        found = await repo.step_totals_in_spans(session, spans)
        many = await repo.step_totals_in_spans(session, spans * 5)
        assert await repo.step_totals_in_spans(session, []) == []
        expected = []
        for mid, since, start, end in spans:
            steps = (await repo.steps_of(session, [mid], start, end)).get(mid, [])
            counted = [s for s in steps if s.previous_at is not None and s.previous_at >= since]
            expected.append(
                (
                    sum(s.gains.xp for s in counted),
                    sum(s.gains.ehp for s in counted),
                    sum(s.gains.boss_kills for s in counted),
                    sum(1 for s in counted if s.progress),
                )
            )
    got = [(t.xp, t.ehp, t.boss_kills, t.progress_steps) for t in found]
    assert [(xp, kills, n) for xp, _, kills, n in got] == [
        (xp, kills, n) for xp, _, kills, n in expected
    ]
    assert [g[1] for g in got] == pytest.approx([e[1] for e in expected])
    assert any(xp for xp, *_ in expected), "the seed has steps in these spans"
    # a period begun at the span's start drops the step that crosses into it, only that one
    long_member, joined_then = expected[1 :: len(cases)], expected[2 :: len(cases)]
    assert any(a[3] == b[3] + 1 for a, b in zip(long_member, joined_then, strict=True))
    assert many == found * 5


async def test_span_counts_are_each_span_alone_however_many(app: App) -> None:
    """A span's chat lines and broadcasts by type are the member's inside it (what the
    per-member window counts say for the same stretch), whatever the number of spans in one
    call (250: over the 200 a statement takes on PostgreSQL), in the order given."""
    stretches = [
        (AS_OF - 30 * DAY, AS_OF),
        (AS_OF - 7 * DAY, AS_OF),
        (AS_OF - 30 * DAY, AS_OF - 7 * DAY),
        (AS_OF - timedelta(hours=5), AS_OF - timedelta(hours=4, minutes=30)),  # cut inside
        (AS_OF, AS_OF + DAY),  # nothing after as_of
    ]
    spans = [(mid, start, end) for mid in range(1, 8) for start, end in stretches]
    async with app.db.read() as session:
        lines_per_member = await repo.chat_lines_per_member(session, 1, stretches)
        broadcasts_per_window = await repo.broadcasts_per_member(session, 1, stretches)
        lines = await repo.chat_lines_in_spans(session, 1, spans)
        many_lines = await repo.chat_lines_in_spans(session, 1, (spans * 9)[:250])
        broadcasts = await repo.broadcasts_in_spans(session, 1, spans)
        many_broadcasts = await repo.broadcasts_in_spans(session, 1, (spans * 9)[:250])
        assert await repo.chat_lines_in_spans(session, 1, []) == []
        assert await repo.broadcasts_in_spans(session, 1, []) == []
    in_order = [(mid, i) for mid in range(1, 8) for i in range(len(stretches))]
    expected_lines = [lines_per_member[mid][i] for mid, i in in_order]
    expected_broadcasts = [broadcasts_per_window[i].get(mid, {}) for mid, i in in_order]
    assert sum(expected_lines) > 0  # the clan did chat in these stretches
    assert any(expected_broadcasts)  # and had broadcasts
    assert lines == expected_lines
    assert many_lines == (expected_lines * 9)[:250]
    assert broadcasts == expected_broadcasts
    assert many_broadcasts == (expected_broadcasts * 9)[:250]


async def test_officer_findings_equal_the_full_load_they_no_longer_make(app: App) -> None:
    """Alerts, audit and promotions read only what their rule shows (the long alerts
    window's chat, the last seen of audited staff and of slumping leaders): their findings
    equal those of a load of everything."""
    # Gus, a deputy owner, last chatted 20 days ago: a slump in the alerts, AWOL in the audit.
    async with app.db.write() as session:
        await session.execute(
            insert(Member),
            [
                {
                    "id": 8,
                    "clan_id": 1,
                    "wom_player_id": 108,
                    "rsn_key": "gus",
                    "display_name": "Gus",
                    "role": "deputy_owner",
                    "joined_at": AS_OF - 300 * DAY,
                    "left_at": None,
                    "last_changed_at": None,
                    "created_at": AS_OF,
                    "updated_at": AS_OF,
                }
            ],
        )
        await session.execute(
            insert(RelayMessage),
            [
                {
                    "id": 9100,
                    "clan_id": 1,
                    "message_id": 9100,
                    "part": 0,
                    "channel_id": 9,
                    "author_id": 8,
                    "posted_at": AS_OF - 20 * DAY,
                    "kind": "chat",
                    "member_id": 8,
                    "rsn_key": "gus",
                    "display_name": "Gus",
                    "text": "brb",
                    "source": "import",
                    "ingested_at": AS_OF,
                }
            ],
        )
    for kind in ("alerts", "audit", "promotions"):
        for window in (None, "3d", "60d"):
            labels = [window or FINDINGS_WINDOWS[kind]]
            if kind == "alerts":
                labels.append(ALERTS_LONG_WINDOW)
            parsed = parse_windows(labels, AS_OF)
            if len(parsed) < len(labels):
                parsed.append(parsed[0])
            async with app.db.read() as session:
                full = await load(session, 1, parsed, AS_OF, broadcasts=["all"] * len(parsed))
            everything = _run_rule(kind, full, RuleSettings(), AS_OF)
            found = await findings(app, 1, kind, AS_OF, RuleSettings(), window=window)
            assert found == everything, (kind, window)
            gus = [f for f in found if f.display_name == "Gus"]
            if kind != "promotions" and window != "60d":
                assert gus[0].numbers["days_since_seen"] == 20, (kind, window)
    async with app.db.read() as session:
        with pytest.raises(ValueError, match="presence-only"):
            await load(session, 1, parse_windows(["7d"], AS_OF), AS_OF, counted=0, last_seen=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"attack": 13034431, "ehp": 1.5, "zulrah": -1}',
            {"attack": 13034431, "ehp": 1.5, "zulrah": -1},
        ),
        ('{"agility": NaN}', None),  # orjson refuses NaN: the json fallback reads it
        ("null", {}),
        ("[1, 2]", {}),
        (None, {}),
        ({"attack": 1}, {"attack": 1}),
    ],
)
def test_stored_metrics_are_read_as_json_objects(
    raw: object, expected: dict[str, object] | None
) -> None:
    got = snapshots._metrics_json(raw)
    if expected is None:
        assert list(got) == ["agility"] and got["agility"] != got["agility"]  # NaN
    else:
        assert got == expected
