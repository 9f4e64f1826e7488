"""The daily report chart renders headless as a real PNG of the expected size."""

from __future__ import annotations

import io
import struct
from datetime import date, timedelta

import pytest

from bot.adapters.charts import render_activity_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_is_a_png_with_both_panels() -> None:
    heatmap = [[(d * 24 + h) % 17 for h in range(24)] for d in range(7)]
    trend = [(date(2025, 12, 10) + timedelta(days=i), 40 + i, i * 2_000_000) for i in range(14)]
    data = render_activity_chart(heatmap, trend, title="Nevr Lucky", timezone="Europe/London")
    assert _png_size(data) == (1100, 750)
    assert len(data) > 20_000  # two drawn panels, not an empty canvas
    assert io.BytesIO(data).read(8) == PNG_MAGIC


def test_an_empty_day_still_renders() -> None:
    data = render_activity_chart(
        [[0] * 24 for _ in range(7)], [], title="Quiet clan", timezone="UTC"
    )
    assert _png_size(data) == (1100, 750)


def test_a_malformed_heatmap_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="7 rows of 24"):
        render_activity_chart([[0] * 24], [], title="x", timezone="UTC")


def test_days_nobody_was_tracked_are_left_out_of_the_xp_line() -> None:
    trend = [
        (date(2025, 12, 10) + timedelta(days=i), 40 + i, None if i < 10 else i * 2_000_000)
        for i in range(14)
    ]
    data = render_activity_chart(
        [[1] * 24 for _ in range(7)], trend, title="New clan", timezone="UTC"
    )
    assert _png_size(data) == (1100, 750)
    all_unknown = [(day, lines, None) for day, lines, _ in trend]
    assert _png_size(render_activity_chart([[1] * 24] * 7, all_unknown, title="x", timezone="UTC"))
