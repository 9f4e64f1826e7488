"""Re-export: the switch that points discord.py at a fake lives with the bot that uses it."""

from bot.discord_endpoint import point_discord_py_at

__all__ = ["point_discord_py_at"]
