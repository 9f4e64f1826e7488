"""The daily report's chart: a 24 × 7 chat heatmap and a 14-day chat-vs-XP trend, as PNG.

matplotlib runs headless (Agg) and is imported only when a chart is drawn, so the bot's
startup and every slash command stay free of its import cost.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
XP_LINE_LABEL = "XP gained"


def render_activity_chart(
    heatmap: Sequence[Sequence[int]],
    trend: Sequence[tuple[date, int, int | None]],
    *,
    title: str,
    timezone: str,
) -> bytes:
    """PNG bytes of :func:`activity_figure`."""
    fig = activity_figure(heatmap, trend, title=title, timezone=timezone)
    out = io.BytesIO()
    # zlib's fastest level: a few KB larger, a good share of the time saved (the report of
    # every clan draws one each day).
    fig.savefig(out, format="png", pil_kwargs={"compress_level": 1})
    return out.getvalue()


def activity_figure(
    heatmap: Sequence[Sequence[int]],
    trend: Sequence[tuple[date, int, int | None]],
    *,
    title: str,
    timezone: str,
) -> Figure:
    """The chart: chat lines per weekday × hour (local time) and per day vs XP gained.

    ``heatmap`` is 7 rows (Monday first) of 24 hourly counts; ``trend`` holds
    ``(day, chat lines, xp gained)`` oldest first, XP None on days nobody was tracked yet
    (left out of the XP line instead of drawn as 0).
    """
    if len(heatmap) != 7 or any(len(row) != 24 for row in heatmap):
        raise ValueError("heatmap must be 7 rows of 24 hourly counts")
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    # Fixed margins, not a layout engine: "constrained" layout redraws the figure to measure
    # it, which was most of a chart's cost.
    fig = Figure(figsize=(11, 7.5), dpi=100)
    fig.subplots_adjust(left=0.06, right=0.9, top=0.9, bottom=0.11, hspace=0.42)
    fig.suptitle(title, fontsize=14, fontweight="bold")
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1.1])

    peak = max((max(row) for row in heatmap), default=0)
    image = top.imshow(
        heatmap,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        vmin=0,
        vmax=max(peak, 1),  # an all-quiet week is a dark map, not a mid-colour one
    )
    top.set_title(f"Clan chat lines by weekday and hour ({timezone})", fontsize=11)
    top.set_yticks(range(7), WEEKDAYS)
    top.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    top.set_xlabel("hour of day")
    fig.colorbar(image, ax=top, label="lines", shrink=0.9, pad=0.02)

    # Days at numeric positions with their names as tick labels (no categorical axis).
    days = range(len(trend))
    lines = [c for _, c, _ in trend]
    xp = [math.nan if x is None else x / 1_000_000 for _, _, x in trend]
    known_xp = [v for v in xp if not math.isnan(v)]
    bottom.bar(days, lines, color="#4c72b0", label="chat lines")
    bottom.set_xticks(days, [d.strftime("%d %b") for d, _, _ in trend], rotation=45)
    bottom.set_ylabel("chat lines", color="#4c72b0")
    bottom.set_ylim(0, max([*lines, 1]) * 1.15)
    bottom.set_title(f"Last {len(trend)} days: chat vs XP gained", fontsize=11)
    right = bottom.twinx()
    right.plot(days, xp, color="#dd8452", marker="o", linewidth=2, label=XP_LINE_LABEL)
    right.set_ylabel("XP gained (millions)", color="#dd8452")
    right.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.2f}M"))
    right.set_ylim(0, max([*known_xp, 0.1]) * 1.15)
    handles = bottom.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    bottom.legend(handles, ["chat lines", XP_LINE_LABEL], loc="upper left")
    return fig
