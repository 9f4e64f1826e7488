"""Interactions sent to the bot and Discord's rules for answering them: creating one (payload
and token), finding it from a callback or webhook URL, and the acknowledgement checks.
"""

from __future__ import annotations

import secrets
import time
from typing import TypeGuard

from aiohttp import web

from fakes.discord.constants import ATTACHMENT_SIZE_LIMIT
from fakes.discord.messages import MessageStore
from fakes.discord.models import JSON, FakeChannel, FakeGuild, FakeInteraction
from fakes.discord.plumbing import error

# Which callback types Discord accepts for each interaction type.
_VALID_CALLBACKS = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}


def callback_type_valid(callback_type: object, interaction_type: int) -> TypeGuard[int]:
    """Whether Discord takes callback type ``callback_type`` for ``interaction_type``."""
    return callback_type in _VALID_CALLBACKS.get(interaction_type, set())


class InteractionState(MessageStore):
    """Mixin: creating interactions, finding them by id or token, and the acknowledgement rules."""

    def _interaction_payload(
        self,
        *,
        interaction_type: int,
        guild: FakeGuild,
        channel: FakeChannel,
        user_id: int,
        data: JSON,
        locale: str,
        message: JSON | None = None,
    ) -> tuple[int, str, JSON]:
        member = self._member(guild, user_id)
        interaction_id = self._ids.next()
        token = f"aW50ZXJhY3Rpb246{interaction_id}:{secrets.token_hex(24)}"
        channel_payload = channel.payload()
        channel_payload["permissions"] = str(guild.permissions_of(user_id))
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "member": member.payload(permissions=guild.permissions_of(user_id)),
            "token": token,
            "version": 1,
            "app_permissions": str(guild.permissions_of(self.bot_user_id)),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message
        return interaction_id, token, payload

    async def _send_interaction(
        self,
        *,
        interaction_type: int,
        guild: FakeGuild,
        channel: FakeChannel,
        user_id: int,
        data: JSON,
        locale: str = "en-US",
        message: JSON | None = None,
    ) -> FakeInteraction:
        if self._session is None:
            raise RuntimeError("no bot is connected to the gateway")
        interaction_id, token, payload = self._interaction_payload(
            interaction_type=interaction_type,
            guild=guild,
            channel=channel,
            user_id=user_id,
            data=data,
            locale=locale,
            message=message,
        )
        interaction = FakeInteraction(
            interaction_id=interaction_id,
            token=token,
            type=interaction_type,
            guild_id=guild.id,
            channel_id=channel.id,
            user_id=user_id,
            payload=payload,
            source_message_id=None if message is None else int(message["id"]),
        )
        self.interactions[interaction_id] = interaction
        self._interactions_by_token[token] = interaction
        await self._dispatch("INTERACTION_CREATE", payload)
        return interaction

    def _callback_interaction(self, request: web.Request) -> FakeInteraction | web.Response:
        """The interaction a callback URL names; its id and token must match."""
        interaction = self.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            self._violation(request, "Unknown interaction")
            return error(404, 10062, "Unknown interaction")
        return interaction

    def _ack_refusal(
        self, interaction: FakeInteraction, elapsed: float
    ) -> tuple[str, web.Response] | None:
        """(reason, response) when Discord would refuse any callback now: one answer, in time."""
        if interaction.callback_type is not None:
            return (
                "Interaction has already been acknowledged",
                error(400, 40060, "Interaction has already been acknowledged."),
            )
        if elapsed > self.ack_timeout:
            return (
                f"Unknown interaction: acknowledged after {elapsed:.2f}s "
                f"(Discord allows {self.ack_timeout:g}s)",
                error(404, 10062, "Unknown interaction"),
            )
        return None

    def _webhook_interaction(self, request: web.Request) -> FakeInteraction | web.Response:
        """The interaction a webhook URL's token names, while that token lives."""
        if int(request.match_info["app_id"]) != self.application_id:
            self._violation(request, "Unknown Webhook (wrong application id)")
            return error(404, 10015, "Unknown Webhook")
        interaction = self._interactions_by_token.get(request.match_info["token"])
        if interaction is None:
            self._violation(request, "Unknown Webhook (no interaction has this token)")
            return error(404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.created_monotonic > self.token_lifetime:
            self._violation(request, "Invalid Webhook Token: interaction token expired (15 min)")
            return error(401, 50027, "Invalid Webhook Token")
        return interaction

    def _webhook_message(
        self, request: web.Request, interaction: FakeInteraction
    ) -> JSON | web.Response:
        """The message a webhook URL names: ``@original`` or one of the interaction's responses."""
        raw = request.match_info["message_id"]
        if raw == "@original":
            message_id = interaction.original_message_id
        elif raw.isdigit():
            message_id = int(raw)
            own = {r.message_id for r in interaction.responses}
            if message_id not in own:
                message_id = None
        else:
            message_id = None
        message = None if message_id is None else self._find_message(message_id)
        if message is None:
            self._violation(request, f"Unknown Message ({raw} of interaction {interaction.id})")
            return error(404, 10008, "Unknown Message")
        return message
