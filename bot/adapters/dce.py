"""DiscordChatExporter (DCE) JSON exports: entries read into the relay parser's messages.

An export is one JSON object: a header (``guild``, ``channel``, ``dateRange``,
``exportedAt``), the ``messages`` array, then ``messageCount``; DCE writes it indented, with
relaxed escaping (non-ASCII as is), and each reaction lists every user who reacted
(Tyrrrz/DiscordChatExporter, ``DiscordChatExporter.Core/Exporting/JsonMessageWriter.cs`` at
``08524e94ba6de5810468e3111c1725c1af224d95``).

The file is streamed: :class:`ExportReader` keeps a window of text and decodes one value at a
time with the standard library's C decoder, so memory stays bounded whatever the file holds.
Every value (a message entry, a header value) is held to the limits below; one over them is
skipped without being decoded (a scan that tracks only strings and brackets finds its end)
and comes back as a :class:`BadEntry` with the reason, so one hostile entry costs neither
memory nor the rest of the import. Entries that cannot be read (a missing field, a wrong
type, an id outside Discord's range, a time outside what a Discord id can hold) raise
:class:`BadEntry` from :func:`message_from_dce`; system notices (pins, joins) read as None.

In DCE exports a webhook post has ``author.isBot`` true and discriminator ``"0000"``, and its
``author.id`` is the webhook id: so a configured relay id matches it either way.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Generator, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from domain.relay import EmbedIn, RelayMessageIn

# --- Limits (the README, "Importing exports", states them) -----------------------------------
#: Characters of JSON text one entry (or one header value) may take: DCE writes a message with
#: every reaction's users, indented, so a busy message can reach tens of kilobytes.
MAX_ENTRY_CHARS = 2_000_000
#: Nesting levels inside one entry, the entry's own object being level 1 (DCE's deepest, a
#: reaction's users, is 5; message components nest a few levels more).
MAX_DEPTH = 64
#: Characters of a message's ``content``: Discord allows 4,000 (2,000 without Nitro) and DCE
#: writes mentions as names, which can make a message longer.
MAX_CONTENT_CHARS = 20_000
#: Embeds of one message (Discord allows 10) and fields of one embed (Discord allows 25).
MAX_EMBEDS = 25
MAX_EMBED_FIELDS = 50
#: Characters of all of one message's embed texts together (Discord allows 6,000).
MAX_EMBED_TEXT_CHARS = 30_000
#: Discord ids are positive 64-bit signed integers, written as decimal ASCII digits.
MAX_SNOWFLAKE = 2**63 - 1
#: The instants a Discord id can hold: from Discord's epoch to the largest id's millisecond.
DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
LATEST_TIME = DISCORD_EPOCH + timedelta(milliseconds=MAX_SNOWFLAKE >> 22)

# Bytes read at a time; the window of text holds at most an entry's limit plus this.
_READ_BYTES = 1 << 20
# Message types that carry what a person or relay wrote; the rest are Discord system notices.
_TEXT_TYPES = frozenset({"Default", "Reply"})

# Why an entry was skipped: the summary counts each reason apart.
MISSING = "missing field"
WRONG_TYPE = "wrong type"
BAD_ID = "bad id"
BAD_TIME = "bad timestamp"
TIME_RANGE = "timestamp out of range"
TOO_LARGE = "entry too large"
TOO_DEEP = "nested too deep"
LONG_NUMBER = "number too long"
LONG_CONTENT = "content too long"
MANY_EMBEDS = "too many embeds"
LONG_EMBEDS = "embeds too large"
BAD_TEXT = "invalid text"


class BadEntry(ValueError):
    """A message entry that cannot be read: ``reason`` (counted) and what was wrong."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = (detail or reason)[:160]
        super().__init__(self.detail)


class ExportError(ValueError):
    """The file cannot be read as an export past some point."""


class BrokenExport(ExportError):
    """The file is cut short, is not valid JSON, or is not UTF-8 text."""


class NotAnExport(ExportError):
    """The file is JSON but not a DCE export (no object, no ``messages`` list, no channel)."""


_decode = json.JSONDecoder().raw_decode
_WS = re.compile(r"[ \t\n\r]*")
_NEXT_ITEM = re.compile(r"[ \t\n\r]*,[ \t\n\r]*")
_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_END = re.compile(r'["\\]')
_SCALAR_END = re.compile(r"[,\]}: \t\n\r]")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` levels (itself being level 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        children = item.values() if type(item) is dict else item
        for child in children:
            if type(child) is dict or type(child) is list:
                stack.append((child, level + 1))
    return False


class ExportReader:
    """A DCE export read as a stream of values, within the limits above.

    ``buf[pos:]`` is the text not consumed yet; ``dropped`` counts the characters discarded
    before ``buf``, so ``dropped + pos`` is the offset in the file (in characters).
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.buf = ""
        self.pos = 0
        self.dropped = 0
        self.eof = False
        self.channel: Any = None
        self._state = "start"

    # -- the window of text ---------------------------------------------------------------

    def _more(self) -> bool:
        """Read on, dropping the text behind ``pos``; False at the end of the file."""
        if self.eof:
            return False
        data = self._handle.read(_READ_BYTES)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            where = f"near character {self.offset:,}"
            raise BrokenExport(f"not UTF-8 text {where}: {exc.reason}") from None
        self.dropped += self.pos
        self.buf = self.buf[self.pos :] + text if self.pos < len(self.buf) else text
        self.pos = 0
        if not data:
            self.eof = True
        return True

    @property
    def offset(self) -> int:
        return self.dropped + self.pos

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None  # the pattern matches the empty string
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def _expect(self, allowed: str, what: str) -> str:
        """Consume white space and one of the characters ``allowed``; which one it was."""
        char = self._peek()
        if char == "":
            raise BrokenExport(f"the file ends at character {self.offset:,} ({what} expected)")
        if char not in allowed:
            raise BrokenExport(f"expected {what} at character {self.offset:,}, found {char!r}")
        self.pos += 1
        return char

    # -- one value --------------------------------------------------------------------------

    def value(self) -> Any:
        """Decode the next value; over a limit, skip it and raise :class:`BadEntry`.

        Raises :class:`BrokenExport` when the file ends inside it or it is not valid JSON.
        """
        buf = self.buf
        if (self.pos >= len(buf) or buf[self.pos] in " \t\n\r") and self._peek() == "":
            raise BrokenExport(f"the file ends at character {self.offset:,} (a value expected)")
        while True:
            start = self.pos
            try:
                value, end = _decode(self.buf, start)
            except RecursionError:
                self._skip()
                raise BadEntry(TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels") from None
            except json.JSONDecodeError as exc:
                if len(self.buf) - start <= MAX_ENTRY_CHARS and self._more():
                    continue  # the value may go on past the window: read on and try again
                where = self.dropped + exc.pos
                length = self._skip()
                if length > MAX_ENTRY_CHARS:
                    raise BadEntry(
                        TOO_LARGE, f"over {MAX_ENTRY_CHARS:,} characters ({length:,})"
                    ) from None
                raise BrokenExport(f"not valid JSON at character {where:,}: {exc.msg}") from None
            except ValueError as exc:  # a number Python will not convert (over 4,300 digits)
                self._skip()
                raise BadEntry(LONG_NUMBER, str(exc)[:100]) from None
            if end >= len(self.buf) and self._more():
                continue  # a number or literal may go on past the window
            self.pos = end
            if end - start > MAX_ENTRY_CHARS:
                raise BadEntry(TOO_LARGE, f"over {MAX_ENTRY_CHARS:,} characters ({end - start:,})")
            buf = self.buf
            # Only an entry with more brackets than the limit can nest deeper than it.
            if (
                buf.count("{", start, end) + buf.count("[", start, end) > MAX_DEPTH
                and (type(value) is dict or type(value) is list)
                and _too_deep(value, MAX_DEPTH)
            ):
                raise BadEntry(TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
            return value

    def _skip(self) -> int:
        """Move past the value at ``pos`` without decoding it: its length in characters.

        Tracks only strings (and their escapes) and brackets, reading on as needed and
        keeping no more than one window of text, so any size or depth costs no memory.
        """
        begin = self.offset
        first = self._peek()
        if first not in ('"', "[", "{"):  # a number or literal: up to a delimiter
            while (match := _SCALAR_END.search(self.buf, self.pos)) is None:
                self.pos = len(self.buf)
                if not self._more():
                    return self.offset - begin
            self.pos = match.start()
            return self.offset - begin
        depth = 0
        in_string = False
        while True:
            pattern = _STRING_END if in_string else _STRUCTURE
            match = pattern.search(self.buf, self.pos)
            if match is None:
                self.pos = len(self.buf)
                if not self._more():
                    raise BrokenExport(f"the file ends inside a value at character {begin:,}")
                continue
            char = match.group()
            if char == "\\":
                if match.end() >= len(self.buf):  # the escaped character is not read yet
                    self.pos = match.start()
                    if not self._more() or len(self.buf) - self.pos < 2:
                        raise BrokenExport(f"the file ends inside a string at {begin:,}")
                    continue
                self.pos = match.end() + 1
                continue
            self.pos = match.end()
            if char == '"':
                in_string = not in_string
                if in_string or depth:
                    continue
                return self.offset - begin
            if char in "[{":
                depth += 1
                continue
            depth -= 1
            if depth <= 0:
                return self.offset - begin

    # -- the export's structure --------------------------------------------------------------

    def _key(self) -> str:
        if self._peek() != '"':
            raise BrokenExport(f"expected a key at character {self.offset:,}")
        try:
            key = self.value()
        except BadEntry as exc:
            raise BrokenExport(f"unreadable key at character {self.offset:,}: {exc}") from None
        self._expect(":", "':'")
        return str(key)

    def messages(self) -> Generator[Any, None, None]:
        """The ``messages`` entries one at a time: each a decoded value or a :class:`BadEntry`.

        Reads the header on the way (``channel``) and checks the rest of the file after the
        list. Raises :class:`NotAnExport` when there is no ``messages`` list (before any
        entry: nothing of such a file is imported) and :class:`BrokenExport` where the file
        stops being valid JSON.
        """
        if self._state != "start":
            raise RuntimeError("an export is read once")
        self._state = "reading"
        first = self._peek()
        if first != "{":
            if first == "":
                raise NotAnExport("the file is empty")
            raise NotAnExport("the file is not a JSON object (a DiscordChatExporter export is)")
        self.pos += 1
        seen_messages = False
        if self._peek() == "}":
            self.pos += 1
        else:
            while True:
                key = self._key()
                if key == "messages":
                    if seen_messages:
                        raise NotAnExport("the export has two 'messages' lists")
                    seen_messages = True
                    if self._peek() != "[":
                        raise NotAnExport("its 'messages' is not a list")
                    self.pos += 1
                    yield from self._items()
                else:
                    try:
                        value = self.value()
                    except BadEntry as exc:
                        if key == "channel":
                            raise NotAnExport(f"its 'channel' is unreadable: {exc}") from None
                    else:
                        if key == "channel":
                            self.channel = value
                if self._expect(",}", "',' or '}'") == "}":
                    break
        if self._peek() != "":
            raise BrokenExport(f"text after the export's end at character {self.offset:,}")
        self._state = "done"
        if not seen_messages:
            raise NotAnExport("it has no 'messages' list")

    def _items(self) -> Iterator[Any]:
        if self._peek() == "]":
            self.pos += 1
            return
        while True:
            try:
                yield self.value()
            except BadEntry as exc:
                yield exc
            # The common case, at C speed: a comma between entries, inside the window.
            match = _NEXT_ITEM.match(self.buf, self.pos)
            if match is not None and match.end() < len(self.buf):
                self.pos = match.end()
                continue
            if self._expect(",]", "',' or ']'") == "]":
                return


def channel_of(path: Path) -> int:
    """The channel id in an export's header (read without reading the messages)."""
    with path.open("rb") as handle:
        reader = ExportReader(handle)
        iterator = reader.messages()
        try:
            for _ in iterator:
                if reader.channel is not None:
                    break
        finally:
            iterator.close()
    if reader.channel is None:
        raise NotAnExport("it has no 'channel'")
    return _snowflake(_mapping(reader.channel, "channel").get("id"), "channel id")


def message_entries(handle: IO[bytes]) -> Generator[Any, None, None]:
    """The entries of an export's ``messages`` array, one at a time (see
    :meth:`ExportReader.messages`: an entry over a limit comes as a :class:`BadEntry`)."""
    return ExportReader(handle).messages()


# ---------------------------------------------------------------------------------------------
# One entry


def _snowflake(value: Any, what: str) -> int:
    if type(value) is str:
        if (
            0 < len(value) <= 19
            and value.isascii()
            and value.isdigit()
            and value[0] != "0"
            and (number := int(value)) <= MAX_SNOWFLAKE
        ):
            return number
        raise BadEntry(BAD_ID, f"{what} is not a Discord id: {value[:40]!r}")
    if type(value) is int:
        if 0 < value <= MAX_SNOWFLAKE:
            return value
        raise BadEntry(BAD_ID, f"{what} is not a Discord id: {str(value)[:40]}")
    if value is None:
        raise BadEntry(MISSING, f"missing {what}")
    raise BadEntry(WRONG_TYPE, f"{what} is not a Discord id: {type(value).__name__}")


def _timestamp(value: Any) -> datetime:
    if type(value) is not str:
        if value is None:
            raise BadEntry(MISSING, "missing timestamp")
        raise BadEntry(WRONG_TYPE, "timestamp is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadEntry(BAD_TIME, f"bad timestamp {value[:60]!r}") from None
    # DCE always writes an offset; a bare time can only be UTC.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        in_range = DISCORD_EPOCH <= parsed <= LATEST_TIME
    except (OverflowError, ValueError):  # pragma: no cover - aware comparisons do not overflow
        in_range = False
    if not in_range:
        raise BadEntry(TIME_RANGE, f"timestamp {value[:60]!r} is outside what Discord ids hold")
    return parsed


def _text(value: Any, what: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise BadEntry(WRONG_TYPE, f"{what} is not a string")


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if type(value) is dict:
        return value
    raise BadEntry(WRONG_TYPE, f"{what} is not an object")


def _clean(text: str, what: str) -> str:
    """``text`` if a database can store it: no NUL, no lone surrogate (from a bad escape)."""
    if text.isascii():
        if "\x00" in text:
            raise BadEntry(BAD_TEXT, f"{what} holds a NUL character")
        return text
    if "\x00" in text:
        raise BadEntry(BAD_TEXT, f"{what} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadEntry(BAD_TEXT, f"{what} holds a lone surrogate (not Unicode text)") from None
    return text


def _embed(raw: Any) -> tuple[EmbedIn, int]:
    """One embed and how many characters of text it holds."""
    if type(raw) is not dict:
        raise BadEntry(WRONG_TYPE, "embed is not an object")
    fields_raw = raw.get("fields") or []
    if type(fields_raw) is not list:
        raise BadEntry(WRONG_TYPE, "embed fields is not a list")
    if len(fields_raw) > MAX_EMBED_FIELDS:
        raise BadEntry(LONG_EMBEDS, f"an embed has {len(fields_raw):,} fields")
    fields: list[tuple[str, str]] = []
    size = 0
    for item in fields_raw:
        entry = _mapping(item, "embed field")
        name = _text(entry.get("name"), "field name") or ""
        value = _text(entry.get("value"), "field") or ""
        size += len(name) + len(value)
        fields.append((_clean(name, "field name"), _clean(value, "field")))
    author = _mapping(raw.get("author"), "embed author")
    texts = (
        _text(raw.get("title"), "embed title"),
        _text(raw.get("description"), "embed description"),
        _text(author.get("name"), "author name"),
        _text(author.get("iconUrl"), "author icon url"),
        _text(_mapping(raw.get("footer"), "embed footer").get("text"), "footer text"),
        _text(raw.get("url"), "embed url"),
    )
    for text in texts:
        if text:
            size += len(text)
            _clean(text, "embed text")
    title, description, author_name, author_icon_url, footer, url = texts
    embed = EmbedIn(
        title=title,
        description=description,
        author_name=author_name,
        author_icon_url=author_icon_url,
        footer=footer,
        url=url,
        fields=tuple(fields),
    )
    return embed, size


def message_from_dce(raw: Any, channel_id: int) -> RelayMessageIn | None:
    """Read one DCE message entry; None for a system message. Raises :class:`BadEntry`."""
    if type(raw) is not dict:
        if isinstance(raw, BadEntry):  # skipped by the reader (over a limit)
            raise raw
        raise BadEntry(WRONG_TYPE, "entry is not an object")
    kind = raw.get("type", "Default")
    if type(kind) is not str:
        raise BadEntry(WRONG_TYPE, "type is not a string")
    if kind not in _TEXT_TYPES:
        return None
    message_id = _snowflake(raw.get("id"), "id")
    posted_at = _timestamp(raw.get("timestamp"))
    author = raw.get("author")
    if type(author) is not dict:
        if author is None:
            raise BadEntry(MISSING, "missing author")
        raise BadEntry(WRONG_TYPE, "author is not an object")
    author_id = _snowflake(author.get("id"), "author id")
    embeds_raw = raw.get("embeds") or []
    if type(embeds_raw) is not list:
        raise BadEntry(WRONG_TYPE, "embeds is not a list")
    content = _text(raw.get("content"), "content") or ""
    if len(content) > MAX_CONTENT_CHARS:
        raise BadEntry(
            LONG_CONTENT, f"content over {MAX_CONTENT_CHARS:,} characters ({len(content):,})"
        )
    embeds: tuple[EmbedIn, ...] = ()
    if embeds_raw:
        if len(embeds_raw) > MAX_EMBEDS:
            raise BadEntry(MANY_EMBEDS, f"{len(embeds_raw):,} embeds (at most {MAX_EMBEDS})")
        read = [_embed(e) for e in embeds_raw]
        size = sum(size for _, size in read)
        if size > MAX_EMBED_TEXT_CHARS:
            raise BadEntry(
                LONG_EMBEDS, f"embed text over {MAX_EMBED_TEXT_CHARS:,} characters ({size:,})"
            )
        embeds = tuple(embed for embed, _ in read)
    is_bot = author.get("isBot") is True
    author_name = _text(author.get("nickname") or author.get("name"), "author name") or ""
    return RelayMessageIn(
        message_id=message_id,
        channel_id=channel_id,
        author_id=author_id,
        author_name=_clean(author_name, "author name"),
        is_bot=is_bot,
        webhook_id=author_id if is_bot and author.get("discriminator") == "0000" else None,
        content=_clean(content, "content"),
        embeds=embeds,
        posted_at=posted_at,
    )
