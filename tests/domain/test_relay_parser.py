"""Relay parsing: the examples of docs/relay-formats.md, older variants, embeds, spoofing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from domain.names import is_valid_key
from domain.relay import (
    BroadcastType,
    CustomFormat,
    EmbedIn,
    RelayConfig,
    RelayEvent,
    RelayMessageIn,
    account_type_of,
    classify_broadcast,
    parse_relay,
    type_from_title,
)

WEBHOOK_ID = 1_144_000_000_000_000_001
BOT_USER_ID = 1_144_000_000_000_000_002
MEMBER_ID = 555_000_000_000_000_001
POSTED = datetime(2025, 12, 23, 19, 35, tzinfo=UTC)
CONFIG = RelayConfig(relay_author_ids=frozenset({WEBHOOK_ID, BOT_USER_ID}), clan_name="Nevr Lucky")

_PREG_SPECIALS = set(".\\+*?[^]$(){}=!<>|:-#@~`")


def preg_quote(text: str) -> str:
    """What clanchat.net does to a line (PHP preg_quote plus @ ~ `)."""
    return "".join("\\" + c if c in _PREG_SPECIALS else c for c in text)


def message(
    content: str = "",
    embeds: tuple[EmbedIn, ...] = (),
    *,
    author_id: int = WEBHOOK_ID,
    author_name: str = "Osrs clanchat",
    webhook_id: int | None = WEBHOOK_ID,
    is_bot: bool = True,
) -> RelayMessageIn:
    return RelayMessageIn(
        message_id=1,
        channel_id=2,
        author_id=author_id,
        author_name=author_name,
        is_bot=is_bot,
        webhook_id=webhook_id,
        content=content,
        embeds=embeds,
        posted_at=POSTED,
    )


def bot_message(embeds: tuple[EmbedIn, ...], content: str = "") -> RelayMessageIn:
    return message(
        content, embeds, author_id=BOT_USER_ID, author_name="TrackScape", webhook_id=None
    )


def only(events: tuple[RelayEvent, ...]) -> RelayEvent:
    assert len(events) == 1, events
    return events[0]


# --- clanchat.net: literal raw lines --------------------------------------

CLANCHAT_NET_LINES = [
    pytest.param(
        " <:Captain:1144312094422994944><:Ironman_chat_badge:1082980848200065034> "
        "**Iron Guy**: gz\\! 99 attack \\:\\)",
        ("chat", "Iron Guy", "iron guy", "gz! 99 attack :)", None, "Captain", "ironman"),
        id="chat_with_rank_and_badge_is_unescaped",
    ),
    pytest.param(
        "**Zezima**: anyone for cox\\?",
        ("chat", "Zezima", "zezima", "anyone for cox?", None, None, None),
        id="bare_chat_is_unescaped",
    ),
    pytest.param(
        " <:Guideprices:1147702301298016349>Zezima received a drop\\: Abyssal whip "
        "\\(1,456,814 coins\\)\\.",
        (
            "broadcast",
            "Zezima",
            "zezima",
            "Zezima received a drop: Abyssal whip (1,456,814 coins).",
            BroadcastType.DROP,
            None,
            None,
        ),
        id="drop_with_type_icon",
    ),
    pytest.param(
        " <:Statsicon:1147702829029543996> Iron Guy has reached Attack level 99\\.",
        (
            "broadcast",
            "Iron Guy",
            "iron guy",
            "Iron Guy has reached Attack level 99.",
            BroadcastType.LEVEL,
            None,
            None,
        ),
        id="level_with_type_icon_and_spaced_name",
    ),
    pytest.param(
        " <:Collectionlog:1147701373455048814>Zezima received a new collection log item\\: "
        "Elite void robe \\(170/1477\\)",
        (
            "broadcast",
            "Zezima",
            "zezima",
            "Zezima received a new collection log item: Elite void robe (170/1477)",
            BroadcastType.COLLECTION_LOG,
            None,
            None,
        ),
        id="collection_log_with_type_icon",
    ),
    pytest.param(
        " <:AccountManagementCommunityicon:1147704337599041606>Victor Locke has been invited "
        "into the clan by IRuneNakey\\.",
        (
            "broadcast",
            "Victor Locke",
            "victor locke",
            "Victor Locke has been invited into the clan by IRuneNakey.",
            BroadcastType.INVITE,
            None,
            None,
        ),
        id="invite_names_the_invited_player",
    ),
    pytest.param(
        "Zezima has deposited 1,000,000 coins into the coffer\\.",
        (
            "broadcast",
            "Zezima",
            "zezima",
            "Zezima has deposited 1,000,000 coins into the coffer.",
            BroadcastType.COFFER,
            None,
            None,
        ),
        id="coffer_without_icon",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), CLANCHAT_NET_LINES)
def test_clanchat_net_literal_examples(raw: str, expected: tuple[object, ...]) -> None:
    event = only(parse_relay(message(raw), CONFIG))
    kind, name, key, text, btype, rank, account = expected
    assert event.kind == kind
    assert event.player_name == name
    assert event.player_key == key
    assert event.text == text
    assert event.broadcast_type == btype
    assert event.rank_title == rank
    assert event.account_type == account
    assert event.format == "clanchat_net"
    assert event.part == 0


# --- broadcast sentences: the game's broadcast sentences -----------------------

SENTENCES = [
    ("Zezima received a drop: Abyssal whip (1,456,814 coins).", BroadcastType.DROP, "Zezima", None),
    (
        "Zezima received a drop: 587 x Cannonball (111,530 coins).",
        BroadcastType.DROP,
        "Zezima",
        None,
    ),
    (
        "Zezima received a drop: Voidwaker blade (39,648,370 coins) from Vet'ion.",
        BroadcastType.DROP,
        "Zezima",
        None,
    ),
    (
        "Zezima received special loot from a raid: Twisted buckler.",
        BroadcastType.RAID_DROP,
        "Zezima",
        None,
    ),
    (
        "Zezima received a clue item: Blue wizard robe (g) (105,162 coins).",
        BroadcastType.CLUE_ITEM,
        "Zezima",
        None,
    ),
    (
        "Zezima has a funny feeling like he's being followed: Butch at 194 kills.",
        BroadcastType.PET,
        "Zezima",
        None,
    ),
    (
        "Zezima feels something weird sneaking into her backpack: Abyssal protector at 543 rift "
        "searches.",
        BroadcastType.PET,
        "Zezima",
        None,
    ),
    ("Zezima has reached Defence level 70.", BroadcastType.LEVEL, "Zezima", None),
    ("Zezima has reached combat level 104.", BroadcastType.LEVEL, "Zezima", None),
    ("Zezima has reached a total level of 2225.", BroadcastType.LEVEL, "Zezima", None),
    (
        "Zezima has reached the highest possible total level of 2277!",
        BroadcastType.LEVEL,
        "Zezima",
        None,
    ),
    ("Zezima has reached 78,000,000 XP in Fishing.", BroadcastType.XP_MILESTONE, "Zezima", None),
    (
        "Zezima received a new collection log item: Elite void robe (170/1477)",
        BroadcastType.COLLECTION_LOG,
        "Zezima",
        None,
    ),
    ("Zezima has completed a quest: The Fremennik Isles", BroadcastType.QUEST, "Zezima", None),
    (
        "Zezima has completed the Elite Lumbridge & Draynor diary.",
        BroadcastType.DIARY,
        "Zezima",
        None,
    ),
    (
        "Zezima has completed a hard combat task: Whack-a-Mole.",
        BroadcastType.COMBAT_TASK,
        "Zezima",
        None,
    ),
    (
        "Zezima has unlocked the Grandmaster tier of rewards from Combat Achievements!",
        BroadcastType.COMBAT_TIER,
        "Zezima",
        None,
    ),
    (
        "Zezima has achieved a new Vorkath personal best: 2:28",
        BroadcastType.PERSONAL_BEST,
        "Zezima",
        None,
    ),
    (
        "Zezima has defeated Emperor KB and received (972,728 coins) worth of loot!",
        BroadcastType.PVP,
        "Zezima",  # the winner
        "Emperor KB",
    ),
    (
        "Zezima has been defeated by Koishi Fumo in The Wilderness and lost (953,005 coins) "
        "worth of loot.",
        BroadcastType.PVP,
        "Zezima",  # the loser
        "Koishi Fumo",
    ),
    (
        "Med-iocore has opened a loot key worth 489,181 coins!",
        BroadcastType.LOOT_KEY,
        "Med-iocore",
        None,
    ),
    (
        "Victor Locke has been invited into the clan by IRuneNakey.",
        BroadcastType.INVITE,
        "Victor Locke",  # the invited player
        "IRuneNakey",
    ),
    ("Zezima has left the clan.", BroadcastType.LEFT, "Zezima", None),
    (
        "Mod Bob has expelled Zezima from the clan.",
        BroadcastType.EXPELLED,
        "Zezima",  # the expelled player
        "Mod Bob",
    ),
    (
        "Zezima has deposited 1,000,000 coins into the coffer.",
        BroadcastType.COFFER,
        "Zezima",
        None,
    ),
    (
        "Zezima has withdrawn 1,000,000 coins from the coffer.",
        BroadcastType.COFFER,
        "Zezima",
        None,
    ),
    (
        "Zezima has died and lost their Hardcore Ironman status.",
        BroadcastType.HCIM_DEATH,
        "Zezima",
        None,
    ),
]
SENTENCE_IDS = [f"{t.value}-{s[:28]}" for s, t, _, _ in SENTENCES]


@pytest.mark.parametrize(("sentence", "btype", "player", "other"), SENTENCES, ids=SENTENCE_IDS)
def test_broadcast_sentence_escaped_by_clanchat_net(
    sentence: str, btype: BroadcastType, player: str, other: str | None
) -> None:
    event = only(parse_relay(message(preg_quote(sentence)), CONFIG))
    assert (event.kind, event.broadcast_type) == ("broadcast", btype)
    assert event.player_name == player
    assert event.player_key is not None and is_valid_key(event.player_key)
    assert event.other_name == other
    assert event.text == sentence
    assert event.format == "clanchat_net"


@pytest.mark.parametrize(("sentence", "btype", "player", "other"), SENTENCES, ids=SENTENCE_IDS)
def test_broadcast_sentence_unescaped_with_nbsp_names(
    sentence: str, btype: BroadcastType, player: str, other: str | None
) -> None:
    # The older plugin posts unescaped; in-game names carry U+00A0 where they have a space.
    raw = sentence.replace(player, player.replace(" ", "\u00a0"), 1)
    event = only(parse_relay(message(raw), CONFIG))
    assert (event.kind, event.broadcast_type) == ("broadcast", btype)
    assert event.player_name == player
    assert event.other_name == other
    assert event.text == sentence


@pytest.mark.parametrize(
    ("sentence", "btype", "player"),
    [
        ("Zezima received a drop: Dragon bones (2,000 coins)", BroadcastType.DROP, "Zezima"),
        (
            "Zezima has a funny feeling like she would have been followed: Heron at 1,234 XP.",
            BroadcastType.PET,
            "Zezima",
        ),
        (
            "Zezima has achieved a new Chambers of Xeric (Team Size: 3 players) personal best: "
            "17:12",
            BroadcastType.PERSONAL_BEST,
            "Zezima",
        ),
        (
            "Zezima has completed an elite combat task: Peach Conjurer.",
            BroadcastType.COMBAT_TASK,
            "Zezima",
        ),
        ("Zezima has reached Runecraft level 99.", BroadcastType.LEVEL, "Zezima"),
        (
            "Zezima has defeated Bob in The Wilderness and received (1,000 coins) worth of loot!",
            BroadcastType.PVP,
            "Zezima",
        ),
        ("Bob has left has left the clan.", BroadcastType.LEFT, "Bob has left"),
        ("<img=2>Iron Guy has reached Attack level 99.", BroadcastType.LEVEL, "Iron Guy"),
        ("zezima HAS LEFT THE CLAN.", BroadcastType.LEFT, "zezima"),
    ],
)
def test_broadcast_variants_anchor_on_the_whole_verb_phrase(
    sentence: str, btype: BroadcastType, player: str
) -> None:
    found = classify_broadcast(sentence)
    assert (found.type, found.player_name) == (btype, player)


@pytest.mark.parametrize(
    "raw",
    [
        "Zezima has completed a hard combat task\\: CA_ID\\:1234\\|Whack\\-a\\-Mole\\.",
        "CA_ID\\:1234\\|Zezima has completed a hard combat task\\: Whack\\-a\\-Mole\\.",
        "Zezima has completed a hard combat task: CA_ID:1234|Whack-a-Mole.",
    ],
)
def test_combat_task_hidden_ca_id_prefix_is_dropped(raw: str) -> None:
    event = only(parse_relay(message(raw), CONFIG))
    assert event.broadcast_type is BroadcastType.COMBAT_TASK
    assert event.player_key == "zezima"
    assert event.text == "Zezima has completed a hard combat task: Whack-a-Mole."


@pytest.mark.parametrize(
    "raw",
    [
        "Something nobody has seen before happened\\.",
        "The clan has reached 500 members\\!",
        "<:Guideprices:1147702301298016349>???",
        "received a drop: nothing",
    ],
)
def test_unknown_broadcast_is_kept_unclassified_without_a_player(raw: str) -> None:
    event = only(parse_relay(message(raw), CONFIG))
    assert event.kind == "broadcast"
    assert event.broadcast_type is BroadcastType.UNKNOWN
    assert event.player_name is None and event.player_key is None
    assert event.text


# --- older variants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "key", "text", "fmt", "account"),
    [
        pytest.param(
            "**<:Ironman_chat_badge:1082980848200065034> Iron Guy**: hello",
            "Iron Guy",
            "iron guy",
            "hello",
            "node_relay",
            "ironman",
            id="node_relay_badge_inside_bold",
        ),
        pytest.param(
            "**<img=2>Iron\u00a0Guy**: <col=ff0000>hi there</col>",
            "Iron Guy",
            "iron guy",
            "hi there",
            "plugin_direct",
            None,
            id="plugin_direct_img_tag_nbsp_and_colour",
        ),
        pytest.param(
            "**Zezima**: a <lt>3 b <gt> c",
            "Zezima",
            "zezima",
            "a <3 b > c",
            "plugin_direct",
            None,
            id="plugin_direct_lt_gt_decoded",
        ),
        pytest.param(
            "**Zezima**: gz! :) \\o/",
            "Zezima",
            "zezima",
            "gz! :) \\o/",
            "plugin_direct",
            None,
            id="unescaped_text_keeps_its_backslashes",
        ),
        pytest.param(
            "**Med-iocore**: hi\\.",
            "Med-iocore",
            "med iocore",
            "hi.",
            "clanchat_net",
            None,
            id="hyphenated_name_keys_with_a_space",
        ),
        pytest.param(
            "**Doc_Of-Med**: hi",
            "Doc_Of-Med",
            "doc of med",
            "hi",
            "clanchat_net",
            None,
            id="underscore_and_hyphen_name",
        ),
        pytest.param(
            "**Zezima**: \\<col\\=ff0000\\>red\\</col\\>",
            "Zezima",
            "zezima",
            "red",
            "clanchat_net",
            None,
            id="escaped_colour_tag_is_unescaped_then_stripped",
        ),
    ],
)
def test_chat_variants(
    raw: str, name: str, key: str, text: str, fmt: str, account: str | None
) -> None:
    event = only(parse_relay(message(raw), CONFIG))
    assert event.kind == "chat"
    assert (event.player_name, event.player_key, event.text) == (name, key, text)
    assert event.format == fmt
    assert event.account_type == account


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("**ThisNameIsFarTooLong**: hi", "ThisNameIsFarTooLong"),
        ("**Zez!ma**: hi", "Zez!ma"),
        ("**Zezima The Great**: hi", "Zezima The Great"),
    ],
)
def test_chat_from_an_impossible_name_is_kept_without_a_key(raw: str, name: str) -> None:
    event = only(parse_relay(message(raw), CONFIG))
    assert event.kind == "chat"
    assert event.player_name == name
    assert event.player_key is None


@pytest.mark.parametrize(
    ("badge", "account"),
    [
        ("Ironman_chat_badge", "ironman"),
        ("Hardcore_ironman_chat_badge", "hardcore_ironman"),
        ("Ultimate_ironman_chat_badge", "ultimate_ironman"),
        ("Group_ironman_chat_badge", "group_ironman"),
        ("Hardcore_group_ironman", "hardcore_group_ironman"),
        ("Unranked_group_ironman_chat_badge", "unranked_group_ironman"),
        ("HCIM", "hardcore_ironman"),
        ("Captain", None),
        ("Guideprices", None),
    ],
)
def test_account_badges_are_normalised(badge: str, account: str | None) -> None:
    assert account_type_of(badge) == account


def test_chat_line_rank_title_and_hardcore_badge() -> None:
    raw = "<:General:1><:Hardcore_ironman_chat_badge:2> **Short Guy**: hi"
    event = only(parse_relay(message(raw), CONFIG))
    assert (event.rank_title, event.account_type) == ("General", "hardcore_ironman")


def test_several_lines_in_one_post_give_numbered_parts() -> None:
    raw = "**Zezima**: one\n\n**Iron Guy**: two\\!\nZezima has left the clan\\."
    events = parse_relay(message(raw), CONFIG)
    assert [(e.part, e.kind, e.player_key) for e in events] == [
        (0, "chat", "zezima"),
        (1, "chat", "iron guy"),
        (2, "broadcast", "zezima"),
    ]


@pytest.mark.parametrize("content", ["", "   ", "\n\n", "<:Guideprices:1147702301298016349>"])
def test_empty_relay_message_gives_no_events(content: str) -> None:
    assert parse_relay(message(content), CONFIG) == ()


# --- spoofing: trust comes from configured ids only -------------------------------------------


@pytest.mark.parametrize(
    ("author_id", "author_name", "webhook_id", "is_bot"),
    [
        pytest.param(MEMBER_ID, "Zezima", None, False, id="ordinary_member"),
        pytest.param(MEMBER_ID, "Osrs clanchat", None, False, id="user_named_like_the_webhook"),
        pytest.param(777, "Osrs clanchat", 777, True, id="unconfigured_webhook_same_name"),
        pytest.param(888, "TrackScape", None, True, id="unconfigured_bot"),
    ],
)
@pytest.mark.parametrize(
    "content",
    [
        "**Zezima**: hi",
        "<:Captain:1><:Ironman_chat_badge:2> **Zezima**: gz\\!",
        "Zezima received a drop\\: Abyssal whip \\(1,456,814 coins\\)\\.",
    ],
)
def test_post_from_unconfigured_author_is_discord_chatter_not_attributed(
    author_id: int, author_name: str, webhook_id: int | None, is_bot: bool, content: str
) -> None:
    msg = message(
        content,
        (EmbedIn(author_name="Zezima", description="hi"),),
        author_id=author_id,
        author_name=author_name,
        webhook_id=webhook_id,
        is_bot=is_bot,
    )
    event = only(parse_relay(msg, CONFIG))
    assert event.kind == "discord"
    assert event.player_name is None and event.player_key is None
    assert event.broadcast_type is None
    assert event.text == content
    assert event.format == "discord"


def test_empty_post_from_ordinary_user_is_one_discord_event() -> None:
    event = only(parse_relay(message("", author_id=MEMBER_ID, webhook_id=None), CONFIG))
    assert (event.kind, event.text) == ("discord", "")


def test_relay_trusted_by_bot_user_id_without_webhook() -> None:
    msg = message("**Zezima**: hi", author_id=BOT_USER_ID, webhook_id=None)
    assert only(parse_relay(msg, CONFIG)).player_key == "zezima"


def test_relay_trusted_by_webhook_id_even_when_renamed() -> None:
    msg = message(
        "**Zezima**: hi", author_id=12345, author_name="Renamed hook", webhook_id=WEBHOOK_ID
    )
    assert only(parse_relay(msg, CONFIG)).player_key == "zezima"


# --- TrackScape -------------------------------------------------------------------------------


def test_trackscape_message_with_several_embeds_gives_one_event_per_embed() -> None:
    embeds = (
        EmbedIn(author_name="Zezima", description="anyone for cox?"),
        EmbedIn(author_name="Med iocore", description="me!"),
        EmbedIn(
            author_name="NEVR  LUCKY",
            description="Iron Guy received a drop: Abyssal whip (1,456,814 coins).",
        ),
        EmbedIn(),
    )
    events = parse_relay(bot_message(embeds), CONFIG)
    assert [(e.part, e.kind, e.player_key, e.format) for e in events] == [
        (0, "chat", "zezima", "trackscape"),
        (1, "chat", "med iocore", "trackscape"),
        (2, "broadcast", "iron guy", "trackscape"),
    ]
    assert events[0].text == "anyone for cox?"
    assert events[2].broadcast_type is BroadcastType.DROP


def test_trackscape_broadcast_channel_title_and_sentence() -> None:
    embed = EmbedIn(
        title=":tada: New High Value drop!",
        description="Zezima received a drop: Voidwaker blade (39,648,370 coins) from Vet'ion.",
    )
    event = only(parse_relay(bot_message((embed,)), CONFIG))
    assert (event.kind, event.broadcast_type, event.player_key) == (
        "broadcast",
        BroadcastType.DROP,
        "zezima",
    )


def test_trackscape_broadcast_channel_unknown_sentence_falls_back_on_the_title() -> None:
    embed = EmbedIn(title=":tada: New Pet!", description="Something fluffy follows Zezima.")
    event = only(parse_relay(bot_message((embed,)), CONFIG))
    assert (event.broadcast_type, event.player_key) == (BroadcastType.PET, None)


CLAN_ICON = "https://oldschool.runescape.wiki/images/Your_Clan_icon.png"


def test_trackscape_clan_icon_marks_the_clan_line_without_a_known_clan_name() -> None:
    config = RelayConfig(relay_author_ids=frozenset({BOT_USER_ID}))
    embed = EmbedIn(
        author_name="Nevr Lucky", description="Zezima has left the clan.", author_icon_url=CLAN_ICON
    )
    event = only(parse_relay(bot_message((embed,)), config))
    assert (event.kind, event.player_key) == ("broadcast", "zezima")


def test_trackscape_author_matching_no_member_is_never_a_players_line() -> None:
    config = RelayConfig(
        relay_author_ids=frozenset({BOT_USER_ID}), member_keys=frozenset({"zezima", "bob"})
    )
    clan = EmbedIn(author_name="Nevr Lucky", description="Something nobody words like this.")
    spoof = EmbedIn(author_name="Bob", description="Zezima received a drop: lol jk")
    first, second = parse_relay(bot_message((clan, spoof)), config)
    assert (first.kind, first.player_key, first.broadcast_type) == (
        "broadcast",
        None,
        BroadcastType.UNKNOWN,
    )
    assert (second.kind, second.player_key, second.text) == (
        "chat",
        "bob",
        "Zezima received a drop: lol jk",
    )


def test_trackscape_with_nothing_known_credits_the_author_only() -> None:
    config = RelayConfig(relay_author_ids=frozenset({BOT_USER_ID}))
    embed = EmbedIn(author_name="Bob", description="Zezima received a drop: lol jk")
    event = only(parse_relay(bot_message((embed,)), config))
    assert (event.kind, event.player_key) == ("chat", "bob")


def test_trackscape_chat_quoting_a_broadcast_about_oneself_stays_chat() -> None:
    config = RelayConfig(relay_author_ids=frozenset({BOT_USER_ID}))
    embed = EmbedIn(author_name="Zezima", description="Zezima has left the clan.")
    event = only(parse_relay(bot_message((embed,)), config))
    assert (event.kind, event.player_key) == ("chat", "zezima")


# --- Dink -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "btype"),
    [
        ("Loot Drop", BroadcastType.DROP),
        ("Level Up", BroadcastType.LEVEL),
        ("Collection Log", BroadcastType.COLLECTION_LOG),
        ("Pet Obtained", BroadcastType.PET),
        ("Quest", BroadcastType.QUEST),
        ("Quest Completed", BroadcastType.QUEST),
        ("Achievement Diary", BroadcastType.DIARY),
        ("Combat Achievement", BroadcastType.COMBAT_TASK),
        ("Personal Best", BroadcastType.PERSONAL_BEST),
        ("Quest Speedrunning", BroadcastType.PERSONAL_BEST),
        ("Player Kill", BroadcastType.PVP),
        ("Clue Scroll", BroadcastType.CLUE_ITEM),
        ("Death", BroadcastType.DEATH),
        ("Player Death", BroadcastType.DEATH),
        ("Slayer Task", BroadcastType.SLAYER),
        ("Completion Count", BroadcastType.KILL_COUNT),
        ("ToA Unique", BroadcastType.RAID_DROP),
        ("[Seasonal] Loot Drop", BroadcastType.DROP),
        ("Barbarian Assault Gamble", BroadcastType.UNKNOWN),
    ],
)
def test_dink_embed_title_gives_the_type_and_author_gives_the_player(
    title: str, btype: BroadcastType
) -> None:
    embed = EmbedIn(
        title=title,
        author_name="Med-iocore",
        description="Med-iocore did something worth telling.",
        footer="Powered by Dink",
    )
    event = only(parse_relay(message("", (embed,)), CONFIG))
    assert (event.kind, event.format, event.broadcast_type) == ("broadcast", "dink", btype)
    assert (event.player_name, event.player_key) == ("Med-iocore", "med iocore")
    assert event.text == "Med-iocore did something worth telling."


def test_dink_death_of_a_hardcore_is_read_from_the_description() -> None:
    embed = EmbedIn(
        title="Death",
        author_name="Zezima",
        description="Zezima has died and lost their Hardcore Ironman status.",
    )
    assert only(parse_relay(message("", (embed,)), CONFIG)).broadcast_type is (
        BroadcastType.HCIM_DEATH
    )


@pytest.mark.parametrize(
    ("title", "btype"),
    [(":tada: New High Value drop!", BroadcastType.DROP), ("<:x:1> New Pet!", BroadcastType.PET)],
)
def test_type_from_title_ignores_emojis(title: str, btype: BroadcastType) -> None:
    assert type_from_title(title) is btype


# --- custom formats ---------------------------------------------------------------------------

BRACKET = CustomFormat.compile(
    "bracket", r"^\[(?P<rank>[^\]]*)\] (?:(?P<player>[A-Za-z0-9 _\-]{1,12}): )?(?P<text>.+)$"
)


@pytest.mark.parametrize(
    ("raw", "kind", "key", "text", "btype"),
    [
        ("[Captain] Med-iocore: hello there", "chat", "med iocore", "hello there", None),
        (
            "[Clan] Zezima has left the clan.",
            "broadcast",
            "zezima",
            "Zezima has left the clan.",
            BroadcastType.LEFT,
        ),
    ],
)
def test_custom_format_is_tried_before_the_builtin_shapes(
    raw: str, kind: str, key: str, text: str, btype: BroadcastType | None
) -> None:
    config = RelayConfig(relay_author_ids=frozenset({WEBHOOK_ID}), custom_formats=(BRACKET,))
    event = only(parse_relay(message(raw), config))
    assert (event.kind, event.player_key, event.text) == (kind, key, text)
    assert event.broadcast_type == btype
    assert event.format == "bracket"


def test_custom_format_rank_group_fills_rank_title() -> None:
    config = RelayConfig(relay_author_ids=frozenset({WEBHOOK_ID}), custom_formats=(BRACKET,))
    assert only(parse_relay(message("[Captain] Zezima: hi"), config)).rank_title == "Captain"


def test_lines_not_matching_a_custom_format_use_the_builtin_shapes() -> None:
    config = RelayConfig(relay_author_ids=frozenset({WEBHOOK_ID}), custom_formats=(BRACKET,))
    event = only(parse_relay(message("**Zezima**: hi"), config))
    assert (event.format, event.player_key) == ("clanchat_net", "zezima")


@pytest.mark.parametrize(
    ("name", "regex", "message_part"),
    [
        ("mine", r"(?P<player>\w+): (?P<txt>.*)", "missing: text"),
        ("mine", r"(\w+): (?P<text>.*)", "missing: player"),
        ("mine", r"(?P<player>\w+: (?P<text>.*)", "invalid regular expression"),
        ("  ", r"(?P<player>\w+): (?P<text>.*)", "name must not be empty"),
        ("dink", r"(?P<player>\w+): (?P<text>.*)", "taken by a built-in format"),
    ],
)
def test_custom_format_compile_explains_what_is_wrong(
    name: str, regex: str, message_part: str
) -> None:
    with pytest.raises(ValueError, match=message_part):
        CustomFormat.compile(name, regex)


# --- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "a has defeated " * 300,
        "x has been defeated by y in " * 200,
        "**" + "a" * 3000 + "**",
        "\\" * 4000,
        "<:a:1>" * 600,
        "Zezima has completed the " + "x " * 2000,
    ],
)
def test_hostile_long_content_parses_quickly(hostile: str) -> None:
    started = time.perf_counter()
    events = parse_relay(message(hostile), CONFIG)
    embed_events = parse_relay(message("", (EmbedIn(description=hostile, title=hostile),)), CONFIG)
    assert time.perf_counter() - started < 2.0
    assert all(e.player_key is None or is_valid_key(e.player_key) for e in events + embed_events)


def test_every_broadcast_rule_has_a_literal_phrase_it_cannot_match_without() -> None:
    from domain.relay import _RULES

    for needle, _kind, pattern in _RULES:
        assert needle == needle.lower()
        assert needle in pattern.pattern.lower(), (needle, pattern.pattern)


@pytest.mark.parametrize(
    "sentence",
    [
        "Zezima RECEIVED A DROP: Abyssal whip",  # case-insensitive, like the rules
        "Zezima has opened a loot \u212aey worth 5 coins",  # Kelvin sign K matches k
    ],
)
def test_broadcast_prefilter_keeps_case_insensitive_matches(sentence: str) -> None:
    from domain.relay import _SENTENCES, classify_broadcast

    expected = next(
        (kind for kind, pattern in _SENTENCES if pattern.match(sentence)), BroadcastType.UNKNOWN
    )
    assert expected is not BroadcastType.UNKNOWN
    assert classify_broadcast(sentence).type is expected
