"""How one Discord message is read by the relay parser, part by part, or why not.

Pure: the answer behind ``clanstats relay explain``. It runs the very parser ingest runs
(:func:`domain.relay.parse_relay`) and the very value readers the reports use
(:func:`domain.broadcasts.coin_value`, :func:`domain.broadcasts.is_level_99`), so what it says
is what would be stored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from domain.broadcasts import coin_value, is_level_99
from domain.relay import BroadcastType, RelayConfig, RelayMessageIn, parse_relay

#: Why a message was read as relayed game chat (or not).
Trust = Literal["relay id", "as relay", "not a relay"]


@dataclass(frozen=True, slots=True)
class ExplainedPart:
    """One event the parser found, with what the reports would read from it."""

    part: int
    kind: str
    format: str
    player_name: str | None
    player_key: str | None
    text: str
    broadcast_type: str | None = None
    coins: int | None = None
    level_99: bool = False
    other_name: str | None = None
    rank_title: str | None = None
    account_type: str | None = None

    @property
    def understood(self) -> bool:
        """False for a broadcast nobody recognises (stored, credited to nobody)."""
        return not (self.kind == "broadcast" and self.broadcast_type == BroadcastType.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The message's reading: its parts, or why there are none (or why they are not game chat)."""

    author_id: int
    author_name: str
    trust: Trust
    parts: tuple[ExplainedPart, ...]

    @property
    def relay(self) -> bool:
        return self.trust != "not a relay"

    @property
    def nothing_read(self) -> bool:
        """A relay message the parser found no event in."""
        return self.relay and not self.parts

    @property
    def understood(self) -> bool:
        """Read as game chat, something found, every broadcast recognised."""
        return self.relay and bool(self.parts) and all(p.understood for p in self.parts)


def explain(message: RelayMessageIn, config: RelayConfig, *, as_relay: bool = False) -> Explanation:
    """Read ``message`` as ingest would; ``as_relay`` trusts its author as a relay first."""
    if config.is_relay(message):
        trust: Trust = "relay id"
    elif as_relay:
        trust = "as relay"
        config = dataclasses.replace(
            config, relay_author_ids=config.relay_author_ids | {message.author_id}
        )
    else:
        trust = "not a relay"
    parts = tuple(
        ExplainedPart(
            part=event.part,
            kind=event.kind,
            format=event.format,
            player_name=event.player_name,
            player_key=event.player_key,
            text=event.text,
            broadcast_type=event.broadcast_type.value if event.broadcast_type else None,
            coins=coin_value(event.text) if event.kind == "broadcast" else None,
            level_99=is_level_99(event.broadcast_type, event.text),
            other_name=event.other_name,
            rank_title=event.rank_title,
            account_type=event.account_type,
        )
        for event in parse_relay(message, config)
    )
    return Explanation(message.author_id, message.author_name, trust, parts)
