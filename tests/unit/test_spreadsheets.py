"""The shared xlsx reader refuses hostile files quickly and within a small memory budget."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from openpss.spreadsheets import (
    FileTooLarge,
    TooManyRows,
    UnreadableFile,
    read_rows,
)
from tests.support.hostile_xlsx import (
    far_row,
    huge_dimension,
    million_blank_rows,
    row_xml,
    sheet_xml,
    xlsx_with_sheet,
)

HEADER = ["User ID", "Name"]


def test_million_blank_rows_stop_at_the_row_limit() -> None:
    data = million_blank_rows(HEADER, [1, "A"])
    assert len(data) < 64 * 1024  # a few KB on the wire
    with pytest.raises(TooManyRows, match=r"more than 1000 rows \(blank rows count\); the limit"):
        read_rows(data, max_rows=1000, max_columns=4)


def test_row_numbered_ten_million_counts_as_ten_million_rows() -> None:
    with pytest.raises(TooManyRows, match="more than 1000 rows"):
        read_rows(far_row(HEADER, [1, "A"]), max_rows=1000, max_columns=4)


def test_declared_dimension_is_ignored() -> None:
    rows = read_rows(huge_dimension(HEADER, [1, "A"]), max_rows=1000, max_columns=3)
    assert rows == [(1, ("User ID", "Name", None)), (2, (1, "A", None))]


def test_one_row_of_millions_of_cells_is_refused_before_parsing() -> None:
    data = xlsx_with_sheet(sheet_xml(['<row r="1">' + "<c/>" * 2_000_000 + "</row>"]))
    assert len(data) < 64 * 1024
    with pytest.raises(FileTooLarge, match="row 1 holds more than 65536 cells"):
        read_rows(data, max_rows=1000, max_columns=4)


def test_repeated_row_elements_count_as_rows() -> None:
    rows = [row_xml(1, HEADER)] + ['<row r="2"/>'] * 5000
    with pytest.raises(TooManyRows):
        read_rows(xlsx_with_sheet(sheet_xml(rows)), max_rows=1000, max_columns=4)


def test_zip_bomb_is_refused_by_its_unpacked_size() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (11 * 1024 * 1024))
    with pytest.raises(FileTooLarge, match="unpacks to 11 MB"):
        read_rows(buffer.getvalue(), max_rows=10, max_columns=2, max_bytes=1024 * 1024)


def test_size_cap_and_junk_and_missing_sheet(tmp_path: Path) -> None:
    data = huge_dimension(HEADER, [1, "A"])
    with pytest.raises(FileTooLarge, match="larger than 1 KB"):
        read_rows(data, max_rows=10, max_columns=2, max_bytes=1024)
    with pytest.raises(UnreadableFile, match="not a readable xlsx"):
        read_rows(b"not a zip", max_rows=10, max_columns=2)
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile, match=r"f\.xlsx has no sheet 'Users'"):
        read_rows(path, sheet="Users", max_rows=10, max_columns=2, name="f.xlsx")


def test_blank_rows_are_skipped_but_numbered() -> None:
    rows = [row_xml(1, HEADER), "<row/>", row_xml(3, [7, "B"])]
    assert read_rows(xlsx_with_sheet(sheet_xml(rows)), max_rows=3, max_columns=2) == [
        (1, ("User ID", "Name")),
        (3, (7, "B")),
    ]
