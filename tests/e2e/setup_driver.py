"""Drives ``/setup`` the way an admin does it in Discord: the ephemeral setup message, its
buttons and selects found by their label or placeholder, its modals filled in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fakes.discord import FakeInteraction, SentMessage
from fakes.world import ClanWorld

# What the bot's answer to a click looks like once it is complete.
_SHOWN = {"interaction_update", "original_edit", "modal", "interaction_response"}


def _walk(items: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _walk(item.get("components") or [])


class SetupRun:
    """One admin's ``/setup``: the message it edits, and what the admin does to it."""

    def __init__(self, world: ClanWorld, user_id: int, message: SentMessage) -> None:
        self.world = world
        self.user_id = user_id
        self.message = message
        assert message.message_id is not None
        self.message_id = message.message_id

    @classmethod
    async def start(
        cls, world: ClanWorld, guild_id: int, channel_id: int, user_id: int
    ) -> SetupRun:
        command = await world.discord.invoke_slash(guild_id, channel_id, user_id, "setup")
        shown = await command.wait_response(timeout=15)
        assert shown.ephemeral, "/setup answers the admin alone"
        return cls(world, user_id, shown)

    # -- what is shown ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """Every word of the message's embeds, one string."""
        parts: list[str] = [self.message.content]
        for embed in self.message.embeds:
            parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
            for f in embed.get("fields") or []:
                parts += [str(f.get("name")), str(f.get("value"))]
            parts.append(str((embed.get("footer") or {}).get("text") or ""))
        return "\n".join(parts)

    @property
    def title(self) -> str:
        return str(self.message.embeds[0].get("title") or "") if self.message.embeds else ""

    def field(self, name: str) -> str:
        for embed in self.message.embeds:
            for f in embed.get("fields") or []:
                if f.get("name") == name:
                    return str(f.get("value"))
        raise LookupError(f"no field {name!r} in {self.text!r}")

    def component(self, label: str) -> dict[str, Any]:
        """The button labelled, or the select whose placeholder is, ``label``."""
        for item in _walk(self.message.components):
            if label in (item.get("label"), item.get("placeholder")):
                return item
        shown = [i.get("label") or i.get("placeholder") for i in _walk(self.message.components)]
        raise LookupError(f"no component {label!r} on the setup message: {shown}")

    def labels(self) -> list[str]:
        return [
            str(i.get("label") or i.get("placeholder"))
            for i in _walk(self.message.components)
            if i.get("type") != 1
        ]

    # -- what the admin does -----------------------------------------------------------------

    async def _settle(self, interaction: FakeInteraction) -> FakeInteraction:
        def done() -> bool:
            return bool(interaction.rejections) or any(
                r.kind in _SHOWN for r in interaction.responses
            )

        await self.world.discord.wait_for(done, timeout=30)
        assert not interaction.rejections, interaction.rejections
        for response in interaction.responses:
            if response.message_id == self.message_id and response.kind != "modal":
                self.message = response
        return interaction

    async def click(self, label: str, *, user_id: int | None = None) -> FakeInteraction:
        custom_id = self.component(label)["custom_id"]
        clicked = await self.world.discord.click_button(
            self.message_id, custom_id, user_id or self.user_id
        )
        return await self._settle(clicked)

    async def choose(self, placeholder: str, values: Sequence[int | str]) -> FakeInteraction:
        custom_id = self.component(placeholder)["custom_id"]
        chosen = await self.world.discord.choose_select(
            self.message_id, custom_id, [str(v) for v in values], self.user_id
        )
        return await self._settle(chosen)

    async def fill(self, label: str, values: Mapping[str, str]) -> FakeInteraction:
        """Click ``label`` (which opens a modal) and submit it with ``values``, by the label
        each text input has in the modal."""
        opened = await self.click(label)
        assert opened.modal is not None, f"{label!r} opened no modal"
        by_label: dict[str, str] = {}
        for row in opened.modal["components"]:
            if row.get("type") == 18:
                by_label[str(row["label"])] = str(row["component"]["custom_id"])
        typed = {by_label[name]: value for name, value in values.items()}
        submitted = await self.world.discord.submit_modal(opened, typed)
        return await self._settle(submitted)
