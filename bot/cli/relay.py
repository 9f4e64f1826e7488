"""``clanstats relay explain``: how one message is read by the relay parser, or why not.

The message is its content (an argument, or stdin) or a DiscordChatExporter message JSON
file. It is read by the parser ingest runs, with the settings' relay ids and custom formats
and the clan's in-game name as the database knows it (or ``--clan-name``).

Exit codes: 0 read and understood; 1 read but not understood (an unknown broadcast, nothing
read, or not posted by a relay); 2 bad input or configuration. Text or JSON on stdout only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.dce import BadEntry, message_from_dce
from bot.app import clan_relay_base, open_app, relay_config
from bot.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    add_guild_option,
    chosen_clan,
    run_async,
    settings_or_exit,
    setup_logging,
)
from bot.core.config import ConfigError, Settings, env_name
from bot.usecases.explain import ingest_config
from bot.usecases.reports import ReportInputError
from domain.relay import RelayConfig, RelayMessageIn
from domain.relay_explain import ExplainedPart, Explanation, explain
from domain.relay_stats import NOTHING_READ
from storage.engine import Database
from storage.migrate import sqlite_path

_CONTENT_AUTHOR = "(content given)"


class InputError(ValueError):
    """The message to explain cannot be read; the text says why."""


# ---------------------------------------------------------------------------------------------
# Reading the message


def _from_dce(path: Path, message_id: int | None) -> RelayMessageIn:
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{path} is not JSON: {exc}") from None
    channel_id = 0
    if isinstance(document, dict) and isinstance(document.get("messages"), list):
        channel = document.get("channel")
        if isinstance(channel, dict) and str(channel.get("id", "")).isdigit():
            channel_id = int(channel["id"])
        entries = document["messages"]
        if message_id is not None:
            wanted = str(message_id)
            entries = [e for e in entries if isinstance(e, dict) and str(e.get("id")) == wanted]
            if not entries:
                raise InputError(f"{path}: no message {message_id} in the export")
        if len(entries) != 1:
            raise InputError(f"{path} holds {len(entries)} messages: pick one with --message-id ID")
        document = entries[0]
    try:
        message = message_from_dce(document, channel_id)
    except BadEntry as exc:
        raise InputError(f"{path}: not a DiscordChatExporter message: {exc}") from None
    if message is None:
        raise InputError(f"{path}: a Discord system message (a pin, a join…), not a message")
    return message


def _from_content(content: str) -> RelayMessageIn:
    if not content.strip():
        raise InputError("the message content is empty")
    return RelayMessageIn(
        message_id=0,
        channel_id=0,
        author_id=0,
        author_name=_CONTENT_AUTHOR,
        is_bot=True,
        webhook_id=None,
        content=content,
        embeds=(),
        posted_at=datetime.now(UTC),
    )


def _message(args: argparse.Namespace) -> RelayMessageIn:
    if args.dce is not None:
        if args.content is not None:
            raise InputError("give either the content or --dce FILE, not both")
        return _from_dce(args.dce, args.message_id)
    if args.content is not None and args.content != "-":
        return _from_content(args.content)
    if args.content is None and sys.stdin.isatty():
        raise InputError("give the message content, - to read it from stdin, or --dce FILE")
    return _from_content(sys.stdin.read())


# ---------------------------------------------------------------------------------------------
# Rendering


def _why_not(explained: Explanation) -> str | None:
    """One paragraph saying why nothing (or not everything) was understood; None if it was."""
    if not explained.relay:
        return (
            f"not read as game chat: author {explained.author_id} "
            f"({explained.author_name or 'no name'}) is not a configured relay. Relays are "
            f"trusted by their Discord id ({env_name('relay_author_ids')}), never by name or "
            "by what the message looks like, so this message would be stored as Discord "
            "chatter and credited to nobody. Pass --as-relay to see how it would read if a "
            "relay had posted it."
        )
    if explained.nothing_read:
        return (
            "a relay message, but nothing was read from it: no content line or embed in a "
            f"shape the parser knows. /status counts it under {NOTHING_READ!r}."
        )
    unknown = [p.part for p in explained.parts if not p.understood]
    if unknown:
        where = ", ".join(str(p) for p in unknown)
        return (
            f"not understood: part {where} is a broadcast no rule recognises; it would be "
            "stored as an unknown broadcast and counted as not understood on /status."
        )
    return None


def _trust(explained: Explanation, from_content: bool) -> str:
    if from_content:
        return "content given: read as a configured relay would post it"
    if explained.trust == "relay id":
        return "posted by a configured relay (trusted by its id)"
    if explained.trust == "as relay":
        return "not a configured relay; read as one because of --as-relay"
    return "not a configured relay"


def _part_dict(part: ExplainedPart) -> dict[str, Any]:
    return {
        "part": part.part,
        "kind": part.kind,
        "format": part.format,
        "player": part.player_name,
        "player_key": part.player_key,
        "text": part.text,
        "broadcast_type": part.broadcast_type,
        "coins": part.coins,
        "level_99": part.level_99,
        "other_player": part.other_name,
        "rank": part.rank_title,
        "account_type": part.account_type,
        "understood": part.understood,
    }


def explanation_dict(explained: Explanation, *, from_content: bool) -> dict[str, Any]:
    return {
        "message_author_id": None if from_content else explained.author_id,
        "message_author": None if from_content else explained.author_name,
        "read_as": "relay" if explained.relay else "discord",
        "trust": _trust(explained, from_content),
        "understood": explained.understood,
        "why_not": _why_not(explained),
        "parts": [_part_dict(p) for p in explained.parts],
    }


def _part_text(part: ExplainedPart) -> list[str]:
    if part.kind == "chat":
        head = f"part {part.part}: chat line, format {part.format}"
    elif part.kind == "broadcast":
        head = f"part {part.part}: broadcast {part.broadcast_type}, format {part.format}"
    else:
        head = f"part {part.part}: Discord chatter (not game chat), format {part.format}"
    out = [head]
    if part.kind != "discord":
        player = part.player_name or "nobody"
        key = f" (key {part.player_key})" if part.player_key else " (no valid name key)"
        out.append(f"  player:  {player}{key if part.player_name else ''}")
    if part.other_name:
        out.append(f"  other:   {part.other_name}")
    if part.rank_title or part.account_type:
        out.append(f"  rank:    {part.rank_title or '-'}, account {part.account_type or '-'}")
    if part.coins is not None:
        out.append(f"  value:   {part.coins:,} coins")
    if part.level_99:
        out.append("  a 99:    yes")
    out.append(f"  text:    {part.text}")
    return out


def explanation_text(explained: Explanation, *, from_content: bool) -> str:
    out = [f"read as: {'relayed game chat' if explained.relay else 'Discord chatter'}"]
    out.append(f"trust:   {_trust(explained, from_content)}")
    for part in explained.parts:
        out.extend(_part_text(part))
    why = _why_not(explained)
    out.append("understood: yes" if why is None else f"why not: {why}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# The command


async def _database_exists(settings: Settings) -> bool:
    """False for a SQLite database with no file (opening it would create one)."""
    db = Database.from_url(settings.database_url)  # no connection is made yet
    try:
        if db.dialect != "sqlite":
            return True
        path = sqlite_path(db)
        return path is not None and path.exists()
    finally:
        await db.dispose()


async def _guild_config(settings: Settings, args: argparse.Namespace) -> RelayConfig:
    """``--guild``: the relay ids, formats and name of that server's clan, as stored."""
    if not await _database_exists(settings):
        raise ReportInputError("there is no database yet, so no clan of any server")
    async with open_app(settings, migrate=False) as app:
        clan = await chosen_clan(app, settings, args)
        assert clan.wiring is not None  # chosen by its guild
        base = clan_relay_base(clan.wiring)
        if args.clan_name is not None:
            return dataclasses.replace(base, clan_name=args.clan_name.strip() or None)
        return await ingest_config(app, clan.wom_group_id, base)


async def _config(settings: Settings, args: argparse.Namespace) -> RelayConfig:
    if args.guild is not None:
        return await _guild_config(settings, args)
    base = relay_config(settings)
    if args.clan_name is not None:
        return dataclasses.replace(base, clan_name=args.clan_name.strip() or None)
    if not await _database_exists(settings):
        return base
    try:
        async with open_app(settings, migrate=False) as app:
            return await ingest_config(app, settings.wom_group_id, base)
    except Exception as exc:  # the clan's name only sharpens the reading: go on without it
        print(
            f"note: the clan's name could not be read from the database ({type(exc).__name__});"
            " pass --clan-name to give it",
            file=sys.stderr,
        )
        return base


def cmd_explain(args: argparse.Namespace) -> int:
    """``clanstats relay explain``: print how one message is parsed, or why it is not."""
    settings = settings_or_exit(args)
    setup_logging(settings)
    try:
        message = _message(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from_content = args.dce is None

    async def go() -> int:
        try:
            config = await _config(settings, args)
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_CONFIG
        except ReportInputError as exc:  # --guild of a server with no clan
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        explained = explain(message, config, as_relay=args.as_relay or from_content)
        if args.format == "json":
            document = explanation_dict(explained, from_content=from_content)
            sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(explanation_text(explained, from_content=from_content))
        return EXIT_OK if explained.understood else EXIT_FAILED

    return run_async(go())


def register(sub: Any) -> None:
    relay = sub.add_parser("relay", help="the relay parser: how a message is read")
    tools = relay.add_subparsers(dest="tool", metavar="TOOL", required=True)
    p = tools.add_parser(
        "explain",
        help="print how one message is parsed (format, player, text or broadcast and value)",
    )
    p.add_argument(
        "content",
        nargs="?",
        default=None,
        help="the message content as the relay posted it; - or nothing reads stdin",
    )
    p.add_argument(
        "--dce",
        type=Path,
        default=None,
        metavar="FILE",
        help="a DiscordChatExporter message JSON (or an export holding it, see --message-id)",
    )
    p.add_argument("--message-id", type=int, default=None, help="the message to take from --dce")
    p.add_argument(
        "--as-relay",
        action="store_true",
        help="read the --dce message as if its author were a configured relay",
    )
    p.add_argument(
        "--clan-name",
        default=None,
        help="the clan's in-game name (default: as stored by the last WOM sync)",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    add_guild_option(p)
    p.set_defaults(handler=cmd_explain)
