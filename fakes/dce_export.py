"""DiscordChatExporter JSON exports for tests, the import benchmark and demos.

:func:`write_export` streams an export (header, then messages) to a file without holding the
messages in memory; :func:`relay_traffic` produces a realistic relay channel: clanchat.net
chat lines and broadcasts from a webhook, TrackScape embeds from a bot, repeat relays of the
same line a few seconds later, and ordinary members chatting.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
WEBHOOK_ID = 1_144_000_000_000_000_001
TRACKSCAPE_BOT_ID = 1_144_000_000_000_000_002
GUILD_ID = 1_100_000_000_000_000_000
CHANNEL_ID = 1_100_000_000_000_000_777

_PREG_SPECIALS = frozenset(".\\+*?[^]$(){}=!<>|:-#@~`")


def preg_quote(text: str) -> str:
    """What clanchat.net does to a line (PHP ``preg_quote`` plus ``@ ~ ```)."""
    return "".join("\\" + c if c in _PREG_SPECIALS else c for c in text)


def snowflake(at: datetime, sequence: int = 0) -> int:
    """A Discord snowflake for a moment (``sequence`` tells apart ids of the same ms)."""
    ms = int(at.timestamp() * 1000)
    return ((ms - DISCORD_EPOCH_MS) << 22) | (sequence & 0x3FFFFF)


def dce_message(
    message_id: int,
    at: datetime,
    content: str = "",
    *,
    author_id: int = WEBHOOK_ID,
    author_name: str = "Osrs clanchat",
    discriminator: str = "0000",
    is_bot: bool = True,
    embeds: Sequence[dict[str, Any]] = (),
    kind: str = "Default",
) -> dict[str, Any]:
    """One message entry as DCE writes it (with the fields the importer ignores, too)."""
    return {
        "id": str(message_id),
        "type": kind,
        "timestamp": at.isoformat(timespec="milliseconds"),
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": content,
        "author": {
            "id": str(author_id),
            "name": author_name,
            "discriminator": discriminator,
            "nickname": author_name,
            "color": None,
            "isBot": is_bot,
            "roles": [],
            "avatarUrl": "https://cdn.discordapp.com/embed/avatars/0.png",
        },
        "attachments": [],
        "embeds": list(embeds),
        "stickers": [],
        "reactions": [],
        "mentions": [],
        "inlineEmojis": [],
    }


def dce_embed(
    *,
    title: str | None = None,
    description: str | None = None,
    author_name: str | None = None,
    footer: str | None = None,
    author_icon_url: str | None = None,
) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": title or "",
        "url": None,
        "timestamp": None,
        "description": description or "",
        "color": "#2ECC71",
        "fields": [],
        "images": [],
        "inlineEmojis": [],
    }
    if author_name is not None:
        embed["author"] = {"name": author_name, "url": None}
        if author_icon_url is not None:
            embed["author"]["iconUrl"] = author_icon_url
    if footer is not None:
        embed["footer"] = {"text": footer}
    return embed


def write_export(
    path: Path,
    messages: Iterable[dict[str, Any]],
    *,
    channel_id: int = CHANNEL_ID,
    guild_id: int = GUILD_ID,
    truncate_last: bool = False,
) -> int:
    """Stream a DCE export to ``path``; returns the number of messages written.

    ``truncate_last`` cuts the file in the middle of its last message (an interrupted export).
    """
    count = 0
    with path.open("w", encoding="utf-8") as out:
        header = {
            "guild": {"id": str(guild_id), "name": "Clan", "iconUrl": ""},
            "channel": {
                "id": str(channel_id),
                "type": "GuildTextChat",
                "categoryId": None,
                "category": "Clan",
                "name": "clan-chat",
                "topic": None,
            },
            "dateRange": {"after": None, "before": None},
            "exportedAt": "2025-12-23T19:35:00+00:00",
        }
        out.write(json.dumps(header)[:-1] + ',"messages":[')
        last = ""
        for message in messages:
            if last:
                out.write(last + ",")
            last = json.dumps(message, ensure_ascii=False)
            count += 1
        if truncate_last and last:
            out.write(last[: len(last) // 2])
            return count
        out.write(last + f'],"messageCount":{count}}}')
    return count


# ---------------------------------------------------------------------------------------------
# Realistic traffic

_SYLLABLES = (
    "zez", "ima", "iron", "guy", "lynx", "tit", "mod", "bob", "woox", "b0aty", "sick", "nerd",
    "doc", "med", "fe", "ar", "kal", "dor", "gim", "pk", "skill", "er", "max", "ed", "tor",
    "va", "rune", "nak", "ey", "x", "q", "lol",
)  # fmt: skip
_RANKS = (
    "Captain", "Lieutenant", "Sergeant", "Corporal", "Recruit", "General", "Owner", "Admin",
)  # fmt: skip
_BADGES = ("Ironman", "Hardcore_ironman", "Ultimate_ironman", "Group_ironman")
_PHRASES = (
    "gz!", "anyone for cox?", "ty :)", "lol", "brb", "what's the best money maker?",
    "wc 420 for tob (need 2 more)", "gl on the grind", "nice drop!!", "how much for a bowfa?",
    "99 attack finally", "rip hc", "gn all", "hello", "can someone help with a quest?",
    "1-2-3 go", "who's up for a mass at 8pm #gg", "is the server laggy?", "gz on 99 :D",
)  # fmt: skip
_ITEMS = (
    ("Abyssal whip", "1,456,814"), ("Dragon bones", "2,310"), ("Voidwaker blade", "39,648,370"),
    ("Zulrah's scales", "80,000"), ("Rune platebody", "38,400"), ("Twisted buckler", "9,302,100"),
)  # fmt: skip
_SKILLS = ("Attack", "Defence", "Strength", "Hitpoints", "Magic", "Fishing", "Slayer")


def player_names(count: int, seed: int = 1) -> list[str]:
    """``count`` distinct valid display names (some with spaces, at most 12 characters)."""
    rng = random.Random(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        parts = [rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))]
        sep = rng.choice(["", "", " ", "_"])
        name = sep.join(parts)[:10].strip(" _")
        name = name[:1].upper() + name[1:] + (str(rng.randint(1, 99)) if rng.random() < 0.4 else "")
        key = name.lower().replace("_", " ")
        if name and key not in seen and len(name) <= 12:
            seen.add(key)
            names.append(name)
    return names


def _broadcast(rng: random.Random, name: str) -> tuple[str, str]:
    """A broadcast sentence and its icon."""
    roll = rng.random()
    if roll < 0.4:
        item, value = rng.choice(_ITEMS)
        return f"{name} received a drop: {item} ({value} coins).", "Guideprices"
    if roll < 0.7:
        return f"{name} has reached {rng.choice(_SKILLS)} level {rng.randint(50, 99)}.", "Statsicon"
    if roll < 0.85:
        return (
            f"{name} received a new collection log item: Elite void robe "
            f"({rng.randint(100, 1400)}/1477)",
            "Collectionlog",
        )
    return f"{name} has deposited {rng.randint(1, 99)},000,000 coins into the coffer.", "Coffer"


def relay_traffic(
    count: int,
    *,
    players: Sequence[str],
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    seed: int = 7,
    chatter_authors: int = 50,
) -> Iterator[dict[str, Any]]:
    """``count`` messages of a busy relay channel, in posting order.

    Mix: ~64% clanchat.net chat, ~17% broadcasts, ~10% members chatting in Discord, ~4%
    TrackScape embed messages (1–3 embeds), ~5% repeat relays of the previous line 1–5 s later.
    """
    rng = random.Random(seed)
    at = start
    sequence = 0
    previous: tuple[str, datetime] | None = None
    humans = [(5_000_000_000_000_000 + i, f"member{i}") for i in range(chatter_authors)]
    for _ in range(count):
        at += timedelta(milliseconds=rng.randint(200, 15_000))
        sequence += 1
        message_id = snowflake(at, sequence)
        roll = rng.random()
        if roll < 0.05 and previous is not None:
            content, first = previous
            echo = first + timedelta(milliseconds=rng.randint(1_000, 5_000))
            at = max(at, echo)
            yield dce_message(snowflake(at, sequence), at, content)
            continue
        name = rng.choice(players)
        if roll < 0.69:
            emojis = ""
            if rng.random() < 0.8:
                emojis += f"<:{rng.choice(_RANKS)}:1144312094422994944>"
            if rng.random() < 0.3:
                emojis += f"<:{rng.choice(_BADGES)}_chat_badge:1082980848200065034>"
            content = (
                f"{' ' if emojis else ''}{emojis} **{name}**: {preg_quote(rng.choice(_PHRASES))}"
            )
        elif roll < 0.86:
            sentence, icon = _broadcast(rng, name)
            content = f" <:{icon}:1147702301298016349>{preg_quote(sentence)}"
        elif roll < 0.96:
            author_id, author_name = rng.choice(humans)
            yield dce_message(
                message_id,
                at,
                rng.choice(_PHRASES) if rng.random() < 0.9 else f"**{name}**: hi",
                author_id=author_id,
                author_name=author_name,
                discriminator="0",
                is_bot=False,
            )
            continue
        else:
            embeds = [
                dce_embed(author_name=rng.choice(players), description=rng.choice(_PHRASES))
                for _ in range(rng.randint(1, 3))
            ]
            yield dce_message(
                message_id,
                at,
                author_id=TRACKSCAPE_BOT_ID,
                author_name="TrackScape",
                discriminator="1234",
                embeds=embeds,
            )
            continue
        previous = (content, at)
        yield dce_message(message_id, at, content)
