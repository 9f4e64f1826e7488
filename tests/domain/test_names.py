"""Name keys on the real Wise Old Man roster and on the awkward cases of docs/wom-api.md."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from domain.names import (
    InvalidNameError,
    clean_display_name,
    is_valid_key,
    name_key,
    strip_tags,
    valid_name_key,
)

FIXTURES = sorted((Path(__file__).parents[2] / "fakes" / "data" / "wom").glob("group-*.json"))


def _members(path: Path) -> list[tuple[str, str]]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    return [(m["player"]["displayName"], m["player"]["username"]) for m in payload["memberships"]]


def test_both_group_fixtures_are_present() -> None:
    assert len(FIXTURES) == 2


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_display_name_keys_to_its_wom_username(path: Path) -> None:
    members = _members(path)
    assert len(members) == 303
    mismatched = [(d, u) for d, u in members if name_key(d) != name_key(u)]
    invalid = [d for d, _ in members if not is_valid_key(name_key(d))]
    assert mismatched == []
    assert invalid == []


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_no_two_fixture_members_share_a_key(path: Path) -> None:
    counts = Counter(name_key(display) for display, _ in _members(path))
    assert [key for key, n in counts.items() if n > 1] == []


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Hello_world  ", "hello world"),
        ("Doc_Of-Med", "doc of med"),
        ("Doc Of Med", "doc of med"),
        ("doc-of_med", "doc of med"),
        ("Med-iocore", "med iocore"),
        ("Med iocore", "med iocore"),
        ("Iron\u00a0Guy", "iron guy"),
        ("Iron\u00a0\u00a0Guy", "iron guy"),
        ("<img=2>Iron Guy", "iron guy"),
        ("<col=ff0000>Zezima</col>", "zezima"),
        ("<:Ironman_chat_badge:1082980848200065034> Iron Guy", "iron guy"),
        ("<a:Spin:123>Zezima", "zezima"),
        ("  ZEZIMA ", "zezima"),
    ],
)
def test_name_key_folds_separators_tags_and_case(raw: str, key: str) -> None:
    assert name_key(raw) == key
    assert is_valid_key(key)


@pytest.mark.parametrize(
    ("left", "right"),
    [("hai ku", "hi ku"), ("docofmed", "doc of med"), ("Zezima", "Zezima2")],
)
def test_distinct_players_keep_distinct_keys(left: str, right: str) -> None:
    assert name_key(left) != name_key(right)


def test_hai_ku_and_hi_ku_are_both_in_the_real_roster() -> None:
    keys = {name_key(display) for display, _ in _members(FIXTURES[0])}
    assert {"hai ku", "hi ku"} <= keys


@pytest.mark.parametrize(
    "key", ["", " zezima", "zezima ", "iron  guy", "thirteenchars", "zez!ma", "Zezima", "a_b"]
)
def test_malformed_keys_are_invalid(key: str) -> None:
    assert not is_valid_key(key)


@pytest.mark.parametrize("raw", ["", "   ", "<img=2>", "thirteen chars", "zez!ma", "__"])
def test_valid_name_key_rejects_impossible_names(raw: str) -> None:
    with pytest.raises(InvalidNameError):
        valid_name_key(raw)


def test_valid_name_key_returns_the_key_of_a_real_name() -> None:
    assert valid_name_key("Doc_Of-Med") == "doc of med"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<img=2>Iron\u00a0Guy", "Iron Guy"),
        ("<:Captain:1144312094422994944> Zezima ", "Zezima"),
        ("<col=ff0000>Med-iocore</col>", "Med-iocore"),
    ],
)
def test_clean_display_name_keeps_case_and_separators(raw: str, shown: str) -> None:
    assert clean_display_name(raw) == shown


def test_strip_tags_removes_game_tags_and_discord_emojis_only() -> None:
    assert strip_tags("<img=2><col=ff0000>a</col><:X:1>b") == "ab"


def test_an_impossible_name_is_refused_with_the_name_in_the_message() -> None:
    with pytest.raises(InvalidNameError) as error:
        valid_name_key("zez!ma")
    assert str(error.value) == "'zez!ma' is not a valid Old School RuneScape name"


@pytest.mark.parametrize(("key", "valid"), [("abcdefghijkl", True), ("a", True)])
def test_keys_of_one_to_twelve_characters_are_valid(key: str, valid: bool) -> None:
    assert is_valid_key(key) is valid
