"""docs/configuration.md stays true: every rule setting with its meaning, default and
bounds as the code has them, and every /config subcommand."""

from __future__ import annotations

from pathlib import Path

from cogs.config import ConfigCog
from domain.clan_config import SETTINGS

DOC = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()


def test_every_setting_is_documented_with_its_default_and_bounds() -> None:
    for spec in SETTINGS.values():
        row = f"| `{spec.key}` | {spec.meaning} | {spec.default} | {spec.bounds} |"
        assert row in DOC, f"docs/configuration.md lacks (or has another) row for {spec.key}"


def test_every_config_subcommand_is_documented() -> None:
    names = [c.name for c in ConfigCog.config.commands]
    assert len(names) == 11
    for name in names:
        assert f"`/config {name}" in DOC, name
