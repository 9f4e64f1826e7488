"""The components ``/setup`` uses, through the real discord.py and the fake Discord: channel and
role selects (values sent with their ``resolved`` data), pre-selected values, string selects
with default options, and modals of labelled text inputs. Each rule the fake enforces for them
fires alone on the body that breaks it, and what a member cannot pick or type in Discord's
client the driver refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord.ext import commands

from bot.discord_endpoint import point_discord_py_at
from fakes.discord import FakeDiscord
from fakes.discord.models import ChannelType
from fakes.discord.validation import FormErrors, validate_message
from fakes.discord.validation_commands import validate_modal
from tests.fakes.toy_world import (
    BOT_CHANNEL_ID,
    GUILD_ID,
    OFFICER_ID,
    OFFICER_ROLE_ID,
    RELAY_CHANNEL_ID,
    build_world,
)

GUILD = discord.Object(id=GUILD_ID)
VOICE_CHANNEL_ID = 1_100_000_000_000_000_012


def _found(errors: FormErrors) -> set[tuple[str, str]]:
    return {(".".join(path), code) for path, code, _ in errors._errors}


def _row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


def _message(*children: dict[str, Any]) -> set[tuple[str, str]]:
    errors = FormErrors()
    validate_message(errors, {"components": [_row(c) for c in children]}, new_files=0)
    return _found(errors)


def _modal(**fields: Any) -> set[tuple[str, str]]:
    errors = FormErrors()
    validate_modal(errors, {"custom_id": "m", "title": "Setup", **fields})
    return _found(errors)


def _text(**fields: Any) -> dict[str, Any]:
    return {"type": 4, "custom_id": "t", "style": 1, "label": None, **fields}


def _label(component: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": 18, "label": "Group id", "component": component, **fields}


# ------------------------------------------------------------------------------ the rules alone


def test_the_bodies_setup_sends_are_accepted() -> None:
    assert (
        _message(
            {
                "type": 8,
                "custom_id": "c",
                "channel_types": [0, 5],
                "min_values": 0,
                "max_values": 5,
                "default_values": [{"id": "1", "type": "channel"}],
            },
            {"type": 6, "custom_id": "r", "min_values": 0, "max_values": 25, "default_values": []},
            {"type": 7, "custom_id": "m", "default_values": [{"id": "1", "type": "user"}]},
            {
                "type": 3,
                "custom_id": "s",
                "max_values": 2,
                "options": [
                    {"label": "a", "value": "a", "default": True},
                    {"label": "b", "value": "b", "default": True},
                ],
            },
        )
        == set()
    )
    assert (
        _modal(
            components=[
                _label(_text(value="11114", max_length=10, min_length=1), description="From WOM"),
                {"type": 1, "components": [_text(custom_id="u", label="Time zone", style=2)]},
                {"type": 10, "content": "words only"},
            ]
        )
        == set()
    )


SELECT_CASES = [
    (
        "default_values on a string select",
        {
            "type": 3,
            "custom_id": "s",
            "options": [{"label": "a", "value": "a"}],
            "default_values": [],
        },
        ("components.0.components.0.default_values", "SELECT_COMPONENT_DEFAULT_VALUES_INVALID"),
    ),
    (
        "more default values than max_values",
        {
            "type": 6,
            "custom_id": "r",
            "default_values": [{"id": "1", "type": "role"}, {"id": "2", "type": "role"}],
        },
        ("components.0.components.0.default_values", "BASE_TYPE_BAD_LENGTH"),
    ),
    (
        "fewer default values than min_values",
        {"type": 8, "custom_id": "c", "min_values": 1, "default_values": []},
        ("components.0.components.0.default_values", "BASE_TYPE_BAD_LENGTH"),
    ),
    (
        "a channel as a role select's default",
        {"type": 6, "custom_id": "r", "default_values": [{"id": "1", "type": "channel"}]},
        ("components.0.components.0.default_values.0.type", "BASE_TYPE_CHOICES"),
    ),
    (
        "a default value without a snowflake",
        {"type": 8, "custom_id": "c", "default_values": [{"id": "#general", "type": "channel"}]},
        ("components.0.components.0.default_values.0.id", "NUMBER_TYPE_COERCE"),
    ),
    (
        "channel_types on a role select",
        {"type": 6, "custom_id": "r", "channel_types": [0]},
        ("components.0.components.0.channel_types", "SELECT_COMPONENT_CHANNEL_TYPES_INVALID"),
    ),
    (
        "more default options than max_values",
        {
            "type": 3,
            "custom_id": "s",
            "options": [
                {"label": "a", "value": "a", "default": True},
                {"label": "b", "value": "b", "default": True},
            ],
        },
        ("components.0.components.0.options", "SELECT_COMPONENT_TOO_MANY_DEFAULTS"),
    ),
]


@pytest.mark.parametrize(
    ("select", "expected"), [pytest.param(s, e, id=name) for name, s, e in SELECT_CASES]
)
def test_each_select_default_rule_fires_alone(
    select: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert _message(select) == {expected}


MODAL_CASES = [
    ("no custom_id", {"custom_id": ""}, ("custom_id", "BASE_TYPE_REQUIRED")),
    ("custom_id 101", {"custom_id": "m" * 101}, ("custom_id", "BASE_TYPE_MAX_LENGTH")),
    (
        "a label without text",
        {"components": [_label(_text(), label="")]},
        ("components.0.label", "BASE_TYPE_REQUIRED"),
    ),
    (
        "a label of 46",
        {"components": [_label(_text(), label="l" * 46)]},
        ("components.0.label", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a label description of 101",
        {"components": [_label(_text(), description="d" * 101)]},
        ("components.0.description", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a button in a label",
        {"components": [_label({"type": 2, "style": 1, "label": "x", "custom_id": "b"})]},
        ("components.0.component", "UNION_TYPE_CHOICES"),
    ),
    (
        "an action row of two text inputs",
        {"components": [_row(_text(label="a"), _text(custom_id="u", label="b"))]},
        ("components.0.components", "UNION_TYPE_CHOICES"),
    ),
    (
        "a button row in a modal",
        {"components": [{"type": 2, "style": 1, "label": "x", "custom_id": "b"}]},
        ("components.0.type", "UNION_TYPE_CHOICES"),
    ),
    (
        "a text input in a row without its label",
        {"components": [_row(_text())]},
        ("components.0.components.0.label", "BASE_TYPE_REQUIRED"),
    ),
    (
        "a text input's own label of 46",
        {"components": [_label(_text(label="l" * 46))]},
        ("components.0.component.label", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a text input without custom_id",
        {"components": [_label(_text(custom_id=""))]},
        ("components.0.component.custom_id", "BASE_TYPE_REQUIRED"),
    ),
    (
        "a text input custom_id of 101",
        {"components": [_label(_text(custom_id="t" * 101))]},
        ("components.0.component.custom_id", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "two text inputs with one custom_id",
        {"components": [_label(_text()), _label(_text())]},
        ("components.1.component.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"),
    ),
    (
        "a text input style 3",
        {"components": [_label(_text(style=3))]},
        ("components.0.component.style", "BASE_TYPE_CHOICES"),
    ),
    (
        "min_length 4001",
        {"components": [_label(_text(min_length=4001))]},
        ("components.0.component.min_length", "NUMBER_TYPE_MAX"),
    ),
    (
        "max_length 0",
        {"components": [_label(_text(max_length=0))]},
        ("components.0.component.max_length", "NUMBER_TYPE_MAX"),
    ),
    (
        "min_length over max_length",
        {"components": [_label(_text(min_length=5, max_length=4))]},
        ("components.0.component.min_length", "TEXT_INPUT_MIN_LENGTH_TOO_HIGH"),
    ),
    (
        "a pre-filled value of 4001",
        {"components": [_label(_text(value="v" * 4001))]},
        ("components.0.component.value", "BASE_TYPE_MAX_LENGTH"),
    ),
    (
        "a placeholder of 101",
        {"components": [_label(_text(placeholder="p" * 101))]},
        ("components.0.component.placeholder", "BASE_TYPE_MAX_LENGTH"),
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected"), [pytest.param(f, e, id=name) for name, f, e in MODAL_CASES]
)
def test_each_modal_rule_fires_alone(fields: dict[str, Any], expected: tuple[str, str]) -> None:
    fields.setdefault("components", [_label(_text())])
    assert _modal(**fields) == {expected}


# ------------------------------------------------------------------------ through discord.py


class GroupModal(discord.ui.Modal, title="WOM group"):
    def __init__(self, seen: dict[str, Any], *, max_length: int = 10) -> None:
        super().__init__(timeout=30)
        self.seen = seen
        self.group: discord.ui.TextInput[Any] = discord.ui.TextInput(
            custom_id="group", default="11114", min_length=1, max_length=max_length
        )
        self.add_item(discord.ui.Label(text="WOM group id", component=self.group))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen["group"] = self.group.value
        await interaction.response.edit_message(content=f"group {self.group.value}")


class SetupView(discord.ui.View):
    def __init__(self, seen: dict[str, Any]) -> None:
        super().__init__(timeout=30)
        self.seen = seen
        channels: discord.ui.ChannelSelect[Any] = discord.ui.ChannelSelect(
            custom_id="relay",
            channel_types=[discord.ChannelType.text, discord.ChannelType.news],
            min_values=0,
            max_values=2,
            default_values=[discord.Object(id=RELAY_CHANNEL_ID, type=discord.abc.GuildChannel)],
        )
        channels.callback = self.on_channels  # type: ignore[method-assign]
        roles: discord.ui.RoleSelect[Any] = discord.ui.RoleSelect(
            custom_id="officers", min_values=0, max_values=3
        )
        roles.callback = self.on_roles  # type: ignore[method-assign]
        authors: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="authors",
            max_values=2,
            options=[
                discord.SelectOption(label="Osrs clanchat", value="1", default=True),
                discord.SelectOption(label="TrackScape", value="2"),
            ],
        )
        authors.callback = self.on_authors  # type: ignore[method-assign]
        self.channels, self.roles, self.authors = channels, roles, authors
        for item in (channels, roles, authors):
            self.add_item(item)

    async def on_channels(self, interaction: discord.Interaction) -> None:
        self.seen["channels"] = [(c.id, c.name, type(c).__name__) for c in self.channels.values]
        await interaction.response.defer()

    async def on_roles(self, interaction: discord.Interaction) -> None:
        self.seen["roles"] = [(r.id, r.name) for r in self.roles.values]
        await interaction.response.defer()

    async def on_authors(self, interaction: discord.Interaction) -> None:
        self.seen["authors"] = list(self.authors.values)
        await interaction.response.defer()

    @discord.ui.button(label="Enter the group id", custom_id="group")
    async def group(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(GroupModal(self.seen))

    @discord.ui.button(label="A broken modal", custom_id="broken")
    async def broken(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        try:
            await interaction.response.send_modal(GroupModal(self.seen, max_length=4001))
        except discord.HTTPException as exc:
            self.seen["broken"] = (exc.status, exc.code)


class SetupBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.seen: dict[str, Any] = {}

        @self.tree.command(name="setup", description="Set the clan up", guild=GUILD)
        async def setup(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "Setup", view=SetupView(self.seen), ephemeral=True
            )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        guild = build_world(fake)
        guild.add_channel(VOICE_CHANNEL_ID, "voice", type=ChannelType.VOICE)
        with point_discord_py_at(fake.base_url):
            yield fake


@pytest.fixture
async def bot(fake: FakeDiscord) -> AsyncIterator[SetupBot]:
    bot = SetupBot()
    await bot.login(fake.token)
    task = asyncio.create_task(bot.connect())
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    await bot.tree.sync(guild=GUILD)
    yield bot
    await bot.close()
    await asyncio.wait_for(task, 5)


async def _panel(fake: FakeDiscord) -> Any:
    command = await fake.invoke_slash(GUILD_ID, BOT_CHANNEL_ID, OFFICER_ID, "setup")
    return await command.wait_response()


async def test_channel_and_role_selects_reach_discord_py_resolved(
    fake: FakeDiscord, bot: SetupBot
) -> None:
    panel = await _panel(fake)
    (sent,) = [c for r in panel.components for c in r["components"] if c["custom_id"] == "relay"]
    assert sent["default_values"] == [{"id": RELAY_CHANNEL_ID, "type": "channel"}]

    both = [RELAY_CHANNEL_ID, BOT_CHANNEL_ID]
    picked = await fake.choose_select(panel, "relay", both, OFFICER_ID)
    await picked.wait_settled()
    assert bot.seen["channels"] == [
        (RELAY_CHANNEL_ID, "clan-chat", "AppCommandChannel"),
        (BOT_CHANNEL_ID, "bot", "AppCommandChannel"),
    ]
    picked = await fake.choose_select(panel, "officers", [OFFICER_ROLE_ID], OFFICER_ID)
    await picked.wait_settled()
    assert bot.seen["roles"] == [(OFFICER_ROLE_ID, "Officer")]
    picked = await fake.choose_select(panel, "authors", ["1", "2"], OFFICER_ID)
    await picked.wait_settled()
    assert bot.seen["authors"] == ["1", "2"]
    assert fake.violations == []


async def test_the_driver_refuses_what_the_client_would_not_offer(
    fake: FakeDiscord, bot: SetupBot
) -> None:
    panel = await _panel(fake)
    refusals = [
        ("relay", [VOICE_CHANNEL_ID], "is not offered"),  # not a text or news channel
        ("relay", [RELAY_CHANNEL_ID, BOT_CHANNEL_ID, 1], "takes 0 to 2 values"),
        ("officers", [BOT_CHANNEL_ID], "is not a role"),
        ("authors", ["3"], "has no option"),
        ("authors", [], "takes 1 to 2 values"),
    ]
    for custom_id, values, reason in refusals:
        with pytest.raises(ValueError, match=reason):
            await fake.choose_select(panel, custom_id, values, OFFICER_ID)
    assert fake.violations == []


async def test_a_modal_of_labelled_text_inputs_round_trips(
    fake: FakeDiscord, bot: SetupBot
) -> None:
    panel = await _panel(fake)
    click = await fake.click_button(panel, "group", OFFICER_ID)
    await click.wait_settled()
    assert click.modal is not None
    (label,) = click.modal["components"]
    assert label["type"] == 18 and label["component"]["value"] == "11114"

    with pytest.raises(ValueError, match="takes 1 to 10 characters"):
        await fake.submit_modal(click, {"group": "1" * 11})
    with pytest.raises(ValueError, match="is required"):
        await fake.submit_modal(click, {"group": ""})
    submitted = await fake.submit_modal(click, {"group": "42"})
    update = await submitted.wait_response()
    assert bot.seen["group"] == "42"
    assert update.kind == "interaction_update" and update.content == "group 42"
    assert fake.violations == []


async def test_a_bad_modal_is_refused_with_discords_400(fake: FakeDiscord, bot: SetupBot) -> None:
    panel = await _panel(fake)
    click = await fake.click_button(panel, "broken", OFFICER_ID)
    await click.wait_settled()
    await fake.wait_for(lambda: "broken" in bot.seen)
    assert click.modal is None
    assert bot.seen["broken"] == (400, 50035)
    assert click.rejections == [
        "data.components.0.component.max_length: int value should be between 1 and 4000."
    ]
