"""Time segments of time templates."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.platform.permissions.timespec import check_day, is_open, parse_segments_text


def test_segments_are_sorted_and_may_touch() -> None:
    day = check_day([("13:00", "17:00"), ("08:00", "13:00")], "Monday")
    assert day == [("08:00", "13:00"), ("13:00", "17:00")]


def test_parse_text() -> None:
    assert parse_segments_text("08:00-12:00, 13:00-24:00", "Friday") == [
        ("08:00", "12:00"),
        ("13:00", "24:00"),
    ]
    assert parse_segments_text("  ", "Sunday") == []
    with pytest.raises(ValueError, match="Friday: '08:00' is not a segment"):
        parse_segments_text("08:00", "Friday")


def test_is_open_with_holiday_override() -> None:
    weekly = [[("08:00", "12:00")]] * 7
    holidays: dict[dt.date, list[tuple[str, str]]] = {dt.date(2026, 12, 25): []}
    monday_9 = dt.datetime(2026, 12, 21, 9, 0)
    assert is_open(weekly, {}, monday_9)
    assert not is_open(weekly, {}, monday_9.replace(hour=12))
    assert not is_open(weekly, holidays, dt.datetime(2026, 12, 25, 9, 0))
