"""Read the rows of an uploaded or USB xlsx file within a size, row and column budget.

Every import in the project (people, devices, the terminal's USB files) reads through
``read_rows``, so one hostile file cannot freeze or exhaust a server:

- the file is refused above ``max_bytes`` and when its parts unpack to more than
  ``max_unpacked`` bytes (a zip bomb is refused before any XML is parsed);
- the sheet is streamed (openpyxl read-only mode) and the declared ``<dimension>`` is
  ignored, so ``A1:XFD1000000`` costs nothing;
- rows are counted as they stream, blank rows and gaps included (a lone ``r="10000000"``
  row counts as ten million), and reading stops one row after ``max_rows``;
- only the first ``max_columns`` columns of a row are kept.

This module is shared by the platform and the devices: it imports nothing from either.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
# An xlsx compresses text about 5-10 times; 10x the size cap covers a genuine file.
UNPACK_FACTOR = 10
# Largest single part (a sheet's XML): ElementTree builds each <row> in memory before
# openpyxl sees it, so this also bounds the memory of one hostile row.
MAX_PART_BYTES = 64 * MB
# ElementTree keeps every element of a <row> until the row ends: a 20 KB file holding one
# row of four million empty cells costs 1.3 GB. Excel's rows end at column XFD (16,384
# cells); with a value or formula under each cell, 65,536 elements bound a genuine row.
MAX_ELEMENTS_PER_ROW = 65_536
# Other parts (shared strings, styles) are read whole; 2 million elements bound them.
MAX_ELEMENTS_PER_PART = 2_000_000
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]|</(?:[A-Za-z_][\w.-]*:)?row>")

Row = tuple[Any, ...]


class SpreadsheetError(ValueError):
    """A file that cannot be imported; ``status`` is the HTTP status that fits."""

    status = 422


class FileTooLarge(SpreadsheetError):
    """The file (or what it unpacks to) is above the size cap."""

    status = 413


class TooManyRows(SpreadsheetError):
    """The sheet has more rows than the import allows (blank rows count)."""


class UnreadableFile(SpreadsheetError):
    """Not an xlsx workbook, or the wanted sheet is missing."""


def size_text(size: int) -> str:
    """``20 MB`` / ``512 KB`` for a byte count, as limits are shown to users."""
    return f"{size // MB} MB" if size >= MB else f"{size // 1024} KB"


def check_size(size: int, *, max_bytes: int, name: str = "the file") -> None:
    """Raise ``FileTooLarge`` when ``size`` is above ``max_bytes``."""
    if size > max_bytes:
        raise FileTooLarge(f"{name} is larger than {size_text(max_bytes)}; split it and retry")


def _too_many_rows(name: str, max_rows: int) -> TooManyRows:
    return TooManyRows(
        f"{name} has more than {max_rows} rows (blank rows count); "
        f"the limit is {max_rows}: split it or delete the empty rows"
    )


def _check_unpacked(archive: zipfile.ZipFile, *, max_bytes: int, max_rows: int, name: str) -> None:
    # ZipExtFile never returns more than the declared file_size, so the sums are binding.
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    largest = max((info.file_size for info in infos), default=0)
    if total > max_bytes * UNPACK_FACTOR or largest > MAX_PART_BYTES:
        raise FileTooLarge(
            f"{name} unpacks to {size_text(total)}, more than an xlsx of "
            f"{size_text(max_bytes)} can hold; save it again from a spreadsheet program"
        )
    for info in infos:
        if info.filename.endswith(".xml"):
            _check_elements(archive.read(info), info.filename, max_rows=max_rows, name=name)


def _check_elements(data: bytes, part: str, *, max_rows: int, name: str) -> None:
    """Refuse a part whose XML would build too many elements at once (see the caps)."""
    if not part.startswith("xl/worksheets/"):
        if data.count(b"<") > MAX_ELEMENTS_PER_PART:
            raise FileTooLarge(f"{name}: {part} holds more than {MAX_ELEMENTS_PER_PART} elements")
        return
    start, rows = 0, 0
    for match in _ROW_TAG.finditer(data):
        if data.count(b"<", start, match.start()) > MAX_ELEMENTS_PER_ROW:
            raise FileTooLarge(
                f"{name}: row {rows} holds more than {MAX_ELEMENTS_PER_ROW} cells or values"
            )
        start = match.end()
        if not match.group().startswith(b"</"):
            rows += 1
            if rows > max_rows:  # rows are ascending, so more row elements than the limit
                raise _too_many_rows(name, max_rows)
    if data.count(b"<", start) > MAX_ELEMENTS_PER_ROW:
        raise FileTooLarge(f"{name}: {part} holds more than {MAX_ELEMENTS_PER_ROW} elements")


def _open(source: bytes | Path, *, max_bytes: int, max_rows: int, name: str) -> Any:
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    check_size(size, max_bytes=max_bytes, name=name)
    try:
        with (
            io.BytesIO(source) if isinstance(source, bytes) else source.open("rb") as stream,
            zipfile.ZipFile(stream) as archive,
        ):
            _check_unpacked(archive, max_bytes=max_bytes, max_rows=max_rows, name=name)
        opened = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        return load_workbook(opened, read_only=True, data_only=True)  # closed by book.close()
    except SpreadsheetError:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"{name} is not a readable xlsx workbook ({exc})") from None


def read_rows(
    source: bytes | Path,
    *,
    max_rows: int,
    max_columns: int,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    name: str = "the file",
) -> list[tuple[int, Row]]:
    """The rows of one sheet (the first when ``sheet`` is None) as (row number, values).

    Row 1 (the header) is included; blank rows are skipped in the answer but counted
    against ``max_rows`` (which includes the header). Each row has ``max_columns`` values.
    """
    book = _open(source, max_bytes=max_bytes, max_rows=max_rows, name=name)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise UnreadableFile(f"{name} has no sheet {sheet!r}")
        if not book.worksheets:
            raise UnreadableFile(f"{name} has no sheet")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        return list(_stream(worksheet, max_rows=max_rows, max_columns=max_columns, name=name))
    finally:
        book.close()


def _stream(
    worksheet: Any, *, max_rows: int, max_columns: int, name: str
) -> Iterator[tuple[int, Row]]:
    worksheet.reset_dimensions()  # never trust the declared <dimension>
    rows = worksheet.iter_rows(max_row=max_rows + 1, max_col=max_columns, values_only=True)
    for number, row in enumerate(rows, start=1):
        if number > max_rows:
            raise _too_many_rows(name, max_rows)
        if any(value is not None and value != "" for value in row):
            yield number, tuple(row)
