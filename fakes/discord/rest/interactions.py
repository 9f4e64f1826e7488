"""REST routes an interaction token opens: the callback, followups, and getting, editing or
deleting the ``@original`` response and followup messages.
"""

from __future__ import annotations

import time

from aiohttp import web

from fakes.discord.interaction_state import InteractionState, callback_type_valid
from fakes.discord.messages import utc_now
from fakes.discord.models import JSON, FakeInteraction, SentKind
from fakes.discord.plumbing import Route, error, json_response
from fakes.discord.validation import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    FormErrors,
    is_empty_message,
    validate_message,
)
from fakes.discord.validation_commands import validate_choices, validate_modal


class InteractionRoutes(InteractionState):
    """Mixin: the interaction callback, followup and webhook-message handlers."""

    def _interaction_routes(self) -> list[Route]:
        """Routes authorised by an interaction token instead of the bot token."""
        return [
            (
                "POST",
                "/interactions/{interaction_id:\\d+}/{token}/callback",
                self._interaction_callback,
                False,
            ),
            ("POST", "/webhooks/{app_id:\\d+}/{token}", self._followup, False),
            (
                "GET",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._patch_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{app_id:\\d+}/{token}/messages/{message_id}",
                self._delete_webhook_message,
                False,
            ),
        ]

    def _interaction_message(
        self, interaction: FakeInteraction, body: JSON, *, flags: int, content_allowed: bool = True
    ) -> JSON:
        channel = self._channel(interaction.channel_id)
        user = self.users[interaction.user_id]
        message = self._message(
            channel,
            message_id=self._ids.next(),
            author=self.bot_user.payload(),
            content=str(body.get("content") or "") if content_allowed else "",
            embeds=body.get("embeds") if content_allowed else None,
            timestamp=utc_now(),
            webhook_id=self.application_id,
            components=body.get("components") if content_allowed else None,
            flags=flags,
            message_type=20 if interaction.type == 2 else 0,
        )
        message["application_id"] = str(self.application_id)
        message["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": user.payload(),
            "authorizing_integration_owners": {"0": str(interaction.guild_id)},
        }
        return message

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        interaction = self._callback_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        body, uploads = await self._read_body(request)
        elapsed = time.monotonic() - interaction.created_monotonic

        def reject(reason: str, response: web.Response) -> web.Response:
            self._violation(request, reason)
            interaction.rejections.append(reason)
            interaction._notify()
            return response

        refusal = self._ack_refusal(interaction, elapsed)
        if refusal is not None:
            return reject(*refusal)
        if not isinstance(body, dict):
            return reject("body is not a JSON object", error(400, 50109, "Invalid JSON"))
        callback_type = body.get("type")
        data = body.get("data") or {}
        if not callback_type_valid(callback_type, interaction.type):
            errors = FormErrors()
            errors.add(
                ("type",),
                "INTERACTION_CALLBACK_TYPE_INVALID",
                f"callback type {callback_type} is not valid for interaction type "
                f"{interaction.type}",
            )
            interaction.rejections.extend(errors.reasons())
            interaction._notify()
            return self._invalid_form(request, errors)
        errors = FormErrors()
        if callback_type in (4, 7):
            validate_message(errors.at("data"), data, new_files=len(uploads))
        elif callback_type == 8:
            validate_choices(errors.at("data"), data.get("choices"))
        elif callback_type == 9:
            validate_modal(errors.at("data"), data)
        if errors:
            interaction.rejections.extend(errors.reasons())
            interaction._notify()
            return self._invalid_form(request, errors)
        if callback_type == 4 and is_empty_message(data, new_files=len(uploads)):
            return reject(
                "Cannot send an empty message", error(400, 50006, "Cannot send an empty message")
            )

        interaction.callback_type = int(callback_type)
        flags = int(data.get("flags") or 0)
        message: JSON | None = None
        if callback_type in (4, 5):
            ephemeral = flags & FLAG_EPHEMERAL
            message = self._interaction_message(
                interaction,
                data,
                flags=ephemeral | (FLAG_LOADING if callback_type == 5 else 0),
                content_allowed=callback_type == 4,
            )
            attachments = self._build_attachments(
                request, interaction.channel_id, data, uploads, []
            )
            if isinstance(attachments, web.Response):
                interaction.callback_type = None
                return attachments
            message["attachments"] = attachments
            self._check_attachment_refs(request, message["embeds"], attachments)
            interaction.original_message_id = int(message["id"])
            interaction.original_loading = callback_type == 5
            kind: SentKind = "interaction_response" if callback_type == 4 else "deferred"
            self._record(
                kind, message, body=data, interaction=interaction, public=kind != "deferred"
            )
            await self._publish(message, event="MESSAGE_CREATE")
        elif callback_type in (6, 7):
            interaction.original_message_id = interaction.source_message_id
            source = (
                None
                if interaction.source_message_id is None
                else self._find_message(interaction.source_message_id)
            )
            if callback_type == 7 and source is not None:
                problem = self._apply_edit(request, source, data, uploads)
                if problem is not None:
                    interaction.callback_type = None
                    return problem
                message = source
                self._record("interaction_update", source, body=data, interaction=interaction)
                if not source["flags"] & FLAG_EPHEMERAL:
                    await self._dispatch_message(
                        "MESSAGE_UPDATE", self._channel(int(source["channel_id"])), source
                    )
            else:
                self._record(
                    "deferred_update",
                    source or {"channel_id": str(interaction.channel_id)},
                    body=data,
                    interaction=interaction,
                    public=False,
                )
        elif callback_type == 8:
            interaction.choices = list(data.get("choices") or [])
            self._record(
                "autocomplete",
                {"channel_id": str(interaction.channel_id)},
                body=data,
                interaction=interaction,
                public=False,
            )
        elif callback_type == 9:
            interaction.modal = data
            self._record(
                "modal",
                {"channel_id": str(interaction.channel_id)},
                body=data,
                interaction=interaction,
                public=False,
            )

        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        summary: JSON = {"id": str(interaction.id), "type": interaction.type}
        if message is not None:
            summary["response_message_id"] = str(message["id"])
            summary["response_message_loading"] = bool(message["flags"] & FLAG_LOADING)
            summary["response_message_ephemeral"] = bool(message["flags"] & FLAG_EPHEMERAL)
        resource: JSON = {"type": callback_type}
        if message is not None:
            resource["message"] = message
        return json_response({"interaction": summary, "resource": resource})

    async def _followup(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        if interaction.callback_type is None:
            self._violation(request, "followup sent before the interaction was acknowledged")
            return error(404, 10015, "Unknown Webhook")
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=True)
        if problem is not None:
            interaction.rejections.append(f"followup rejected: {problem.status}")
            interaction._notify()
            return problem
        flags = int(body.get("flags") or 0) & FLAG_EPHEMERAL
        original = (
            None
            if interaction.original_message_id is None
            else self._find_message(interaction.original_message_id)
        )
        if interaction.original_loading and original is not None:
            # The first followup after a "thinking" defer completes that deferred message and
            # keeps its visibility: an ephemeral flag on the followup is ignored.
            if flags and not original["flags"] & FLAG_EPHEMERAL:
                self._violation(
                    request,
                    "followup asked to be ephemeral but completes a public deferred response: "
                    "Discord shows it to everyone (defer with ephemeral=True)",
                )
            problem = self._apply_edit(request, original, body, uploads)
            if problem is not None:
                return problem
            interaction.original_loading = False
            message = original
            self._record("followup", message, body=body, interaction=interaction)
            if not message["flags"] & FLAG_EPHEMERAL:
                await self._dispatch_message(
                    "MESSAGE_UPDATE", self._channel(int(message["channel_id"])), message
                )
        else:
            message = self._interaction_message(interaction, body, flags=flags)
            message["type"] = 0 if interaction.type != 2 else 19
            attachments = self._build_attachments(
                request, interaction.channel_id, body, uploads, []
            )
            if isinstance(attachments, web.Response):
                return attachments
            message["attachments"] = attachments
            self._check_attachment_refs(request, message["embeds"], attachments)
            self._record("followup", message, body=body, interaction=interaction)
            await self._publish(message, event="MESSAGE_CREATE")
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(message)
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        return json_response(message)

    async def _patch_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        body, uploads = await self._read_body(request)
        problem = self._check_message_body(request, body, uploads, creating=False)
        if problem is None:
            problem = self._apply_edit(request, message, body, uploads)
        if problem is not None:
            return problem
        if int(message["id"]) == interaction.original_message_id:
            interaction.original_loading = False
        original = request.match_info["message_id"] == "@original"
        self._record(
            "original_edit" if original else "followup_edit",
            message,
            body=body,
            interaction=interaction,
        )
        if not message["flags"] & FLAG_EPHEMERAL:
            channel = self._channel(int(message["channel_id"]))
            await self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return json_response(message)

    async def _delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        interaction = self._webhook_interaction(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._webhook_message(request, interaction)
        if isinstance(message, web.Response):
            return message
        message_id = int(message["id"])
        if self._ephemeral.pop(message_id, None) is None:
            await self._delete_message(int(message["channel_id"]), message_id)
        return web.Response(status=204)
