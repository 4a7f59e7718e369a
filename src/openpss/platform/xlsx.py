"""The one xlsx writer of the platform's exports (openpyxl's streaming write-only mode).

XML 1.0 cannot carry most C0 control characters, and openpyxl refuses a cell holding one
(IllegalCharacterError), so a name typed with a stray control character would break every
export that lists it. Such characters are written as U+FFFD instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

REPLACEMENT = "\ufffd"
SHEET_ROWS = 1_000_000  # data rows per sheet: under Excel's 1,048,576 rows, a round number


def clean(value: Any) -> Any:
    """The value with characters XML cannot hold replaced (other types unchanged)."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value)
    return value


def write_xlsx(
    out: Path | IO[bytes],
    title: str,
    rows: Iterable[Sequence[Any]],
    header: Sequence[str] = (),
) -> None:
    """Write one sheet named `title` (header row first, if any) to a path or binary file."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])  # xlsx sheet names hold at most 31 characters
    if header:
        sheet.append(list(header))
    for row in rows:
        sheet.append([clean(value) for value in row])
    book.save(out)


def write_xlsx_sheets(
    out: Path | IO[bytes],
    title: str,
    rows: Iterable[Sequence[Any]],
    header: Sequence[str],
    *,
    sheet_rows: int = SHEET_ROWS,
) -> None:
    """Write rows over as many sheets as they need (`title`, `title 2`, ...), header on each.

    A sheet holds at most 1,048,576 rows (Excel's limit), so a larger export continues on the
    next sheet. Datetimes are written as spreadsheet dates (naive: give them in one zone).
    """
    book = Workbook(write_only=True)
    sheet: Any = None
    written = sheet_rows
    for row in rows:
        if written >= sheet_rows:
            number = len(book.worksheets) + 1
            name = title[:31] if number == 1 else f"{title[:28]} {number}"
            sheet = book.create_sheet(name)
            sheet.append(list(header))
            written = 0
        sheet.append([clean(value) for value in row])
        written += 1
    if sheet is None:  # no rows: still one sheet with the header
        book.create_sheet(title[:31]).append(list(header))
    book.save(out)


def xlsx_bytes(title: str, rows: Iterable[Sequence[Any]], header: Sequence[str] = ()) -> bytes:
    """One sheet as the bytes of an xlsx file."""
    buffer = io.BytesIO()
    write_xlsx(buffer, title, rows, header)
    return buffer.getvalue()
