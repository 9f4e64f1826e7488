"""What the bot sent the fake Discord: messages, uploads, and the interactions with their
answers, as tests read them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from fakes.discord.validation import FLAG_EPHEMERAL

JSON = dict[str, Any]


SentKind = Literal[
    "message",  # POST /channels/{id}/messages
    "message_edit",  # PATCH /channels/{id}/messages/{id}
    "interaction_response",  # callback type 4
    "interaction_update",  # callback type 7 (edits the component's message)
    "followup",  # POST /webhooks/{app}/{token}
    "original_edit",  # PATCH .../messages/@original
    "followup_edit",  # PATCH .../messages/{id}
    # Only in FakeInteraction.responses (not messages):
    "deferred",  # callback type 5
    "deferred_update",  # callback type 6
    "autocomplete",  # callback type 8
    "modal",  # callback type 9
]


@dataclass
class SentAttachment:
    """A file the bot uploaded."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None


@dataclass
class SentMessage:
    """Something the bot sent or edited, as the resulting message looks after the request."""

    kind: SentKind
    message_id: int | None
    channel_id: int | None
    content: str
    embeds: list[JSON]
    components: list[JSON]
    attachments: list[SentAttachment]
    flags: int
    allowed_mentions: JSON | None
    interaction_id: int | None = None
    payload: JSON = field(default_factory=dict)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    def custom_ids(self) -> list[str]:
        """Every component custom_id on the message, in layout order."""
        found: list[str] = []

        def walk(items: list[Any]) -> None:
            for item in items:
                if isinstance(item, dict):
                    if isinstance(item.get("custom_id"), str):
                        found.append(item["custom_id"])
                    walk(list(item.get("components") or []))
                    if isinstance(item.get("component"), dict):
                        walk([item["component"]])
                    if isinstance(item.get("accessory"), dict):
                        walk([item["accessory"]])

        walk(self.components)
        return found


class FakeInteraction:
    """One interaction the fake sent to the bot, and everything the bot answered with."""

    def __init__(
        self,
        *,
        interaction_id: int,
        token: str,
        type: int,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        payload: JSON,
        source_message_id: int | None = None,
    ) -> None:
        self.id = interaction_id
        self.token = token
        self.type = type
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.user_id = user_id
        self.payload = payload
        self.created_monotonic = time.monotonic()
        self.source_message_id = source_message_id
        self.callback_type: int | None = None
        self.responses: list[SentMessage] = []
        self.rejections: list[str] = []
        self.choices: list[JSON] | None = None
        self.modal: JSON | None = None
        self.original_message_id: int | None = None
        self.original_loading = False
        self._changed = asyncio.Event()

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def deferred(self) -> bool:
        return self.callback_type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        """Whether the initial response (message or thinking state) is ephemeral."""
        return bool(self.responses) and self.responses[0].ephemeral

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait(self, ready: Any, timeout: float) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not ready():
                await self._changed.wait()

    async def wait_response(self, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109 - public API takes a timeout
        """Wait for the initial callback and return it (raise TimeoutError if none came)."""
        try:
            await self._wait(lambda: self.responses, timeout)
        except TimeoutError:
            detail = f"; rejected: {self.rejections}" if self.rejections else ""
            raise TimeoutError(
                f"interaction {self.id} got no accepted response in {timeout}s{detail}"
            ) from None
        return self.responses[0]

    async def wait_answer(self, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109 - public API takes a timeout
        """Wait for the answer a user reads: the initial response, or, when the bot deferred
        ("thinking…"), the message that followed it."""
        try:
            await self._wait(
                lambda: self.responses and (not self.deferred or len(self.responses) > 1), timeout
            )
        except TimeoutError:
            detail = f"; rejected: {self.rejections}" if self.rejections else ""
            raise TimeoutError(
                f"interaction {self.id} got no answer in {timeout}s "
                f"({len(self.responses)} responses){detail}"
            ) from None
        return self.responses[-1] if self.deferred else self.responses[0]

    async def wait_responses(self, count: int, timeout: float = 5.0) -> list[SentMessage]:  # noqa: ASYNC109 - public API takes a timeout
        """Wait until ``count`` responses (initial, followups, edits) were recorded."""
        try:
            await self._wait(lambda: len(self.responses) >= count, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"interaction {self.id}: {len(self.responses)} of {count} responses after "
                f"{timeout}s; rejected: {self.rejections}"
            ) from None
        return list(self.responses)

    async def wait_settled(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - public API takes a timeout
        """Wait until the bot answered or had an answer rejected."""
        await self._wait(lambda: self.responses or self.rejections, timeout)
