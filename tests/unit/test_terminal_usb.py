"""USB import/export of the terminal, and the shifts, schedules and reports behind them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance import schedule, usb
from openpss.devices.attendance.model import Terminal, TerminalError, User
from openpss.devices.attendance.settings import Bell
from tests.support.hostile_xlsx import far_row, million_blank_rows

MONDAY = dt.date(2026, 3, 2)


@pytest.fixture
def terminal() -> Terminal:
    t = Terminal(serial="USB1", clock=lambda: dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC))
    t.put_users(
        [User(user_id=1, name="Ann", password="1234", cards=["A1"], fingerprints=[b"\x05" * 16])]
    )
    return t


def _user_sheet(path: Path, rows: list[list[object]]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "UserInfo"
    sheet.append(list(usb.USER_HEADER))
    for row in rows:
        sheet.append(row)
    book.save(path / usb.USER_FILE)


def test_user_export_import_round_trip(terminal: Terminal, tmp_path: Path) -> None:
    usb.export_users(terminal, tmp_path)
    sheet = load_workbook(tmp_path / usb.USER_FILE)["UserInfo"]
    assert [c.value for c in sheet[2]] == [1, "Ann", "1234", "A1", 1, "User", "Department"]
    other = Terminal(serial="USB2")
    assert usb.import_users(other, tmp_path) == 1
    assert other.get_user(1).cards == ["A1"]


def test_import_overwrites_same_user_id_and_keeps_fingerprints(
    terminal: Terminal, tmp_path: Path
) -> None:
    _user_sheet(
        tmp_path,
        [
            [1, "Annie", "", "B1,B2", 3, "Administrator", "Personal"],
            [2, "Bob", 77, "", 1, "User", "Department"],
        ],
    )
    assert usb.import_users(terminal, tmp_path) == 2
    ann = terminal.get_user(1)
    assert (ann.name, ann.cards, ann.level, ann.department) == ("Annie", ["B1", "B2"], "admin", 3)
    assert ann.fingerprints == [b"\x05" * 16]
    assert terminal.get_user(2).password == "77"


def test_bad_row_imports_nothing(terminal: Terminal, tmp_path: Path) -> None:
    _user_sheet(
        tmp_path,
        [
            [5, "Fine", "", "", 1, "User", "Department"],
            [6, "Bad", "0123", "", 1, "User", "Department"],
        ],
    )
    with pytest.raises(TerminalError, match=r"UserInfo\.xlsx row 3: .*cannot start with 0"):
        usb.import_users(terminal, tmp_path)
    assert sorted(terminal.users) == [1]


def test_wrong_header_and_missing_drive_are_refused(terminal: Terminal, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "UserInfo"
    sheet.append(["ID", "Name"])
    book.save(tmp_path / usb.USER_FILE)
    with pytest.raises(TerminalError, match="first row must be User ID, Name"):
        usb.import_users(terminal, tmp_path)
    (tmp_path / usb.USER_FILE).write_bytes(b"not a zip")
    with pytest.raises(TerminalError, match="not a readable xlsx"):
        usb.import_users(terminal, tmp_path)
    with pytest.raises(TerminalError, match="no USB drive"):
        usb.export_users(terminal, tmp_path / "absent")


def test_fingerprints_round_trip(terminal: Terminal, tmp_path: Path) -> None:
    usb.export_fingerprints(terminal, tmp_path)
    terminal.put_users([User(user_id=1, name="Ann", password="1234", cards=["A1"])])
    assert usb.import_fingerprints(terminal, tmp_path) == 1
    assert terminal.get_user(1).fingerprints == [b"\x05" * 16]


def test_bells_and_switch_times_round_trip(terminal: Terminal, tmp_path: Path) -> None:
    terminal.update_settings(lambda s: s.bells.__setitem__(0, Bell("07:45", "Friday", 12)))
    usb.export_bells(terminal, tmp_path)
    usb.export_switch_times(terminal, tmp_path)
    fresh = Terminal(serial="X")
    assert usb.import_bells(fresh, tmp_path) == 16
    assert fresh.settings.bells[0] == Bell("07:45", "Friday", 12)
    assert usb.import_switch_times(fresh, tmp_path) == 24
    assert fresh.settings.state_switches[1].time == "17:30"


def test_bad_bell_row_changes_nothing(terminal: Terminal, tmp_path: Path) -> None:
    usb.export_bells(terminal, tmp_path)
    book = load_workbook(tmp_path / usb.BELL_FILE)
    book["Bell"]["C3"] = "Someday"
    book.save(tmp_path / usb.BELL_FILE)
    before = terminal.settings.to_json()
    with pytest.raises(TerminalError, match="bell 2 cycle must be one of"):
        usb.import_bells(terminal, tmp_path)
    assert terminal.settings.to_json() == before


def _configure_shift(terminal: Terminal) -> None:
    rows = schedule.check_shift_table(
        terminal,
        {0: {"Period1": "09:00-12:00", "Period2": "14:00-17:30", "Overtime": "18:45-20:00"}},
    )
    schedule.save_shifts(terminal, rows)


def test_shifts_and_schedules_round_trip_by_device_number(
    terminal: Terminal, tmp_path: Path
) -> None:
    _configure_shift(terminal)
    schedule.set_user_schedule(terminal, 1, {MONDAY: 1})
    schedule.set_department_schedule(terminal, 2, {MONDAY: 25})
    path = usb.export_shifts(terminal, tmp_path)
    assert path.name == "Import&export_00001.xlsx"
    other = Terminal(serial="Y")
    other.put_users([User(user_id=1)])
    assert usb.import_shifts(other, tmp_path) == 24
    assert schedule.shift_table(other)[0]["Period2"] == "14:00-17:30"
    assert other.extra["user_schedules"] == {"1": {"2026-03-02": 1}}
    assert other.extra["department_schedules"] == {"2": {"2026-03-02": 25}}


def test_file_for_another_device_number_is_refused(terminal: Terminal, tmp_path: Path) -> None:
    usb.export_shifts(terminal, tmp_path)
    terminal.update_settings(lambda s: setattr(s, "device_number", 2))
    with pytest.raises(TerminalError, match="is for device 00001; this device is 00002"):
        usb.import_shifts(terminal, tmp_path)


def test_shift_rules_come_from_the_engine(terminal: Terminal) -> None:
    with pytest.raises(TerminalError, match="must start after"):
        schedule.check_shift_table(
            terminal, {0: {"Period1": "09:00-12:00", "Period2": "11:00-13:00"}}
        )
    with pytest.raises(TerminalError, match="shift 3, which is not configured"):
        schedule.set_user_schedule(terminal, 1, {MONDAY: 3})
    with pytest.raises(TerminalError, match="user 9 does not exist"):
        schedule.set_user_schedule(terminal, 9, {MONDAY: 0})


def test_month_report_uses_the_engine(terminal: Terminal, tmp_path: Path) -> None:
    _configure_shift(terminal)

    def allowances(s: Any) -> None:
        s.late_allowance_min = s.early_allowance_min = 5  # manual table 2-13

    terminal.update_settings(allowances)
    terminal.put_users([User(user_id=1, name="Ann", schedule_mode="personal")])
    schedule.set_user_schedule(terminal, 1, {MONDAY: 1})
    times = ["09:05", "11:54", "17:00"]  # manual 2.15: early by 1 min, period 2 missing
    terminal.add_punches(
        (
            dt.datetime.combine(MONDAY, dt.time.fromisoformat(t), dt.UTC),
            1,
            "card",
            AttendanceState.check_in,
        )
        for t in times
    )
    [day] = schedule.month_report(terminal, 2026, 3)
    assert day.status == "abnormal" and day.absence_days == 0.5
    assert day.early_minutes == 1 and day.late_minutes == 0
    report = usb.export_month_report(terminal, tmp_path, 2026, 3)
    records = usb.export_month_records(terminal, tmp_path, 2026, 3)
    assert report.name == "ATTReport_202603.xlsx"
    rows = list(load_workbook(records)["Record"].iter_rows(values_only=True))
    assert len(rows) == 4 and rows[1][1] == 1


@pytest.mark.parametrize("builder", [million_blank_rows, far_row], ids=["blank-rows", "far-row"])
def test_usb_user_import_refuses_hostile_row_counts(
    terminal: Terminal, tmp_path: Path, builder: Any
) -> None:
    row = [2, "Bob", "", "", 1, "User", "Department"]
    (tmp_path / usb.USER_FILE).write_bytes(builder(usb.USER_HEADER, row, title="UserInfo"))
    with pytest.raises(TerminalError, match=r"more than 100000 rows \(blank rows count\)"):
        usb.import_users(terminal, tmp_path)
    assert sorted(terminal.users) == [1]


def test_usb_files_have_a_size_cap(terminal: Terminal, tmp_path: Path) -> None:
    (tmp_path / usb.USER_FILE).write_bytes(b"PK" + b"\0" * usb.MAX_FILE_BYTES)
    with pytest.raises(TerminalError, match=r"UserInfo\.xlsx is larger than 20 MB"):
        usb.import_users(terminal, tmp_path)
    (tmp_path / usb.FP_FILE).write_bytes(b" " * (usb.MAX_FILE_BYTES + 1))
    with pytest.raises(TerminalError, match=r"UserFP\.json is larger than 20 MB"):
        usb.import_fingerprints(terminal, tmp_path)
