"""Counting relay messages read and not understood per format, and the examples shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from domain.relay import BroadcastType, EmbedIn, RelayConfig, RelayMessageIn, parse_relay
from domain.relay_stats import (
    EXCERPT_CHARS,
    MAX_EXAMPLES,
    NOTHING_READ,
    FormatTally,
    Unread,
    excerpt,
    message_text,
    tally,
)

T0 = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)
RELAY = 1_144_000_000_000_000_001
UNKNOWN = BroadcastType.UNKNOWN.value


@dataclass(frozen=True)
class Row:
    message_id: int
    format: str
    kind: str = "chat"
    broadcast_type: str | None = None
    text: str = "hello"
    posted_at: datetime = T0


def _unknown(message_id: int, fmt: str, text: str, minutes: int = 0) -> Row:
    return Row(message_id, fmt, "broadcast", UNKNOWN, text, T0 + timedelta(minutes=minutes))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("hi <@123456789012345678> and <@!42>", "hi @user and @user"),
        ("ping <@&987654321> in <#1234>", "ping @role in #channel"),
        ("@everyone look @here", "@\u200beveryone look @\u200bhere"),
        ("two\n  lines\tand tabs", "two lines and tabs"),
    ],
)
def test_examples_are_one_line_and_can_ping_nobody(raw: str, shown: str) -> None:
    assert excerpt(raw) == shown


def test_a_long_example_is_cut_to_its_limit_with_an_ellipsis() -> None:
    text = excerpt("x" * 500)
    assert len(text) == EXCERPT_CHARS and text.endswith("…")
    assert excerpt("short") == "short"


def test_each_message_counts_once_per_format_and_unknown_broadcasts_are_not_understood() -> None:
    rows = [
        Row(1, "clanchat_net"),
        Row(2, "clanchat_net"),
        _unknown(2, "clanchat_net", "Zezima has frobnicated", minutes=1),  # same message
        # one message, an embed batch in two formats: one message read in each
        Row(3, "trackscape"),
        Row(3, "dink", "broadcast", BroadcastType.PET.value, "Zezima pet"),
        _unknown(4, "dink", "Zezima did something new", minutes=2),
        # Discord chatter is not a relay message
        Row(5, "discord", "discord"),
    ]
    counted = tally(rows)
    got = {fmt: (c.messages, c.not_understood) for fmt, c in counted.counts.items()}
    assert got == {"clanchat_net": (2, 1), "trackscape": (1, 0), "dink": (2, 1)}
    assert [e.text for e in counted.counts["clanchat_net"].examples] == ["Zezima has frobnicated"]
    assert (counted.messages, counted.not_understood) == (5, 2)


def test_a_message_with_several_unknown_broadcasts_is_one_not_understood_message() -> None:
    counted = tally([_unknown(1, "trackscape", "a"), _unknown(1, "trackscape", "b")])
    only = counted.counts["trackscape"]
    assert (only.messages, only.not_understood) == (1, 1)
    assert [e.text for e in only.examples] == ["a"]


def test_relay_messages_nothing_was_read_from_count_under_their_own_name() -> None:
    unread = [Unread(9, 2, RELAY, T0, "an image only <@1>")]
    counted = tally([Row(1, "plugin_direct")], unread)
    nothing = counted.counts[NOTHING_READ]
    assert (nothing.messages, nothing.not_understood) == (1, 1)
    assert nothing.examples[0].text == "an image only @user"
    assert [fmt for fmt, _ in counted.ordered()][-1] == NOTHING_READ


def test_only_the_most_recent_examples_are_kept_most_recent_first() -> None:
    rows = [_unknown(i, "clanchat_net", f"line {i}", minutes=i) for i in range(1, 9)]
    first, second = tally(rows[:4]), tally(rows[4:])
    first.add(second)  # two batches added up, as an import or /status does
    kept = first.counts["clanchat_net"]
    assert (kept.messages, kept.not_understood) == (8, 8)
    assert [e.text for e in kept.examples] == [f"line {i}" for i in range(8, 8 - MAX_EXAMPLES, -1)]


def test_formats_are_listed_by_messages_read() -> None:
    counted = FormatTally()
    counted.add(tally([Row(1, "b"), Row(2, "a"), Row(3, "a"), Row(4, "c")]))
    assert [fmt for fmt, _ in counted.ordered()] == ["a", "b", "c"]
    assert not FormatTally() and counted


def test_the_parser_formats_are_counted_whatever_they_are_named() -> None:
    """Counting takes the formats the parser gives: a relay message of any format counts."""
    config = RelayConfig(relay_author_ids=frozenset({RELAY}))
    messages = [
        RelayMessageIn(i, 2, RELAY, "relay", True, RELAY, content, embeds, T0)
        for i, (content, embeds) in enumerate(
            [
                ("**Zezima**: hello", ()),
                ("Zezima has frobnicated the wug", ()),
                ("", (EmbedIn(author_name="Zezima", description="hi"),)),
            ],
            start=1,
        )
    ]
    rows = [
        Row(m.message_id, e.format, e.kind, e.broadcast_type, e.text)
        for m in messages
        for e in parse_relay(m, config)
    ]
    counted = tally(rows)
    assert counted.messages == 3 and counted.not_understood == 1
    assert set(counted.counts) == {r.format for r in rows}


def test_message_text_gathers_content_and_every_embed_part() -> None:
    message = RelayMessageIn(
        1,
        2,
        RELAY,
        "relay",
        True,
        RELAY,
        "top",
        (EmbedIn(title="T", description="D", author_name="A", footer="F", fields=(("k", "v"),)),),
        T0,
    )
    assert message_text(message) == "top | A | T | D | k: v | F"
