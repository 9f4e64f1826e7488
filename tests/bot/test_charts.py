"""The daily report chart renders headless as a real PNG of the expected size."""

from __future__ import annotations

import io
import math
import struct
from datetime import date, timedelta

import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bot.adapters.charts import XP_LINE_LABEL, activity_figure, render_activity_chart

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


def _xp_line(fig: Figure) -> Line2D:
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label() == XP_LINE_LABEL]
    assert len(lines) == 1
    return lines[0]


def test_days_nobody_was_tracked_are_left_out_of_the_xp_line() -> None:
    start = date(2025, 12, 10)
    trend = [
        (start + timedelta(days=i), 40 + i, None if i < 10 else i * 2_000_000) for i in range(14)
    ]
    fig = activity_figure([[1] * 24 for _ in range(7)], trend, title="New clan", timezone="UTC")
    xp = [float(v) for v in _xp_line(fig).get_ydata()]
    # Days 0-9 have no XP figure: gaps (NaN, not drawn), never a point at 0.
    assert all(math.isnan(v) for v in xp[:10])
    assert xp[10:] == [20.0, 22.0, 24.0, 26.0]  # millions, from 10 × 2M … 13 × 2M
    # The XP axis is scaled by the tracked days alone: 26M plus 15 % headroom.
    assert _xp_line(fig).axes.get_ylim() == pytest.approx((0.0, 26.0 * 1.15))
    # Drawn as 0 instead, the line would differ: the PNGs tell the two apart.
    as_zero = [(d, n, 0 if x is None else x) for d, n, x in trend]
    assert render_activity_chart(
        [[1] * 24] * 7, trend, title="New clan", timezone="UTC"
    ) != render_activity_chart([[1] * 24] * 7, as_zero, title="New clan", timezone="UTC")


def test_a_clan_never_tracked_draws_no_xp_point_at_all() -> None:
    start = date(2025, 12, 10)
    trend = [(start + timedelta(days=i), 40 + i, None) for i in range(14)]
    fig = activity_figure([[1] * 24] * 7, trend, title="x", timezone="UTC")
    line = _xp_line(fig)
    assert len(line.get_ydata()) == 14
    assert all(math.isnan(float(v)) for v in line.get_ydata())
    assert line.axes.get_ylim() == pytest.approx((0.0, 0.1 * 1.15))  # the empty axis' floor
    data = render_activity_chart([[1] * 24] * 7, trend, title="x", timezone="UTC")
    assert _png_size(data) == (1100, 750)
