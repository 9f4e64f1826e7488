"""Moments on Discord are timestamp markup, read by each reader's client in their own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from domain.timestamps import (
    MARKUP,
    STYLES,
    discord_span,
    discord_timestamp,
    discord_when,
)

# 2025-12-23 20:00:00 UTC, the recorded clan's evening
MOMENT = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)
UNIX = 1766520000


def test_a_moment_is_its_unix_seconds_with_the_style() -> None:
    assert discord_timestamp(MOMENT, "R") == f"<t:{UNIX}:R>"
    assert discord_timestamp(MOMENT) == f"<t:{UNIX}:f>"  # Discord's own default style
    assert [discord_timestamp(MOMENT, s) for s in STYLES] == [f"<t:{UNIX}:{s}>" for s in STYLES]
    assert STYLES == ("t", "T", "d", "D", "f", "F", "s", "S", "R")


def test_the_same_moment_in_any_time_zone_is_the_same_markup() -> None:
    # The clan's time zone never leaks into what a reader sees: only the moment counts.
    london = MOMENT.astimezone(ZoneInfo("Europe/London"))
    sydney = MOMENT.astimezone(ZoneInfo("Australia/Sydney"))
    odd = MOMENT.astimezone(timezone(timedelta(hours=-3, minutes=-30)))
    assert {discord_timestamp(m, "f") for m in (london, sydney, odd)} == {f"<t:{UNIX}:f>"}


def test_seconds_are_rounded_down_never_shown_later_than_they_happened() -> None:
    assert discord_timestamp(MOMENT + timedelta(microseconds=999_999)) == f"<t:{UNIX}:f>"
    before_epoch = datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)
    assert discord_timestamp(before_epoch, "d") == "<t:-1:d>"


class _NoOffset(tzinfo):
    """A time zone that knows no offset: Python counts its datetimes as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_naive_datetime_is_refused_rather_than_shown_hours_off() -> None:
    with pytest.raises(ValueError, match="naive"):
        discord_timestamp(datetime(2025, 12, 23, 20, 0))
    with pytest.raises(ValueError, match="naive"):  # a tzinfo, but no offset: naive too
        discord_timestamp(datetime(2025, 12, 23, 20, 0, tzinfo=_NoOffset()))


def test_an_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Discord timestamp style 'x'"):
        discord_timestamp(MOMENT, "x")  # type: ignore[arg-type]


def test_when_says_never_for_no_moment() -> None:
    assert discord_when(None) == "never"
    assert discord_when(None, never="not yet") == "not yet"
    assert discord_when(MOMENT) == f"<t:{UNIX}:R>"
    assert discord_when(MOMENT, "D") == f"<t:{UNIX}:D>"


def test_a_span_shows_both_ends_and_refuses_to_run_backwards() -> None:
    start = MOMENT - timedelta(days=1)
    assert discord_span(start, MOMENT) == f"<t:{UNIX - 86_400}:f> – <t:{UNIX}:f>"
    assert discord_span(MOMENT, MOMENT, "t") == f"<t:{UNIX}:t> – <t:{UNIX}:t>"
    with pytest.raises(ValueError, match="before it starts"):
        discord_span(MOMENT, start)


def test_markup_pattern_finds_what_the_helper_writes_and_nothing_else() -> None:
    text = f"{discord_timestamp(MOMENT, 'R')} and <t:{UNIX}> but not <t:{UNIX}:x> or <t:abc:R>"
    assert [m.group(0) for m in MARKUP.finditer(text)] == [f"<t:{UNIX}:R>", f"<t:{UNIX}>"]
    assert MARKUP.fullmatch(discord_timestamp(MOMENT, "S"))
