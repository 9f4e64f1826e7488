"""Moments written as Discord timestamp markup, which each reader's client shows in their own
time zone and language.

The markup and its styles are Discord's (discord/discord-api-docs at c98d64bc,
``developers/reference.mdx``, "Message Formatting" and "Timestamp Styles": seconds, shown "in
the user's timezone and locale"). ClanStats writes it only where Discord's clients render
markdown: message content, embed descriptions and field values. Titles, field names, footers
and author names get none; a moment that belongs in a footer is the embed's own
``timestamp``, which the client also shows in the reader's time zone. The clan's time zone
decides only where the clan's days begin and when the daily report is posted: a moment is
never shown in it on Discord. Plain-text outputs (the CLI, CSV/JSON exports) keep ISO text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

#: ``R`` "4 years ago", ``f`` "April 20, 2021 at 16:20", ``F`` with the weekday, ``d``
#: "20/04/2021", ``D`` "April 20, 2021", ``s`` "20/04/2021, 16:20", ``S`` with seconds,
#: ``t`` "16:20", ``T`` "16:20:30" (each in the reader's own locale).
TimestampStyle = Literal["t", "T", "d", "D", "f", "F", "s", "S", "R"]
STYLES: tuple[TimestampStyle, ...] = ("t", "T", "d", "D", "f", "F", "s", "S", "R")

#: What :func:`discord_timestamp` writes (and what a test looks for in rendered text).
MARKUP = re.compile(r"<t:(-?\d+)(?::([tTdDfFsSR]))?>")


def discord_timestamp(moment: datetime, style: TimestampStyle = "f") -> str:
    """``moment`` as ``<t:UNIX:STYLE>``.

    A naive datetime is refused: read as the host's local time it would be shown hours off
    to every reader, silently (stored moments are aware UTC, see ``storage.models``).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no moment to show: {moment!r}")
    if style not in STYLES:
        raise ValueError(f"unknown Discord timestamp style {style!r}, expected one of {STYLES}")
    # Whole seconds, rounded down: markup holds an integer, and a moment is never shown later
    # than it happened (a relative "in 1 second" for something already past).
    return f"<t:{int(moment.timestamp() // 1)}:{style}>"


def discord_when(
    moment: datetime | None, style: TimestampStyle = "R", *, never: str = "never"
) -> str:
    """``moment`` as markup, or ``never`` when there is none (never chatted, never synced)."""
    return never if moment is None else discord_timestamp(moment, style)


def discord_span(start: datetime, end: datetime, style: TimestampStyle = "f") -> str:
    """A period, ``start – end``, each end shown in the reader's time zone."""
    if end < start:
        raise ValueError(f"a span cannot end ({end!r}) before it starts ({start!r})")
    return f"{discord_timestamp(start, style)} – {discord_timestamp(end, style)}"
