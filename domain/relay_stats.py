"""How well relay messages are read, per relay format: to see a new format coming.

Pure. A *relay message* is a Discord message posted by a configured relay (its events are chat
lines or broadcasts; Discord chatter is not a relay message). Per format, a relay message is
*read* when one of its events has that format, and *not understood* when one of those events
is a broadcast nobody recognises (:attr:`~domain.relay.BroadcastType.UNKNOWN`). A relay message
that gives no event at all (an image, an embed of fields only) is counted read and not
understood under :data:`NOTHING_READ`. Formats are whatever the parser labels events with, so a
format added to the parser (or a clan's custom format) is counted without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.relay import BroadcastType, RelayMessageIn

#: The pseudo-format of a relay message the parser read nothing from.
NOTHING_READ = "(nothing read)"
#: Examples of not-understood content kept per format, most recent first.
MAX_EXAMPLES = 5
#: The length an example is cut to.
EXCERPT_CHARS = 100

_UNKNOWN = BroadcastType.UNKNOWN.value
_USER = re.compile(r"<@!?\d+>")
_ROLE = re.compile(r"<@&\d+>")
_CHANNEL = re.compile(r"<#\d+>")
# "@everyone" and "@here" ping however a message's mentions are configured by its poster.
_MASS = re.compile(r"@(everyone|here)\b", re.IGNORECASE)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters, with no mention left in it.

    Mentions become plain words (``<@123>`` → ``@user``, ``<@&1>`` → ``@role``,
    ``<#1>`` → ``#channel``, ``@everyone`` → ``@​everyone`` with a zero-width space), so an
    example can be shown anywhere without pinging anyone.
    """
    flat = " ".join(text.split())
    flat = _ROLE.sub("@role", flat)
    flat = _USER.sub("@user", flat)
    flat = _CHANNEL.sub("#channel", flat)
    flat = _MASS.sub("@\u200b\\1", flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def message_text(message: RelayMessageIn) -> str:
    """Everything a message carries as text (content, then each embed's parts), one line."""
    parts = [message.content]
    for embed in message.embeds:
        parts.extend(p for p in (embed.author_name, embed.title, embed.description) if p)
        parts.extend(f"{name}: {value}" for name, value in embed.fields)
        if embed.footer:
            parts.append(embed.footer)
    return " | ".join(p.strip() for p in parts if p and p.strip())


class ReadEvent(Protocol):
    """What counting needs of one stored (or parsed) relay event."""

    @property
    def message_id(self) -> int: ...
    @property
    def posted_at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def broadcast_type(self) -> str | None: ...
    @property
    def text(self) -> str: ...
    @property
    def format(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Unread:
    """A relay message the parser read nothing from."""

    message_id: int
    channel_id: int
    author_id: int
    posted_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Example:
    """A piece of not-understood content (already shortened and mention-free)."""

    posted_at: datetime
    text: str


@dataclass(slots=True)
class FormatCount:
    """One format's relay messages read, those not understood, and recent examples of them."""

    messages: int = 0
    not_understood: int = 0
    examples: list[Example] = field(default_factory=list)

    def add_example(self, example: Example) -> None:
        """Keep the :data:`MAX_EXAMPLES` most recent examples, most recent first."""
        self.examples.append(example)
        self.examples.sort(key=lambda e: e.posted_at, reverse=True)
        del self.examples[MAX_EXAMPLES:]


@dataclass(slots=True)
class FormatTally:
    """Per-format counts of relay messages; adds up over batches and files."""

    counts: dict[str, FormatCount] = field(default_factory=dict)

    def count(self, fmt: str) -> FormatCount:
        found = self.counts.get(fmt)
        if found is None:
            found = self.counts[fmt] = FormatCount()
        return found

    def add(self, other: FormatTally) -> None:
        """Add another tally's counts (and examples) into this one."""
        for fmt, theirs in other.counts.items():
            mine = self.count(fmt)
            mine.messages += theirs.messages
            mine.not_understood += theirs.not_understood
            for example in theirs.examples:
                mine.add_example(example)

    @property
    def messages(self) -> int:
        return sum(c.messages for c in self.counts.values())

    @property
    def not_understood(self) -> int:
        return sum(c.not_understood for c in self.counts.values())

    def ordered(self) -> list[tuple[str, FormatCount]]:
        """Formats by messages read (most first), then by name; nothing read last."""
        return sorted(
            self.counts.items(),
            key=lambda item: (item[0] == NOTHING_READ, -item[1].messages, item[0]),
        )

    def __bool__(self) -> bool:
        return bool(self.counts)


def tally(events: Iterable[ReadEvent], unread: Iterable[Unread] = ()) -> FormatTally:
    """Count relay messages per format from their events (Discord chatter is skipped) and the
    relay messages that gave none. A message's events come one after another."""
    out = FormatTally()
    current: int | None = None
    # This message's formats, each with its first unknown broadcast (None: all understood).
    seen: dict[str, ReadEvent | None] = {}
    for event in events:  # a loop on the import's hot path: kept plain
        if event.kind == "discord":
            continue
        message_id = event.message_id
        if message_id != current:
            if seen:
                _count_message(out, seen)
                seen = {}
            current = message_id
        fmt = event.format
        unknown = event.broadcast_type == _UNKNOWN
        if fmt not in seen:
            seen[fmt] = event if unknown else None
        elif unknown and seen[fmt] is None:
            seen[fmt] = event
    if seen:
        _count_message(out, seen)
    for message in unread:
        count = out.count(NOTHING_READ)
        count.messages += 1
        count.not_understood += 1
        count.add_example(Example(message.posted_at, excerpt(message.text)))
    return out


def _count_message(out: FormatTally, seen: dict[str, ReadEvent | None]) -> None:
    for fmt, first_unknown in seen.items():
        count = out.count(fmt)
        count.messages += 1
        if first_unknown is not None:
            count.not_understood += 1
            count.add_example(Example(first_unknown.posted_at, excerpt(first_unknown.text)))
