"""DiscordChatExporter (DCE) JSON exports: entries read into the relay parser's messages.

Exports are streamed with ijson (the yajl2 C backend when present), so memory stays flat
whatever the file size. Entries that cannot be read (no id, a bad timestamp, wrong types)
raise :class:`BadEntry` with the reason; system notices (pins, joins) read as None.

In DCE exports a webhook post has ``author.isBot`` true and discriminator ``"0000"``, and its
``author.id`` is the webhook id: so a configured relay id matches it either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import ijson

from domain.relay import EmbedIn, RelayMessageIn

try:  # the C backend is several times faster; ijson falls back to Python without it
    import ijson.backends.yajl2_c as _ijson_backend

    _items: Callable[..., Iterator[Any]] = _ijson_backend.items
except ImportError:  # pragma: no cover - depends on how ijson was built
    _items = ijson.items

#: Raised by the streaming reader when the file is cut short or is not JSON.
JSONError = ijson.JSONError
# Message types that carry what a person or relay wrote; the rest are Discord system notices.
_TEXT_TYPES = frozenset({"Default", "Reply"})


class BadEntry(ValueError):
    """A message entry that cannot be read; the message says why."""


def _snowflake(value: Any, what: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if value is None:
        raise BadEntry(f"missing {what}")
    raise BadEntry(f"{what} is not a Discord id: {value!r}"[:120])


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise BadEntry("missing timestamp" if value is None else "timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadEntry(f"bad timestamp {value!r}"[:120]) from None
    # DCE always writes an offset; a bare time can only be UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadEntry(f"{what} is not a string")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise BadEntry(f"{what} is not an object")


def _embed(raw: Any) -> EmbedIn:
    if not isinstance(raw, dict):
        raise BadEntry("embed is not an object")
    fields_raw = raw.get("fields") or []
    if not isinstance(fields_raw, list):
        raise BadEntry("embed fields is not a list")
    fields: list[tuple[str, str]] = []
    for item in fields_raw:
        entry = _mapping(item, "embed field")
        fields.append(
            (_text(entry.get("name"), "field name") or "", _text(entry.get("value"), "field") or "")
        )
    author = _mapping(raw.get("author"), "embed author")
    return EmbedIn(
        title=_text(raw.get("title"), "embed title"),
        description=_text(raw.get("description"), "embed description"),
        author_name=_text(author.get("name"), "author name"),
        author_icon_url=_text(author.get("iconUrl"), "author icon url"),
        footer=_text(_mapping(raw.get("footer"), "embed footer").get("text"), "footer text"),
        url=_text(raw.get("url"), "embed url"),
        fields=tuple(fields),
    )


def message_from_dce(raw: Any, channel_id: int) -> RelayMessageIn | None:
    """Read one DCE message entry; None for a system message. Raises :class:`BadEntry`."""
    if not isinstance(raw, dict):
        raise BadEntry("entry is not an object")
    kind = raw.get("type", "Default")
    if kind not in _TEXT_TYPES:
        if isinstance(kind, str):
            return None
        raise BadEntry("type is not a string")
    message_id = _snowflake(raw.get("id"), "id")
    posted_at = _timestamp(raw.get("timestamp"))
    author = raw.get("author")
    if not isinstance(author, dict):
        raise BadEntry("missing author" if author is None else "author is not an object")
    author_id = _snowflake(author.get("id"), "author id")
    embeds_raw = raw.get("embeds") or []
    if not isinstance(embeds_raw, list):
        raise BadEntry("embeds is not a list")
    is_bot = author.get("isBot") is True
    return RelayMessageIn(
        message_id=message_id,
        channel_id=channel_id,
        author_id=author_id,
        author_name=_text(author.get("nickname") or author.get("name"), "author name") or "",
        is_bot=is_bot,
        webhook_id=author_id if is_bot and author.get("discriminator") == "0000" else None,
        content=_text(raw.get("content"), "content") or "",
        embeds=tuple(_embed(e) for e in embeds_raw),
        posted_at=posted_at,
    )


def channel_of(path: Path) -> int:
    """The channel id in an export's header (read without reading the messages)."""
    with path.open("rb") as handle:
        for channel in _items(handle, "channel"):
            return _snowflake(_mapping(channel, "channel").get("id"), "channel id")
    raise BadEntry("no channel in the export")


def message_entries(handle: IO[bytes]) -> Iterator[Any]:
    """The raw entries of an export's ``messages`` array, one at a time."""
    return _items(handle, "messages.item", use_float=True)
