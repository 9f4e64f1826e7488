"""Tables as files: the one place CSV text and XLSX workbooks are written.

Member exports (``clanstats export``) and the officer answers' downloads (``/clan …``) both
hand a header and rows here. CSV cells: None is empty, times are ISO-8601 UTC with a ``Z``.
XLSX cells keep numbers as numbers and times as real (naive, UTC) datetimes, so spreadsheets
can sort and filter them; the header is bold and frozen, with an autofilter.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

Cell = str | int | float | datetime | None

#: Excel refuses sheet titles longer than this.
SHEET_TITLE_MAX = 31


def iso_utc(value: datetime | None) -> str | None:
    """``2025-12-23T20:00:00Z`` (microseconds kept when present), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return iso_utc(value) or ""
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]], out: IO[str]) -> None:
    """Write a header and rows as CSV to a text stream."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A header and rows as UTF-8 CSV, for an attachment."""
    out = io.StringIO()
    write_csv(header, rows, out)
    return out.getvalue().encode("utf-8")


def write_xlsx(
    header: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    target: Path | IO[bytes],
    *,
    sheet: str,
) -> None:
    """Write one sheet: bold frozen header, autofilter, times as real datetimes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    ws = book.active
    ws.title = sheet[:SHEET_TITLE_MAX]
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(
            [v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v for v in row]
        )
    for index, name in enumerate(header, start=1):
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, len(name) + 2)
        if name.endswith("_at") or name == "last_seen":
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    book.save(target)


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, sheet: str) -> bytes:
    """One sheet as XLSX bytes, for an attachment."""
    out = io.BytesIO()
    write_xlsx(header, rows, out, sheet=sheet)
    return out.getvalue()
