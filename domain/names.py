"""Player-name keys compatible with Wise Old Man (docs/wom-api.md, "Player names and keys").

A display name is what a player sees; the *key* is what identifies them: tags and Discord
emojis stripped, NBSP turned into a space, every run of whitespace, ``_`` or ``-`` folded
into one space, trimmed and lower-cased. Separators are never deleted: ``docofmed`` and
``doc of med`` are different players.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 12

# <img=2>, <col=ff0000>, </col>, <lt>/<gt> already decoded elsewhere; Discord custom emojis
# <:Name:123> and animated <a:Name:123>.
_DISCORD_EMOJI = re.compile(r"<a?:[A-Za-z0-9_~\-]+:\d+>")
_GAME_TAG = re.compile(r"</?(?:img|col|shad|str|u|br|lt|gt)(?:=[^>]*)?>", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s_\-]+")
_VALID_KEY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


class InvalidNameError(ValueError):
    """A string that cannot be an Old School RuneScape display name."""


def strip_tags(raw: str) -> str:
    """Remove in-game tags (``<img=2>``, ``<col=…>``) and Discord custom emojis."""
    return _GAME_TAG.sub("", _DISCORD_EMOJI.sub("", raw))


def name_key(raw: str) -> str:
    """Return the WOM-compatible key of a display name, without validating it.

    ``"Hello_world  "`` → ``"hello world"``; ``"Doc_Of-Med"`` → ``"doc of med"``.
    """
    text = strip_tags(raw).replace("\u00a0", " ")
    return _SEPARATORS.sub(" ", text).strip().lower()


def is_valid_key(key: str) -> bool:
    """True when ``key`` is a well-formed name key (1–12 chars, single inner spaces)."""
    return 0 < len(key) <= MAX_NAME_LENGTH and _VALID_KEY.fullmatch(key) is not None


def valid_name_key(raw: str) -> str:
    """Return the key of ``raw`` or raise :class:`InvalidNameError` when it cannot be a name."""
    key = name_key(raw)
    if not is_valid_key(key):
        raise InvalidNameError(f"{raw!r} is not a valid Old School RuneScape name")
    return key


def clean_display_name(raw: str) -> str:
    """Return a display name as it should be shown: tags stripped, NBSP → space, trimmed."""
    return " ".join(strip_tags(raw).replace("\u00a0", " ").split())
