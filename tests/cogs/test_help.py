"""/help is built from the command tree: every slash command once, officer ones marked, and
officer ones both checked at run time and hidden from members by Discord."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from cogs._checks import (
    OFFICER_DEFAULT_PERMISSIONS,
    has_officer_check,
    hidden_by_default,
    is_officer_command,
    officer_only,
)
from cogs.help import HelpLine, command_lines, lines_for, render_help


def _command(name: str, description: str, *, officer: bool = False) -> Any:
    async def callback(interaction: discord.Interaction[Any]) -> None:
        return None  # a fresh function each: a check decorates the function itself

    checked = officer_only()(callback) if officer else callback
    return app_commands.Command(name=name, description=description, callback=checked)


def _tree() -> list[Any]:
    clan = app_commands.Group(
        name="clan", description="Officer answers", default_permissions=OFFICER_DEFAULT_PERMISSIONS
    )
    clan.add_command(_command("inactive", "Purge candidates", officer=True))
    tools = app_commands.Group(name="tools", description="Nested", parent=clan)
    tools.add_command(_command("explain", "How a line reads", officer=True))
    status = _command("status", "What is stored", officer=True)
    status.default_permissions = OFFICER_DEFAULT_PERMISSIONS
    menu = app_commands.ContextMenu(name="Look up", callback=_menu)
    return [_command("player", "A member's stats"), clan, status, menu]


async def _menu(interaction: discord.Interaction[Any], member: discord.Member) -> None:
    return None


def test_every_slash_command_once_sorted_with_officer_ones_marked() -> None:
    tree = _tree()
    lines = command_lines([*tree, *tree])  # a guild copy of the globals adds nothing
    assert lines == [
        HelpLine("/clan inactive", "Purge candidates", True),
        HelpLine("/clan tools explain", "How a line reads", True),
        HelpLine("/player", "A member's stats", False),
        HelpLine("/status", "What is stored", True),
    ]
    assert lines_for(lines, officer=False) == [HelpLine("/player", "A member's stats", False)]
    assert lines_for(lines, officer=True) == lines


def test_officer_commands_are_known_by_their_check_or_their_hiding() -> None:
    checked_only = _command("sync", "Sync now", officer=True)
    hidden_only = _command("setup", "Set up")
    hidden_only.default_permissions = discord.Permissions(manage_guild=True)
    plain = _command("player", "Stats")
    assert (has_officer_check(checked_only), hidden_by_default(checked_only)) == (True, False)
    assert (has_officer_check(hidden_only), hidden_by_default(hidden_only)) == (False, True)
    assert [is_officer_command(c) for c in (checked_only, hidden_only, plain)] == [
        True,
        True,
        False,
    ]
    # a subcommand is hidden by its top-level group's permissions, checked by its own check
    clan = _tree()[1]
    (inactive,) = [c for c in clan.commands if c.name == "inactive"]
    assert hidden_by_default(inactive) and has_officer_check(inactive)


def test_the_answer_marks_officer_commands_and_fits_discords_limit() -> None:
    lines = command_lines(_tree())
    officer = render_help(lines, officer=True)
    assert (officer.description or "").splitlines() == [
        "`/clan inactive` 🛡️: Purge candidates",
        "`/clan tools explain` 🛡️: How a line reads",
        "`/player`: A member's stats",
        "`/status` 🛡️: What is stored",
    ]
    assert officer.footer.text == "🛡️ officers only (an officer role or Manage Server)"
    member = render_help(lines_for(lines, officer=False), officer=False)
    assert member.description == "`/player`: A member's stats"
    assert render_help([], officer=False).description == "No command is available to you here."
    many = [HelpLine(f"/c{i:03}", "d" * 100, False) for i in range(100)]
    shown = (render_help(many, officer=False).description or "").splitlines()
    assert len("\n".join(shown)) <= 4096
    assert shown[-1] == f"… and {100 - (len(shown) - 1)} more"
    assert all(line.startswith("`/c") for line in shown[:-1])


def test_the_real_bot_guards_every_officer_command_both_ways() -> None:
    """Every command the bot checks for officers is also hidden from members by Discord, and
    every hidden one is checked (Discord's hiding can be undone in a server's settings)."""
    from cogs.admin import AdminCog
    from cogs.help import HelpCog
    from cogs.links import LinksCog
    from cogs.officer._cog import OfficerCog
    from cogs.roles import RolesCog
    from cogs.sync import SyncCog

    found: list[Any] = []
    for cog in (AdminCog, SyncCog, OfficerCog, HelpCog, LinksCog, RolesCog):
        found += list(cog.__cog_app_commands__)
    leaves: list[Any] = []
    stack = list(found)
    while stack:
        item = stack.pop()
        if isinstance(item, app_commands.Group):
            stack.extend(item.commands)
        else:
            leaves.append(item)
    assert {c.qualified_name for c in leaves} >= {"status", "clan report", "sync now", "help"}
    for command in leaves:
        assert has_officer_check(command) == hidden_by_default(command), command.qualified_name
    officer = {c.qualified_name for c in leaves if is_officer_command(c)}
    assert "help" not in officer and "player" not in officer and "status" in officer
