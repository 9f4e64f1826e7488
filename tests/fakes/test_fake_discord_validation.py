"""Every form check of the fake Discord fires, alone, on the body that breaks it.

Each case starts from a body Discord accepts and breaks one rule; the check must report
exactly that field with Discord's error code, and nothing else. (How Discord answers such a
body over HTTP, 400 ``50035 Invalid Form Body`` with this tree, is proven in
``test_fake_discord_rest.py`` and ``test_fake_discord.py``.)
"""

from __future__ import annotations

from typing import Any

import pytest

from fakes.discord.validation import FormErrors, validate_message
from fakes.discord.validation_commands import validate_choices, validate_commands, validate_modal


def _message(body: dict[str, Any], *, files: int = 0) -> FormErrors:
    errors = FormErrors()
    validate_message(errors, body, new_files=files)
    return errors


def _found(errors: FormErrors) -> set[tuple[str, str]]:
    return {(".".join(path), code) for path, code, _ in errors._errors}


def button(**fields: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Next", "custom_id": "next", **fields}


def row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


def select(**fields: Any) -> dict[str, Any]:
    options = [{"label": f"o{i}", "value": f"v{i}"} for i in range(3)]
    return {"type": 3, "custom_id": "pick", "options": options, **fields}


def embed(**fields: Any) -> dict[str, Any]:
    return {"title": "Report", "description": "All good", **fields}


def test_the_starting_bodies_are_accepted() -> None:
    body = {
        "content": "hi",
        "embeds": [
            embed(
                url="https://wiseoldman.net",
                image={"url": "attachment://chart.png"},
                thumbnail={"url": "https://example.com/t.png"},
                author={"name": "a", "url": "https://e.com", "icon_url": "https://e.com/i"},
                footer={"text": "f", "icon_url": "attachment://i.png"},
                fields=[{"name": "n", "value": "v"}],
            )
        ],
        "components": [
            row(button(), button(custom_id="prev", label=None, emoji={"name": "⬅"})),
            row(button(style=5, url="https://wiseoldman.net", custom_id=None)),
            row(button(style=5, url="discord://-/channels/1/2", custom_id=None)),
            row(select(min_values=0, max_values=3, placeholder="Pick")),
            row({"type": 6, "custom_id": "users"}),
        ],
        "allowed_mentions": {"parse": ["everyone"], "users": ["1"], "roles": []},
    }
    assert _found(_message(body)) == set()
    premium = {"components": [row({"type": 2, "style": 6, "sku_id": "123"})]}
    assert _found(_message(premium)) == set()
    assert _found(_message({"flags": 1 << 15, "components": [{"type": 10}]})) == set()
    commands = FormErrors()
    validate_commands(
        commands,
        [
            {
                "name": "clan",
                "description": "Officer answers",
                "options": [
                    {
                        "type": 1,
                        "name": "inactive",
                        "description": "Purge candidates",
                        "options": [
                            {"type": 3, "name": "who", "description": "A name", "required": True},
                            {
                                "type": 3,
                                "name": "period",
                                "description": "A period",
                                "choices": [{"name": "7d", "value": "7d"}],
                            },
                        ],
                    }
                ],
            },
            {"type": 2, "name": "Look up", "description": ""},
            # a permission bit set: a string (Discord's documented shape), an integer (what
            # discord.py sends), "0" (admins only) or null (everyone)
            {"name": "status", "description": "d", "default_member_permissions": "32"},
            {"name": "sync", "description": "d", "default_member_permissions": 32},
            {"name": "setup", "description": "d", "default_member_permissions": "0"},
            {"name": "help", "description": "d", "default_member_permissions": None},
        ],
    )
    assert _found(commands) == set()


MESSAGE_CASES: list[tuple[str, dict[str, Any], int, tuple[str, str]]] = [
    # content
    ("content not a string", {"content": 5}, 0, ("content", "BASE_TYPE_BAD_TYPE")),
    ("content 2001 chars", {"content": "x" * 2001}, 0, ("content", "BASE_TYPE_MAX_LENGTH")),
    # embeds
    ("embeds not a list", {"embeds": {}}, 0, ("embeds", "LIST_TYPE_CONVERT")),
    ("11 embeds", {"embeds": [embed()] * 11}, 0, ("embeds", "BASE_TYPE_MAX_LENGTH")),
    ("embed not an object", {"embeds": ["x"]}, 0, ("embeds.0", "DICT_TYPE_CONVERT")),
    (
        "title 257",
        {"embeds": [embed(title="t" * 257)]},
        0,
        ("embeds.0.title", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "description 4097",
        {"embeds": [embed(description="d" * 4097)]},
        0,
        ("embeds.0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "26 fields",
        {"embeds": [embed(fields=[{"name": "n", "value": "v"}] * 26)]},
        0,
        ("embeds.0.fields", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "field without a name",
        {"embeds": [embed(fields=[{"name": " ", "value": "v"}])]},
        0,
        ("embeds.0.fields.0.name", "BASE_TYPE_REQUIRED"),
    ),
    (
        "field name 257",
        {"embeds": [embed(fields=[{"name": "n" * 257, "value": "v"}])]},
        0,
        ("embeds.0.fields.0.name", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "field without a value",
        {"embeds": [embed(fields=[{"name": "n", "value": ""}])]},
        0,
        ("embeds.0.fields.0.value", "BASE_TYPE_REQUIRED"),
    ),
    (
        "field value 1025",
        {"embeds": [embed(fields=[{"name": "n", "value": "v" * 1025}])]},
        0,
        ("embeds.0.fields.0.value", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "footer 2049",
        {"embeds": [embed(footer={"text": "f" * 2049})]},
        0,
        ("embeds.0.footer.text", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "author 257",
        {"embeds": [embed(author={"name": "a" * 257})]},
        0,
        ("embeds.0.author.name", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "6001 characters over two embeds",
        {"embeds": [embed(title=None, description="d" * 4000), embed(description="d" * 1995)]},
        0,
        ("embeds", "MAX_EMBED_SIZE_EXCEEDED"),
    ),
    (
        "embed url not http(s)",
        {"embeds": [embed(url="ftp://example.com")]},
        0,
        ("embeds.0.url", "URL_TYPE_INVALID_SCHEME"),
    ),
    (
        "embed url an attachment",
        {"embeds": [embed(url="attachment://chart.png")]},
        0,
        ("embeds.0.url", "URL_TYPE_INVALID_SCHEME"),
    ),
    (
        "image url without a host",
        {"embeds": [embed(image={"url": "https://"})]},
        0,
        ("embeds.0.image.url", "URL_TYPE_INVALID_URL"),
    ),
    (
        "thumbnail url javascript",
        {"embeds": [embed(thumbnail={"url": "javascript:alert(1)"})]},
        0,
        ("embeds.0.thumbnail.url", "URL_TYPE_INVALID_SCHEME"),
    ),
    (
        "author url an attachment",
        {"embeds": [embed(author={"name": "a", "url": "attachment://x.png"})]},
        0,
        ("embeds.0.author.url", "URL_TYPE_INVALID_SCHEME"),
    ),
    (
        "author icon not a string",
        {"embeds": [embed(author={"name": "a", "icon_url": 5})]},
        0,
        ("embeds.0.author.icon_url", "URL_TYPE_INVALID_URL"),
    ),
    (
        "footer icon a bare name",
        {"embeds": [embed(footer={"text": "f", "icon_url": "chart.png"})]},
        0,
        ("embeds.0.footer.icon_url", "URL_TYPE_INVALID_SCHEME"),
    ),
    # components: rows
    ("components not a list", {"components": {}}, 0, ("components", "LIST_TYPE_CONVERT")),
    (
        "41 v2 components",
        {"flags": 1 << 15, "components": [{"type": 10}] * 41},
        0,
        ("components", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "6 action rows",
        {"components": [row(button(custom_id=f"b{i}")) for i in range(6)]},
        0,
        ("components", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a button at the top level",
        {"components": [button()]},
        0,
        ("components.0", "UNION_TYPE_CHOICES"),
    ),
    (
        "an empty row",
        {"components": [row()]},
        0,
        ("components.0.components", "BASE_TYPE_REQUIRED"),
    ),
    (
        "6 buttons in a row",
        {"components": [row(*(button(custom_id=f"b{i}") for i in range(6)))]},
        0,
        ("components.0.components", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a text input in a message",
        {"components": [row({"type": 4, "custom_id": "t", "style": 1, "label": "x"})]},
        0,
        ("components.0.components.0.type", "UNION_TYPE_CHOICES"),
    ),
    (
        "custom_id 101",
        {"components": [row(button(custom_id="c" * 101))]},
        0,
        ("components.0.components.0.custom_id", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a custom_id twice",
        {"components": [row(button(), button())]},
        0,
        ("components.0.components.1.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ),
    # components: buttons
    (
        "button style 7",
        {"components": [row(button(style=7))]},
        0,
        ("components.0.components.0.style", "BASE_TYPE_CHOICES"),
    ),
    (
        "premium button without sku",
        {"components": [row({"type": 2, "style": 6})]},
        0,
        ("components.0.components.0.sku_id", "BASE_TYPE_REQUIRED"),
    ),
    (
        "premium button with a label",
        {"components": [row({"type": 2, "style": 6, "sku_id": "1", "label": "Buy"})]},
        0,
        ("components.0.components.0.label", "BUTTON_COMPONENT_INVALID_FIELD"),
    ),
    (
        "button without label or emoji",
        {"components": [row(button(label=""))]},
        0,
        ("components.0.components.0.label", "BASE_TYPE_REQUIRED"),
    ),
    (
        "button label 81",
        {"components": [row(button(label="l" * 81))]},
        0,
        ("components.0.components.0.label", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "link button with a custom_id",
        {"components": [row(button(style=5, url="https://e.com"))]},
        0,
        ("components.0.components.0.custom_id", "BUTTON_COMPONENT_INVALID_FIELD"),
    ),
    (
        "link button without url",
        {"components": [row(button(style=5, custom_id=None))]},
        0,
        ("components.0.components.0.url", "BASE_TYPE_REQUIRED"),
    ),
    (
        "link button url 513",
        {"components": [row(button(style=5, custom_id=None, url="https://e.com/" + "u" * 499))]},
        0,
        ("components.0.components.0.url", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "link button url ftp",
        {"components": [row(button(style=5, custom_id=None, url="ftp://e.com"))]},
        0,
        ("components.0.components.0.url", "URL_TYPE_INVALID_SCHEME"),
    ),
    (
        "a primary button with a url",
        {"components": [row(button(url="https://e.com"))]},
        0,
        ("components.0.components.0.url", "BUTTON_COMPONENT_INVALID_FIELD"),
    ),
    (
        "a primary button without custom_id",
        {"components": [row(button(custom_id=None))]},
        0,
        ("components.0.components.0.custom_id", "BASE_TYPE_REQUIRED"),
    ),
    # components: selects
    (
        "select without custom_id",
        {"components": [row(select(custom_id=""))]},
        0,
        ("components.0.components.0.custom_id", "BASE_TYPE_REQUIRED"),
    ),
    (
        "select beside a button",
        {"components": [row(select(), button())]},
        0,
        ("components.0.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED"),
    ),
    (
        "select placeholder 151",
        {"components": [row(select(placeholder="p" * 151))]},
        0,
        ("components.0.components.0.placeholder", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "select min_values 26",
        {"components": [row({"type": 5, "custom_id": "u", "min_values": 26, "max_values": 25})]},
        0,
        ("components.0.components.0.min_values", "NUMBER_TYPE_MAX"),
    ),
    (
        "select max_values 0",
        {"components": [row({"type": 5, "custom_id": "u", "max_values": 0})]},
        0,
        ("components.0.components.0.max_values", "NUMBER_TYPE_MAX"),
    ),
    (
        "select min over max",
        {"components": [row({"type": 7, "custom_id": "r", "min_values": 3, "max_values": 2})]},
        0,
        ("components.0.components.0.min_values", "SELECT_COMPONENT_MIN_VALUES_TOO_HIGH"),
    ),
    (
        "string select with no options",
        {"components": [row(select(options=[]))]},
        0,
        ("components.0.components.0.options", "BASE_TYPE_BAD_LENGTH"),
    ),
    (
        "string select with 26 options",
        {
            "components": [
                row(select(options=[{"label": f"{i}", "value": f"{i}"} for i in range(26)]))
            ]
        },
        0,
        ("components.0.components.0.options", "BASE_TYPE_BAD_LENGTH"),
    ),
    (
        "max_values over the options",
        {"components": [row(select(max_values=4))]},
        0,
        ("components.0.components.0.max_values", "SELECT_COMPONENT_MAX_VALUES_EXCEEDED"),
    ),
    (
        "option without label",
        {"components": [row(select(options=[{"label": "", "value": "v"}]))]},
        0,
        ("components.0.components.0.options.0.label", "BASE_TYPE_REQUIRED"),
    ),
    (
        "option value 101",
        {"components": [row(select(options=[{"label": "l", "value": "v" * 101}]))]},
        0,
        ("components.0.components.0.options.0.value", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "option description 101",
        {
            "components": [
                row(select(options=[{"label": "l", "value": "v", "description": "d" * 101}]))
            ]
        },
        0,
        ("components.0.components.0.options.0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    # allowed mentions
    (
        "allowed_mentions not an object",
        {"content": "x", "allowed_mentions": []},
        0,
        ("allowed_mentions", "DICT_TYPE_CONVERT"),
    ),
    (
        "an unknown mention type",
        {"content": "x", "allowed_mentions": {"parse": ["channels"]}},
        0,
        ("allowed_mentions.parse", "BASE_TYPE_CHOICES"),
    ),
    (
        "parse users and a users list",
        {"content": "<@1>", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
        0,
        ("allowed_mentions.parse", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    ),
    (
        "parse roles and a roles list",
        {"content": "<@&1>", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
        0,
        ("allowed_mentions.parse", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"),
    ),
    (
        "101 users",
        {"content": "x", "allowed_mentions": {"users": [str(i) for i in range(101)]}},
        0,
        ("allowed_mentions.users", "BASE_TYPE_MAX_LENGTH"),
    ),
    # attachments and components v2
    ("11 files", {"content": "x"}, 11, ("attachments", "BASE_TYPE_MAX_LENGTH")),
    (
        "components v2 with content",
        {"flags": 1 << 15, "content": "x", "components": [{"type": 10}]},
        0,
        ("content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"),
    ),
]


@pytest.mark.parametrize(
    ("body", "files", "expected"),
    [pytest.param(b, f, e, id=name) for name, b, f, e in MESSAGE_CASES],
)
def test_each_message_rule_fires_alone(
    body: dict[str, Any], files: int, expected: tuple[str, str]
) -> None:
    assert _found(_message(body, files=files)) == {expected}


def _choices(value: Any) -> set[tuple[str, str]]:
    errors = FormErrors()
    validate_choices(errors, value)
    return _found(errors)


def test_autocomplete_choice_rules() -> None:
    ok = [{"name": "Zezima", "value": "zezima"}, {"name": "Ten", "value": 10}]
    assert _choices(ok) == set()
    assert _choices({}) == {("choices", "LIST_TYPE_CONVERT")}
    assert _choices(ok * 13) == {("choices", "BASE_TYPE_MAX_LENGTH")}
    assert _choices([{"name": "", "value": "v"}]) == {("choices.0.name", "BASE_TYPE_REQUIRED")}
    assert _choices([{"name": "n" * 101, "value": "v"}]) == {
        ("choices.0.name", "BASE_TYPE_MAX_LENGTH")
    }
    assert _choices([{"name": "n", "value": "v" * 101}]) == {
        ("choices.0.value", "BASE_TYPE_MAX_LENGTH")
    }
    assert _choices([{"name": "n", "value": True}]) == {("choices.0.value", "BASE_TYPE_REQUIRED")}


def _commands(value: Any) -> set[tuple[str, str]]:
    errors = FormErrors()
    validate_commands(errors, value)
    return _found(errors)


def chat_command(**fields: Any) -> dict[str, Any]:
    return {"name": "status", "description": "What is stored", **fields}


def option(**fields: Any) -> dict[str, Any]:
    return {"type": 3, "name": "name", "description": "A name", **fields}


COMMAND_CASES: list[tuple[str, Any, tuple[str, str]]] = [
    ("not a list", {}, ("", "LIST_TYPE_CONVERT")),
    (
        "101 commands",
        [chat_command(name=f"c{i}") for i in range(101)],
        ("", "BASE_TYPE_MAX_LENGTH"),
    ),
    ("name 33", [chat_command(name="n" * 33)], ("0.name", "BASE_TYPE_BAD_LENGTH")),
    (
        "name upper case",
        [chat_command(name="Status")],
        ("0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ),
    (
        "a name twice",
        [chat_command(), chat_command()],
        ("1.name", "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ),
    (
        "a context menu with a description",
        [{"type": 3, "name": "Report", "description": "no"}],
        ("0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    ("no description", [chat_command(description="")], ("0.description", "BASE_TYPE_REQUIRED")),
    (
        "description 101",
        [chat_command(description="d" * 101)],
        ("0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "26 options",
        [chat_command(options=[option(name=f"o{i}") for i in range(26)])],
        ("0.options", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "option name with a space",
        [chat_command(options=[option(name="a name")])],
        ("0.options.0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ),
    (
        "option name twice",
        [chat_command(options=[option(), option()])],
        ("0.options.1.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"),
    ),
    (
        "option without description",
        [chat_command(options=[option(description=" ")])],
        ("0.options.0.description", "BASE_TYPE_REQUIRED"),
    ),
    (
        "option description 101",
        [chat_command(options=[option(description="d" * 101)])],
        ("0.options.0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a required option after an optional one",
        [chat_command(options=[option(name="a"), option(name="b", required=True)])],
        ("0.options.1.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"),
    ),
    (
        "26 choices",
        [chat_command(options=[option(choices=[{"name": "n", "value": "v"}] * 26)])],
        ("0.options.0.choices", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a choice without a name",
        [chat_command(options=[option(choices=[{"name": "", "value": "v"}])])],
        ("0.options.0.choices.0.name", "BASE_TYPE_REQUIRED"),
    ),
    (
        "a choice name 101",
        [chat_command(options=[option(choices=[{"name": "n" * 101, "value": "v"}])])],
        ("0.options.0.choices.0.name", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a choice value 101",
        [chat_command(options=[option(choices=[{"name": "n", "value": "v" * 101}])])],
        ("0.options.0.choices.0.value", "BASE_TYPE_MAX_LENGTH"),
    ),
    *(
        (
            f"default_member_permissions {value!r}",
            [chat_command(default_member_permissions=value)],
            ("0.default_member_permissions", "NUMBER_TYPE_COERCE"),
        )
        # a permission's name, hex, a sign, blanks, non-ASCII digits, other JSON types
        for value in ("manage_guild", "0x20", "-32", "+32", "", " 32", "３２", True, 32.0, [32], {})
    ),
    (
        "default_member_permissions -32",
        [chat_command(default_member_permissions=-32)],
        ("0.default_member_permissions", "NUMBER_TYPE_MIN"),
    ),
    (
        "a bad name inside a subcommand",
        [
            chat_command(
                options=[
                    {"type": 1, "name": "sub", "description": "s", "options": [option(name="Bad")]}
                ]
            )
        ],
        ("0.options.0.options.0.name", "APPLICATION_COMMAND_INVALID_NAME"),
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), [pytest.param(b, e, id=name) for name, b, e in COMMAND_CASES]
)
def test_each_command_rule_fires_alone(body: Any, expected: tuple[str, str]) -> None:
    assert _commands(body) == {expected}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"title": "t" * 46, "components": [row()]}, {("title", "BASE_TYPE_BAD_LENGTH")}),
        ({"title": "Rename", "components": []}, {("components", "BASE_TYPE_BAD_LENGTH")}),
        ({"title": "Rename", "components": [row()]}, set()),
    ],
)
def test_modal_rules(data: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    errors = FormErrors()
    validate_modal(errors, data)
    assert _found(errors) == expected


def test_errors_render_as_discords_tree_and_as_one_line_each() -> None:
    errors = _message({"content": "x" * 2001, "embeds": [embed(title="t" * 257)]})
    assert errors.tree() == {
        "content": {
            "_errors": [
                {
                    "code": "BASE_TYPE_MAX_LENGTH",
                    "message": "Must be 2000 or fewer in length. (got 2001)",
                }
            ]
        },
        "embeds": {
            "0": {
                "title": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 256 or fewer in length. (got 257)",
                        }
                    ]
                }
            }
        },
    }
    assert errors.reasons() == [
        "content: Must be 2000 or fewer in length. (got 2001)",
        "embeds.0.title: Must be 256 or fewer in length. (got 257)",
    ]
