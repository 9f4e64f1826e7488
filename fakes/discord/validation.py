"""The checks Discord applies to what a bot sends, with Discord's own error shapes.

Each check fills a :class:`FormErrors`; a non-empty one becomes the 400
``{"code": 50035, "message": "Invalid Form Body", "errors": {...}}`` Discord answers with,
and its :meth:`FormErrors.reasons` are the human-readable lines recorded as violations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

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
SELECT_OPTIONS_MAX = 25
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMANDS_MAX = 100

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


def _max_length(errors: FormErrors, path: Sequence[str | int], value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            f"Must be {limit} or fewer in length. (got {len(value)})",
        )


def _required_text(errors: FormErrors, path: Sequence[str | int], value: Any, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
    else:
        _max_length(errors, path, value, limit)


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


def validate_embeds(errors: FormErrors, embeds: Any, path: Sequence[str | int] = ()) -> None:
    """Check embed count, per-field limits and the 6000-character total."""
    base = (*path, "embeds")
    if not isinstance(embeds, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(embeds) > EMBEDS_MAX:
        errors.add(base, "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        here = (*base, index)
        if not isinstance(embed, dict):
            errors.add(here, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            continue
        _max_length(errors, (*here, "title"), embed.get("title"), EMBED_TITLE_MAX)
        _max_length(errors, (*here, "description"), embed.get("description"), EMBED_DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            errors.add(
                (*here, "fields"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {EMBED_FIELDS_MAX} or fewer in length.",
            )
        for f_index, field in enumerate(fields):
            f_path = (*here, "fields", f_index)
            _required_text(errors, (*f_path, "name"), field.get("name"), EMBED_FIELD_NAME_MAX)
            _required_text(errors, (*f_path, "value"), field.get("value"), EMBED_FIELD_VALUE_MAX)
        footer = embed.get("footer")
        if isinstance(footer, dict):
            _max_length(errors, (*here, "footer", "text"), footer.get("text"), EMBED_FOOTER_MAX)
        author = embed.get("author")
        if isinstance(author, dict):
            _max_length(errors, (*here, "author", "name"), author.get("name"), EMBED_AUTHOR_MAX)
        total += embed_size(embed)
    if total > EMBED_TOTAL_MAX:
        errors.add(
            base,
            "MAX_EMBED_SIZE_EXCEEDED",
            f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX} (got {total})",
        )


def validate_components(errors: FormErrors, components: Any, *, flags: int) -> None:
    """Check action rows, buttons and selects (components v2 layouts are only counted)."""
    base = ("components",)
    if not isinstance(components, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if flags & FLAG_COMPONENTS_V2:
        if len(components) > 40:
            errors.add(base, "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer in length.")
        return
    if len(components) > ACTION_ROWS_MAX:
        errors.add(base, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
    seen: set[str] = set()
    for r_index, row in enumerate(components):
        r_path = (*base, r_index)
        if not isinstance(row, dict) or row.get("type") != 1:
            errors.add(r_path, "UNION_TYPE_CHOICES", "Top-level components must be action rows")
            continue
        children = row.get("components") or []
        if not children:
            errors.add((*r_path, "components"), "BASE_TYPE_REQUIRED", "This field is required")
        if len(children) > BUTTONS_PER_ROW_MAX:
            errors.add(
                (*r_path, "components"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {BUTTONS_PER_ROW_MAX} or fewer in length.",
            )
        for c_index, child in enumerate(children):
            c_path = (*r_path, "components", c_index)
            kind = child.get("type")
            custom_id = child.get("custom_id")
            if kind == 2 and child.get("style") == 5:
                if not child.get("url"):
                    errors.add((*c_path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            elif kind == 2 and child.get("style") == 6:
                pass  # premium button: sku_id, no custom_id
            elif kind in (2, 3, 5, 6, 7, 8):
                _required_text(errors, (*c_path, "custom_id"), custom_id, CUSTOM_ID_MAX)
            if kind == 2:
                _max_length(errors, (*c_path, "label"), child.get("label"), BUTTON_LABEL_MAX)
            if kind in (3, 5, 6, 7, 8) and len(children) > 1:
                errors.add(
                    (*r_path, "components"),
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "The specified component exceeds the maximum width",
                )
            if kind == 3 and len(child.get("options") or []) > SELECT_OPTIONS_MAX:
                errors.add(
                    (*c_path, "options"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {SELECT_OPTIONS_MAX} or fewer in length.",
                )
            if isinstance(custom_id, str):
                if custom_id in seen:
                    errors.add(
                        (*c_path, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(custom_id)


def validate_message(errors: FormErrors, payload: Mapping[str, Any], *, new_files: int) -> None:
    """Check a message body (create or edit: only the fields present are checked)."""
    flags = int(payload.get("flags") or 0)
    content = payload.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors.add(("content",), "BASE_TYPE_BAD_TYPE", "Must be a string.")
        else:
            _max_length(errors, ("content",), content, CONTENT_MAX)
    if payload.get("embeds") is not None:
        validate_embeds(errors, payload["embeds"])
    if payload.get("components") is not None:
        validate_components(errors, payload["components"], flags=flags)
    attachments = payload.get("attachments")
    count = len(attachments) if isinstance(attachments, list) else new_files
    if count > ATTACHMENTS_MAX:
        errors.add(("attachments",), "BASE_TYPE_MAX_LENGTH", f"Must be {ATTACHMENTS_MAX} or fewer.")
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


def validate_choices(errors: FormErrors, choices: Any) -> None:
    """Check an autocomplete answer: at most 25 choices, name and value 1–100 characters."""
    base = ("choices",)
    if not isinstance(choices, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(choices) > CHOICES_MAX:
        errors.add(base, "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
    for index, choice in enumerate(choices):
        here = (*base, index)
        _required_text(errors, (*here, "name"), choice.get("name"), CHOICE_NAME_MAX)
        value = choice.get("value")
        if isinstance(value, str):
            _max_length(errors, (*here, "value"), value, CHOICE_VALUE_MAX)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors.add((*here, "value"), "BASE_TYPE_REQUIRED", "This field is required")


def _validate_options(errors: FormErrors, path: tuple[str | int, ...], options: Any) -> None:
    if not isinstance(options, list):
        return
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add(
            path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length."
        )
    names: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        here = (*path, index)
        name = option.get("name")
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            errors.add((*here, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name")
        elif name in names:
            errors.add(
                (*here, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        else:
            names.add(str(name))
        _required_text(
            errors, (*here, "description"), option.get("description"), COMMAND_DESCRIPTION_MAX
        )
        if option.get("type") in (1, 2):
            _validate_options(errors, (*here, "options"), option.get("options"))
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*here, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices")
        if isinstance(choices, list):
            if len(choices) > CHOICES_MAX:
                errors.add(
                    (*here, "choices"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {CHOICES_MAX} or fewer in length.",
                )
            for c_index, choice in enumerate(choices):
                c_path = (*here, "choices", c_index)
                _required_text(errors, (*c_path, "name"), choice.get("name"), CHOICE_NAME_MAX)
                _max_length(errors, (*c_path, "value"), choice.get("value"), CHOICE_VALUE_MAX)


def validate_commands(errors: FormErrors, commands: Any) -> None:
    """Check a bulk-overwrite body the way Discord does for the common mistakes."""
    if not isinstance(commands, list):
        errors.add((), "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(commands) > COMMANDS_MAX:
        errors.add((), "BASE_TYPE_MAX_LENGTH", f"Must be {COMMANDS_MAX} or fewer in length.")
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        kind = int(command.get("type", 1))
        name = command.get("name")
        if not isinstance(name, str) or not (1 <= len(name) <= 32):
            errors.add(
                (index, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
            continue
        if kind == 1 and (not COMMAND_NAME.match(name) or name != name.lower()):
            errors.add((index, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Invalid name")
        if (kind, name) in seen:
            errors.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique ({name})",
            )
        seen.add((kind, name))
        description = command.get("description")
        if kind == 1:
            _required_text(errors, (index, "description"), description, COMMAND_DESCRIPTION_MAX)
            _validate_options(errors, (index, "options"), command.get("options"))
        elif description:
            errors.add(
                (index, "description"),
                "BASE_TYPE_MAX_LENGTH",
                "Context menu commands cannot have a description.",
            )
