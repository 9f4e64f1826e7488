"""``/config`` against the real bot on the fakes: an admin changes a threshold (preview →
Save), ``/config history`` shows who changed it, old → new; a member without Manage Server is
refused; a ladder loop and an unknown rank are refused with the reason and change nothing;
the ladder proposed from the clan's WOM ranks makes ``/clan promotions`` name members due."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from fakes.chat_script import history_days
from fakes.discord import FakeInteraction, SentMessage
from fakes.wom import DATA_DIR
from fakes.world import (
    ADMIN_USER_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    OFFICER_USER_ID,
    RELAY_CHANNEL_ID,
    REPORT_CHANNEL_ID,
    ClanWorld,
)
from storage.models import Clan, ConfigChange, JobRun
from tests.e2e.harness import RunningBot, running_bot, wait_relay_rows

AS_OF = datetime(2025, 12, 23, 20, 0, tzinfo=UTC)


async def _synced(running: RunningBot) -> None:
    for _ in range(300):
        async with running.bot.app.db.read() as s:
            done = (
                await s.execute(
                    select(func.count(JobRun.id)).where(
                        JobRun.job.like("wom.sync%"), JobRun.outcome == "ok"
                    )
                )
            ).scalar_one()
        if done:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the startup sync did not finish")


async def _stored(running: RunningBot) -> tuple[dict[str, Any], int]:
    async with running.bot.app.db.read() as s:
        settings = (await s.execute(select(Clan.settings))).scalar_one()
        changes = (await s.execute(select(func.count(ConfigChange.id)))).scalar_one()
    return dict(settings), int(changes)


async def _config(
    world: ClanWorld, user: int, sub: str, **options: Any
) -> tuple[FakeInteraction, SentMessage]:
    asked = await world.discord.invoke_slash(
        GUILD_ID,
        REPORT_CHANNEL_ID,
        user,
        "config",
        [{"name": k, "value": v} for k, v in options.items()],
        subcommand=sub,
    )
    responses = await asked.wait_responses(1, timeout=30)
    if responses[0].kind == "deferred":
        responses = await asked.wait_responses(2, timeout=30)
    return asked, responses[-1]


async def _csv_rows(world: ClanWorld, answer: SentMessage) -> list[dict[str, str]]:
    """The full list behind a paged answer, from its CSV button."""
    button = next(c for c in answer.custom_ids() if c.endswith(".csv"))
    click = await world.discord.click_button(answer, button, ADMIN_USER_ID)
    attached = (await click.wait_response(timeout=10)).attachments[0]
    return list(csv.DictReader(io.StringIO(attached.data.decode())))


async def _press(world: ClanWorld, preview: SentMessage, button: str) -> SentMessage:
    click = await world.discord.click_button(preview, button, ADMIN_USER_ID)
    return await click.wait_response(timeout=30)


async def test_an_admin_changes_a_threshold_and_nothing_bad_gets_through(
    world: ClanWorld, db_url: str
) -> None:
    async with running_bot(world, db_url, clock=lambda: AS_OF) as running:
        await _synced(running)
        # Discord hides /config from members without Manage Server…
        registered = world.discord.find_command("config", GUILD_ID)
        assert registered is not None
        assert int(registered["default_member_permissions"]) == 1 << 5  # MANAGE_GUILD
        with pytest.raises(PermissionError):
            await world.discord.invoke_slash(
                GUILD_ID, REPORT_CHANNEL_ID, MEMBER_USER_ID, "config", subcommand="show"
            )
        # …and the bot refuses them anyway: the shared world opens the app's commands to the
        # officer role (Integrations), as a server may, and officers lack Manage Server.
        for sub in ("show", "history"):
            _, refused = await _config(world, OFFICER_USER_ID, sub)
            assert refused.ephemeral
            assert "Only members with Manage Server" in refused.content
        _, refused = await _config(world, OFFICER_USER_ID, "inactivity", window_days=90)
        assert "Only members with Manage Server" in refused.content
        assert await _stored(running) == ({}, 0)

        # An admin changes a threshold: shown first, saved on Save.
        _, preview = await _config(
            world, ADMIN_USER_ID, "threshold", name="churn_ratio", value="20%"
        )
        assert preview.ephemeral
        assert preview.embeds[0]["title"] == "Change the clan's rules?"
        assert preview.embeds[0]["description"] == (
            "**churn_ratio**\nnow: default (0.3 (30%))\nnew: 0.2 (20%)"
        )
        assert preview.custom_ids() == ["config:save", "config:cancel"]
        assert await _stored(running) == ({}, 0)  # nothing saved before Save
        saved = await _press(world, preview, "config:save")
        assert saved.kind == "interaction_update"
        assert saved.embeds[0]["title"] == "Saved"
        assert saved.components == []
        assert await _stored(running) == ({"rules": {"churn_ratio": 0.2}}, 1)

        # Discord's client never sends a window outside the option's 7–365.
        with pytest.raises(ValueError, match=r"option 'window_days': 3 is outside 7\.\.365"):
            await _config(world, ADMIN_USER_ID, "inactivity", window_days=3)

        # Cancel saves nothing.
        _, preview = await _config(world, ADMIN_USER_ID, "inactivity", window_days=90)
        cancelled = await _press(world, preview, "config:cancel")
        assert cancelled.embeds[0]["title"] == "Cancelled: nothing changed"
        assert await _stored(running) == ({"rules": {"churn_ratio": 0.2}}, 1)

        # A rung, saved; then one that would loop back: refused with the reason.
        _, preview = await _config(
            world,
            ADMIN_USER_ID,
            "ladder-rung",
            from_rank="prospector",
            to_rank="tztok",
            min_days=7,
            min_chat=20,
        )
        assert (
            "Prospector → Tztok: 7 days at rank, and 20 chat lines"
            in (preview.embeds[0]["description"])
        )
        await _press(world, preview, "config:save")
        before = await _stored(running)
        assert before[1] == 2
        _, loop = await _config(
            world, ADMIN_USER_ID, "ladder-rung", from_rank="Tztok", to_rank="prospector", min_days=1
        )
        assert loop.content == (
            "Not changed: ladder loop: prospector → tztok → prospector: a promotion must never "
            "lead back to a rank"
        )
        assert not loop.components
        _, unknown = await _config(world, ADMIN_USER_ID, "protected", ranks="zenyte, Sergeant")
        assert unknown.content.startswith(
            "Not changed: protected: unknown rank 'Sergeant': it is not in the clan's Wise Old "
            "Man rank order (owner, deputy_owner, zenyte,"
        )
        _, bad = await _config(world, ADMIN_USER_ID, "threshold", name="churn_ratio", value="lots")
        assert bad.content.startswith("Not changed: 'lots' is not a number")
        assert await _stored(running) == before

        # /config history: who, when, old → new, newest first.
        _, history = await _config(world, ADMIN_USER_ID, "history")
        lines = history.embeds[0]["description"].splitlines()
        assert len(lines) == 2
        assert lines[0].endswith(
            f"<@{ADMIN_USER_ID}>: **ladder** default (Prospector → the rank above: 14 days at "
            "rank, and 1,000,000 XP or 50 chat lines; Any other rank → the rank above: 30 days "
            "at rank, and 5,000,000 XP or 200 chat lines) → Prospector → Tztok: 7 days at rank, "
            "and 20 chat lines"
        )
        stamp = int(AS_OF.timestamp())
        assert lines[1] == (
            f"<t:{stamp}:f> <@{ADMIN_USER_ID}>: **churn_ratio** default (0.3 (30%)) → 0.2 (20%)"
        )
        _, shown = await _config(world, ADMIN_USER_ID, "show")
        assert "**`churn_ratio`**: 0.2 (20%)" in shown.embeds[0]["description"]


def _prospectors() -> list[str]:
    """Display names of the recorded clan's prospectors (its lowest rank)."""
    data = json.loads((DATA_DIR / "group-11114-2025-12-23T1935Z.json").read_text())
    return sorted(
        str(m["player"]["displayName"]) for m in data["memberships"] if m["role"] == "prospector"
    )


async def test_the_proposed_ladder_names_members_due_a_promotion(
    world: ClanWorld, db_url: str
) -> None:
    # Two weeks of clan chat by 20 prospectors, ~40 lines each (the proposal's first rung
    # asks for 20 lines or 250,000 XP in 30 days, and 7 days at rank).
    talkers = _prospectors()[:20]
    past = history_days(talkers, AS_OF, days=14, per_day=60)
    world.discord.seed_history(RELAY_CHANNEL_ID, past)
    async with running_bot(world, db_url, clock=lambda: AS_OF) as running:
        await _synced(running)
        await wait_relay_rows(db_url, len(past), limit_s=60)
        asked = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, ADMIN_USER_ID, "clan", subcommand="promotions"
        )
        before = (await asked.wait_responses(2, timeout=30))[-1]
        assert before.embeds[0]["description"] == "Nobody is due a promotion yet."

        _, preview = await _config(world, ADMIN_USER_ID, "ladder-propose")
        description = preview.embeds[0]["description"]
        assert "**leadership**\nnow: default (Zenyte, Dragonstone, Saviour)" in description
        assert "• Prospector → Short Green Guy: 7 days at rank" in description
        saved = await _press(world, preview, "config:save")
        assert saved.embeds[0]["title"] == "Saved"
        settings, changes = await _stored(running)
        assert changes == 6  # owner, deputy, leadership, officer, protected, ladder
        assert settings["rules"]["ladder"][0]["from_rank"] == "prospector"

        asked = await world.discord.invoke_slash(
            GUILD_ID, REPORT_CHANNEL_ID, ADMIN_USER_ID, "clan", subcommand="promotions"
        )
        after = (await asked.wait_responses(2, timeout=30))[-1]
        rows = await _csv_rows(world, after)
    assert rows, "the proposed ladder promoted nobody"
    assert {r["member"] for r in rows} <= set(talkers)
    for row in rows:
        assert row["to_rank"] == "short_green_guy"
        assert int(row["lines"]) >= 20 or int(row["xp"]) >= 250_000
        assert int(row["days_in_rank"]) >= 7


async def test_an_unanswered_preview_expires_and_saves_nothing(
    world: ClanWorld, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(world, db_url, clock=lambda: AS_OF) as running:
        await _synced(running)
        # discord.py loads each extension as a module of its own: patch the bot's copy.
        monkeypatch.setattr(running.bot.extensions["cogs.config"], "CONFIRM_TIMEOUT_S", 1.0)
        _, preview = await _config(world, ADMIN_USER_ID, "inactivity", min_tenure_days=14)
        assert preview.custom_ids() == ["config:save", "config:cancel"]
        expired = await world.discord.wait_for_sent(
            lambda m: m.kind == "original_edit" and m.message_id == preview.message_id,
            timeout=10,
        )
        assert expired.embeds[0]["title"] == "Expired: nothing changed"
        assert expired.components == []
        with pytest.raises(LookupError, match="has no component 'config:save'"):
            await world.discord.click_button(preview, "config:save", ADMIN_USER_ID)
        assert await _stored(running) == ({}, 0)
