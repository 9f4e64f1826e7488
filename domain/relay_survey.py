"""Which authors of a channel's recent history look like relays, and how their lines read.

Pure: the answer behind ``/setup``'s relay step. A relay is a webhook (the RuneLite clan
chat plugins) or a bot (TrackScape, Dink …) that posts game chat into Discord. The admin
picks the relays from this list, so each author comes with what an admin needs to tell
them apart: how many messages they posted, one sample line, and the relay format the
parser recognised in them (the very parser ingest runs: :func:`domain.relay_explain.explain`,
each author trusted as a relay for the reading). People are never listed: a person's
message is never a relay's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from domain.relay import RelayConfig, RelayMessageIn
from domain.relay_explain import explain

__all__ = ["SAMPLE_MAX", "SeenAuthor", "survey_authors"]

#: A sample line is cut to this many characters (a select option's description holds 100).
SAMPLE_MAX = 90

AuthorKind = Literal["webhook", "bot"]


@dataclass(frozen=True, slots=True)
class SeenAuthor:
    """One webhook or bot seen in the history, newest name first."""

    author_id: int
    name: str
    kind: AuthorKind
    messages: int
    #: Messages in which the parser found game chat or a broadcast it understood.
    read: int
    #: A line of theirs: the newest one read as game chat, else their newest text.
    sample: str
    #: The relay formats recognised, most used first: ``(format, events)``.
    formats: tuple[tuple[str, int], ...] = field(default=())

    @property
    def recognised(self) -> bool:
        """True when at least one of their messages read as game chat or a broadcast."""
        return self.read > 0

    @property
    def format_label(self) -> str:
        """The recognised formats, or that none was."""
        if not self.formats:
            return "no relay format recognised"
        return ", ".join(name for name, _ in self.formats)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SAMPLE_MAX else line[: SAMPLE_MAX - 1] + "…"


def _raw_text(message: RelayMessageIn) -> str:
    """The message's own words: its content, else its first embed's words."""
    if message.content.strip():
        return message.content
    for embed in message.embeds:
        for text in (embed.description, embed.title, embed.author_name):
            if text and text.strip():
                return text
    return ""


@dataclass
class _Tally:
    author_id: int
    name: str
    kind: AuthorKind
    messages: int = 0
    read: int = 0
    sample: str = ""
    read_sample: str = ""
    formats: Counter[str] = field(default_factory=Counter)

    def frozen(self) -> SeenAuthor:
        ordered = sorted(self.formats.items(), key=lambda kv: (-kv[1], kv[0]))
        return SeenAuthor(
            author_id=self.author_id,
            name=self.name,
            kind=self.kind,
            messages=self.messages,
            read=self.read,
            sample=self.read_sample or self.sample,
            formats=tuple(ordered),
        )


def survey_authors(
    newest_first: Iterable[RelayMessageIn],
    config: RelayConfig,
    *,
    exclude: frozenset[int] = frozenset(),
) -> list[SeenAuthor]:
    """The webhooks and bots of ``newest_first`` (a channel's history, newest message first),
    the likeliest relays first: recognised ones, then by messages posted, then by id.

    ``exclude`` are author ids never listed (the bot itself).
    """
    tallies: dict[int, _Tally] = {}
    for message in newest_first:
        if message.webhook_id is None and not message.is_bot:
            continue  # a person
        if message.author_id in exclude:
            continue
        kind: AuthorKind = "webhook" if message.webhook_id is not None else "bot"
        tally = tallies.get(message.author_id)
        if tally is None:
            tally = tallies[message.author_id] = _Tally(
                message.author_id, message.author_name, kind
            )
        tally.messages += 1
        if not tally.sample:
            tally.sample = _one_line(_raw_text(message))
        reading = explain(message, config, as_relay=True)
        # Game chat, or a broadcast of a kind the reports know: a line a relay would post.
        game = [p for p in reading.parts if p.kind != "discord" and p.understood]
        if game:
            tally.read += 1
            tally.formats.update(part.format for part in game)
            if not tally.read_sample:
                tally.read_sample = _one_line(_sample_of(game[0].player_name, game[0].text))
    found = [t.frozen() for t in tallies.values()]
    return sorted(found, key=lambda a: (not a.recognised, -a.messages, a.author_id))


def _sample_of(player: str | None, text: str) -> str:
    return f"{player}: {text}" if player else text
