"""``clanstats config show|set|history|propose`` on the recorded clan (SQLite and
PostgreSQL): a change is checked against the clan's WOM rank order, saved with who made it,
old → new, and the rules run with it; a refused change changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest

from bot.app import open_app
from bot.cli import main
from bot.core.config import Settings
from bot.usecases.clan_config import (
    StaleChangeError,
    apply_change,
    config_history,
    preview_change,
)
from bot.usecases.reports import configured_clan_id, findings, rule_settings_from
from domain.clan_config import ConfigError, propose_ladder
from storage.repositories.clan_config import clan_rules
from tests.bot.sync_helpers import AS_OF

GUILD = 1_100_000_000_000_000_001


@pytest.fixture
def config_env(synced_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("CLANSTATS_GUILD_ID", str(GUILD))
    return synced_env


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _stored() -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with open_app(Settings()) as app:
            clan_id = await configured_clan_id(app, 11114)
            async with app.db.read() as session:
                rules = await clan_rules(session, clan_id)
        assert rules is not None
        return dict(rules.settings)

    return asyncio.run(read())


def test_show_lists_every_setting_with_defaults_in_json(
    config_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "config", "show", "--guild", str(GUILD), "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    values = {s["key"]: s for s in shown["settings"]}
    assert values["inactive_window_days"] == {
        "key": "inactive_window_days",
        "value": "60",
        "set": False,
        "stored": None,
        "meaning": "purge list: days with no chat and no progress that make a member inactive",
    }
    assert values["leadership"]["value"] == "Zenyte, Dragonstone, Saviour"
    assert shown["role_order"][-1] == "prospector"
    assert len(shown["role_order"]) == 27


def test_set_records_the_host_admin_and_the_rules_use_it(
    config_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "config", "set", "inactive_window_days", "90", "--guild", str(GUILD)
    )
    assert (code, err) == (0, "")
    assert out == "Saved:\ninactive_window_days: default (60) → 90\n"
    assert _stored() == {"rules": {"inactive_window_days": 90}}
    code, out, _ = _run(
        capsys, "config", "set", "protected", "Zenyte, wrath", "--guild", str(GUILD)
    )
    assert code == 0
    assert out == (
        "Saved:\nprotected: default (Owner, Deputy Owner, Zenyte, Dragonstone, Saviour) → "
        "Zenyte, Wrath\n"
    )
    code, out, _ = _run(capsys, "config", "history", "--guild", str(GUILD), "--format", "json")
    assert code == 0
    history = json.loads(out)
    assert [(h["actor"], h["actor_id"], h["setting"], h["old"], h["new"]) for h in history] == [
        (
            "host admin",
            None,
            "protected",
            "default (Owner, Deputy Owner, Zenyte, Dragonstone, Saviour)",
            "Zenyte, Wrath",
        ),
        ("host admin", None, "inactive_window_days", "default (60)", "90"),
    ]
    code, out, _ = _run(capsys, "config", "show", "--guild", str(GUILD))
    assert "* inactive_window_days: 90\n" in out
    assert "  churn_ratio: 0.3 (30%)\n" in out

    async def purge_window() -> set[str]:
        async with open_app(Settings()) as app:
            clan_id = await configured_clan_id(app, 11114)
            found = await findings(app, clan_id, "inactive", datetime.fromisoformat(AS_OF))
        return {str(f.numbers["window_days"]) for f in found}

    assert asyncio.run(purge_window()) == {"90.0"}
    code, out, _ = _run(capsys, "clan", "inactive", "--as-of", AS_OF, "--format", "json")
    assert code == 0
    assert json.loads(out)["window"] == "90d"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["protected", "zenyte, sergeant"],
            "error: protected: unknown rank 'sergeant': it is not in",
        ),
        (
            ["ladder", "prospector > tztok 7d; tztok > prospector 7d"],
            "error: ladder loop: prospector → tztok → prospector: a promotion must never lead "
            "back to a rank",
        ),
        (["ladder", "prospector > sergeant 7d"], "error: ladder rung 1: unknown rank 'sergeant'"),
        (
            ["inactive_window_days", "3"],
            "error: inactive_window_days must be between 7 and 365, got 3",
        ),
        (["churn_ratio", "lots"], "error: 'lots' is not a number"),
        (["colour", "red"], "error: unknown setting 'colour': use one of inactive_window_days"),
    ],
)
def test_a_refused_value_exits_2_with_the_reason_and_changes_nothing(
    config_env: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = _run(capsys, "config", "set", *args, "--guild", str(GUILD))
    assert (code, out) == (2, "")
    assert err.startswith(message)
    assert _stored() == {}
    code, out, _ = _run(capsys, "config", "history", "--guild", str(GUILD))
    assert (code, out) == (0, "No change recorded yet: every rule has its default.\n")


def test_propose_prints_then_applies_the_ladder_from_the_rank_order(
    config_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "config", "propose", "--guild", str(GUILD))
    assert code == 0
    assert out.startswith("Proposed from the clan's Wise Old Man rank order (--apply saves it):\n")
    assert "ladder: default (" in out
    assert "Prospector → Short Green Guy: 7 days at rank, and 250,000 XP or 20 chat lines" in out
    assert _stored() == {}
    code, out, _ = _run(capsys, "config", "propose", "--guild", str(GUILD), "--apply")
    assert code == 0 and out.startswith("Saved:\n")
    stored = _stored()
    assert stored["ranks"]["leadership"] == ["zenyte", "dragonstone", "saviour"]
    ladder = rule_settings_from(stored).ladder
    assert ladder[0].from_rank == "prospector" and ladder[0].to_rank == "short_green_guy"
    assert len(ladder) == 16
    code, out, _ = _run(capsys, "config", "propose", "--guild", str(GUILD), "--apply")
    assert (code, out) == (0, "Nothing to change: the clan already has these values.\n")
    code, out, _ = _run(capsys, "config", "history", "--guild", str(GUILD), "--format", "json")
    assert sorted(h["setting"] for h in json.loads(out)) == sorted(
        ["owner", "deputy", "leadership", "officer", "protected", "ladder"]
    )


def test_an_unknown_server_exits_2_naming_the_clans(
    config_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Like every command's --guild: a server with no clan is a mistake in the command (2).
    code, out, err = _run(capsys, "config", "show", "--guild", "1100000000000000999")
    assert (code, out) == (2, "")
    assert err.startswith("error: no clan is set up for the Discord server 1100000000000000999")


def test_a_change_made_since_the_preview_saves_nothing(config_env: dict[str, Any]) -> None:
    async def go() -> None:
        async with open_app(Settings()) as app:
            clan_id = await configured_clan_id(app, 11114)
            first = await preview_change(app, clan_id, {"churn_ratio": 0.5})
            second = await preview_change(app, clan_id, {"churn_ratio": 0.1})
            await apply_change(app, second, actor_id=7, actor_name="Bea")
            with pytest.raises(StaleChangeError, match="churn_ratio was changed by someone else"):
                await apply_change(app, first, actor_id=8, actor_name="Al")
            history = await config_history(app, clan_id)
            assert [(h.actor_id, h.actor_name, h.new_text) for h in history] == [
                (7, "Bea", "0.1 (10%)")
            ]
            nothing = await preview_change(app, clan_id, {"churn_ratio": 0.1})
            assert nothing.changes_nothing
            with pytest.raises(ConfigError, match="unknown rank"):
                await preview_change(
                    app, clan_id, {"ladder": [{"from_rank": "x", "to_rank": None}]}
                )
            empty = await preview_change(app, clan_id, {"ladder": list(propose_ladder(["a"]))})
            assert empty.items[0].new_text == "no rungs: nobody is promoted"

    asyncio.run(go())
