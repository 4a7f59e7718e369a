"""Build small hostile xlsx files in code: a real workbook whose sheet XML is replaced."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence

from openpyxl import Workbook

SHEET_PATH = "xl/worksheets/sheet1.xml"
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _cell(ref: str, value: object) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def _column(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def row_xml(number: int, values: Sequence[object] = ()) -> str:
    """One ``<row>`` element; an empty ``values`` gives a blank row."""
    cells = "".join(_cell(f"{_column(i)}{number}", v) for i, v in enumerate(values, 1))
    return f'<row r="{number}">{cells}</row>'


def sheet_xml(rows: Iterable[str], *, dimension: str | None = None) -> bytes:
    """A worksheet part holding the given ``<row>`` elements."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    body = "".join(rows)
    return f'<worksheet xmlns="{_NS}">{dim}<sheetData>{body}</sheetData></worksheet>'.encode()


def xlsx_with_sheet(sheet: bytes, *, title: str = "Sheet") -> bytes:
    """A valid workbook (one sheet named ``title``) whose sheet XML is ``sheet``."""
    book = Workbook()
    assert book.active is not None
    book.active.title = title
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = sheet if info.filename == SHEET_PATH else src.read(info.filename)
            dst.writestr(info.filename, data)
    return out.getvalue()


def million_blank_rows(
    header: Sequence[str], first: Sequence[object], count: int = 2_000_000, *, title: str = "Sheet"
) -> bytes:
    """Header, one data row, then ``count`` blank ``<row>`` elements (compresses to KBs)."""
    rows = [row_xml(1, header), row_xml(2, first)]
    rows += ["<row/>"] * count  # rows without r= are numbered in sequence
    return xlsx_with_sheet(sheet_xml(rows), title=title)


def far_row(
    header: Sequence[str], first: Sequence[object], at: int = 10_000_000, *, title: str = "Sheet"
) -> bytes:
    """Header, one data row, and one more data row at row number ``at``."""
    rows = [row_xml(1, header), row_xml(2, first), row_xml(at, first)]
    return xlsx_with_sheet(sheet_xml(rows), title=title)


def huge_dimension(header: Sequence[str], first: Sequence[object]) -> bytes:
    """A normal two-row sheet that declares ``<dimension ref="A1:XFD1000000"/>``."""
    rows = [row_xml(1, header), row_xml(2, first)]
    return xlsx_with_sheet(sheet_xml(rows, dimension="A1:XFD1000000"))
