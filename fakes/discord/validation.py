"""The checks Discord applies to what a bot sends, with Discord's own error shapes.

Each check fills a :class:`FormErrors`; a non-empty one becomes the 400
``{"code": 50035, "message": "Invalid Form Body", "errors": {...}}`` Discord answers with,
and its :meth:`FormErrors.reasons` are the human-readable lines recorded as violations.

Where the limits come from (discord/discord-api-docs at c98d64bc, the pages under
``developers/``): message content, embeds and their limits, allowed mentions and the
attachment count from ``resources/message.mdx`` ("Create Message", "Embed Limits", "Allowed
Mentions Object"); buttons, selects and action rows from ``components/reference.mdx``;
commands, options and choices from ``interactions/application-commands.mdx``; modals from
``interactions/receiving-and-responding.mdx``. The inner error codes (``BASE_TYPE_MAX_LENGTH``
…) are Discord's where its answers are known; the rest follow the same pattern.

Every check adds its error at its own call site (``errors.add``), so "did a test make this
check fire" is "did that line run" (``tests/fakes/check_sites.py`` counts them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

JSON = dict[str, Any]

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ATTACHMENTS_MAX = 10
ACTION_ROWS_MAX = 5
BUTTONS_PER_ROW_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
BUTTON_URL_MAX = 512
BUTTON_STYLES = (1, 2, 3, 4, 5, 6)
BUTTON_LINK = 5
BUTTON_PREMIUM = 6
SELECT_TYPES = (3, 5, 6, 7, 8)
SELECT_OPTIONS_MAX = 25
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
SELECT_VALUES_MAX = 25
# What a select's default values may name, by select type (user, role, mentionable, channel).
DEFAULT_VALUE_TYPES: dict[Any, tuple[str, ...]] = {
    5: ("user",),
    6: ("role",),
    7: ("user", "role"),
    8: ("channel",),
}
COMPONENTS_V2_MAX = 40
MENTION_TYPES = ("everyone", "roles", "users")
MENTION_IDS_MAX = 100
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMANDS_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_ROWS_MAX = 5
MODAL_LABEL_MAX = 45
MODAL_DESCRIPTION_MAX = 100
# What a Label holds: a string select, a text input, user/role/mentionable/channel selects,
# a file upload (19) and the radio, checkbox group and checkbox components (21, 22, 23).
MODAL_LABEL_CHILDREN = (3, 4, 5, 6, 7, 8, 19, 21, 22, 23)
TEXT_INPUT_STYLES = (1, 2)
TEXT_INPUT_MAX = 4000
TEXT_INPUT_PLACEHOLDER_MAX = 100

# Embed URLs: links are http(s); images and icons may also be ``attachment://file``.
_LINK_SCHEMES = ("http", "https")
_IMAGE_SCHEMES = ("http", "https", "attachment")
# Link buttons also open Discord's own ``discord://`` links.
_BUTTON_SCHEMES = ("http", "https", "discord")

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_COMPONENTS_V2 = 1 << 15


class FormErrors:
    """Errors keyed by the JSON path of the offending field, rendered like Discord does."""

    def __init__(
        self,
        prefix: Sequence[str | int] = (),
        _store: list[tuple[tuple[str, ...], str, str]] | None = None,
    ) -> None:
        self._prefix = tuple(str(p) for p in prefix)
        self._errors: list[tuple[tuple[str, ...], str, str]] = [] if _store is None else _store

    def at(self, *prefix: str | int) -> FormErrors:
        """A view that records into the same errors under ``prefix`` (e.g. ``"data"``)."""
        return FormErrors((*self._prefix, *prefix), self._errors)

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        self._errors.append(((*self._prefix, *(str(p) for p in path)), code, message))

    def __bool__(self) -> bool:
        return bool(self._errors)

    def tree(self) -> JSON:
        """Return Discord's nested ``errors`` object."""
        root: JSON = {}
        for path, code, message in self._errors:
            node = root
            for part in path:
                node = node.setdefault(part, {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return root

    def reasons(self) -> list[str]:
        """Return one line per error: ``embeds.0.title: Must be 256 or fewer in length.``."""
        return [f"{'.'.join(path) or '<body>'}: {message}" for path, _, message in self._errors]


# ------------------------------------------------------------------------------------ helpers
# Predicates and messages only: each check adds its own error where it is made.

MAX_LENGTH = "BASE_TYPE_MAX_LENGTH"
REQUIRED = "BASE_TYPE_REQUIRED"
REQUIRED_MESSAGE = "This field is required"


def too_long(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) > limit


def too_long_message(value: Any, limit: int) -> str:
    return f"Must be {limit} or fewer in length. (got {len(value)})"


def blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def url_problem(value: Any, schemes: Sequence[str]) -> tuple[str, str] | None:
    """``(code, message)`` when ``value`` is not a URL Discord takes for this field."""
    if not isinstance(value, str):
        return "URL_TYPE_INVALID_URL", "Not a well formed URL."
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes:
        allowed = ", ".join(repr(s) for s in schemes)
        return (
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{parts.scheme}" is not supported. Scheme must be one of ({allowed}).',
        )
    if not (parts.netloc or (parts.scheme == "attachment" and parts.path)):
        return "URL_TYPE_INVALID_URL", "Not a well formed URL."
    return None


def embed_size(embed: Mapping[str, Any]) -> int:
    """Count the characters Discord counts toward the 6000 limit of one message's embeds."""
    total = 0
    for key in ("title", "description"):
        value = embed.get(key)
        if isinstance(value, str):
            total += len(value)
    for field in embed.get("fields") or []:
        total += len(str(field.get("name") or "")) + len(str(field.get("value") or ""))
    footer = embed.get("footer") or {}
    total += len(str(footer.get("text") or ""))
    author = embed.get("author") or {}
    total += len(str(author.get("name") or ""))
    return total


def _embed_urls(embed: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any, Sequence[str]]]:
    """Every URL an embed carries: (path, value, the schemes Discord takes there)."""
    found: list[tuple[tuple[str, ...], Any, Sequence[str]]] = []
    if "url" in embed:
        found.append((("url",), embed["url"], _LINK_SCHEMES))
    for key in ("image", "thumbnail"):
        part = embed.get(key)
        if isinstance(part, dict) and "url" in part:
            found.append(((key, "url"), part["url"], _IMAGE_SCHEMES))
    author = embed.get("author")
    if isinstance(author, dict):
        if "url" in author:
            found.append((("author", "url"), author["url"], _LINK_SCHEMES))
        if "icon_url" in author:
            found.append((("author", "icon_url"), author["icon_url"], _IMAGE_SCHEMES))
    footer = embed.get("footer")
    if isinstance(footer, dict) and "icon_url" in footer:
        found.append((("footer", "icon_url"), footer["icon_url"], _IMAGE_SCHEMES))
    return found


# ------------------------------------------------------------------------------------ embeds


def validate_embeds(errors: FormErrors, embeds: Any, path: Sequence[str | int] = ()) -> None:
    """Check embed count, per-field limits, URLs and the 6000-character total."""
    base = (*path, "embeds")
    if not isinstance(embeds, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(embeds) > EMBEDS_MAX:
        errors.add(base, MAX_LENGTH, f"Must be {EMBEDS_MAX} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        here = (*base, index)
        if not isinstance(embed, dict):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        title, description = embed.get("title"), embed.get("description")
        if too_long(title, EMBED_TITLE_MAX):
            errors.add((*here, "title"), MAX_LENGTH, too_long_message(title, EMBED_TITLE_MAX))
        if too_long(description, EMBED_DESCRIPTION_MAX):
            errors.add(
                (*here, "description"),
                MAX_LENGTH,
                too_long_message(description, EMBED_DESCRIPTION_MAX),
            )
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.add(
                (*here, "fields"), MAX_LENGTH, f"Must be {EMBED_FIELDS_MAX} or fewer in length."
            )
        for f_index, field in enumerate(fields):
            f_path = (*here, "fields", f_index)
            name, value = field.get("name"), field.get("value")
            if blank(name):
                errors.add((*f_path, "name"), REQUIRED, REQUIRED_MESSAGE)
            elif too_long(name, EMBED_FIELD_NAME_MAX):
                errors.add(
                    (*f_path, "name"), MAX_LENGTH, too_long_message(name, EMBED_FIELD_NAME_MAX)
                )
            if blank(value):
                errors.add((*f_path, "value"), REQUIRED, REQUIRED_MESSAGE)
            elif too_long(value, EMBED_FIELD_VALUE_MAX):
                errors.add(
                    (*f_path, "value"), MAX_LENGTH, too_long_message(value, EMBED_FIELD_VALUE_MAX)
                )
        footer = embed.get("footer")
        if isinstance(footer, dict) and too_long(footer.get("text"), EMBED_FOOTER_MAX):
            errors.add(
                (*here, "footer", "text"),
                MAX_LENGTH,
                too_long_message(footer["text"], EMBED_FOOTER_MAX),
            )
        author = embed.get("author")
        if isinstance(author, dict) and too_long(author.get("name"), EMBED_AUTHOR_MAX):
            errors.add(
                (*here, "author", "name"),
                MAX_LENGTH,
                too_long_message(author["name"], EMBED_AUTHOR_MAX),
            )
        for u_path, url, schemes in _embed_urls(embed):
            problem = url_problem(url, schemes)
            if problem is not None:
                errors.add((*here, *u_path), *problem)
        total += embed_size(embed)
    if total > EMBED_TOTAL_MAX:
        errors.add(
            base,
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX} (got {total})",
        )


# ------------------------------------------------------------------------------------ components


def _validate_button(errors: FormErrors, c_path: tuple[str | int, ...], button: JSON) -> None:
    """A button's style decides which fields it must and must not have."""
    style = button.get("style")
    custom_id, url, label = button.get("custom_id"), button.get("url"), button.get("label")
    if style not in BUTTON_STYLES:
        errors.add(
            (*c_path, "style"), "BASE_TYPE_CHOICES", f"Value must be one of {BUTTON_STYLES}."
        )
        return
    if style == BUTTON_PREMIUM:
        if not button.get("sku_id"):
            errors.add((*c_path, "sku_id"), REQUIRED, REQUIRED_MESSAGE)
        present = [k for k in ("custom_id", "label", "url", "emoji") if button.get(k)]
        if present:
            errors.add(
                (*c_path, present[0]),
                "BUTTON_COMPONENT_INVALID_FIELD",
                f"A premium button cannot have {', '.join(present)}",
            )
        return
    if blank(label) and not button.get("emoji"):
        errors.add((*c_path, "label"), REQUIRED, "A button needs a label or an emoji")
    elif too_long(label, BUTTON_LABEL_MAX):
        errors.add((*c_path, "label"), MAX_LENGTH, too_long_message(label, BUTTON_LABEL_MAX))
    if style == BUTTON_LINK:
        if custom_id is not None:
            errors.add(
                (*c_path, "custom_id"),
                "BUTTON_COMPONENT_INVALID_FIELD",
                "A link button cannot have a custom_id",
            )
        if not url:
            errors.add((*c_path, "url"), REQUIRED, REQUIRED_MESSAGE)
        elif too_long(url, BUTTON_URL_MAX):
            errors.add((*c_path, "url"), MAX_LENGTH, too_long_message(url, BUTTON_URL_MAX))
        elif (problem := url_problem(url, _BUTTON_SCHEMES)) is not None:
            errors.add((*c_path, "url"), *problem)
        return
    if url is not None:
        errors.add(
            (*c_path, "url"), "BUTTON_COMPONENT_INVALID_FIELD", "Only a link button has a url"
        )
    if blank(custom_id):
        errors.add((*c_path, "custom_id"), REQUIRED, REQUIRED_MESSAGE)


def _validate_select(errors: FormErrors, c_path: tuple[str | int, ...], select: JSON) -> None:
    placeholder = select.get("placeholder")
    if too_long(placeholder, SELECT_PLACEHOLDER_MAX):
        errors.add(
            (*c_path, "placeholder"),
            MAX_LENGTH,
            too_long_message(placeholder, SELECT_PLACEHOLDER_MAX),
        )
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    low_ok = isinstance(low, int) and 0 <= low <= SELECT_VALUES_MAX
    if not low_ok:
        errors.add(
            (*c_path, "min_values"),
            "NUMBER_TYPE_MAX",
            f"int value should be between 0 and {SELECT_VALUES_MAX}.",
        )
    if not isinstance(high, int) or not 1 <= high <= SELECT_VALUES_MAX:
        errors.add(
            (*c_path, "max_values"),
            "NUMBER_TYPE_MAX",
            f"int value should be between 1 and {SELECT_VALUES_MAX}.",
        )
    elif low_ok and low > high:
        errors.add(
            (*c_path, "min_values"),
            "SELECT_COMPONENT_MIN_VALUES_TOO_HIGH",
            "min_values cannot be more than max_values",
        )
    _validate_select_defaults(errors, c_path, select, low if low_ok else 1, high)
    if select.get("type") != 3:
        return
    options = select.get("options") or []
    if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
        errors.add(
            (*c_path, "options"),
            "BASE_TYPE_BAD_LENGTH",
            f"Must be between 1 and {SELECT_OPTIONS_MAX} in length.",
        )
    elif isinstance(high, int) and high > len(options):
        errors.add(
            (*c_path, "max_values"),
            "SELECT_COMPONENT_MAX_VALUES_EXCEEDED",
            f"max_values ({high}) is more than the {len(options)} options",
        )
    for o_index, option in enumerate(options):
        o_path = (*c_path, "options", o_index)
        for key in ("label", "value"):
            text = option.get(key)
            if blank(text):
                errors.add((*o_path, key), REQUIRED, REQUIRED_MESSAGE)
            elif too_long(text, SELECT_OPTION_TEXT_MAX):
                errors.add(
                    (*o_path, key), MAX_LENGTH, too_long_message(text, SELECT_OPTION_TEXT_MAX)
                )
        if too_long(option.get("description"), SELECT_OPTION_TEXT_MAX):
            errors.add(
                (*o_path, "description"),
                MAX_LENGTH,
                too_long_message(option["description"], SELECT_OPTION_TEXT_MAX),
            )


def _validate_select_defaults(
    errors: FormErrors, c_path: tuple[str | int, ...], select: JSON, low: int, high: Any
) -> None:
    """Pre-selected values: ``default_values`` on user, role, mentionable and channel selects
    (each of a type the select offers, as many as it may hold), ``default`` options on a
    string select (no more than it may hold); ``channel_types`` only on a channel select."""
    kind = select.get("type")
    most = high if isinstance(high, int) else 1
    defaults = select.get("default_values")
    if defaults is not None:
        allowed = DEFAULT_VALUE_TYPES.get(kind)
        if allowed is None:
            errors.add(
                (*c_path, "default_values"),
                "SELECT_COMPONENT_DEFAULT_VALUES_INVALID",
                "Only user, role, mentionable and channel selects take default_values",
            )
        elif not isinstance(defaults, list) or not low <= len(defaults) <= most:
            errors.add(
                (*c_path, "default_values"),
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between {low} and {most} in length.",
            )
        else:
            for d_index, value in enumerate(defaults):
                if not isinstance(value, dict) or value.get("type") not in allowed:
                    errors.add(
                        (*c_path, "default_values", d_index, "type"),
                        "BASE_TYPE_CHOICES",
                        f"Value must be one of {allowed}.",
                    )
                elif not str(value.get("id", "")).isdigit():
                    errors.add(
                        (*c_path, "default_values", d_index, "id"),
                        "NUMBER_TYPE_COERCE",
                        "Value is not snowflake.",
                    )
    if select.get("channel_types") is not None and kind != 8:
        errors.add(
            (*c_path, "channel_types"),
            "SELECT_COMPONENT_CHANNEL_TYPES_INVALID",
            "Only a channel select takes channel_types",
        )
    if kind == 3:
        chosen = [o for o in select.get("options") or [] if o.get("default")]
        if len(chosen) > most:
            errors.add(
                (*c_path, "options"),
                "SELECT_COMPONENT_TOO_MANY_DEFAULTS",
                f"{len(chosen)} options are default, more than max_values ({most})",
            )


def validate_components(errors: FormErrors, components: Any, *, flags: int) -> None:
    """Check action rows, buttons and selects (components v2 layouts are only counted)."""
    base = ("components",)
    if not isinstance(components, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if flags & FLAG_COMPONENTS_V2:
        if len(components) > COMPONENTS_V2_MAX:
            errors.add(base, MAX_LENGTH, f"Must be {COMPONENTS_V2_MAX} or fewer in length.")
        return
    if len(components) > ACTION_ROWS_MAX:
        errors.add(base, MAX_LENGTH, f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    seen: set[str] = set()
    for r_index, row in enumerate(components):
        r_path = (*base, r_index)
        if not isinstance(row, dict) or row.get("type") != 1:
            errors.add(r_path, "UNION_TYPE_CHOICES", "Top-level components must be action rows")
            continue
        children = row.get("components") or []
        if not children:
            errors.add((*r_path, "components"), REQUIRED, REQUIRED_MESSAGE)
        if len(children) > BUTTONS_PER_ROW_MAX:
            errors.add(
                (*r_path, "components"),
                MAX_LENGTH,
                f"Must be {BUTTONS_PER_ROW_MAX} or fewer in length.",
            )
        for c_index, child in enumerate(children):
            c_path = (*r_path, "components", c_index)
            kind = child.get("type")
            custom_id = child.get("custom_id")
            if kind == 2:
                _validate_button(errors, c_path, child)
            elif kind in SELECT_TYPES:
                if blank(custom_id):
                    errors.add((*c_path, "custom_id"), REQUIRED, REQUIRED_MESSAGE)
                if len(children) > 1:
                    errors.add(
                        (*r_path, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                _validate_select(errors, c_path, child)
            else:
                errors.add(
                    (*c_path, "type"),
                    "UNION_TYPE_CHOICES",
                    f"An action row holds buttons or one select, not type {kind}",
                )
            if too_long(custom_id, CUSTOM_ID_MAX):
                errors.add(
                    (*c_path, "custom_id"), MAX_LENGTH, too_long_message(custom_id, CUSTOM_ID_MAX)
                )
            if isinstance(custom_id, str):
                if custom_id in seen:
                    errors.add(
                        (*c_path, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)


# ------------------------------------------------------------------------------------ messages


def validate_allowed_mentions(errors: FormErrors, mentions: Any) -> None:
    """``parse`` is exclusive with ``users`` / ``roles`` of the same type; ids at most 100."""
    base = ("allowed_mentions",)
    if not isinstance(mentions, dict):
        errors.add(base, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    parse = mentions.get("parse") or []
    if not isinstance(parse, list) or any(p not in MENTION_TYPES for p in parse):
        errors.add((*base, "parse"), "BASE_TYPE_CHOICES", f"Value must be one of {MENTION_TYPES}.")
        return
    for key in ("users", "roles"):
        ids = mentions.get(key) or []
        if key in parse and ids:
            errors.add(
                (*base, "parse"),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{key}"] and {key}: {ids} are mutually exclusive.',
            )
        if len(ids) > MENTION_IDS_MAX:
            errors.add((*base, key), MAX_LENGTH, f"Must be {MENTION_IDS_MAX} or fewer in length.")


def validate_message(errors: FormErrors, payload: Mapping[str, Any], *, new_files: int) -> None:
    """Check a message body (create or edit: only the fields present are checked)."""
    flags = int(payload.get("flags") or 0)
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        errors.add(("content",), "BASE_TYPE_BAD_TYPE", "Must be a string.")
    elif too_long(content, CONTENT_MAX):
        errors.add(("content",), MAX_LENGTH, too_long_message(content, CONTENT_MAX))
    if payload.get("embeds") is not None:
        validate_embeds(errors, payload["embeds"])
    if payload.get("components") is not None:
        validate_components(errors, payload["components"], flags=flags)
    if payload.get("allowed_mentions") is not None:
        validate_allowed_mentions(errors, payload["allowed_mentions"])
    attachments = payload.get("attachments")
    count = len(attachments) if isinstance(attachments, list) else new_files
    if count > ATTACHMENTS_MAX:
        errors.add(("attachments",), MAX_LENGTH, f"Must be {ATTACHMENTS_MAX} or fewer.")
    if flags & FLAG_COMPONENTS_V2 and (content or payload.get("embeds")):
        errors.add(
            ("content",),
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using components v2",
        )


def is_empty_message(payload: Mapping[str, Any], *, new_files: int) -> bool:
    """True when a new message would have nothing to show (Discord error 50006)."""
    return not (
        payload.get("content")
        or payload.get("embeds")
        or payload.get("components")
        or payload.get("sticker_ids")
        or payload.get("poll")
        or new_files
    )
