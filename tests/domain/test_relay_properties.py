"""Properties of the relay parser: it never raises and never trusts an unconfigured author."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.names import is_valid_key, name_key
from domain.relay import CustomFormat, EmbedIn, RelayConfig, RelayMessageIn, parse_relay

POSTED = datetime(2025, 12, 23, tzinfo=UTC)
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Pieces of real relay traffic, so random content often looks almost right.
FRAGMENTS = [
    "**",
    "**Zezima**: ",
    "**Iron\u00a0Guy**: ",
    "**<:Ironman_chat_badge:1082980848200065034> Iron Guy**: ",
    "<:Captain:1144312094422994944>",
    "<img=2>",
    "<col=ff0000>",
    "</col>",
    "<lt>",
    "<gt>",
    "\\",
    "\\:",
    "\\.",
    "CA_ID:12|",
    " received a drop: ",
    " has been defeated by ",
    " has defeated ",
    " in The Wilderness and lost ",
    " and received ",
    " has expelled ",
    " from the clan.",
    " has been invited into the clan by ",
    " has reached ",
    " level ",
    "\u00a0",
    "\n",
    "Med-iocore",
    "Zezima",
    " ",
]

content_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=25).map("".join),
)
optional_text = st.none() | content_text
embeds = st.lists(
    st.builds(
        EmbedIn,
        title=optional_text,
        description=optional_text,
        author_name=st.none() | st.sampled_from(["Zezima", "Nevr Lucky", "Med iocore"]) | st.text(),
        footer=optional_text,
        url=st.none() | st.text(max_size=20),
        fields=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3).map(
            tuple
        ),
    ),
    max_size=4,
).map(tuple)
ids = st.integers(min_value=0, max_value=2**64 - 1)

CUSTOM = CustomFormat.compile(
    "bracket", r"^\[(?P<rank>[^\]]*)\] (?:(?P<player>[^:]{1,20}): )?(?P<text>.*)$"
)
configs = st.builds(
    RelayConfig,
    relay_author_ids=st.frozensets(ids, max_size=3),
    clan_name=st.none() | st.sampled_from(["Nevr Lucky", "Zezima"]) | st.text(max_size=15),
    custom_formats=st.sampled_from([(), (CUSTOM,)]),
)


def build(
    content: str,
    embed_list: tuple[EmbedIn, ...],
    author_id: int,
    webhook_id: int | None,
    is_bot: bool = True,
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=1,
        channel_id=2,
        author_id=author_id,
        author_name="Osrs clanchat",
        is_bot=is_bot,
        webhook_id=webhook_id,
        content=content,
        embeds=embed_list,
        posted_at=POSTED,
    )


@PROPERTY_SETTINGS
@given(
    content=content_text,
    embed_list=embeds,
    author_id=ids,
    webhook_id=st.none() | ids,
    is_bot=st.booleans(),
    config=configs,
)
def test_unconfigured_author_is_never_attributed(
    content: str,
    embed_list: tuple[EmbedIn, ...],
    author_id: int,
    webhook_id: int | None,
    is_bot: bool,
    config: RelayConfig,
) -> None:
    trusted = config.relay_author_ids - {author_id, webhook_id}
    config = RelayConfig(trusted, config.clan_name, config.custom_formats)
    events = parse_relay(build(content, embed_list, author_id, webhook_id, is_bot), config)
    assert len(events) == 1
    (event,) = events
    assert event.kind == "discord"
    assert event.player_key is None and event.player_name is None
    assert event.text == content


@PROPERTY_SETTINGS
@given(content=content_text, embed_list=embeds, use_webhook=st.booleans(), config=configs)
def test_relay_messages_never_raise_and_only_produce_valid_keys(
    content: str, embed_list: tuple[EmbedIn, ...], use_webhook: bool, config: RelayConfig
) -> None:
    relay_id = 4242
    config = RelayConfig(
        config.relay_author_ids | {relay_id}, config.clan_name, config.custom_formats
    )
    msg = (
        build(content, embed_list, author_id=relay_id, webhook_id=relay_id)
        if use_webhook
        else build(content, embed_list, author_id=relay_id, webhook_id=None)
    )
    events = parse_relay(msg, config)
    assert [e.part for e in events] == list(range(len(events)))
    for event in events:
        assert event.kind in ("chat", "broadcast")
        assert event.format != "discord"
        assert event.player_key is None or is_valid_key(event.player_key)
        if event.player_key is not None:
            assert event.player_name is not None
            assert name_key(event.player_name) == event.player_key
        assert (event.broadcast_type is None) == (event.kind == "chat")


names = st.from_regex(r"[A-Za-z0-9]{1,4}(?:[ _\-][A-Za-z0-9]{1,3}){0,2}", fullmatch=True)
chat_text = st.text(
    alphabet=string.ascii_letters + string.digits + " .!?:()-+*[]{}$^=|#@~`/,'\\", max_size=60
)
_PREG = set(".\\+*?[^]$(){}=!<>|:-#@~`")


@PROPERTY_SETTINGS
@given(name=names, text=chat_text, nbsp=st.booleans())
def test_clanchat_net_chat_round_trips_name_and_escaped_text(
    name: str, text: str, nbsp: bool
) -> None:
    escaped = "".join("\\" + c if c in _PREG else c for c in text)
    shown = name.replace(" ", "\u00a0") if nbsp else name
    config = RelayConfig(relay_author_ids=frozenset({1}))
    events = parse_relay(build(f"**{shown}**: {escaped}", (), 1, 1), config)
    assert len(events) == 1
    (event,) = events
    assert event.kind == "chat"
    assert event.player_key == name_key(name)
    assert event.text == text.strip()
