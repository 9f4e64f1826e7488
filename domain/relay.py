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
FORMAT_DISCORD = "discord"
BUILTIN_FORMATS = frozenset(
    {
        FORMAT_CLANCHAT_NET,
        FORMAT_PLUGIN_DIRECT,
        FORMAT_NODE_RELAY,
        FORMAT_TRACKSCAPE,
        FORMAT_DINK,
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
    """Which Discord authors are relays, the clan's in-game name and its custom formats."""

    relay_author_ids: frozenset[int]
    clan_name: str | None = None
    custom_formats: tuple[CustomFormat, ...] = ()

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
    """The outcome of classifying one broadcast sentence."""

    type: BroadcastType
    player_name: str | None
    other_name: str | None = None


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

# Each rule anchors on the whole verb phrase after the name (names contain spaces).
_SENTENCES: tuple[tuple[BroadcastType, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (BroadcastType.RAID_DROP, rf"{_PLAYER} received special loot from a raid: "),
        (BroadcastType.RAID_DROP, rf"{_PLAYER} found something special: "),
        (BroadcastType.CLUE_ITEM, rf"{_PLAYER} received a clue item: "),
        (BroadcastType.COLLECTION_LOG, rf"{_PLAYER} received a new collection log item: "),
        (BroadcastType.DROP, rf"{_PLAYER} received a drop: "),
        (BroadcastType.PET, rf"{_PLAYER} has a funny feeling like .{{1,40}}? followed: "),
        (BroadcastType.PET, rf"{_PLAYER} feels something weird sneaking into \w+ backpack: "),
        (BroadcastType.XP_MILESTONE, rf"{_PLAYER} has reached [\d,]+ XP in \w"),
        (
            BroadcastType.LEVEL,
            rf"{_PLAYER} has reached (?:combat level|a total level of|"
            rf"the highest possible total level of|[A-Za-z]+ level) \d",
        ),
        (BroadcastType.QUEST, rf"{_PLAYER} has completed a quest: "),
        (BroadcastType.COMBAT_TASK, rf"{_PLAYER} has completed an? \w+ combat task: "),
        (BroadcastType.DIARY, rf"{_PLAYER} has completed the .{{1,80}} diary\b"),
        (
            BroadcastType.COMBAT_TIER,
            rf"{_PLAYER} has unlocked the \w+ tier of rewards from Combat Achievements",
        ),
        (BroadcastType.PERSONAL_BEST, rf"{_PLAYER} has achieved a new .{{1,120}}? personal best"),
        # PvP: the player is always the subject; the winner for "has defeated", the loser for
        # "has been defeated by". The opponent goes to other_name.
        (
            BroadcastType.PVP,
            rf"{_PLAYER} has been defeated by {_OTHER}(?: in .{{1,80}}?)? and lost ",
        ),
        (BroadcastType.PVP, rf"{_PLAYER} has defeated {_OTHER}(?: in .{{1,80}}?)? and received "),
        (BroadcastType.LOOT_KEY, rf"{_PLAYER} has opened a loot key worth "),
        # Invite: the invited player; the inviter goes to other_name.
        (BroadcastType.INVITE, rf"{_PLAYER} has been invited into the clan by {_OTHER}\.?$"),
        # Expelled: the expelled player; the one who expelled goes to other_name.
        (BroadcastType.EXPELLED, rf"{_OTHER} has expelled {_PLAYER} from the clan\b"),
        (BroadcastType.LEFT, rf"{_PLAYER} has left the clan\b"),
        (
            BroadcastType.COFFER,
            rf"{_PLAYER} has (?:deposited|withdrawn) [\d,]+ coins (?:into|from) the coffer",
        ),
        (
            BroadcastType.HCIM_DEATH,
            rf"{_PLAYER} has died and lost (?:their|his|her) Hardcore (?:Group )?Ironman status",
        ),
    )
)


# A literal (lower-case) phrase each rule above cannot match without: an ASCII sentence that
# lacks it is not tried against the rule's regex. Non-ASCII sentences try every rule (their
# case-insensitive matching is not plain ``str.lower``).
_NEEDLES: tuple[str, ...] = (
    "received special loot from a raid: ",
    "found something special: ",
    "received a clue item: ",
    "received a new collection log item: ",
    "received a drop: ",
    "has a funny feeling like ",
    "feels something weird sneaking into ",
    "has reached ",
    "has reached ",
    "has completed a quest: ",
    " combat task: ",
    "has completed the ",
    " tier of rewards from combat achievements",
    "has achieved a new ",
    "has been defeated by ",
    "has defeated ",
    "has opened a loot key worth ",
    "has been invited into the clan by ",
    "has expelled ",
    "has left the clan",
    " the coffer",
    "has died and lost ",
)
_RULES: tuple[tuple[str, BroadcastType, re.Pattern[str]], ...] = tuple(
    (needle, kind, pattern) for needle, (kind, pattern) in zip(_NEEDLES, _SENTENCES, strict=True)
)


def classify_broadcast(sentence: str) -> BroadcastMatch:
    """Classify a cleaned broadcast sentence and find whom it is about.

    Unknown sentences give ``BroadcastType.UNKNOWN`` with no player; never raises.
    """
    text = " ".join(sentence.split())
    folded = text.lower() if text.isascii() else None
    for needle, kind, pattern in _RULES:
        if folded is not None and needle not in folded:
            continue
        match = pattern.match(text)
        if match is None:
            continue
        player = clean_display_name(match.group("player")) or None
        other = match.groupdict().get("other")
        return BroadcastMatch(kind, player, clean_display_name(other) if other else None)
    return BroadcastMatch(BroadcastType.UNKNOWN, None)


# Title keywords (Dink event types, TrackScape broadcast-channel titles), most specific first.
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
        (r"loot|drop", BroadcastType.DROP),
        (r"level up|level|levels", BroadcastType.LEVEL),
        (r"xp|experience", BroadcastType.XP_MILESTONE),
        (r"achievement diary|diary", BroadcastType.DIARY),
        (r"combat achievement tier|combat tier", BroadcastType.COMBAT_TIER),
        (r"combat achievements?|combat task", BroadcastType.COMBAT_TASK),
        (r"quests?", BroadcastType.QUEST),
        (r"coffer", BroadcastType.COFFER),
        (r"invited?|invite", BroadcastType.INVITE),
        (r"expelled|kicked", BroadcastType.EXPELLED),
    )
)


def type_from_title(title: str) -> BroadcastType:
    """Map an embed title (``"Loot Drop"``, ``":tada: New High Value drop!"``) to a type.

    Titles without a known keyword (Dink's "Player Death", "Slayer Task", "Completion Count")
    give ``UNKNOWN``: a death is not a hardcore-status loss, a kill count is not a drop.
    """
    clean = _SHORTCODE.sub(" ", _EMOJI.sub(" ", title))
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
    per non-empty content line and per non-empty embed; an empty one gives none.
    """
    content = message.content or ""
    if not config.is_relay(message):
        return (_discord_event(content),)
    events: list[RelayEvent] = []
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


def _discord_event(content: str) -> RelayEvent:
    return RelayEvent(
        part=0,
        kind="discord",
        player_name=None,
        player_key=None,
        text=content,
        broadcast_type=None,
        rank_title=None,
        account_type=None,
        format=FORMAT_DISCORD,
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


def _broadcast_event(
    sentence: str,
    fmt: str,
    *,
    title: str | None = None,
    fallback_player: str | None = None,
) -> RelayEvent:
    """A broadcast read from its sentence; the title names its type only when the sentence
    does not, and ``fallback_player`` is its subject only when the sentence names nobody."""
    found = classify_broadcast(sentence)
    kind = found.type
    if kind is BroadcastType.UNKNOWN and title:
        kind = type_from_title(title)
    return _broadcast(sentence, fmt, kind, found.player_name or fallback_player, found)


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

    quoted = _is_preg_quoted(rest)
    sentence = _clean_sentence(rest, unescape=quoted)
    if not sentence:
        return None
    fmt = FORMAT_CLANCHAT_NET if quoted or leading_emojis else FORMAT_PLUGIN_DIRECT
    return _broadcast_event(sentence, fmt)


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


def _parse_embed(embed: EmbedIn, config: RelayConfig) -> RelayEvent | None:
    author = _clean_name(embed.author_name or "")
    title = (embed.title or "").strip()
    raw_description = embed.description or ""
    quoted = _is_preg_quoted(raw_description)
    if not author and not title and not raw_description.strip():
        return None
    author_is_clan = bool(author) and (
        config.clan_name is not None and _fold(author) == _fold(config.clan_name)
    )

    if author and not author_is_clan:
        if title:
            return _dink_event(author, title, raw_description)
        text = _clean_text(raw_description, unescape=quoted)
        if config.clan_name is None:
            # Without the clan's name a TrackScape broadcast looks like chat from a player
            # named like the clan: read it as a broadcast when the sentence is about someone
            # other than the author.
            sentence = _clean_sentence(raw_description, unescape=quoted)
            found = classify_broadcast(sentence)
            if found.type is not BroadcastType.UNKNOWN and _key_of(found.player_name) != _key_of(
                author
            ):
                return _broadcast_event(sentence, FORMAT_TRACKSCAPE)
        return _chat_event(author, text, FORMAT_TRACKSCAPE)

    sentence = _clean_sentence(raw_description, unescape=quoted)
    if not sentence:
        sentence = _clean_sentence(title, unescape=False)
    if not sentence:
        return None
    return _broadcast_event(sentence, FORMAT_TRACKSCAPE, title=title)


def _dink_event(player: str, title: str, raw_description: str) -> RelayEvent:
    """Dink's embed: its author is the subject and its title names the event's type."""
    sentence = _clean_sentence(raw_description, unescape=False) or _clean_sentence(
        title, unescape=False
    )
    kind = type_from_title(title)
    found = classify_broadcast(sentence)
    if kind is BroadcastType.UNKNOWN:
        kind = found.type
    return _broadcast(sentence, FORMAT_DINK, kind, player, found)
