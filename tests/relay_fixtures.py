"""The relay fixtures (``tests/fixtures/relay/<tool>.json``): reading them and scoring the parser.

Each fixture file holds one example of every shape a relay tool posts, written from the
tool's own formatting code (cited per example), with the reading expected of the parser.
The parser tests (``tests/domain/test_relay_fixtures.py``) and
``benchmarks/relay_formats_benchmark.py`` both read them through here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.broadcasts import coin_value, is_level_99
from domain.names import name_key
from domain.relay import EmbedIn, RelayConfig, RelayEvent, RelayMessageIn, parse_relay

FIXTURES = Path(__file__).parent / "fixtures" / "relay"
WEBHOOK_ID = 1_144_000_000_000_000_001
BOT_ID = 1_144_000_000_000_000_002
CLAN_NAME = "Nevr Lucky"
POSTED = datetime(2025, 12, 23, 19, 35, tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    tool: str
    index: int
    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.tool}-{self.index}"

    @property
    def expected(self) -> list[dict[str, Any]]:
        return list(self.raw["expected"])

    def message(self) -> RelayMessageIn:
        bot = self.raw.get("poster") == "bot"
        author = BOT_ID if bot else WEBHOOK_ID
        return RelayMessageIn(
            message_id=1,
            channel_id=2,
            author_id=author,
            author_name="TrackScape" if bot else "Clan relay",
            is_bot=True,
            webhook_id=None if bot else author,
            content=self.raw.get("content", ""),
            embeds=tuple(
                EmbedIn(
                    title=e.get("title"),
                    description=e.get("description"),
                    author_name=e.get("author_name"),
                    footer=e.get("footer"),
                    author_icon_url=e.get("author_icon_url"),
                )
                for e in self.raw.get("embeds", [])
            ),
            posted_at=POSTED,
        )

    def config(self) -> RelayConfig:
        raw = self.raw.get("config", {})
        return RelayConfig(
            relay_author_ids=frozenset({WEBHOOK_ID, BOT_ID}),
            clan_name=raw.get("clan_name", CLAN_NAME),
            member_keys=frozenset(raw.get("member_keys", ())),
        )

    def read(self) -> tuple[RelayEvent, ...]:
        return parse_relay(self.message(), self.config())

    def names_carried(self) -> set[str]:
        """Name keys of everyone the example's expected reading may credit."""
        return {name_key(e["player"]) for e in self.expected if e.get("player")}


def examples() -> Iterator[Example]:
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for index, raw in enumerate(doc["examples"]):
            yield Example(doc["tool"], index, raw)


def mismatches(expected: dict[str, Any], event: RelayEvent) -> list[str]:
    """How ``event`` differs from one expected reading (empty: as expected)."""
    wrong: list[str] = []

    def check(what: str, want: Any, got: Any) -> None:
        if want != got:
            wrong.append(f"{what}: expected {want!r}, got {got!r}")

    check("kind", expected["kind"], event.kind)
    check("format", expected["format"], event.format)
    check("player", expected.get("player"), event.player_name)
    if "text" in expected:
        check("text", expected["text"], event.text)
    for key, attr in (("rank_title", "rank_title"), ("account_type", "account_type")):
        if key in expected:
            check(key, expected[key], getattr(event, attr))
    if "other" in expected:
        check("other", expected["other"], event.other_name)
    if expected["kind"] == "broadcast":
        btype = event.broadcast_type.value if event.broadcast_type is not None else None
        check("broadcast type", expected["broadcast_type"], btype)
        check("value", expected.get("value"), coin_value(event.text))
        if "level_99" in expected:
            check("99", expected["level_99"], is_level_99(btype, event.text))
    return wrong


@dataclass
class Score:
    """Per tool: how many expected readings, and how many were right on each count."""

    messages: int = 0
    readings: int = 0
    player_right: int = 0
    wrong_player: int = 0
    broadcasts: int = 0
    type_right: int = 0
    value_right: int = 0
    failures: list[str] = field(default_factory=list)


def score(example: Example, result: Score) -> None:
    """Add one example's reading to ``result``."""
    events = example.read()
    result.messages += 1
    allowed = example.names_carried()
    for position, want in enumerate(example.expected):
        result.readings += 1
        event = events[position] if position < len(events) else None
        if event is None:
            result.failures.append(f"{example.id}[{position}]: no event")
            continue
        if event.player_name == want.get("player"):
            result.player_right += 1
        elif event.player_key is not None and event.player_key not in allowed:
            result.wrong_player += 1
        if want["kind"] == "broadcast":
            result.broadcasts += 1
            btype = event.broadcast_type.value if event.broadcast_type is not None else None
            result.type_right += btype == want["broadcast_type"]
            result.value_right += coin_value(event.text) == want.get("value")
        for problem in mismatches(want, event):
            result.failures.append(f"{example.id}[{position}] {problem}")
    if len(events) != len(example.expected):
        result.failures.append(
            f"{example.id}: {len(events)} events, expected {len(example.expected)}"
        )
