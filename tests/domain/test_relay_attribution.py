"""Attribution that cannot go wrong, over generated messages of every relay format.

Whatever the tool, the clan's name, the relayer or the text: a credited player is a name the
message itself carries as the line's author or as the broadcast's subject, and never the
clan (TrackScape's author of the clan's lines) or a relayer (Dink's chat notifier).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.names import name_key
from domain.relay import EmbedIn, RelayConfig, RelayMessageIn, parse_relay

WEBHOOK = 1_144_000_000_000_000_001
BOT = 1_144_000_000_000_000_002
CLAN_ICON = "https://oldschool.runescape.wiki/images/Your_Clan_icon.png"
RANK_ICON = "https://oldschool.runescape.wiki/images/Clan_icon_-_Captain.png"
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SPECIALS = set(".\\+*?[^]$(){}=!<>|:-#")

# Broadcast sentences in every wording the catalogue knows; {} is the subject.
SENTENCES = [
    "{} received a drop: Abyssal whip (1,456,814 coins).",
    "{} received special loot from a raid: Twisted bow.",
    "{} has a funny feeling like she's being followed: Heron at 5,000,000 XP.",
    "{} feels like she's acquired something special: Olmlet at 50 killcount.",
    "{} has reached the highest possible combat level of 126!",
    "{} has reached Attack level 99.",
    "{} has been defeated by Koishi Fumo in The Wilderness.",
    "{} has completed a Hard combat task: Whack-a-Mole.",
    "{} has opened a loot key worth 489,181 coins!",
    "{} has joined.",
    "{} has unlocked their tier 3 League relic!",
    "{} has levelled [Attack](https://oldschool.runescape.wiki/w/Attack) to 99",
    "{} has looted: \n\n1 x Abyssal whip (1.45M)\nFrom: Abyssal demon",
    "{} has defeated Vorkath with a new personal best time of 1:05 and a completion count of 9",
    "{} rolled a purple (unique) drop from Tombs of Amascut!",
]

name_chars = string.ascii_letters + string.digits
names = st.builds(
    lambda first, rest: (first + rest).strip(),
    st.sampled_from(string.ascii_letters),
    st.text(alphabet=name_chars + " -_", max_size=11),
).filter(lambda n: 1 <= len(n) <= 12 and "  " not in n)
chatter = st.text(alphabet=string.ascii_letters + string.digits + " !?.,'()", max_size=60)


@dataclass(frozen=True)
class Case:
    message: RelayMessageIn
    config: RelayConfig
    allowed: frozenset[str]  # name keys the message carries as author or subject
    forbidden: frozenset[str]  # the clan's and the relayer's keys


def pq(text: str) -> str:
    out = "".join("\\" + c if c in _SPECIALS else c for c in text)
    return out.replace("@", "\\@").replace("~", "\\~").replace("`", "\\`")


def msg(
    content: str = "", embeds: tuple[EmbedIn, ...] = (), *, bot: bool = False
) -> RelayMessageIn:
    author = BOT if bot else WEBHOOK
    return RelayMessageIn(
        message_id=1,
        channel_id=2,
        author_id=author,
        author_name="relay",
        is_bot=True,
        webhook_id=None if bot else author,
        content=content,
        embeds=embeds,
        posted_at=datetime(2025, 12, 23, tzinfo=UTC),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    author, subject, clan, relayer = draw(
        st.lists(names, min_size=4, max_size=4, unique_by=name_key)
    )
    text = draw(chatter)
    sentence = draw(st.sampled_from(SENTENCES))
    # The line's text may quote a broadcast about someone else, or be anything.
    said = draw(st.sampled_from([text, sentence.format(subject).split("\n")[0]]))
    told = draw(st.sampled_from([sentence.format(subject), text or "nothing to see"]))
    # How the clan is told apart: its in-game name is known; or only the roster is (before
    # the name is); or nothing is, and only TrackScape's clan icon tells (as it always does).
    identity = draw(st.sampled_from(["name", "roster", "icon"]))
    config = RelayConfig(
        relay_author_ids=frozenset({WEBHOOK, BOT}),
        clan_name=clan if identity == "name" else None,
        member_keys=(
            frozenset({name_key(author), name_key(subject)})
            if identity == "roster"
            else frozenset()
        ),
    )
    clan_icon = CLAN_ICON if identity == "icon" else draw(st.sampled_from([CLAN_ICON, None]))
    shapes: dict[str, Callable[[], RelayMessageIn]] = {
        "clanchat_net chat": lambda: msg(f" <:Captain:1> **{author}**: {pq(said)}"),
        "clanchat_net broadcast": lambda: msg("<:Guideprices:2>" + pq(told.split("\n")[0])),
        "clanchat_net 2023": lambda: msg("****: " + told.split("\n")[0]),
        "plugin direct chat": lambda: msg(f"**<img=2>{author}**: {said}"),
        "node relay chat": lambda: msg(f"**<:Ironman_chat_badge:3> {author}**: {said}"),
        "trackscape chat": lambda: msg(
            embeds=(EmbedIn(author_name=author, description=said, author_icon_url=RANK_ICON),),
            bot=True,
        ),
        "trackscape clan line": lambda: msg(
            embeds=(
                EmbedIn(
                    author_name=clan,
                    description=told,
                    author_icon_url=clan_icon,
                ),
            ),
            bot=True,
        ),
        "trackscape broadcast channel": lambda: msg(
            embeds=(EmbedIn(title=":tada: New drop!", description=told),), bot=True
        ),
        "dink embed": lambda: msg(
            embeds=(EmbedIn(title="Loot Drop", author_name=author, description=told),)
        ),
        "dink chat notifier": lambda: msg(
            embeds=(
                EmbedIn(
                    title="Chat Notification",
                    author_name=relayer,
                    description=f"{relayer} received a chat message:\n\n```\n{told}\n```",
                ),
            )
        ),
        "dink plain chat notifier": lambda: msg(
            f"{relayer} received a chat message:\n\n```\n{told}\n```"
        ),
        "dink plain text": lambda: msg(told),
        "chat logger": lambda: msg(f"**[{clan}]** **{author}** : {said}"),
    }
    shape = draw(st.sampled_from(sorted(shapes)))
    return Case(
        shapes[shape](),
        config,
        allowed=frozenset({name_key(author), name_key(subject)}),
        forbidden=frozenset({name_key(clan), name_key(relayer)}),
    )


@SETTINGS
@given(cases())
def test_credited_player_is_the_author_or_the_subject_never_the_clan_or_relayer(
    case: Case,
) -> None:
    for event in parse_relay(case.message, case.config):
        if event.player_key is None:
            continue
        assert event.player_key not in case.forbidden, event
        carried = name_key(event.player_name or "") in case.allowed or (
            # a random text that happens to read as a sentence names its own subject
            (event.player_name or "").lower() in case.message.content.lower()
            or any(
                (event.player_name or "").lower() in (e.description or "").lower()
                for e in case.message.embeds
            )
        )
        assert carried, event


@SETTINGS
@given(author=names, subject=names, sentence=st.sampled_from(SENTENCES))
def test_a_human_quoting_a_broadcast_is_credited_with_a_chat_line(
    author: str, subject: str, sentence: str
) -> None:
    line = sentence.format(subject).split("\n")[0]
    config = RelayConfig(relay_author_ids=frozenset({WEBHOOK, BOT}))
    for message in (
        msg(f"**{author}**: {pq(line)}"),
        msg(
            embeds=(EmbedIn(author_name=author, description=line, author_icon_url=RANK_ICON),),
            bot=True,
        ),
    ):
        [event] = parse_relay(message, config)
        assert (event.kind, event.player_key) == ("chat", name_key(author))
