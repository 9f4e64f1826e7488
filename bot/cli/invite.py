"""``clanstats invite-url``: the link that adds the bot to a server with exactly what it needs.

The scopes and permissions come from :mod:`bot.channel_access` (``INVITE_SCOPES``,
``INVITE_PERMISSIONS``: the union of what each job checks in its channel), so the invite
grants what the bot's own checks look for, no more. The URL is Discord's bot authorization
flow: ``https://discord.com/oauth2/authorize`` with ``client_id``, ``scope`` and
``permissions`` (discord/discord-api-docs ``developers/topics/oauth2.mdx``, "OAuth2 URLs" and
"Bot Authorization Flow" @ 2602effef0fa59e3d6f2acb1cb208feabdee7331); the permission integer
is the OR of the flags' bits (``developers/topics/permissions.mdx``, "Bitwise Permission
Flags" @ 1e05d164a0ac1ac7a7d3585fcc74f84a80443cbf), computed by discord.py's ``Permissions``.

The client id is ``--client-id``, or the bot's own id read from the configured token: a bot
token's first dot-separated part is its user id in base64 without padding, and a bot user's
id is its application's id (as disgoorg/disgo reads it: ``internal/tokenhelper/tokenhelper.go``
@ 05892a7915aae15d580fc40e21cee7a3e87fd61f). The token itself is never printed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from typing import Any
from urllib.parse import urlencode

from bot.channel_access import INVITE_PERMISSIONS, INVITE_SCOPES, LABELS, invite_permissions
from bot.cli.common import EXIT_CONFIG, EXIT_OK, settings_or_exit
from bot.core.config import snowflake_problem

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
WHERE_IS_THE_ID = "the Application ID on the Developer Portal's General Information page"


class ClientIdError(Exception):
    """No usable client id: the message says what to do (and never holds the token)."""


def client_id_from_token(token: str) -> int:
    """The bot's id encoded in ``token``'s first part; ClientIdError (without the token's
    text) when that part is not the base64 of a number."""
    head = token.strip().split(".", 1)[0]
    if head.lower().startswith("bot "):  # pasted with the HTTP header's prefix
        head = head[4:].strip()
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if not decoded.isdigit():
        raise ClientIdError(
            "CLANSTATS_DISCORD_TOKEN does not look like a bot token (its first part is not a "
            f"bot id): pass --client-id, {WHERE_IS_THE_ID}"
        )
    return int(decoded)


def checked_id(value: int, source: str, fix: str) -> int:
    problem = snowflake_problem(value, now_ms=int(time.time() * 1000))
    if problem is not None:
        problem = problem.split(" (", 1)[0]  # its hint is for ids copied in Discord
        raise ClientIdError(f"{source} {problem}: {fix}")
    return value


def resolve_client_id(args: argparse.Namespace) -> tuple[int, str]:
    """The client id and where it came from (``option`` or ``token``)."""
    if args.client_id is not None:
        return checked_id(args.client_id, "--client-id", f"use {WHERE_IS_THE_ID}"), "option"
    settings = settings_or_exit(args)
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ClientIdError(
            f"no client id: pass --client-id ({WHERE_IS_THE_ID}) or set CLANSTATS_DISCORD_TOKEN"
        )
    derived = client_id_from_token(settings.discord_token.get_secret_value())
    fix = f"pass --client-id, {WHERE_IS_THE_ID}"
    return checked_id(derived, "the id in CLANSTATS_DISCORD_TOKEN", fix), "token"


def invite_url(client_id: int) -> str:
    query = {
        "client_id": str(client_id),
        "scope": " ".join(INVITE_SCOPES),
        "permissions": str(invite_permissions().value),
    }
    return f"{AUTHORIZE_URL}?{urlencode(query)}"


def invite_json(client_id: int, source: str) -> dict[str, Any]:
    flags = invite_permissions()
    return {
        "url": invite_url(client_id),
        "client_id": str(client_id),
        "client_id_from": source,
        "scopes": list(INVITE_SCOPES),
        "permissions": [
            {
                "name": name,
                "label": LABELS.get(name, name),
                "value": getattr(type(flags), name).flag,
            }
            for name in INVITE_PERMISSIONS
        ],
        "permissions_integer": flags.value,
    }


def cmd_invite_url(args: argparse.Namespace) -> int:
    try:
        client_id, source = resolve_client_id(args)
    except ClientIdError as exc:
        print(f"clanstats invite-url: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.format == "json":
        sys.stdout.write(json.dumps(invite_json(client_id, source), indent=2) + "\n")
        return EXIT_OK
    labels = ", ".join(LABELS.get(name, name) for name in INVITE_PERMISSIONS)
    sys.stdout.write(
        f"{invite_url(client_id)}\n"
        f"scopes: {', '.join(INVITE_SCOPES)}\n"
        f"permissions: {labels} ({invite_permissions().value})\n"
        "Before starting the bot, turn on Message Content under Bot → Privileged Gateway "
        "Intents in the Developer Portal.\n"
    )
    return EXIT_OK


def _client_id(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number: use {WHERE_IS_THE_ID}")
    return int(text)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "invite-url",
        help="print the link that adds the bot to a server with exactly the permissions it needs",
    )
    p.add_argument(
        "--client-id",
        type=_client_id,
        default=None,
        help="the application id (default: read from CLANSTATS_DISCORD_TOKEN)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_invite_url)
