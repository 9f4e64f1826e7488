"""/config's preview stays within Discord's embed limits whatever the change holds."""

from __future__ import annotations

from bot.usecases.clan_config import ChangeItem, ChangePreview
from cogs.config import preview_embed
from domain.clan_config import format_value, rung_json
from domain.rules import PromotionRung

ORDER = tuple(f"rank_with_a_rather_long_name_{i:02d}" for i in range(61))


def test_a_sixty_rung_ladder_preview_fits_one_embed() -> None:
    rungs = [
        rung_json(PromotionRung(low, high, 90, min_xp=4_000_000, min_lines=400, min_boss_kc=999))
        for low, high in zip(ORDER[1:], ORDER, strict=False)
    ]
    text = format_value("ladder", rungs, ORDER)
    preview = ChangePreview(1, (ChangeItem("ladder", None, rungs, "default (x)", text),))
    embed = preview_embed(preview)
    assert embed.description is not None
    assert len(embed.description) <= 4096
    assert embed.description.endswith("…")
    assert len(embed) <= 6000
    assert embed.description.startswith("**ladder**\nnow: default (x)\nnew: \n• Rank With A")


def test_a_small_change_reads_old_then_new() -> None:
    item = ChangeItem("churn_ratio", None, 0.2, "default (0.3 (30%))", "0.2 (20%)")
    embed = preview_embed(ChangePreview(1, (item,)))
    assert embed.description == "**churn_ratio**\nnow: default (0.3 (30%))\nnew: 0.2 (20%)"
    assert embed.footer.text == "Nothing is saved until you press Save."
