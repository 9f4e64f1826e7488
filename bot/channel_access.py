"""Whether the bot can do its work in each configured channel, and what happens when it cannot.

Each job needs some permissions in its channel (``NEEDS``): reading the relay's history, posting
the daily report (an embed and a PNG), posting roster announcements (an embed). The bot checks
them with discord.py's own computation (roles, then the channel's overwrites) before it acts,
instead of letting Discord answer 403 (every 403 counts toward Discord's invalid-request
limit: discord-api-docs, ``developers/topics/rate-limits.mdx``, "Invalid Request Limit").
The invite (``clanstats invite-url``) asks for exactly the union of ``NEEDS``.

When a channel becomes unusable, that is logged once, with the reason, and shown on
``/status``; the work waits (the report's day stays due, roster changes stay pending, the
relay's backfill cursor stays put). When it becomes usable again (a channel or role update
arrives from Discord), that is logged once too, and the ``channel_usable`` event tells the
cogs to catch up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import discord
import structlog

log = structlog.get_logger(__name__)

Purpose = Literal["relay", "report", "announce"]

#: What each job needs in its channel (discord.py ``Permissions`` attribute names).
NEEDS: dict[Purpose, tuple[str, ...]] = {
    "relay": ("view_channel", "read_message_history"),
    "report": ("view_channel", "send_messages", "embed_links", "attach_files"),
    "announce": ("view_channel", "send_messages", "embed_links"),
}
#: Everything the bot needs in some channel, in a stable order: exactly what the invite asks
#: for (``clanstats invite-url``), so the invite grants what the checks above look for.
INVITE_PERMISSIONS: tuple[str, ...] = tuple(
    dict.fromkeys(name for needs in NEEDS.values() for name in needs)
)
#: The OAuth2 scopes of the invite: ``bot`` puts the bot in the server, and
#: ``applications.commands`` lets it add its slash commands there (Discord documents the
#: latter as included with ``bot``; it is named so the URL says all it grants).
#: discord/discord-api-docs ``developers/topics/oauth2.mdx`` "OAuth2 Scopes"
#: @ 2602effef0fa59e3d6f2acb1cb208feabdee7331.
INVITE_SCOPES: tuple[str, ...] = ("bot", "applications.commands")
#: What the job does while it cannot, for the log line and /status.
WAITING: dict[Purpose, str] = {
    "relay": "its history is not read until this is fixed (nothing is lost: it is read then)",
    "report": "the daily report waits, and is posted once this is fixed",
    "announce": "roster changes stay pending, and are announced once this is fixed",
}
LABELS = {
    "view_channel": "View Channel",
    "read_message_history": "Read Message History",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "attach_files": "Attach Files",
}


def invite_permissions() -> discord.Permissions:
    """:data:`INVITE_PERMISSIONS` as discord.py's flags (its ``value`` is the invite's integer)."""
    return discord.Permissions(**dict.fromkeys(INVITE_PERMISSIONS, True))


class ChannelUnusable(Exception):
    """The bot cannot do ``purpose``'s work in the channel now; ``problem`` says why."""

    def __init__(self, purpose: Purpose, channel_id: int, problem: str) -> None:
        super().__init__(problem)
        self.purpose = purpose
        self.channel_id = channel_id
        self.problem = problem


def missing_permissions(
    channel: discord.abc.GuildChannel, me: discord.Member, needs: Iterable[str]
) -> list[str]:
    """The names (as Discord shows them) of what ``me`` lacks in ``channel``."""
    have = channel.permissions_for(me)
    return [LABELS.get(n, n) for n in needs if not getattr(have, n)]


class ChannelAccess:
    """Tracks, per job and channel, whether the bot can work there; says so on each change."""

    def __init__(
        self,
        get_channel: Callable[[int], object],
        progress: dict[str, str],
        dispatch: Callable[..., None],
        progress_guilds: dict[str, int] | None = None,
    ) -> None:
        self._get_channel = get_channel
        self._progress = progress
        # Which guild each progress line concerns (a clan's /status shows its own).
        self._progress_guilds = progress_guilds if progress_guilds is not None else {}
        self._dispatch = dispatch
        self.problems: dict[tuple[Purpose, int], str] = {}

    def problem(self, purpose: Purpose, channel_id: int) -> str | None:
        """Why ``purpose`` cannot be done in ``channel_id`` now, or None when it can."""
        channel = self._get_channel(channel_id)
        if not isinstance(channel, discord.abc.GuildChannel):
            return f"channel {channel_id} is not in the server (or not visible to the bot)"
        me = channel.guild.me
        missing = missing_permissions(channel, me, NEEDS[purpose])
        if missing:
            return f"#{channel.name}: the bot lacks {', '.join(missing)}"
        return None

    def check(self, purpose: Purpose, channel_id: int) -> str | None:
        """:meth:`problem`, remembered: a change is logged once and shown on /status."""
        self._update(purpose, channel_id, self.problem(purpose, channel_id))
        return self.problems.get((purpose, channel_id))

    def require(self, purpose: Purpose, channel_id: int) -> None:
        """Raise :class:`ChannelUnusable` unless ``purpose`` can be done there now."""
        problem = self.check(purpose, channel_id)
        if problem is not None:
            raise ChannelUnusable(purpose, channel_id, problem)

    def refused(self, purpose: Purpose, channel_id: int, error: discord.HTTPException) -> None:
        """Discord refused the work anyway (a stale cache): remember why, like a check."""
        problem = f"Discord refused it: {error.status} {error.text or error}"
        self._update(purpose, channel_id, problem)

    def _update(self, purpose: Purpose, channel_id: int, problem: str | None) -> None:
        key = (purpose, channel_id)
        previous = self.problems.get(key)
        if problem == previous:
            return
        label = f"{purpose} channel {channel_id}"
        if problem is not None:
            self.problems[key] = problem
            log.warning(
                "channel.unusable",
                purpose=purpose,
                channel_id=channel_id,
                problem=problem,
                meanwhile=WAITING[purpose],
            )
            self._progress[label] = f"{problem}: {WAITING[purpose]}"
            channel = self._get_channel(channel_id)
            if isinstance(channel, discord.abc.GuildChannel):
                self._progress_guilds[label] = channel.guild.id
            return
        del self.problems[key]
        log.info("channel.usable_again", purpose=purpose, channel_id=channel_id, was=previous)
        self._progress.pop(label, None)
        self._progress_guilds.pop(label, None)
        self._dispatch("channel_usable", purpose, channel_id)
