"""Parse in-game clan chat relayed to Discord into chat lines and broadcasts.

The shapes each relay tool posts are described in docs/relay-formats.md.

Pure: the caller turns a Discord message into :class:`RelayMessageIn` and stores the
:class:`RelayEvent` values. Trust comes only from configuration: a message is read as relayed
game chat when its author id or webhook id is a configured relay, whatever the author is
called. Anything else is Discord chatter and is never attributed to a player.

Supported shapes (a message may hold several lines and several embeds; each one that carries
something becomes one event, numbered by ``part`` in output order):

* ``clanchat_net``: optional leading emojis (rank title, account badge, broadcast icon), then
  ``**Name**: text`` for chat or a bare broadcast sentence; the text is escaped with PHP
  ``preg_quote`` (the name inside ``**`` is not).
* ``plugin_direct``: the same shape unescaped; the name may hold ``<img=n>`` and NBSP, the
  text ``<col=…>``, ``</col>``, ``<lt>``/``<gt>``.
* ``node_relay``: the account badge inside the bold, ``**<:Ironman_chat_badge:1> Name**: text``.
* ``trackscape``: embeds; ``author_name`` is the player for chat, or the clan's name (or no
  author, with a title such as ``:tada: New High Value drop!``) for a broadcast sentence.
* ``dink``: embeds with ``author_name`` = player and ``title`` = event type.
* custom formats: a clan's own regex with named groups ``player`` and ``text`` (optionally
  ``rank`` and ``account``), tried on each content line before the built-in shapes.

A content line is read as escaped (and unescaped) only when it looks ``preg_quote``-escaped:
every special character has a backslash before it and every backslash escapes one. Lines
with nothing to unescape read the same either way and are labelled ``clanchat_net``.
"""

from __future__ import annotations

import enum
import operator
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Literal

from domain.names import clean_display_name, is_valid_key, name_key

EventKind = Literal["chat", "broadcast", "discord"]

FORMAT_CLANCHAT_NET = "clanchat_net"
FORMAT_PLUGIN_DIRECT = "plugin_direct"
FORMAT_NODE_RELAY = "node_relay"
FORMAT_TRACKSCAPE = "trackscape"
FORMAT_DINK = "dink"
FORMAT_CHAT_LOGGER = "chat_logger"
FORMAT_DISCORD = "discord"
BUILTIN_FORMATS = frozenset(
    {
        FORMAT_CLANCHAT_NET,
        FORMAT_PLUGIN_DIRECT,
        FORMAT_NODE_RELAY,
        FORMAT_TRACKSCAPE,
        FORMAT_DINK,
        FORMAT_CHAT_LOGGER,
        FORMAT_DISCORD,
    }
)


class BroadcastType(enum.StrEnum):
    """What a clan broadcast announces."""

    DROP = "drop"
    RAID_DROP = "raid_drop"
    CLUE_ITEM = "clue_item"
    PET = "pet"
    LEVEL = "level"
    XP_MILESTONE = "xp_milestone"
    COLLECTION_LOG = "collection_log"
    QUEST = "quest"
    DIARY = "diary"
    COMBAT_TASK = "combat_task"
    COMBAT_TIER = "combat_tier"
    PERSONAL_BEST = "personal_best"
    PVP = "pvp"
    LOOT_KEY = "loot_key"
    INVITE = "invite"
    LEFT = "left"
    EXPELLED = "expelled"
    COFFER = "coffer"
    HCIM_DEATH = "hcim_death"
    DEATH = "death"
    KILL_COUNT = "kill_count"
    SLAYER = "slayer"
    LEAGUES = "leagues"
    PRESENCE = "presence"
    UNKNOWN = "unknown"


# ---------------------------------------------------------------------------------------------
# Inputs and outputs


@dataclass(frozen=True, slots=True)
class EmbedIn:
    """The parts of a Discord embed the parser reads (all optional)."""

    title: str | None = None
    description: str | None = None
    author_name: str | None = None
    footer: str | None = None
    url: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    author_icon_url: str | None = None


@dataclass(frozen=True, slots=True)
class RelayMessageIn:
    """A Discord message in a relay channel, stripped of discord.py types."""

    message_id: int
    channel_id: int
    author_id: int
    author_name: str
    is_bot: bool
    webhook_id: int | None
    content: str
    embeds: tuple[EmbedIn, ...]
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class CustomFormat:
    """A clan-specific relay line format: a regex with named groups ``player`` and ``text``.

    Build it with :meth:`compile`, which validates the regex. When the ``player`` group does
    not take part in a match (or is blank) the ``text`` is read as a broadcast sentence.
    Optional groups ``rank`` and ``account`` fill ``rank_title`` and ``account_type``.
    """

    name: str
    pattern: re.Pattern[str]

    @classmethod
    def compile(cls, name: str, regex: str) -> CustomFormat:
        """Validate and compile a custom format; raise ``ValueError`` saying what is wrong."""
        clean_name = name.strip()
        if not clean_name:
            raise ValueError("custom relay format: the name must not be empty")
        if clean_name in BUILTIN_FORMATS:
            raise ValueError(
                f"custom relay format {clean_name!r}: the name is taken by a built-in format"
            )
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise ValueError(
                f"custom relay format {clean_name!r}: invalid regular expression: {exc}"
            ) from exc
        missing = [group for group in ("player", "text") if group not in pattern.groupindex]
        if missing:
            raise ValueError(
                f"custom relay format {clean_name!r}: the regular expression must define the "
                f"named groups (?P<player>...) and (?P<text>...); missing: {', '.join(missing)}"
            )
        return cls(name=clean_name, pattern=pattern)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """Which Discord authors are relays, the clan's in-game name and its custom formats.

    ``clan_name`` is the in-game clan chat's name (TrackScape authors the clan's broadcasts
    with it). While it is unknown, ``member_keys`` (the name keys any member holds or held)
    tell a player from the clan: an embed author matching no member is not a player's line.
    """

    relay_author_ids: frozenset[int]
    clan_name: str | None = None
    custom_formats: tuple[CustomFormat, ...] = ()
    member_keys: frozenset[str] = frozenset()

    def is_relay(self, message: RelayMessageIn) -> bool:
        """True when the message was posted by a configured relay (by id, never by name)."""
        if message.author_id in self.relay_author_ids:
            return True
        return message.webhook_id is not None and message.webhook_id in self.relay_author_ids


@dataclass(frozen=True, slots=True)
class RelayEvent:
    """One chat line, broadcast or piece of Discord chatter found in a relay message.

    ``player_name`` is the display form (tags stripped, NBSP → space); ``player_key`` is its
    :func:`~domain.names.name_key` and is set only when that key is valid. ``other_name`` is
    the second player of a two-player broadcast (the inviter, the expeller, the PvP opponent).
    """

    part: int
    kind: EventKind
    player_name: str | None
    player_key: str | None
    text: str
    broadcast_type: BroadcastType | None
    rank_title: str | None
    account_type: str | None
    format: str
    other_name: str | None = None


@dataclass(frozen=True, slots=True)
class BroadcastMatch:
    """The outcome of classifying one broadcast sentence; ``dink`` when only Dink words it so."""

    type: BroadcastType
    player_name: str | None
    other_name: str | None = None
    dink: bool = False


# ---------------------------------------------------------------------------------------------
# Text cleaning

_EMOJI = re.compile(r"<a?:(?P<name>[A-Za-z0-9_~\-]+):\d+>")
_LEADING_EMOJIS = re.compile(r"(?:\s*<a?:[A-Za-z0-9_~\-]+:\d+>)*\s*")
# In-game formatting tags; <lt>/<gt> are decoded afterwards, not stripped.
_GAME_TAG = re.compile(
    r"</?(?:img|col|shad|str|u|br|colhigh|colnormal|colnormalhighlight|clan|icon)"
    r"(?:=[^>]*)?>",
    re.IGNORECASE,
)
_ESCAPE_PAIR = re.compile(r"\\(.)", re.DOTALL)
_CA_ID = re.compile(r"CA_ID:\d+\|")
_CHAT = re.compile(r"\*\*(?P<name>[^*]{1,100})\*\*:[ \t\u00a0]?(?P<text>.*)", re.DOTALL)
_SHORTCODE = re.compile(r":[a-z0-9_+\-]+:")

# Characters PHP's preg_quote has always escaped; a line with one of them bare is not escaped.
_PREG_CORE = frozenset(".\\+*?[^]$(){}=!<>|:-")
# Characters clanchat.net may also escape (newer preg_quote and its own extras).
_PREG_ESCAPABLE = _PREG_CORE | frozenset("#@~`/\0")


# The same test as a regex (run in C: parsing is on the bulk-import hot path): any run of
# characters that are not special, or a backslash before an escapable character.
_PREG_QUOTED = re.compile(
    "(?:[^"
    + "".join(re.escape(c) for c in sorted(_PREG_CORE))
    + "]|\\\\["
    + "".join(re.escape(c) for c in sorted(_PREG_ESCAPABLE))
    + "])*",
    re.DOTALL,
)


def _is_preg_quoted(text: str) -> bool:
    """True when ``text`` reads as ``preg_quote`` output (every special escaped, no stray \\)."""
    return _PREG_QUOTED.fullmatch(text) is not None


# ``match[1]`` as the replacement: the same as the template ``\1`` without expanding a
# template in Python for every escape (this runs for nearly every relayed line).
_ESCAPED_CHAR = operator.itemgetter(1)


def _unescape(text: str) -> str:
    return _ESCAPE_PAIR.sub(_ESCAPED_CHAR, text) if "\\" in text else text


def _clean_text(raw: str, *, unescape: bool) -> str:
    """Unescape (when asked), drop game tags, decode ``<lt>``/``<gt>``, NBSP → space, trim."""
    text = _unescape(raw) if unescape else raw
    if "<" in text:
        text = _GAME_TAG.sub("", text)
        text = text.replace("<lt>", "<").replace("<gt>", ">")
    return text.replace("\u00a0", " ").strip()


def _clean_sentence(raw: str, *, unescape: bool) -> str:
    """Clean a broadcast sentence: as chat text, minus ``CA_ID:n|``, whitespace collapsed."""
    text = _CA_ID.sub("", _clean_text(raw, unescape=unescape))
    return " ".join(text.split())


@lru_cache(maxsize=65_536)
def _clean_name(raw: str) -> str:
    # Names never contain a backslash, so dropping escapes is always safe.
    return clean_display_name(_unescape(raw))


@lru_cache(maxsize=65_536)
def _key_of(display: str | None) -> str | None:
    if not display:
        return None
    key = name_key(display)
    return key if is_valid_key(key) else None


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


_ACCOUNT_ALIASES = {
    "iron": "ironman",
    "im": "ironman",
    "hcim": "hardcore_ironman",
    "uim": "ultimate_ironman",
    "gim": "group_ironman",
    "hcgim": "hardcore_group_ironman",
    "ugim": "unranked_group_ironman",
}
_BADGE_SUFFIXES = ("_chat_badge", "_badge", "_icon", "_chat")


@lru_cache(maxsize=4_096)
def account_type_of(badge: str) -> str | None:
    """Normalise an account badge name: ``"Hardcore_ironman_chat_badge"`` → ``"hardcore_ironman"``.

    Returns None when the name is not an account badge (e.g. a rank emoji like ``Captain``).
    """
    normal = re.sub(r"[\s_\-]+", "_", badge.strip().lower()).strip("_")
    for suffix in _BADGE_SUFFIXES:
        if normal.endswith(suffix):
            normal = normal[: -len(suffix)]
            break
    if normal in _ACCOUNT_ALIASES:
        return _ACCOUNT_ALIASES[normal]
    return normal if "ironman" in normal else None


@lru_cache(maxsize=4_096)
def _rank_and_account(emoji_names: tuple[str, ...]) -> tuple[str | None, str | None]:
    rank: str | None = None
    account: str | None = None
    for emoji in emoji_names:
        badge = account_type_of(emoji)
        if badge is not None:
            account = account or badge
        elif rank is None:
            rank = emoji
    return rank, account


# ---------------------------------------------------------------------------------------------
# Broadcast sentences

# Names are at most 12 characters; 40 leaves room for a name we cannot key (kept as display)
# while bounding the backtracking on hostile input.
_PLAYER = r"(?P<player>.{1,40}?)"
_OTHER = r"(?P<other>.{1,40}?)"


@dataclass(frozen=True, slots=True)
class _Rule:
    """One sentence of the catalogue: a lower-case phrase the sentence cannot match without
    (a cheap prefilter), its type, its regex, and whether only Dink words it so."""

    needle: str
    kind: BroadcastType
    pattern: str
    dink: bool = False


# The catalogue, in the order the rules are tried. Each rule anchors on the whole verb phrase
# after the name (names contain spaces). docs/relay-formats.md lists the sentences and where
# each wording comes from; "dink" rules are the wordings of Dink's templates.
_CATALOGUE: tuple[_Rule, ...] = (
    # Drops, raids, clues, collection log.
    _Rule(
        "received special loot from a raid: ",
        BroadcastType.RAID_DROP,
        rf"{_PLAYER} received special loot from a raid: ",
    ),
    _Rule(
        "found something special: ",
        BroadcastType.RAID_DROP,
        rf"{_PLAYER} found something special: ",
    ),
    _Rule(
        "rolled a purple ",
        BroadcastType.RAID_DROP,
        rf"{_PLAYER} rolled a purple \(unique\) drop from ",
        dink=True,
    ),
    _Rule("received a clue item: ", BroadcastType.CLUE_ITEM, rf"{_PLAYER} received a clue item: "),
    _Rule(
        "received a new collection log item: ",
        BroadcastType.COLLECTION_LOG,
        rf"{_PLAYER} received a new collection log item: ",
    ),
    _Rule(
        " to their collection",
        BroadcastType.COLLECTION_LOG,
        rf"{_PLAYER} has added .{{1,200}}? to their collection",
        dink=True,
    ),
    _Rule("received a drop: ", BroadcastType.DROP, rf"{_PLAYER} received a drop: "),
    _Rule("has looted: ", BroadcastType.DROP, rf"{_PLAYER} has looted: ", dink=True),
    # Pets: every form the game words (he/she/they, followed, backpack, something special);
    # Dink's own wording first (no pet named, "they").
    _Rule(
        "has a funny feeling like they",
        BroadcastType.PET,
        rf"{_PLAYER} has a funny feeling like they(?:'re being| would have been) followed"
        r"(?:\.\.\.)?$",
        dink=True,
    ),
    _Rule(
        "feels something weird sneaking into their backpack",
        BroadcastType.PET,
        rf"{_PLAYER} feels something weird sneaking into their backpack$",
        dink=True,
    ),
    _Rule(
        "has a funny feeling like ",
        BroadcastType.PET,
        rf"{_PLAYER} has a funny feeling like .{{1,40}}? followed",
    ),
    _Rule(
        "feels something weird sneaking into ",
        BroadcastType.PET,
        rf"{_PLAYER} feels something weird sneaking into \w+ backpack",
    ),
    _Rule(
        "acquired something special",
        BroadcastType.PET,
        rf"{_PLAYER} (?:feels like .{{1,20}}?|has) acquired something special",
    ),
    # Levels and experience.
    _Rule("has reached ", BroadcastType.XP_MILESTONE, rf"{_PLAYER} has reached [\d,]+ XP in \w"),
    _Rule(
        "has reached ",
        BroadcastType.LEVEL,
        rf"{_PLAYER} has reached (?:combat level|a total level of|"
        rf"the highest possible (?:total|combat) level of|[A-Za-z]+ level) \d",
    ),
    _Rule(
        "has levelled ",
        BroadcastType.XP_MILESTONE,
        rf"{_PLAYER} has levelled .{{1,200}}? to [\d,]+ XP\b",
        dink=True,
    ),
    _Rule(
        "has levelled ",
        BroadcastType.LEVEL,
        rf"{_PLAYER} has levelled .{{1,300}}? to (?:\d|Max XP)",
        dink=True,
    ),
    # Quests, slayer, clues, combat achievements, diaries.
    _Rule("has completed a quest: ", BroadcastType.QUEST, rf"{_PLAYER} has completed a quest: "),
    _Rule(
        "has completed a slayer task: ",
        BroadcastType.SLAYER,
        rf"{_PLAYER} has completed a slayer task: ",
        dink=True,
    ),
    _Rule(
        " clue, they have completed ",
        BroadcastType.CLUE_ITEM,
        rf"{_PLAYER} has completed an? .{{1,40}}? clue, they have completed ",
        dink=True,
    ),
    _Rule(
        " combat task: ",
        BroadcastType.COMBAT_TASK,
        rf"{_PLAYER} has completed (?:an? )?\w+ combat task: ",
    ),
    _Rule(
        "has unlocked the rewards for the ",
        BroadcastType.COMBAT_TIER,
        rf"{_PLAYER} has unlocked the rewards for the \w+ tier\b",
        dink=True,
    ),
    _Rule(
        "has completed the ", BroadcastType.DIARY, rf"{_PLAYER} has completed the .{{1,80}} diary\b"
    ),
    _Rule(
        " tier of rewards from combat achievements",
        BroadcastType.COMBAT_TIER,
        rf"{_PLAYER} has unlocked the \w+ tier of rewards from Combat Achievements",
    ),
    # Personal bests and kill counts.
    _Rule(
        "has achieved a new ",
        BroadcastType.PERSONAL_BEST,
        rf"{_PLAYER} has achieved a new .{{1,120}}? personal best",
    ),
    _Rule(
        " with a new personal best time",
        BroadcastType.PERSONAL_BEST,
        rf"{_PLAYER} has defeated .{{1,80}}? with a new personal best time",
        dink=True,
    ),
    _Rule(
        " with a completion count of ",
        BroadcastType.KILL_COUNT,
        rf"{_PLAYER} has defeated .{{1,80}}? with a completion count of ",
        dink=True,
    ),
    _Rule(
        "has just beat their personal best",
        BroadcastType.PERSONAL_BEST,
        rf"{_PLAYER} has just beat their personal best",
        dink=True,
    ),
    # PvP: the player is always the subject; the winner for "has defeated", the loser for
    # "has been defeated by" (with or without loot). The opponent goes to other_name.
    _Rule(
        "has been defeated by ",
        BroadcastType.PVP,
        rf"{_PLAYER} has been defeated by {_OTHER}(?: in .{{1,80}}?)? and lost ",
    ),
    _Rule(
        "has been defeated by ",
        BroadcastType.PVP,
        rf"{_PLAYER} has been defeated by {_OTHER}(?: in [^.!]{{1,80}}?)?[.!]?$",
    ),
    _Rule(
        "has defeated ",
        BroadcastType.PVP,
        rf"{_PLAYER} has defeated {_OTHER}(?: in .{{1,80}}?)? and received ",
    ),
    _Rule("has pk'd ", BroadcastType.PVP, rf"{_PLAYER} has PK'd {_OTHER}[.!]?$", dink=True),
    _Rule(
        "has just been pked by ",
        BroadcastType.DEATH,
        rf"{_PLAYER} has just been PKed by {_OTHER} for ",
        dink=True,
    ),
    _Rule(
        "has opened a loot key worth ",
        BroadcastType.LOOT_KEY,
        rf"{_PLAYER} has opened a loot key worth ",
    ),
    # Membership: invites, expulsions, leaving; presence in the clan channel.
    # Invite: the invited player; the inviter goes to other_name.
    _Rule(
        "has been invited into the clan by ",
        BroadcastType.INVITE,
        rf"{_PLAYER} has been invited into the clan by {_OTHER}\.?$",
    ),
    # Expelled: the expelled player; the one who expelled goes to other_name.
    _Rule(
        "has expelled ", BroadcastType.EXPELLED, rf"{_OTHER} has expelled {_PLAYER} from the clan\b"
    ),
    _Rule("has left the clan", BroadcastType.LEFT, rf"{_PLAYER} has left the clan\b"),
    _Rule("has joined", BroadcastType.PRESENCE, rf"{_PLAYER} has joined\.?$"),
    _Rule("has left", BroadcastType.PRESENCE, rf"{_PLAYER} has left\.?$"),
    _Rule(
        " logged into world ", BroadcastType.PRESENCE, rf"{_PLAYER} logged into World \d", dink=True
    ),
    _Rule(" logged out", BroadcastType.PRESENCE, rf"{_PLAYER} logged out\.?$", dink=True),
    _Rule(
        " the coffer",
        BroadcastType.COFFER,
        rf"{_PLAYER} has (?:deposited|withdrawn) [\d,]+ coins (?:into|from) the coffer",
    ),
    # Deaths: a hardcore losing the status, then any other death.
    _Rule(
        "has died and lost ",
        BroadcastType.HCIM_DEATH,
        rf"{_PLAYER} has died and lost (?:their|his|her) Hardcore (?:Group )?Ironman status",
    ),
    _Rule("has died", BroadcastType.DEATH, rf"{_PLAYER} has died\b"),
    # Leagues: the game's broadcasts, then Dink's Leagues notifications.
    _Rule(
        " combat mastery point",
        BroadcastType.LEAGUES,
        rf"{_PLAYER} has earned their \w+ Combat mastery point",
    ),
    _Rule(" league area", BroadcastType.LEAGUES, rf"{_PLAYER} has unlocked their \w+ League area"),
    _Rule(
        " league relic",
        BroadcastType.LEAGUES,
        rf"{_PLAYER} has unlocked their tier \d+ League relic",
    ),
    _Rule(
        " unlocked a new combat mastery: ",
        BroadcastType.LEAGUES,
        rf"{_PLAYER} unlocked a new Combat Mastery: ",
        dink=True,
    ),
    _Rule(
        " selected their ",
        BroadcastType.LEAGUES,
        rf"{_PLAYER} selected their \w+ region: ",
        dink=True,
    ),
    _Rule(
        " unlocked a tier ",
        BroadcastType.LEAGUES,
        rf"{_PLAYER} unlocked a Tier \d+ Relic: ",
        dink=True,
    ),
)

_SENTENCES: tuple[tuple[BroadcastType, re.Pattern[str]], ...] = tuple(
    (rule.kind, re.compile(rule.pattern, re.IGNORECASE)) for rule in _CATALOGUE
)
_RULES: tuple[tuple[str, BroadcastType, re.Pattern[str]], ...] = tuple(
    (rule.needle, kind, pattern)
    for rule, (kind, pattern) in zip(_CATALOGUE, _SENTENCES, strict=True)
)
_DINK_RULES: tuple[bool, ...] = tuple(rule.dink for rule in _CATALOGUE)


def classify_broadcast(sentence: str) -> BroadcastMatch:
    """Classify a cleaned broadcast sentence and find whom it is about.

    Unknown sentences give ``BroadcastType.UNKNOWN`` with no player; never raises.
    """
    text = " ".join(sentence.split())
    if text.startswith(_SEASONAL):
        text = text[len(_SEASONAL) :]
    folded = text.lower() if text.isascii() else None
    for index, (needle, kind, pattern) in enumerate(_RULES):
        if folded is not None and needle not in folded:
            continue
        match = pattern.match(text)
        if match is None:
            continue
        player = clean_display_name(match.group("player")) or None
        other = match.groupdict().get("other")
        return BroadcastMatch(
            kind, player, clean_display_name(other) if other else None, dink=_DINK_RULES[index]
        )
    return BroadcastMatch(BroadcastType.UNKNOWN, None)


# Dink's prefix for a notification from a seasonal (Leagues) world.
_SEASONAL = "[Seasonal] "

# Dink's titles (its notification types), read before any keyword.
_DINK_TITLES: dict[str, BroadcastType] = {
    "clue scroll": BroadcastType.CLUE_ITEM,
    "collection log": BroadcastType.COLLECTION_LOG,
    "player death": BroadcastType.DEATH,
    "level up": BroadcastType.LEVEL,
    "loot drop": BroadcastType.DROP,
    "pet obtained": BroadcastType.PET,
    "quest completed": BroadcastType.QUEST,
    "slayer task": BroadcastType.SLAYER,
    "completion count": BroadcastType.KILL_COUNT,
    "combat achievement": BroadcastType.COMBAT_TASK,
    "achievement diary": BroadcastType.DIARY,
    "player kill": BroadcastType.PVP,
    "area unlocked": BroadcastType.LEAGUES,
    "mastery unlocked": BroadcastType.LEAGUES,
    "relic chosen": BroadcastType.LEAGUES,
    "task completed": BroadcastType.LEAGUES,
    "player login": BroadcastType.PRESENCE,
    "player logout": BroadcastType.PRESENCE,
    "toa unique": BroadcastType.RAID_DROP,
    "xp milestone": BroadcastType.XP_MILESTONE,
}

# Title keywords (TrackScape broadcast-channel titles, other titles), most specific first.
_TITLE_KEYWORDS: tuple[tuple[re.Pattern[str], BroadcastType], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b", re.IGNORECASE), kind)
    for words, kind in (
        (r"personal best|speedrun\w*|pb", BroadcastType.PERSONAL_BEST),
        (r"collection log|collection", BroadcastType.COLLECTION_LOG),
        (r"pets?", BroadcastType.PET),
        (r"raid", BroadcastType.RAID_DROP),
        (r"clue scroll|clue item|clue", BroadcastType.CLUE_ITEM),
        (r"loot key", BroadcastType.LOOT_KEY),
        (r"player kill|pvp|pk", BroadcastType.PVP),
        (r"hardcore", BroadcastType.HCIM_DEATH),
        (r"death|died", BroadcastType.DEATH),
        (r"loot|drop", BroadcastType.DROP),
        (r"level up|level|levels", BroadcastType.LEVEL),
        (r"xp|experience", BroadcastType.XP_MILESTONE),
        (r"achievement diary|diary", BroadcastType.DIARY),
        (r"combat achievement tier|combat tier", BroadcastType.COMBAT_TIER),
        (r"combat achievements?|combat task", BroadcastType.COMBAT_TASK),
        (r"quests?", BroadcastType.QUEST),
        (r"slayer", BroadcastType.SLAYER),
        (r"completion count|kill count", BroadcastType.KILL_COUNT),
        (r"coffer|donation|withdrawal", BroadcastType.COFFER),
        (r"invited?|invite", BroadcastType.INVITE),
        (r"expelled|kicked", BroadcastType.EXPELLED),
        (r"left the clan", BroadcastType.LEFT),
        (r"leagues?|relic|mastery|area unlock", BroadcastType.LEAGUES),
    )
)


def type_from_title(title: str) -> BroadcastType:
    """Map an embed title (``"Loot Drop"``, ``":tada: New High Value drop!"``) to a type.

    Dink's own titles first (``"Player Death"`` is a death, ``"Completion Count"`` a kill
    count), then keywords; a title without one gives ``UNKNOWN``.
    """
    clean = " ".join(_SHORTCODE.sub(" ", _EMOJI.sub(" ", title)).split())
    if clean.startswith(_SEASONAL):
        clean = clean[len(_SEASONAL) :]
    exact = _DINK_TITLES.get(clean.casefold())
    if exact is not None:
        return exact
    for pattern, kind in _TITLE_KEYWORDS:
        if pattern.search(clean):
            return kind
    return BroadcastType.UNKNOWN


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_relay(message: RelayMessageIn, config: RelayConfig) -> tuple[RelayEvent, ...]:
    """Turn one Discord message from a relay channel into zero or more events.

    A message not posted by a configured relay gives exactly one ``discord`` event whose text
    is the raw content, and is never attributed to a player. A relay message gives one event
    per non-empty content line and per non-empty embed (a Dink plain-text notification, which
    spans several lines, is one event); an empty one gives none.
    """
    content = message.content or ""
    if not config.is_relay(message):
        return (_discord_event(content),)
    events: list[RelayEvent] = []
    whole = _dink_plain_text(content) if "\n" in content else None
    if whole is not None:
        events.append(whole)
    else:
        for line in content.split("\n"):
            if line.strip():
                event = _parse_line(line, config)
                if event is not None:
                    events.append(event)
    for embed in message.embeds:
        event = _parse_embed(embed, config)
        if event is not None:
            events.append(event)
    return tuple(
        event if event.part == index else replace(event, part=index)
        for index, event in enumerate(events)
    )


def _discord_event(content: str, fmt: str = FORMAT_DISCORD) -> RelayEvent:
    return RelayEvent(
        part=0,
        kind="discord",
        player_name=None,
        player_key=None,
        text=content,
        broadcast_type=None,
        rank_title=None,
        account_type=None,
        format=fmt,
    )


def _chat_event(
    name: str,
    text: str,
    fmt: str,
    *,
    rank_title: str | None = None,
    account_type: str | None = None,
) -> RelayEvent:
    display = name or None
    return RelayEvent(
        part=0,
        kind="chat",
        player_name=display,
        player_key=_key_of(display),
        text=text,
        broadcast_type=None,
        rank_title=rank_title,
        account_type=account_type,
        format=fmt,
    )


def _broadcast_event(sentence: str, fmt: str, *, title: str | None = None) -> RelayEvent:
    """A broadcast read from its sentence (credited to the sentence's subject, or nobody);
    the title names its type only when the sentence does not."""
    found = classify_broadcast(sentence)
    kind = found.type
    if kind is BroadcastType.UNKNOWN and title:
        kind = type_from_title(title)
    return _broadcast(sentence, fmt, kind, found.player_name, found)


def _broadcast(
    sentence: str,
    fmt: str,
    kind: BroadcastType,
    player: str | None,
    found: BroadcastMatch,
) -> RelayEvent:
    return RelayEvent(
        part=0,
        kind="broadcast",
        player_name=player,
        player_key=_key_of(player),
        text=sentence,
        broadcast_type=kind,
        rank_title=None,
        account_type=None,
        format=fmt,
        other_name=found.other_name,
    )


# clanchat.net in 2023 posted a broadcast the plugin had typed as chat with an empty name.
_EMPTY_NAME = "****:"
# Discord-Chat-Logger (group chat): ``**[Group]** **Name** : text``, the group optional.
_LOGGER_CHAT = re.compile(
    r"(?:\*\*\[(?P<group>[^\]\n]{0,40})\]\*\* ?)?\*\*(?P<name>[^*]{1,100})\*\* : (?P<text>.*)",
    re.DOTALL,
)
_LOGGER_GROUP_ONLY = re.compile(r"\*\*\[[^\]\n]{0,40}\]\*\* (?P<text>.*)", re.DOTALL)
# Discord-Chat-Logger (private chat): never clan chat.
_LOGGER_PRIVATE = re.compile(r"(?:To|From) \*\*[^*]{1,100}\*\* : ")


def _parse_line(line: str, config: RelayConfig) -> RelayEvent | None:
    for custom in config.custom_formats:
        match = custom.pattern.search(line)
        if match is not None:
            return _custom_event(custom.name, match)
    stripped = line.strip()
    leading = _LEADING_EMOJIS.match(stripped)
    head = leading.group(0) if leading else ""
    rest = stripped[len(head) :]
    leading_emojis = _emoji_names(head)

    if rest.startswith(_EMPTY_NAME):
        return _sentence_event(rest[len(_EMPTY_NAME) :], FORMAT_CLANCHAT_NET, force=True)
    chat = _CHAT.match(rest)
    if chat is not None:
        raw_name, raw_text = chat.group("name", "text")
        name, inner_emojis, name_looks_direct = _chat_name(raw_name)
        rank, account = _rank_and_account(leading_emojis + inner_emojis)
        text, quoted, text_has_tag = _chat_text(raw_text)
        if inner_emojis:
            fmt = FORMAT_NODE_RELAY
        elif not quoted or name_looks_direct or text_has_tag:
            fmt = FORMAT_PLUGIN_DIRECT
        else:
            fmt = FORMAT_CLANCHAT_NET
        return _chat_event(name, text, fmt, rank_title=rank, account_type=account)
    if "** : " in rest:
        logged = _chat_logger_event(rest)
        if logged is not None:
            return logged
    return _sentence_event(rest, FORMAT_CLANCHAT_NET if leading_emojis else None)


def _sentence_event(raw: str, fmt: str | None, *, force: bool = False) -> RelayEvent | None:
    """A bare broadcast sentence of a content line; ``fmt`` None: told by its escaping."""
    quoted = _is_preg_quoted(raw)
    sentence = _clean_sentence(raw, unescape=quoted)
    if not sentence:
        return None
    if fmt is None:
        fmt = FORMAT_CLANCHAT_NET if quoted else FORMAT_PLUGIN_DIRECT
    found = classify_broadcast(sentence)
    if found.dink and not force:
        fmt = FORMAT_DINK  # Dink's plain-text mode: one of its templates, on one line
    return _broadcast(_strip_seasonal(sentence), fmt, found.type, found.player_name, found)


def _chat_logger_event(rest: str) -> RelayEvent | None:
    if _LOGGER_PRIVATE.match(rest):
        return _discord_event(rest, FORMAT_CHAT_LOGGER)
    match = _LOGGER_CHAT.match(rest)
    if match is None:
        return None
    name = clean_display_name(match.group("name"))
    return _chat_event(name, _clean_text(match.group("text"), unescape=False), FORMAT_CHAT_LOGGER)


def _strip_seasonal(sentence: str) -> str:
    return sentence[len(_SEASONAL) :] if sentence.startswith(_SEASONAL) else sentence


# The pieces of a chat line repeat far more than whole lines do (a clan has a few hundred
# names, a few dozen rank emojis and many short stock phrases), so each is read once and
# remembered; texts only up to _CACHED_TEXT characters, to bound the cache's memory.
_CACHED_TEXT = 200


@lru_cache(maxsize=1_024)
def _emoji_names(head: str) -> tuple[str, ...]:
    """The names of the Discord emojis in ``head``, in order."""
    return tuple(m.group("name") for m in _EMOJI.finditer(head))


@lru_cache(maxsize=16_384)
def _chat_name(raw_name: str) -> tuple[str, tuple[str, ...], bool]:
    """``(display name, emoji names inside the bold, looks plugin_direct)`` of a chat name."""
    inner = tuple(m.group("name") for m in _EMOJI.finditer(raw_name))
    direct = "\u00a0" in raw_name or _GAME_TAG.search(raw_name) is not None
    return _clean_name(raw_name), inner, direct


def _chat_text(raw_text: str) -> tuple[str, bool, bool]:
    """``(clean text, was preg_quote-escaped, held a game tag)`` of a chat line's text."""
    if len(raw_text) <= _CACHED_TEXT:
        return _chat_text_cached(raw_text)
    return _read_chat_text(raw_text)


def _read_chat_text(raw_text: str) -> tuple[str, bool, bool]:
    quoted = _is_preg_quoted(raw_text)
    has_tag = _GAME_TAG.search(raw_text) is not None
    return _clean_text(raw_text, unescape=quoted), quoted, has_tag


_chat_text_cached = lru_cache(maxsize=16_384)(_read_chat_text)


def _custom_event(fmt: str, match: re.Match[str]) -> RelayEvent | None:
    groups = match.groupdict()
    raw_text = groups.get("text") or ""
    player = _clean_name(groups.get("player") or "")
    if player:
        account_raw = groups.get("account")
        return _chat_event(
            player,
            _clean_text(raw_text, unescape=False),
            fmt,
            rank_title=(groups.get("rank") or "").strip() or None,
            account_type=account_type_of(account_raw) if account_raw else None,
        )
    sentence = _clean_sentence(raw_text, unescape=False)
    return _broadcast_event(sentence, fmt) if sentence else None


# ---------------------------------------------------------------------------------------------
# Dink

# Dink's rich text: ``[label](link)`` (wiki and player links; a link may hold one level of
# parentheses, as wiki search links for items like "Blue wizard robe (g)" do).
_MD_LINK = re.compile(
    r"\[([^\[\]\n]{1,200})\]\(<?https?://[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*>?\)"
)
# Dink's chat notifier: ``<player> received a chat message:`` and the message in a code block.
_DINK_CHAT = re.compile(
    r"(?:\[Seasonal\] )?[^\n]{1,60}? received a chat message:\s*"
    r"```[^\n`]*\n?(?P<message>.*?)\n?```",
    re.DOTALL,
)
# The first line of Dink's multi-line plain-text templates (loot, clue, chat, group storage,
# trade, rare gamble loot); the whole message is one notification.
_DINK_PLAIN_HEAD = re.compile(
    r"(?:\[Seasonal\] )?[^\n*]{1,40}? (?:has looted: |received a chat message:|"
    r"has completed an? [^\n]{1,40}? clue, |has deposited:|traded with |"
    r"has received rare loot at gamble count )"
)


def _undink(text: str) -> str:
    """Dink's rich text as plain text: links reduced to their labels."""
    return _MD_LINK.sub(r"\1", text) if "](" in text else text


def _dink_plain_text(content: str) -> RelayEvent | None:
    """A multi-line Dink plain-text notification, read whole; None for anything else."""
    if _DINK_PLAIN_HEAD.match(content) is None:
        return None
    chat = _DINK_CHAT.match(content)
    if chat is not None:
        return _relayed_broadcast(chat.group("message"))
    sentence = _clean_sentence(_undink(content), unescape=False)
    found = classify_broadcast(sentence)
    return _broadcast(_strip_seasonal(sentence), FORMAT_DINK, found.type, found.player_name, found)


def _relayed_broadcast(inner: str) -> RelayEvent:
    """A game message relayed by Dink's chat notifier: credited to the message's subject,
    never to the relayer; a message nobody recognises is an unknown broadcast of nobody."""
    sentence = _clean_sentence(inner, unescape=False) or "(empty chat notification)"
    found = classify_broadcast(sentence)
    return _broadcast(sentence, FORMAT_DINK, found.type, found.player_name, found)


def _dink_event(player: str, title: str, raw_description: str) -> RelayEvent:
    """Dink's embed: its author is the subject (Dink notifies about its own player), its
    sentence or else its title the type. Its chat notifier is a relay: see _relayed_broadcast."""
    description = raw_description or ""
    if "received a chat message:" in description:
        chat = _DINK_CHAT.match(description.strip())
        if chat is not None:
            return _relayed_broadcast(chat.group("message"))
    if type_from_title(title) is BroadcastType.UNKNOWN and title.strip().endswith(
        "Chat Notification"
    ):
        return _relayed_broadcast(description)
    sentence = _clean_sentence(_undink(description), unescape=False) or _clean_sentence(
        title, unescape=False
    )
    sentence = _strip_seasonal(sentence)
    found = classify_broadcast(sentence)
    kind = found.type
    if kind is BroadcastType.UNKNOWN:
        kind = type_from_title(title)
    return _broadcast(sentence, FORMAT_DINK, kind, player, found)


# ---------------------------------------------------------------------------------------------
# Embeds (TrackScape, Dink)

# TrackScape gives the clan's own lines (its broadcasts) this author icon, players their rank's.
_CLAN_ICON = "Your_Clan_icon.png"


def _parse_embed(embed: EmbedIn, config: RelayConfig) -> RelayEvent | None:
    author = _clean_name(embed.author_name or "")
    title = (embed.title or "").strip()
    raw_description = embed.description or ""
    if not author and not title and not raw_description.strip():
        return None
    if author and title:
        return _dink_event(author, title, raw_description)
    quoted = _is_preg_quoted(raw_description)
    if author and not _clan_authored(author, embed, config):
        text = _clean_text(raw_description, unescape=quoted)
        return _chat_event(author, text, FORMAT_TRACKSCAPE)
    # The clan's own line (its author is the clan) or TrackScape's broadcast channel (no
    # author): a broadcast credited to the sentence's subject, or to nobody.
    sentence = _clean_sentence(raw_description, unescape=quoted)
    if not sentence:
        sentence = _clean_sentence(title, unescape=False)
    if not sentence:
        return None
    return _broadcast_event(sentence, FORMAT_TRACKSCAPE, title=title)


def _clan_authored(author: str, embed: EmbedIn, config: RelayConfig) -> bool:
    """Whether an embed's author is the clan itself rather than a player."""
    icon = embed.author_icon_url
    if icon and icon.endswith(_CLAN_ICON):
        return True
    if config.clan_name is not None:
        return _fold(author) == _fold(config.clan_name)
    # The clan's name is not known yet: an author matching no member is not a player's
    # line (with no member known either, the author is all there is to go by).
    return bool(config.member_keys) and _key_of(author) not in config.member_keys
