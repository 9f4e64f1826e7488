"""Every relay fixture (one example of every shape each tool posts) reads as expected."""

from __future__ import annotations

import json

import pytest

from tests.relay_fixtures import FIXTURES, Example, Score, examples, mismatches, score

EXAMPLES = list(examples())
TOOLS = {"clanchat_net", "plugin_direct", "node_relay", "trackscape", "dink", "chat_logger"}


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_fixture_reads_as_expected(example: Example) -> None:
    events = example.read()
    assert len(events) == len(example.expected), [e.text for e in events]
    for want, event in zip(example.expected, events, strict=True):
        assert mismatches(want, event) == []


def test_every_tool_has_a_fixture_and_every_example_a_citation() -> None:
    assert {e.tool for e in EXAMPLES} == TOOLS
    for example in EXAMPLES:
        source = example.raw["source"]
        assert set(source) == {"repo", "path", "commit"}, example.id
        assert len(source["commit"]) == 40, example.id
        assert example.raw["when"], example.id
    for path in FIXTURES.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["sources"] and doc["description"], path.name


def test_the_score_counts_a_wrong_player() -> None:
    """The benchmark's wrong-player count is not a count that cannot fail."""
    example = next(e for e in EXAMPLES if e.tool == "trackscape" and "clan icon" in e.raw["shape"])
    tampered = Example(
        example.tool,
        example.index,
        {
            **example.raw,
            "embeds": [{**example.raw["embeds"][0], "author_icon_url": None}],
            "config": {"clan_name": "Someone Else"},
        },
    )
    result = Score()
    score(tampered, result)
    assert result.wrong_player == 1
    assert result.failures
