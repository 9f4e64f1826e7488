"""A scripted day of relayed clan chat, in every relay format the bot reads.

Used by ``clanstats demo`` and the end-to-end tests. Names are real members of the recorded
clan (plus one who is not in the WOM group), so attribution can be checked against the roster.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fakes.world import CLAN_NAME, MEMBER_USER_ID, RELAY_WEBHOOK_ID, TRACKSCAPE_BOT_ID

# The author icons TrackScape gives a player's line (their rank's) and the clan's own line.
_RANK_ICON = "https://oldschool.runescape.wiki/images/Clan_icon_-_Captain.png"
_CLAN_ICON = "https://oldschool.runescape.wiki/images/Your_Clan_icon.png"

CAPTAIN = "<:Captain:1144312094422994944>"
IRON = "<:Ironman_chat_badge:1082980848200065034>"
DROP_ICON = "<:Guideprices:1147702301298016349>"
STATS_ICON = "<:Statsicon:1147702829029543996>"
CLOG_ICON = "<:Collectionlog:1147701373455048814>"
INVITE_ICON = "<:AccountManagementCommunityicon:1147704337599041606>"

_SPECIAL = set(".\\+*?[^]$(){}=!<>|:-#@~`")


def preg_quote(text: str) -> str:
    """Escape like clanchat.net does (PHP ``preg_quote`` plus ``@ ~ ```)."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in text)


@dataclass(frozen=True)
class ScriptedPost:
    """One post into the relay channel: keyword arguments for ``FakeDiscord.post_message``."""

    minute: int
    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    webhook_id: int | None = RELAY_WEBHOOK_ID
    author_id: int | None = None
    note: str = ""
    expect: dict[str, Any] = field(default_factory=dict)

    def post_kwargs(self, day_start: datetime) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "content": self.content,
            "embeds": [dict(e) for e in self.embeds],
            "timestamp": day_start + timedelta(minutes=self.minute),
        }
        if self.webhook_id is not None:
            kwargs["webhook_id"] = self.webhook_id
        if self.author_id is not None:
            kwargs["author_id"] = self.author_id
        return kwargs


def chat(minute: int, name: str, text: str, *, badges: str = "", **kw: Any) -> ScriptedPost:
    return ScriptedPost(minute, f" {badges}**{name}**: {preg_quote(text)}", **kw)


def broadcast(minute: int, sentence: str, *, icon: str = "", **kw: Any) -> ScriptedPost:
    return ScriptedPost(minute, f" {icon}{preg_quote(sentence)}", **kw)


def scripted_day() -> list[ScriptedPost]:
    """The day, in posting order (minutes after the day's start)."""
    return [
        chat(0, "partymarty94", "morning all :)", badges=CAPTAIN),
        chat(3, "DocOfMed", "gm! anyone for cox?"),
        chat(4, "vanvolter ii", "me, 2 mins", badges=IRON),
        chat(5, "hai ku", "count me in"),
        chat(6, "Hi Ku", "not today, slayer task"),
        broadcast(
            20, "DocOfMed received special loot from a raid: Twisted buckler.", icon=DROP_ICON
        ),
        chat(21, "vanvolter ii", "gz!!", badges=IRON),
        # Two members relaying the same line: it must count once.
        chat(30, "Jbwell", "anyone selling a whip?", note="relayed twice"),
        chat(30, "Jbwell", "anyone selling a whip?", note="duplicate relay"),
        broadcast(45, "Jbwell received a drop: Abyssal whip (1,456,814 coins).", icon=DROP_ICON),
        broadcast(60, "sir gowi has reached Attack level 99.", icon=STATS_ICON),
        broadcast(
            75,
            "psilocyn received a new collection log item: Elite void robe (170/1477)",
            icon=CLOG_ICON,
        ),
        broadcast(
            90, "Victor Locke has been invited into the clan by partymarty94.", icon=INVITE_ICON
        ),
        chat(91, "Victor Locke", "hi all, thanks for the invite"),
        # An ordinary member typing what looks like relayed chat is Discord chatter.
        ScriptedPost(
            100,
            "**partymarty94**: I am totally the owner",
            webhook_id=None,
            author_id=MEMBER_USER_ID,
            note="spoof attempt by an ordinary member",
        ),
        # TrackScape: one bot message, several embeds (two chat lines and a broadcast).
        ScriptedPost(
            120,
            embeds=(
                {
                    "author": {"name": "theforgegod", "icon_url": _RANK_ICON},
                    "description": "tob anyone?",
                },
                {
                    "author": {"name": "ll05", "icon_url": _RANK_ICON},
                    "description": "after this trip",
                },
                {
                    # TrackScape: the clan's own line, under the clan's name and icon.
                    "author": {"name": CLAN_NAME, "icon_url": _CLAN_ICON},
                    "description": "ll05 has a funny feeling like he's being followed: "
                    "Butch at 194 kills.",
                },
            ),
            webhook_id=None,
            author_id=TRACKSCAPE_BOT_ID,
            note="TrackScape embeds",
        ),
        # Dink: a per-player notifier embed.
        ScriptedPost(
            150,
            embeds=(
                {
                    "author": {"name": "mtndck"},
                    "title": "Level Up",
                    "description": "mtndck has levelled Slayer to 95",
                },
            ),
            note="Dink embed",
        ),
        chat(200, "llo6", "night all"),
    ]


def day_posts(day_start: datetime) -> Iterator[tuple[ScriptedPost, dict[str, Any]]]:
    for post in scripted_day():
        yield post, post.post_kwargs(day_start)


_PHRASES = (
    "anyone for cox?",
    "gz!",
    "brb dinner",
    "what world are we on",
    "tob learner raid tonight?",
    "finally got my pet :)",
    "gl on the grind",
    "who wants to do nex",
    "lol",
    "ty for the help earlier",
    "wildy bosses anyone",
    "gn all",
)
_HOUR_WEIGHTS = tuple(1 if h < 7 else 3 if h < 16 else 8 if h < 23 else 4 for h in range(24))


def history_days(
    names: Sequence[str], end: datetime, *, days: int = 14, per_day: int = 120, seed: int = 11114
) -> list[dict[str, Any]]:
    """Deterministic past clan chat for ``days`` before ``end`` (evenings busiest).

    Returned as ``seed_history`` specs, oldest first: the bot reads them by backfill.
    """
    rng = random.Random(seed)
    posts: list[tuple[datetime, str, str]] = []
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(days):
        busy = per_day + rng.randint(-per_day // 3, per_day // 3)
        for _ in range(busy):
            hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
            at = start + timedelta(days=day, hours=hour, seconds=rng.randint(0, 3599))
            if at < end:
                posts.append((at, rng.choice(names), rng.choice(_PHRASES)))
    posts.sort()
    return [chat(0, name, text).post_kwargs(at) for at, name, text in posts]
