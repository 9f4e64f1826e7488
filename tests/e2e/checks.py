"""The verdict every end-to-end test ends with: Discord would have accepted everything the bot
sent, and nothing it posted could ping anyone.

The shared ``world`` fixture (``tests/e2e/conftest.py``) applies it at teardown; a test that
means to break a rule says which with ``@pytest.mark.expect_violations("pattern", ...)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from domain.timestamps import MARKUP
from fakes.world import ClanWorld

# A date with a time of day written out as text: every reader outside that zone misreads it.
_RAW_DATETIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"  # 2025-12-23 20:00, 2025-12-23T20:00
    r"|\b\d{1,2} [A-Z][a-z]{2}(?: \d{4})?,? \d{1,2}:\d{2}\b"  # 23 Dec 20:00
    r"|\b\d{1,2}:\d{2}(?::\d{2})? ?UTC\b"  # 20:00 UTC
)


def time_text_problems(content: str | None, embeds: Sequence[Mapping[str, Any]]) -> list[str]:
    """Moments in a message Discord would show wrongly: markup where Discord prints it raw
    (titles, field names, footers, author names), markup cut short, or a date and time
    written as text instead of markup (``domain.timestamps``)."""
    rendered: list[tuple[str, str]] = [("content", content or "")]
    raw: list[tuple[str, str]] = []
    for i, embed in enumerate(embeds):
        rendered.append((f"embeds[{i}].description", str(embed.get("description") or "")))
        raw.append((f"embeds[{i}].title", str(embed.get("title") or "")))
        raw.append((f"embeds[{i}].footer", str((embed.get("footer") or {}).get("text") or "")))
        raw.append((f"embeds[{i}].author", str((embed.get("author") or {}).get("name") or "")))
        for j, field in enumerate(embed.get("fields") or []):
            rendered.append((f"embeds[{i}].fields[{j}].value", str(field.get("value") or "")))
            raw.append((f"embeds[{i}].fields[{j}].name", str(field.get("name") or "")))
    problems: list[str] = []
    for where, text in raw:
        if "<t:" in text:
            problems.append(f"{where}: timestamp markup Discord shows as raw text: {text[:80]!r}")
    for where, text in rendered + raw:
        whole = sum(1 for _ in MARKUP.finditer(text))
        if text.count("<t:") > whole:
            problems.append(f"{where}: timestamp markup cut short: {text[-80:]!r}")
        found = _RAW_DATETIME.search(text)
        if found:
            problems.append(
                f"{where}: a date and time as text ({found.group(0)!r}), not timestamp markup"
            )
    return problems


def verdict_problems(world: ClanWorld, expected: Sequence[str] = ()) -> list[str]:
    """Everything wrong with what the bot did in ``world``; empty when all is well.

    ``expected`` are regular expressions: each must match at least one recorded violation,
    and every violation must match one of them. Unknown requests and pinging messages are
    never expected.
    """
    problems: list[str] = []
    violations = list(world.discord.violations)
    patterns = [re.compile(p) for p in expected]
    unexpected = [v for v in violations if not any(p.search(v) for p in patterns)]
    if unexpected:
        problems.append(
            "Discord would have rejected what the bot sent:\n  " + "\n  ".join(unexpected)
        )
    missing = [p.pattern for p in patterns if not any(p.search(v) for v in violations)]
    if missing:
        problems.append(
            f"expected violations that never happened: {missing} (recorded: {violations})"
        )
    if world.discord.unknown_requests:
        problems.append(
            "requests Discord has no route for:\n  " + "\n  ".join(world.discord.unknown_requests)
        )
    loud = [
        m
        for m in world.discord.sent_messages
        if m.allowed_mentions is None
        or m.allowed_mentions.get("parse") not in ([], None)
        or m.allowed_mentions.get("users")
        or m.allowed_mentions.get("roles")
    ]
    if loud:
        problems.append(f"{len(loud)} message(s) could ping: {[m.content[:60] for m in loud]}")
    for message in world.discord.sent_messages:
        problems += time_text_problems(message.content, message.embeds)
    return problems


def assert_discord_accepted_everything(world: ClanWorld, expected: Sequence[str] = ()) -> None:
    problems = verdict_problems(world, expected)
    assert not problems, "\n".join(problems)
