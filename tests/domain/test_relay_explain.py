"""``relay explain``'s reading of one message: what ingest would store, or why nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.broadcasts import coin_value
from domain.relay import BroadcastType, EmbedIn, RelayConfig, RelayMessageIn, parse_relay
from domain.relay_explain import explain

RELAY = 1_144_000_000_000_000_001
HUMAN = 2_000_000_000_000_000_001
CONFIG = RelayConfig(relay_author_ids=frozenset({RELAY}))
T0 = datetime(2025, 12, 23, 18, 0, tzinfo=UTC)


def _message(
    content: str, *, author: int = RELAY, embeds: tuple[EmbedIn, ...] = ()
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=7,
        channel_id=2,
        author_id=author,
        author_name="Osrs clanchat" if author == RELAY else "someone",
        is_bot=author == RELAY,
        webhook_id=RELAY if author == RELAY else None,
        content=content,
        embeds=embeds,
        posted_at=T0,
    )


def test_a_relay_chat_line_is_explained_as_ingest_reads_it() -> None:
    message = _message("**Zezima**: hello clan")
    explained = explain(message, CONFIG)
    (event,) = parse_relay(message, CONFIG)
    (part,) = explained.parts
    assert explained.trust == "relay id" and explained.understood
    assert (part.kind, part.format, part.player_name, part.player_key, part.text) == (
        "chat",
        event.format,
        "Zezima",
        "zezima",
        "hello clan",
    )
    assert part.broadcast_type is None and part.coins is None


def test_a_drop_gives_its_type_player_and_coin_value() -> None:
    sentence = "Zezima received a drop: Abyssal whip (1,456,814 coins)."
    (part,) = explain(_message(sentence), CONFIG).parts
    assert (part.kind, part.broadcast_type, part.player_name) == (
        "broadcast",
        BroadcastType.DROP.value,
        "Zezima",
    )
    assert part.coins == coin_value(sentence) == 1_456_814 and not part.level_99


def test_a_99_is_recognised_as_the_report_recognises_it() -> None:
    (part,) = explain(_message("Zezima has reached Attack level 99."), CONFIG).parts
    assert part.broadcast_type == BroadcastType.LEVEL.value and part.level_99


def test_an_unknown_broadcast_is_read_but_not_understood() -> None:
    explained = explain(_message("Zezima has frobnicated the wug"), CONFIG)
    (part,) = explained.parts
    assert part.broadcast_type == BroadcastType.UNKNOWN.value and not part.understood
    assert explained.relay and not explained.understood and not explained.nothing_read


def test_a_relay_message_with_nothing_readable_says_so() -> None:
    fields_only = (EmbedIn(fields=(("Boss", "Vorkath"),)),)
    explained = explain(_message("", embeds=fields_only), CONFIG)
    assert explained.parts == () and explained.nothing_read and not explained.understood


def test_a_human_author_is_not_a_relay_whatever_the_message_looks_like() -> None:
    spoof = _message("**Zezima**: I am the clan owner", author=HUMAN)
    explained = explain(spoof, CONFIG)
    assert explained.trust == "not a relay" and not explained.relay
    assert [(p.kind, p.player_name) for p in explained.parts] == [("discord", None)]
    assert not explained.understood


def test_as_relay_reads_a_human_message_as_a_relay_would_post_it() -> None:
    explained = explain(_message("**Zezima**: hi", author=HUMAN), CONFIG, as_relay=True)
    assert explained.trust == "as relay" and explained.understood
    assert [(p.kind, p.player_name) for p in explained.parts] == [("chat", "Zezima")]
    # the configuration itself is left alone
    assert HUMAN not in CONFIG.relay_author_ids
