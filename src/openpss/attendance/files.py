"""Parse the evaluate command's RULES.json and PUNCHES.csv text, and flatten results to rows.

Pure: takes text that the caller read, raises `InputError` naming file, line and reason.
The format is documented in docs/attendance-evaluate.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

from openpss.attendance.terminal import (
    DayResult,
    Period,
    RuleError,
    Rules,
    Shift,
    UserSchedule,
    format_hhmm,
    validate_schedule_code,
)

MAX_USER_ID = 32
MAX_REPORTED_ERRORS = 20
PUNCH_HEADER = ["user_id", "time"]
PUNCH_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
RULE_KEYS = {
    "late_allowance_minutes",
    "early_allowance_minutes",
    "recheck_interval_minutes",
    "shifts",
    "schedules",
    "department_schedules",
    "users",
}


class InputError(ValueError):
    """One or more problems in an input file, each as 'file:line: reason'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _line_of(text: str, path: list[str]) -> int:
    """Line of the innermost key of `path` (searching each key after the previous one)."""
    position = 0
    for key in path:
        found = text.find(json.dumps(key), position)
        if found >= 0:
            position = found
    return text.count("\n", 0, position) + 1


def parse_rules(text: str, name: str = "RULES.json") -> Rules:
    """Rules from RULES.json text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([f"{name}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
    path: list[str] = []
    try:
        return _rules(data, path)
    except (RuleError, TypeError, ValueError) as exc:
        where = ".".join(path) or "top level"
        raise InputError([f"{name}:{_line_of(text, path)}: {where}: {exc}"]) from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a JSON object")
    return value


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a whole number, not {value!r}")
    return value


def _rules(data: Any, path: list[str]) -> Rules:
    data = _object(data, "the rules file")
    unknown = sorted(set(data) - RULE_KEYS)
    if unknown:
        path.append(unknown[0])
        raise ValueError(f"unknown key {unknown[0]!r}; allowed: {', '.join(sorted(RULE_KEYS))}")
    shifts: dict[int, Shift] = {}
    for number, shift in _object(data.get("shifts", {}), "shifts").items():
        path[:] = ["shifts", number]
        if not number.isdigit():
            raise ValueError("shift numbers are 1-24")
        shifts[int(number)] = _shift(_object(shift, "a shift"), path)
    path[:] = []
    rules = Rules(
        shifts=shifts,
        schedules=_calendars(data, "schedules", shifts, path),
        department_schedules=_calendars(data, "department_schedules", shifts, path),
        users=_users(data, path),
    )
    for key in ("late_allowance_minutes", "early_allowance_minutes", "recheck_interval_minutes"):
        path[:] = [key]
        setattr(rules, key, _int(data.get(key, 0), key))
    path[:] = []
    rules.__post_init__()
    return rules


def _shift(data: dict[str, Any], path: list[str]) -> Shift:
    if set(data) - {"duty", "overtime"}:
        raise ValueError("a shift has only 'duty' and 'overtime'")
    path.append("duty")
    duty = data.get("duty")
    if not isinstance(duty, list):
        raise TypeError("duty must be a list of 1 or 2 [start, end] pairs")
    periods = tuple(_period(pair) for pair in duty)
    overtime = data.get("overtime")
    if overtime is not None:
        path[-1] = "overtime"
        overtime = _period(overtime)
    del path[-1]
    return Shift(periods, overtime)


def _period(pair: Any) -> Period:
    if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
        raise TypeError(f'a period is ["HH:MM", "HH:MM"], not {json.dumps(pair)}')
    return Period.parse(pair[0], pair[1])


def _calendars(
    data: dict[str, Any], key: str, shifts: dict[int, Shift], path: list[str]
) -> dict[str, dict[dt.date, int]]:
    result: dict[str, dict[dt.date, int]] = {}
    for owner, calendar in _object(data.get(key, {}), key).items():
        path[:] = [key, owner]
        days: dict[dt.date, int] = {}
        for day, code in _object(calendar, "a calendar").items():
            path[:] = [key, owner, day]
            try:
                date = dt.date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"{day!r} is not a date YYYY-MM-DD") from None
            days[date] = _int(code, "a schedule code")
            validate_schedule_code(days[date], shifts)
        result[owner] = days
    path[:] = []
    return result


def _users(data: dict[str, Any], path: list[str]) -> dict[str, UserSchedule]:
    users: dict[str, UserSchedule] = {}
    for user_id, entry in _object(data.get("users", {}), "users").items():
        path[:] = ["users", user_id]
        entry = _object(entry, "a user entry")
        if set(entry) - {"department", "schedule_mode"}:
            raise ValueError("a user entry has only 'department' and 'schedule_mode'")
        users[user_id] = UserSchedule(
            str(entry.get("department", "")), str(entry.get("schedule_mode", "user"))
        )
    path[:] = []
    return users


def parse_punch_time(text: str) -> dt.datetime:
    """A local punch time "YYYY-MM-DD HH:MM:SS" (seconds optional)."""
    for fmt in PUNCH_TIME_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"time {text!r} is not 'YYYY-MM-DD HH:MM:SS'")


def iter_punches(text: str, name: str = "PUNCHES.csv") -> Iterator[tuple[str, dt.datetime]]:
    """Yield (user_id, local time) rows; collect problems and raise them all at the end."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:2]] != PUNCH_HEADER:
        raise InputError([f"{name}:1: the header must be 'user_id,time', not {header!r}"])
    problems: list[str] = []
    for row in reader:
        if not row or not "".join(row).strip():
            continue
        try:
            yield _punch(row)
        except ValueError as exc:
            problems.append(f"{name}:{reader.line_num}: {exc}")
            if len(problems) >= MAX_REPORTED_ERRORS:
                break
    if problems:
        raise InputError(problems)


def parse_punches(text: str, name: str = "PUNCHES.csv") -> list[tuple[str, dt.datetime]]:
    """All punches of a PUNCHES.csv text, or InputError listing every bad line (up to 20)."""
    return list(iter_punches(text, name))


def _punch(row: list[str]) -> tuple[str, dt.datetime]:
    if len(row) < 2:
        raise ValueError("a row needs user_id and time")
    user_id = row[0].strip()
    if not user_id or len(user_id) > MAX_USER_ID:
        raise ValueError(f"user_id must be 1-{MAX_USER_ID} characters, not {row[0]!r}")
    return user_id, parse_punch_time(row[1])


def _clock(value: dt.time | None) -> str | None:
    return value.isoformat() if value is not None else None


def result_to_dict(result: DayResult) -> dict[str, Any]:
    """The JSON object of one day result (see docs/attendance-evaluate.md)."""
    return {
        "user_id": result.user_id,
        "date": result.date.isoformat(),
        "schedule": result.schedule,
        "status": result.status,
        "work_hours": result.work_hours,
        "overtime_hours": result.overtime_hours,
        "late_minutes": result.late_minutes,
        "early_minutes": result.early_minutes,
        "absence_days": result.absence_days,
        "periods": [
            {
                "kind": p.kind,
                "start": format_hhmm(p.period.start),
                "end": format_hhmm(p.period.end),
                "check_in": _clock(p.check_in),
                "check_out": _clock(p.check_out),
                "status": p.status,
                "late_minutes": p.late_minutes,
                "early_minutes": p.early_minutes,
            }
            for p in result.periods
        ],
    }


SUMMARY_COLUMNS = [
    "user_id",
    "date",
    "schedule",
    "status",
    "work_hours",
    "overtime_hours",
    "late_minutes",
    "early_minutes",
    "absence_days",
]
PERIOD_SLOTS = ("period1", "period2", "overtime")
PERIOD_FIELDS = ("check_in", "check_out", "status")
TABLE_COLUMNS = SUMMARY_COLUMNS + [f"{s}_{f}" for s in PERIOD_SLOTS for f in PERIOD_FIELDS]


def result_to_row(result: DayResult) -> list[Any]:
    """The flat CSV/xlsx row of one day result, in TABLE_COLUMNS order."""
    data = result_to_dict(result)
    row = [data[c] for c in SUMMARY_COLUMNS]
    duty = [p for p in data["periods"] if p["kind"] == "duty"]
    overtime = [p for p in data["periods"] if p["kind"] == "overtime"]
    for slot in (duty[:1], duty[1:2], overtime):
        period = slot[0] if slot else {}
        row.extend(period.get(f) or "" for f in PERIOD_FIELDS)
    return row
