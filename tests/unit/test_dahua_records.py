"""AccessControlCardRec / AccessControl value sets as real Dahua terminals send them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.entities import Punch, User, punch_event_data, record_fields
from openpss.protocols.dahua_http.codec import RecordPage
from openpss.protocols.dahua_http.records import (
    attendance_state_code,
    attendance_state_name,
    direction,
    method_name,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dahua"
UTC = dt.UTC


def _punch(rec_no: int, at: dt.datetime, user: int, method: str, card: str, state: str) -> Punch:
    return Punch(rec_no, at, at.replace(tzinfo=None), user, method, card, AttendanceState(state))


def test_device_records_match_the_golden_page() -> None:
    first = _punch(7, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 1, "card", "A1B2", "CheckIn")
    second = _punch(8, dt.datetime(2026, 1, 2, 12, tzinfo=UTC), 2, "fingerprint", "", "CheckOut")
    page = RecordPage(
        [record_fields(first, User(user_id=1, name="Ann")), record_fields(second, None)], 2
    )
    golden = (FIXTURES / "record_page.txt").read_bytes().decode()
    assert str(page) == golden
    assert "records[1].AttendanceState=4\r\n" in golden and "records[1].Type=Exit\r\n" in golden
    assert "records[1].Method=6\r\n" in golden


@pytest.mark.parametrize(
    ("state", "code", "kind"),
    [
        ("CheckIn", 1, "Entry"),
        ("BreakOut", 2, "Exit"),
        ("BreakIn", 3, "Entry"),
        ("CheckOut", 4, "Exit"),
        ("OvertimeIn", 5, "Entry"),
        ("OvertimeOut", 6, "Exit"),
    ],
)
def test_every_attendance_state_has_its_code_and_direction(
    state: str, code: int, kind: str
) -> None:
    punch = _punch(1, dt.datetime(2026, 3, 1, 9, tzinfo=UTC), 5, "password", "", state)
    data = punch_event_data(punch, None)
    assert (data["AttendanceState"], data["Type"], data["Method"]) == (code, kind, 0)
    assert (data["Status"], data["ErrorCode"]) == (1, 0)
    assert attendance_state_code(state) == code
    assert attendance_state_name(code) == attendance_state_name(str(code)) == state
    assert direction(state) == kind


def test_readers_accept_codes_names_and_nothing() -> None:
    assert attendance_state_name("CheckIn") == "CheckIn"  # older openpss terminals
    assert attendance_state_name("0") == "" and attendance_state_name("") == ""
    assert attendance_state_name(None) == "" and attendance_state_name("9") == ""
    assert attendance_state_name("Lunch") == ""
    assert [method_name(v) for v in ("0", 1, "6", "15", "99", "")] == [
        "password",
        "card",
        "fingerprint",
        "face",
        "99",
        "",
    ]
