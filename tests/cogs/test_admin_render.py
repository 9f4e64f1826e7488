"""/status shows the relay format counts inside Discord's embed limits, however many formats
and however long their examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.usecases.status import StatusReport
from cogs.admin import render_status
from domain.relay_stats import NOTHING_READ, Example, FormatCount, FormatTally
from storage.repositories.status import StoreCounts

AS_OF = datetime(2025, 12, 23, 19, 30, tzinfo=UTC)


def _report(formats: FormatTally) -> StatusReport:
    return StatusReport(
        database="sqlite (sqlite:///x)",
        schema_revision="0006",
        schema_head="0006",
        counts=StoreCounts(10, 1, 100, 1_000, AS_OF),
        jobs=[],
        progress={f"channel {i}": "lacks Read Message History " * 30 for i in range(5)},
        relay_formats=formats,
        formats_since=AS_OF - timedelta(days=3),
    )


def _count(messages: int, not_understood: int, text: str) -> FormatCount:
    examples = [Example(AS_OF - timedelta(minutes=i), f"{text} {i}") for i in range(5)]
    return FormatCount(messages, not_understood, examples if not_understood else [])


def test_status_lists_every_format_with_its_counts_and_examples() -> None:
    formats = FormatTally(
        {
            "clanchat_net": _count(1_234, 2, "Zezima has frobnicated"),
            "dink": _count(10, 0, ""),
            NOTHING_READ: _count(3, 3, "Boss: Vorkath"),
        }
    )
    embed = render_status(_report(formats)).to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    since, *counts = fields["Relay formats"].splitlines()
    assert since == "since <t:1766259000:d>"  # in each reader's own time zone
    assert counts == [
        "`clanchat_net` 1,234 read · 2 not understood",
        "`dink` 10 read · 0 not understood",
        "`(nothing read)` 3 read · 3 not understood",
    ]
    assert fields["Not understood: clanchat_net"].startswith("• Zezima has frobnicated 0\n")
    assert "• Boss: Vorkath 4" in fields["Not understood: (nothing read)"]
    assert "Not understood: dink" not in fields


def test_many_formats_and_long_examples_stay_inside_discords_limits() -> None:
    formats = FormatTally(
        {f"custom`{i}` " + "y" * 80: _count(i + 1, 1, "z" * 300) for i in range(40)}
    )
    embed = render_status(_report(formats))
    assert len(embed) <= 6000 and len(embed.fields) <= 25
    assert all(len(f.value or "") <= 1024 and len(f.name or "") <= 256 for f in embed.fields)
    (name,) = [f.name for f in embed.fields if (f.name or "").startswith("Relay formats")]
    assert name is not None
    # a backtick in a clan's custom format name cannot break out of its code span
    first = next(f.value for f in embed.fields if f.name == name) or ""
    since, *shown, more = first.splitlines()
    assert since.startswith("since <t:")
    assert all(line.count("`") == 2 for line in shown) and more.startswith("… and ")
    assert len(shown) + int(more.split()[2]) == 40  # whole lines, and how many were left out
