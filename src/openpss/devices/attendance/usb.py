"""USB management (manual 2.8, 2.6.2, 2.7): a directory stands for the USB drive.

Files on the drive (the device's own templates):

- ``UserInfo.xlsx`` sheet ``UserInfo``: User ID, Name, Password, Card No. (several cards
  separated by ``,``), Department (1-20), User Level (User/Administrator), Schedule Mode
  (Department/Personal). Import overwrites users with the same ID and keeps their fingerprints.
- ``UserFP.json``: ``{"fingerprints": {"<user id>": ["<base64 template>", ...]}}``.
- ``BellInfo.xlsx`` sheet ``Bell``: No., Time, Cycle, Duration(s).
- ``AutoSwitchTime.xlsx`` sheet ``StateSwitch``: No., Time, State.
- ``Import&export_00001.xlsx`` (the number is the device number): sheets ``Shift`` (No.,
  Period1, Period2, Overtime), ``UserSchedule`` and ``DeptSchedule`` (ID, Date, Schedule).
  A file for another device number is refused.
- Exports only: ``ATTRecord_YYYYMM.xlsx`` and ``ATTReport_YYYYMM.xlsx``.

Every import reads and validates the whole file first and applies nothing on any error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from openpss.devices.attendance import schedule
from openpss.devices.attendance.model import Terminal, TerminalError, User, check_user_id
from openpss.devices.attendance.settings import Bell, DeviceSettings, StateSwitchRow
from openpss.spreadsheets import SpreadsheetError, check_size, read_rows

USER_FILE = "UserInfo.xlsx"
FP_FILE = "UserFP.json"
BELL_FILE = "BellInfo.xlsx"
SWITCH_FILE = "AutoSwitchTime.xlsx"
USER_HEADER = (
    "User ID",
    "Name",
    "Password",
    "Card No.",
    "Department",
    "User Level",
    "Schedule Mode",
)
BELL_HEADER = ("No.", "Time", "Cycle", "Duration(s)")
SWITCH_HEADER = ("No.", "Time", "State")
SHIFT_HEADER = ("No.", "Period1", "Period2", "Overtime")
SCHEDULE_HEADER = ("ID", "Date", "Schedule")
# Every file on the drive is read within these caps (a hostile file cannot stall the device).
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILE_ROWS = 100_000  # rows of one sheet, header and blank rows included
LEVELS = {"User": "user", "Administrator": "admin"}
MODES = {"Department": "department", "Personal": "personal"}


def shift_file_name(device_number: int) -> str:
    """``Import&export_00001.xlsx`` for device number 1."""
    return f"Import&export_{device_number:05d}.xlsx"


def _usb(usb_dir: Path) -> Path:
    if not usb_dir.is_dir():
        raise TerminalError(f"no USB drive: {usb_dir} does not exist")
    return usb_dir


def _write(path: Path, sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]) -> Path:
    book = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    temporary = path.with_name(path.name + ".part")
    book.save(temporary)
    temporary.replace(path)  # a pulled drive never holds half a file under the real name
    return path


def _read(path: Path, sheet: str, header: Sequence[str]) -> list[tuple[int, list[Any]]]:
    """Rows (with their line numbers) of a sheet whose first row is `header`."""
    if not path.is_file():
        raise TerminalError(f"{path.name} is not on the USB drive")
    try:
        rows = read_rows(
            path,
            sheet=sheet,
            max_rows=MAX_FILE_ROWS,
            max_columns=len(header),
            max_bytes=MAX_FILE_BYTES,
            name=path.name,
        )
    except SpreadsheetError as exc:
        raise TerminalError(str(exc)) from exc
    first = rows[0][1] if rows and rows[0][0] == 1 else ()
    if tuple(str(c or "") for c in first) != tuple(header):
        raise TerminalError(f"{path.name} sheet {sheet}: first row must be {', '.join(header)}")
    return [(number, ["" if c is None else c for c in row]) for number, row in rows[1:]]


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --- users and fingerprints ----------------------------------------------------------------


def export_users(terminal: Terminal, usb_dir: Path) -> Path:
    """Export User Info."""
    levels = {v: k for k, v in LEVELS.items()}
    modes = {v: k for k, v in MODES.items()}
    rows = [
        (
            u.user_id,
            u.name,
            u.password,
            ",".join(u.cards),
            u.department,
            levels[u.level],
            modes[u.schedule_mode],
        )
        for u in sorted(terminal.users.values(), key=lambda u: u.user_id)
    ]
    return _write(_usb(usb_dir) / USER_FILE, {"UserInfo": (USER_HEADER, rows)})


def _user_row(terminal: Terminal, number: int, row: list[Any]) -> User:
    user_id, name, password, cards, department, level, mode = (_text(v) for v in row)
    try:
        base = terminal.users.get(check_user_id(user_id))
        if level not in LEVELS or mode not in MODES:
            raise TerminalError(
                "User Level must be User or Administrator, Schedule Mode Department or Personal"
            )
        user = User(
            user_id=int(user_id),
            name=name,
            password=password,
            department=int(department or 1),
            cards=[c.strip() for c in cards.split(",") if c.strip()],
            level=LEVELS[level],
            schedule_mode=MODES[mode],
            fingerprints=list(base.fingerprints) if base else [],
        )
        return terminal.validate_user(user)
    except (TerminalError, ValueError) as exc:
        raise TerminalError(f"{USER_FILE} row {number}: {exc}") from exc


def import_users(terminal: Terminal, usb_dir: Path, *, actor: int = 0) -> int:
    """Import User Info (same user ID overwrites); all rows or none."""
    rows = _read(_usb(usb_dir) / USER_FILE, "UserInfo", USER_HEADER)
    users = [_user_row(terminal, number, row) for number, row in rows]
    terminal.put_users(users, actor=actor)
    return len(users)


def export_fingerprints(terminal: Terminal, usb_dir: Path) -> Path:
    """Export User FP."""
    data = {
        str(u.user_id): [base64.b64encode(t).decode() for t in u.fingerprints]
        for u in sorted(terminal.users.values(), key=lambda u: u.user_id)
        if u.fingerprints
    }
    path = _usb(usb_dir) / FP_FILE
    path.write_text(json.dumps({"fingerprints": data}, indent=1))
    return path


def import_fingerprints(terminal: Terminal, usb_dir: Path, *, actor: int = 0) -> int:
    """Import User FP: each listed user's templates are replaced; users must exist."""
    path = _usb(usb_dir) / FP_FILE
    if not path.is_file():
        raise TerminalError(f"{FP_FILE} is not on the USB drive")
    try:
        check_size(path.stat().st_size, max_bytes=MAX_FILE_BYTES, name=FP_FILE)
        data = json.loads(path.read_text())["fingerprints"]
        changed = [
            User(
                **{
                    **terminal.get_user(check_user_id(uid)).__dict__,
                    "fingerprints": [base64.b64decode(t, validate=True) for t in templates],
                }
            )
            for uid, templates in data.items()
        ]
    except SpreadsheetError as exc:
        raise TerminalError(str(exc)) from exc
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise TerminalError(f"{FP_FILE} is not a fingerprint file of this device") from exc
    terminal.put_users(changed, actor=actor, update_only=True)
    return sum(len(u.fingerprints) for u in changed)


# --- bells and auto switch time ------------------------------------------------------------


def export_bells(terminal: Terminal, usb_dir: Path) -> Path:
    """Export Bell Info."""
    rows = [(n, b.time, b.cycle, b.duration_s) for n, b in enumerate(terminal.settings.bells, 1)]
    return _write(_usb(usb_dir) / BELL_FILE, {"Bell": (BELL_HEADER, rows)})


def _numbered(rows: list[tuple[int, list[Any]]], count: int, name: str) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {}
    for line, row in rows:
        number = _text(row[0])
        if not number.isdigit() or not 1 <= int(number) <= count:
            raise TerminalError(f"{name} row {line}: No. must be 1-{count}")
        result[int(number)] = [_text(v) for v in row[1:]]
    return result


def import_bells(terminal: Terminal, usb_dir: Path, *, actor: int = 0) -> int:
    """Import Bell Info (rows by No. overwrite; all or none)."""
    rows = _numbered(
        _read(_usb(usb_dir) / BELL_FILE, "Bell", BELL_HEADER),
        len(terminal.settings.bells),
        BELL_FILE,
    )

    def change(settings: DeviceSettings) -> None:
        for number, (time, cycle, duration) in rows.items():
            if not duration.isdigit():
                raise TerminalError(f"{BELL_FILE} bell {number}: Duration(s) must be a number")
            settings.bells[number - 1] = Bell(time, cycle, int(duration))

    terminal.update_settings(change, actor=actor, what="bells (USB)")
    return len(rows)


def export_switch_times(terminal: Terminal, usb_dir: Path) -> Path:
    """Export Auto Switch Time."""
    rows = [(n, r.time, r.state) for n, r in enumerate(terminal.settings.state_switches, 1)]
    return _write(_usb(usb_dir) / SWITCH_FILE, {"StateSwitch": (SWITCH_HEADER, rows)})


def import_switch_times(terminal: Terminal, usb_dir: Path, *, actor: int = 0) -> int:
    """Import Auto Switch Time (all or none)."""
    rows = _numbered(
        _read(_usb(usb_dir) / SWITCH_FILE, "StateSwitch", SWITCH_HEADER),
        len(terminal.settings.state_switches),
        SWITCH_FILE,
    )

    def change(settings: DeviceSettings) -> None:
        for number, (time, state) in rows.items():
            settings.state_switches[number - 1] = StateSwitchRow(time, state)

    terminal.update_settings(change, actor=actor, what="auto switch time (USB)")
    return len(rows)


# --- shifts and schedules ------------------------------------------------------------------


def export_shifts(terminal: Terminal, usb_dir: Path) -> Path:
    """Export Shift and Schedule to ``Import&export_<device number>.xlsx``."""
    shifts = [
        (n, r["Period1"], r["Period2"], r["Overtime"])
        for n, r in enumerate(schedule.shift_table(terminal), 1)
    ]
    sheets: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] = {
        "Shift": (SHIFT_HEADER, shifts),
        "UserSchedule": (SCHEDULE_HEADER, _schedule_rows(terminal, "user_schedules")),
        "DeptSchedule": (SCHEDULE_HEADER, _schedule_rows(terminal, "department_schedules")),
    }
    name = shift_file_name(terminal.settings.device_number)
    return _write(_usb(usb_dir) / name, sheets)


def _schedule_rows(terminal: Terminal, key: str) -> list[tuple[int, str, int]]:
    calendars: dict[str, dict[str, int]] = terminal.extra.get(key, {})
    return [
        (int(owner), day, code)
        for owner, days in sorted(calendars.items())
        for day, code in sorted(days.items())
    ]


def _shift_source(terminal: Terminal, usb: Path) -> Path:
    own = usb / shift_file_name(terminal.settings.device_number)
    if own.is_file():
        return own
    others = sorted(p.name for p in usb.glob("Import&export_*.xlsx"))
    if others:
        number = re.sub(r"\D", "", others[0]) or "?"
        raise TerminalError(
            f"{others[0]} is for device {number}; this device is "
            f"{terminal.settings.device_number:05d} (rename the file to {own.name})"
        )
    raise TerminalError(f"{own.name} is not on the USB drive")


def _calendar(rows: list[tuple[int, list[Any]]], sheet: str) -> dict[int, dict[dt.date, int]]:
    result: dict[int, dict[dt.date, int]] = {}
    for line, (owner, day, code) in rows:
        try:
            when = day.date() if isinstance(day, dt.datetime) else dt.date.fromisoformat(_text(day))
            result.setdefault(int(_text(owner)), {})[when] = int(_text(code))
        except ValueError as exc:
            raise TerminalError(f"{sheet} row {line}: ID, Date (YYYY-MM-DD), Schedule") from exc
    return result


def import_shifts(terminal: Terminal, usb_dir: Path, *, actor: int = 0) -> int:
    """Import Shift and Schedule from this device's file; everything validated first."""
    path = _shift_source(terminal, _usb(usb_dir))
    shift_rows = _numbered(_read(path, "Shift", SHIFT_HEADER), schedule.MAX_SHIFTS, path.name)
    rows = {n: dict(zip(schedule.SHIFT_FIELDS, v, strict=True)) for n, v in shift_rows.items()}
    users = _calendar(_read(path, "UserSchedule", SCHEDULE_HEADER), "UserSchedule")
    departments = _calendar(_read(path, "DeptSchedule", SCHEDULE_HEADER), "DeptSchedule")
    candidate = {n: row for n, row in enumerate(schedule.shift_table(terminal), 1)}
    candidate.update(rows)
    shifts = {n: s for n, r in candidate.items() if (s := schedule.parse_shift(r, n))}
    for owner, days in [*users.items(), *departments.items()]:
        schedule.check_calendar(days, shifts, str(owner))
    for user_id in users:
        terminal.get_user(user_id)
    for department in departments:
        if not 1 <= department <= len(terminal.settings.departments):
            raise TerminalError(f"DeptSchedule: department {department} is not 1-20")
    schedule.save_shifts(terminal, candidate, actor=actor)
    for user_id, days in users.items():
        schedule.set_user_schedule(terminal, user_id, days, actor=actor)
    for department, days in departments.items():
        schedule.set_department_schedule(terminal, department, days, actor=actor)
    return len(rows)


# --- attendance exports --------------------------------------------------------------------


def export_month_records(terminal: Terminal, usb_dir: Path, year: int, month: int) -> Path:
    """Export Monthly ATT. Record."""
    rows = [
        (r["rec_no"], r["user_id"], r["name"], r["time"], r["method"], r["state"])
        for r in schedule.month_records(terminal, year, month)
    ]
    header = ("No.", "User ID", "Name", "Time", "Method", "State")
    path = _usb(usb_dir) / f"ATTRecord_{year:04d}{month:02d}.xlsx"
    return _write(path, {"Record": (header, rows)})


def export_month_report(terminal: Terminal, usb_dir: Path, year: int, month: int) -> Path:
    """Export Monthly ATT. Report (the engine's results per scheduled day)."""
    header = (
        "User ID",
        "Date",
        "Schedule",
        "Status",
        "Work Hours",
        "Overtime Hours",
        "Late (min)",
        "Early (min)",
        "Absence (days)",
    )
    rows = [
        (
            r.user_id,
            r.date,
            r.schedule,
            r.status,
            r.work_hours,
            r.overtime_hours,
            r.late_minutes,
            r.early_minutes,
            r.absence_days,
        )
        for r in schedule.month_report(terminal, year, month)
    ]
    path = _usb(usb_dir) / f"ATTReport_{year:04d}{month:02d}.xlsx"
    return _write(path, {"Report": (header, rows)})
