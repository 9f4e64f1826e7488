"""Proven RSN links: the one-time code and the rules that decide whether a relayed chat line
makes a link (issue 16).

A Discord member asks ``/link <name>`` and gets a short code; the link is made when the
relay delivers a chat line *from that account*, through a configured relay author, carrying
``!link CODE`` within the code's lifetime. Anyone can claim a name; only the account's owner
can type in clan chat as that account, so the link proves control of the account.

Everything here is pure: the caller gives the clock's reading, the random source and what
is stored.
"""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Letters and digits that cannot be misread for each other in game (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
#: How long a code can be typed after ``/link`` gave it.
CODE_TTL = timedelta(minutes=30)

#: ``!link CODE`` alone on the chat line (case and surrounding spaces do not matter). The
#: clanchat.net relay escapes ``!`` as ``\\!``, so one backslash before it is allowed.
_COMMAND = re.compile(r"^\s*\\?!link\s+([A-Za-z0-9]{4,16})\s*$", re.IGNORECASE)


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh code of :data:`CODE_LENGTH` characters from :data:`CODE_ALPHABET`."""
    return "".join(choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """The code as compared: upper case, no spaces (players type it by hand)."""
    return code.strip().upper()


def code_hash(code: str) -> str:
    """What is stored of a code: its SHA-256 (hex), so the table never holds a live code."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def link_command_code(text: str) -> str | None:
    """The code of a ``!link CODE`` chat line, or None when the line is anything else."""
    match = _COMMAND.match(text)
    return normalise_code(match.group(1)) if match else None


class Outcome(enum.StrEnum):
    """What a ``!link`` line did."""

    LINKED = "linked"
    UNKNOWN_CODE = "unknown_code"
    USED = "used"
    EXPIRED = "expired"
    TOO_EARLY = "too_early"
    WRONG_NAME = "wrong_name"
    NOT_RELAYED = "not_relayed"
    MEMBER_HAS_LINK = "member_has_link"
    ACCOUNT_TAKEN = "account_taken"
    ALREADY_LINKED = "already_linked"


@dataclass(frozen=True, slots=True)
class PendingCode:
    """A stored code, as the rules need it."""

    discord_user_id: int
    member_id: int
    created_at: datetime
    expires_at: datetime
    used: bool


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A relayed line carrying a ``!link`` code.

    ``relayed`` is True only for a chat line the parser read from a message of a trusted
    relay author (never Discord chatter); ``credited_member_id`` is the clan member who held
    the speaker's name when the line was posted (None: nobody).
    """

    relayed: bool
    credited_member_id: int | None
    posted_at: datetime


@dataclass(frozen=True, slots=True)
class Allowance:
    """How many accounts a Discord member may link, and whether their accounts may also be
    linked to another member (an officer's exception; the default is 1 and no)."""

    max_accounts: int = 1
    shared_accounts: bool = False


#: The rule without an officer's exception: one account per member, one member per account.
NO_EXCEPTION = Allowance()


@dataclass(frozen=True, slots=True)
class ActiveLink:
    """A link in force: Discord member ↔ clan member."""

    discord_user_id: int
    member_id: int


def decide(
    code: PendingCode | None,
    line: ChatLine,
    links: Collection[ActiveLink],
    allowance: Allowance = NO_EXCEPTION,
    allowance_of: Callable[[int], Allowance] = lambda _user: NO_EXCEPTION,
) -> Outcome:
    """Whether ``line`` makes the link ``code`` was issued for, and if not, why.

    The link is made only when the line is a relayed chat line, credited to the member the
    code names, posted within the code's lifetime, the code unused, and neither side past
    its limit: the Discord member has fewer links than ``allowance.max_accounts``, and the
    account is linked to nobody else (unless both the claimant's ``allowance`` and the
    current holders' (``allowance_of``) share accounts).
    """
    if not line.relayed:
        return Outcome.NOT_RELAYED
    if code is None:
        return Outcome.UNKNOWN_CODE
    if code.used:
        return Outcome.USED
    if line.posted_at < code.created_at:
        return Outcome.TOO_EARLY
    if line.posted_at > code.expires_at:
        return Outcome.EXPIRED
    if line.credited_member_id is None or line.credited_member_id != code.member_id:
        return Outcome.WRONG_NAME
    mine = [link for link in links if link.discord_user_id == code.discord_user_id]
    if any(link.member_id == code.member_id for link in mine):
        return Outcome.ALREADY_LINKED
    if len(mine) >= max(allowance.max_accounts, 1):
        return Outcome.MEMBER_HAS_LINK
    others = [
        link.discord_user_id
        for link in links
        if link.member_id == code.member_id and link.discord_user_id != code.discord_user_id
    ]
    if others and not (
        allowance.shared_accounts and all(allowance_of(u).shared_accounts for u in others)
    ):
        return Outcome.ACCOUNT_TAKEN
    return Outcome.LINKED


def claim_refusal(
    discord_user_id: int,
    member_id: int,
    links: Collection[ActiveLink],
    allowance: Allowance = NO_EXCEPTION,
    allowance_of: Callable[[int], Allowance] = lambda _user: NO_EXCEPTION,
) -> Outcome | None:
    """Why ``/link`` should not even hand out a code (the same limits as :func:`decide`),
    or None. Checked again when the code comes back: links may change meanwhile."""
    probe = PendingCode(discord_user_id, member_id, _EPOCH, _EPOCH, used=False)
    outcome = decide(probe, ChatLine(True, member_id, _EPOCH), links, allowance, allowance_of)
    return None if outcome is Outcome.LINKED else outcome


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_TTL",
    "NO_EXCEPTION",
    "ActiveLink",
    "Allowance",
    "ChatLine",
    "Outcome",
    "PendingCode",
    "claim_refusal",
    "code_hash",
    "decide",
    "link_command_code",
    "new_code",
    "normalise_code",
]
