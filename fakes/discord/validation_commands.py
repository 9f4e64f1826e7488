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
    CUSTOM_ID_MAX,
    MAX_LENGTH,
    MODAL_DESCRIPTION_MAX,
    MODAL_LABEL_CHILDREN,
    MODAL_LABEL_MAX,
    MODAL_ROWS_MAX,
    MODAL_TITLE_MAX,
    REQUIRED,
    REQUIRED_MESSAGE,
    TEXT_INPUT_MAX,
    TEXT_INPUT_PLACEHOLDER_MAX,
    TEXT_INPUT_STYLES,
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
        _validate_lengths(errors, here, option)
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


#: ``min_length`` of a string option: 0 to 6000; ``max_length``: 1 to 6000
#: (``application-commands.mdx``, "Application Command Option Structure").
OPTION_LENGTH_BOUNDS: dict[str, tuple[int, int]] = {
    "min_length": (0, 6000),
    "max_length": (1, 6000),
}


def _validate_lengths(errors: FormErrors, here: tuple[str | int, ...], option: Any) -> None:
    """A string option's ``min_length`` / ``max_length`` within Discord's bounds."""
    for key, (low, high) in OPTION_LENGTH_BOUNDS.items():
        value = option.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add((*here, key), "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        elif value < low:
            errors.add(
                (*here, key),
                "NUMBER_TYPE_MIN",
                f"int value should be greater than or equal to {low}.",
            )
        elif value > high:
            errors.add(
                (*here, key),
                "NUMBER_TYPE_MAX",
                f"int value should be less than or equal to {high}.",
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
    """A modal (callback type 9): a custom_id of 1–100 characters, a title of 1–45 and 1–5
    rows, each a label (type 18) around one component, or (deprecated) an action row around
    one text input (``components/reference.mdx``: Label, Text Input)."""
    custom_id = data.get("custom_id")
    if blank(custom_id):
        errors.add(("custom_id",), REQUIRED, REQUIRED_MESSAGE)
    elif too_long(custom_id, CUSTOM_ID_MAX):
        errors.add(("custom_id",), MAX_LENGTH, too_long_message(custom_id, CUSTOM_ID_MAX))
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= MODAL_TITLE_MAX:
        errors.add(("title",), "BASE_TYPE_BAD_LENGTH", f"Must be 1 to {MODAL_TITLE_MAX} long.")
    rows = data.get("components") or []
    if not 1 <= len(rows) <= MODAL_ROWS_MAX:
        errors.add(("components",), "BASE_TYPE_BAD_LENGTH", f"Must be 1 to {MODAL_ROWS_MAX} long.")
    seen: set[str] = set()
    for index, row in enumerate(rows):
        _validate_modal_row(errors.at("components", index), row, seen)


def _validate_modal_row(errors: FormErrors, row: Any, seen: set[str]) -> None:
    kind = row.get("type") if isinstance(row, dict) else None
    if kind == 18:
        label = row.get("label")
        if blank(label):
            errors.add(("label",), REQUIRED, REQUIRED_MESSAGE)
        elif too_long(label, MODAL_LABEL_MAX):
            errors.add(("label",), MAX_LENGTH, too_long_message(label, MODAL_LABEL_MAX))
        if too_long(row.get("description"), MODAL_DESCRIPTION_MAX):
            errors.add(
                ("description",),
                MAX_LENGTH,
                too_long_message(row["description"], MODAL_DESCRIPTION_MAX),
            )
        child = row.get("component")
        if not isinstance(child, dict) or child.get("type") not in MODAL_LABEL_CHILDREN:
            errors.add(
                ("component",),
                "UNION_TYPE_CHOICES",
                "A label holds a text input, a select or a file upload",
            )
            return
        if child.get("type") == 4:
            _validate_text_input(errors.at("component"), child, seen, needs_label=False)
        return
    if kind == 1:
        children = row.get("components") or []
        if len(children) != 1 or children[0].get("type") != 4:
            errors.add(
                ("components",),
                "UNION_TYPE_CHOICES",
                "An action row in a modal holds exactly one text input",
            )
            return
        _validate_text_input(errors.at("components", 0), children[0], seen, needs_label=True)
        return
    if kind == 10:
        return  # a text display: words only
    errors.add(
        ("type",), "UNION_TYPE_CHOICES", "A modal's rows are labels, text displays or action rows"
    )


def _validate_text_input(
    errors: FormErrors, item: Mapping[str, Any], seen: set[str], *, needs_label: bool
) -> None:
    """A text input: custom_id 1–100 (unique), style short or paragraph, lengths 0–4000 and
    1–4000 (min no more than max), a pre-filled value up to 4000, a placeholder up to 100; its
    own (deprecated) label, 1–45, only where no Label component names it."""
    custom_id = item.get("custom_id")
    if blank(custom_id):
        errors.add(("custom_id",), REQUIRED, REQUIRED_MESSAGE)
    elif too_long(custom_id, CUSTOM_ID_MAX):
        errors.add(("custom_id",), MAX_LENGTH, too_long_message(custom_id, CUSTOM_ID_MAX))
    elif custom_id in seen:
        errors.add(
            ("custom_id",),
            "COMPONENT_CUSTOM_ID_DUPLICATED",
            "Component custom id cannot be duplicated",
        )
    else:
        seen.add(str(custom_id))
    if item.get("style") not in TEXT_INPUT_STYLES:
        errors.add(("style",), "BASE_TYPE_CHOICES", f"Value must be one of {TEXT_INPUT_STYLES}.")
    label = item.get("label")
    if needs_label and blank(label):
        errors.add(("label",), REQUIRED, REQUIRED_MESSAGE)
    elif too_long(label, MODAL_LABEL_MAX):
        errors.add(("label",), MAX_LENGTH, too_long_message(label, MODAL_LABEL_MAX))
    low, high = item.get("min_length"), item.get("max_length")
    if low is not None and (not isinstance(low, int) or not 0 <= low <= TEXT_INPUT_MAX):
        errors.add(
            ("min_length",),
            "NUMBER_TYPE_MAX",
            f"int value should be between 0 and {TEXT_INPUT_MAX}.",
        )
    elif high is not None and (not isinstance(high, int) or not 1 <= high <= TEXT_INPUT_MAX):
        errors.add(
            ("max_length",),
            "NUMBER_TYPE_MAX",
            f"int value should be between 1 and {TEXT_INPUT_MAX}.",
        )
    elif isinstance(low, int) and isinstance(high, int) and low > high:
        errors.add(
            ("min_length",),
            "TEXT_INPUT_MIN_LENGTH_TOO_HIGH",
            "min_length cannot be more than max_length",
        )
    value = item.get("value")
    if too_long(value, TEXT_INPUT_MAX):
        errors.add(("value",), MAX_LENGTH, too_long_message(value, TEXT_INPUT_MAX))
    if too_long(item.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX):
        errors.add(
            ("placeholder",),
            MAX_LENGTH,
            too_long_message(item["placeholder"], TEXT_INPUT_PLACEHOLDER_MAX),
        )
