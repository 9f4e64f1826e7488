"""The checks Discord applies to application commands, autocomplete answers and modals
(discord/discord-api-docs at c98d64bc: ``interactions/application-commands.mdx`` and
``interactions/receiving-and-responding.mdx``). Errors are added at their own call sites, as
in :mod:`fakes.discord.validation`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakes.discord.validation import (
    CHOICE_NAME_MAX,
    CHOICE_VALUE_MAX,
    CHOICES_MAX,
    COMMAND_DESCRIPTION_MAX,
    COMMAND_NAME,
    COMMAND_OPTIONS_MAX,
    COMMANDS_MAX,
    MAX_LENGTH,
    MODAL_ROWS_MAX,
    MODAL_TITLE_MAX,
    REQUIRED,
    REQUIRED_MESSAGE,
    FormErrors,
    blank,
    too_long,
    too_long_message,
)

# ------------------------------------------------------------------------------------ commands


def validate_choices(errors: FormErrors, choices: Any) -> None:
    """Check an autocomplete answer: at most 25 choices, name and value 1–100 characters."""
    base = ("choices",)
    if not isinstance(choices, list):
        errors.add(base, "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(choices) > CHOICES_MAX:
        errors.add(base, MAX_LENGTH, f"Must be {CHOICES_MAX} or fewer in length.")
    for index, choice in enumerate(choices):
        here = (*base, index)
        name, value = choice.get("name"), choice.get("value")
        if blank(name):
            errors.add((*here, "name"), REQUIRED, REQUIRED_MESSAGE)
        elif too_long(name, CHOICE_NAME_MAX):
            errors.add((*here, "name"), MAX_LENGTH, too_long_message(name, CHOICE_NAME_MAX))
        if too_long(value, CHOICE_VALUE_MAX):
            errors.add((*here, "value"), MAX_LENGTH, too_long_message(value, CHOICE_VALUE_MAX))
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            errors.add((*here, "value"), REQUIRED, REQUIRED_MESSAGE)


def _validate_options(errors: FormErrors, path: tuple[str | int, ...], options: Any) -> None:
    if not isinstance(options, list):
        return
    if len(options) > COMMAND_OPTIONS_MAX:
        errors.add(path, MAX_LENGTH, f"Must be {COMMAND_OPTIONS_MAX} or fewer in length.")
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
        description = option.get("description")
        if blank(description):
            errors.add((*here, "description"), REQUIRED, REQUIRED_MESSAGE)
        elif too_long(description, COMMAND_DESCRIPTION_MAX):
            errors.add(
                (*here, "description"),
                MAX_LENGTH,
                too_long_message(description, COMMAND_DESCRIPTION_MAX),
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
                    (*here, "choices"), MAX_LENGTH, f"Must be {CHOICES_MAX} or fewer in length."
                )
            for c_index, choice in enumerate(choices):
                c_path = (*here, "choices", c_index)
                c_name, c_value = choice.get("name"), choice.get("value")
                if blank(c_name):
                    errors.add((*c_path, "name"), REQUIRED, REQUIRED_MESSAGE)
                elif too_long(c_name, CHOICE_NAME_MAX):
                    errors.add(
                        (*c_path, "name"), MAX_LENGTH, too_long_message(c_name, CHOICE_NAME_MAX)
                    )
                if too_long(c_value, CHOICE_VALUE_MAX):
                    errors.add(
                        (*c_path, "value"), MAX_LENGTH, too_long_message(c_value, CHOICE_VALUE_MAX)
                    )


def permission_bits(value: Any) -> int | None:
    """``default_member_permissions`` as Discord reads it: a permission bit set, a string of
    decimal digits (``application-commands.mdx``: "?string", "a bitwise OR-ed set of
    permissions, serialized as a string"; ``"0"`` means admins only) or a JSON integer, as
    discord.py 2.7.1 sends it (``app_commands/commands.py``, ``Command.to_dict``:
    ``default_permissions.value``). ``None`` when the value is none of these (null is
    handled by the caller)."""
    if isinstance(value, bool):  # a JSON true/false is not a number
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _validate_default_member_permissions(errors: FormErrors, index: int, command: Any) -> None:
    """Null (or absent): every member may use the command. Otherwise a permission bit set;
    anything else (a permission's name, hex, a negative number, a list, true) is refused."""
    if "default_member_permissions" not in command:
        return
    value = command["default_member_permissions"]
    if value is None or permission_bits(value) is not None:
        return
    path = (index, "default_member_permissions")
    if isinstance(value, int) and not isinstance(value, bool):
        errors.add(path, "NUMBER_TYPE_MIN", "Int value should be greater than or equal to 0.")
    else:
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')


def validate_commands(errors: FormErrors, commands: Any) -> None:
    """Check a bulk-overwrite body the way Discord does for the common mistakes."""
    if not isinstance(commands, list):
        errors.add((), "LIST_TYPE_CONVERT", "Must be an array.")
        return
    if len(commands) > COMMANDS_MAX:
        errors.add((), MAX_LENGTH, f"Must be {COMMANDS_MAX} or fewer in length.")
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
        _validate_default_member_permissions(errors, index, command)
        description = command.get("description")
        if kind != 1:
            if description:
                errors.add(
                    (index, "description"),
                    MAX_LENGTH,
                    "Context menu commands cannot have a description.",
                )
            continue
        if blank(description):
            errors.add((index, "description"), REQUIRED, REQUIRED_MESSAGE)
        elif too_long(description, COMMAND_DESCRIPTION_MAX):
            errors.add(
                (index, "description"),
                MAX_LENGTH,
                too_long_message(description, COMMAND_DESCRIPTION_MAX),
            )
        _validate_options(errors, (index, "options"), command.get("options"))


def validate_modal(errors: FormErrors, data: Mapping[str, Any]) -> None:
    """A modal (callback type 9): a title of 1–45 characters and 1–5 rows."""
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= MODAL_TITLE_MAX:
        errors.add(("title",), "BASE_TYPE_BAD_LENGTH", f"Must be 1 to {MODAL_TITLE_MAX} long.")
    if not 1 <= len(data.get("components") or []) <= MODAL_ROWS_MAX:
        errors.add(("components",), "BASE_TYPE_BAD_LENGTH", f"Must be 1 to {MODAL_ROWS_MAX} long.")
