"""Check configured Discord ids against the live guild once the bot has connected."""

from __future__ import annotations

from collections.abc import Set

from bot.core.config import Settings, env_name


def live_config_problems(
    settings: Settings,
    *,
    guild_found: bool,
    channel_ids: Set[int],
    role_ids: Set[int],
) -> list[str]:
    """Every configured id the guild does not have, with the variable to fix."""
    if not guild_found:
        return [f"{env_name('guild_id')}: the bot is not in a server with id {settings.guild_id}"]
    problems = [
        f"{env_name('relay_channel_ids')}: no channel {cid} in the server"
        for cid in settings.relay_channel_ids
        if cid not in channel_ids
    ]
    for name in ("report_channel_id", "announce_channel_id"):
        cid = getattr(settings, name)
        if cid is not None and cid not in channel_ids:
            problems.append(f"{env_name(name)}: no channel {cid} in the server")
    problems += [
        f"{env_name('officer_role_ids')}: no role {rid} in the server"
        for rid in settings.officer_role_ids
        if rid not in role_ids
    ]
    return problems
