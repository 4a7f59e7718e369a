"""Shifts, schedules and attendance reports of the terminal (manual 2.7, 2.6.2, 2.15-2.16).

The rules themselves are the shared attendance engine ``openpss.attendance``; this module keeps
the terminal's 24 shifts and its user and department calendars, and feeds them with the
terminal's punches to the engine. Schedule codes: 0 rest, 1-24 shift, 25 business trip,
26 leave of absence.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from openpss.attendance.bulk import evaluate_rules
from openpss.attendance.terminal import (
    MAX_SHIFTS,
    DayResult,
    Period,
    RuleError,
    Rules,
    Shift,
    UserSchedule,
    validate_schedule_code,
)
from openpss.devices.attendance.model import Terminal, TerminalError

SHIFT_FIELDS = ("Period1", "Period2", "Overtime")


def _period(text: str, what: str) -> Period | None:
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise TerminalError(f"{what} must be HH:MM-HH:MM, not {text!r}")
    try:
        return Period.parse(start.strip(), end.strip())
    except RuleError as exc:
        raise TerminalError(f"{what}: {exc}") from exc


def parse_shift(row: dict[str, str], number: int) -> Shift | None:
    """An engine Shift from a table row; None when the row is empty (shift not configured)."""
    periods = {key: _period(row.get(key, ""), f"shift {number} {key}") for key in SHIFT_FIELDS}
    duty = tuple(p for p in (periods["Period1"], periods["Period2"]) if p is not None)
    if not duty:
        if periods["Overtime"] is not None:
            raise TerminalError(f"shift {number}: an overtime session needs a duty period")
        return None
    try:
        return Shift(duty=duty, overtime=periods["Overtime"])
    except RuleError as exc:
        raise TerminalError(f"shift {number}: {exc}") from exc


def stored_shifts(terminal: Terminal) -> dict[int, dict[str, str]]:
    """Shift rows by number 1-24."""
    rows = terminal.extra.get("shifts", {})
    return {int(k): dict(v) for k, v in rows.items()}


def shift_table(terminal: Terminal) -> list[dict[str, str]]:
    """The ``Shift`` config table: 24 rows (index 0 is shift 1)."""
    rows = stored_shifts(terminal)
    empty = dict.fromkeys(SHIFT_FIELDS, "")
    return [{**empty, **rows.get(n, {})} for n in range(1, MAX_SHIFTS + 1)]


def check_shift_table(terminal: Terminal, tree: object) -> dict[int, dict[str, str]]:
    """Validate a partial ``Shift[i].Field`` update; return every row after it."""
    if not isinstance(tree, dict):
        raise TerminalError("Shift needs rows, e.g. Shift[0].Period1=08:00-12:00")
    rows = {n + 1: row for n, row in enumerate(shift_table(terminal))}
    for index, fields in tree.items():
        if not isinstance(index, int) or not 0 <= index < MAX_SHIFTS:
            raise TerminalError(f"Shift index must be [0]-[{MAX_SHIFTS - 1}] (shifts 1-24)")
        if not isinstance(fields, dict) or set(fields) - set(SHIFT_FIELDS):
            raise TerminalError(f"Shift[{index}] fields are {', '.join(SHIFT_FIELDS)}")
        rows[index + 1].update({k: str(v) for k, v in fields.items()})
        parse_shift(rows[index + 1], index + 1)
    return rows


def save_shifts(terminal: Terminal, rows: dict[int, dict[str, str]], *, actor: int = 0) -> None:
    """Keep validated shift rows (empty rows dropped)."""
    kept = {str(n): r for n, r in rows.items() if any(r.get(k) for k in SHIFT_FIELDS)}
    terminal.save_extra("shifts", kept)
    terminal.log_admin(actor, "change shifts")


def engine_shifts(terminal: Terminal) -> dict[int, Shift]:
    """The configured shifts as engine objects."""
    result = {}
    for number, row in stored_shifts(terminal).items():
        shift = parse_shift(row, number)
        if shift is not None:
            result[number] = shift
    return result


def check_calendar(days: dict[dt.date, int], shifts: dict[int, Shift], owner: str) -> None:
    """Every code is 0, a configured shift 1-24, 25 or 26."""
    for day, code in days.items():
        try:
            validate_schedule_code(code, shifts)
        except RuleError as exc:
            raise TerminalError(f"schedule of {owner} on {day}: {exc}") from exc


def _set_calendar(
    terminal: Terminal, key: str, owner: str, days: dict[dt.date, int], actor: int
) -> None:
    check_calendar(days, engine_shifts(terminal), owner)
    calendars: dict[str, dict[str, int]] = dict(terminal.extra.get(key, {}))
    merged = dict(calendars.get(owner, {}))
    merged.update({day.isoformat(): code for day, code in days.items()})
    calendars[owner] = merged
    terminal.save_extra(key, calendars)
    terminal.log_admin(actor, f"change {key.replace('_', ' ')} of {owner}")


def set_user_schedule(
    terminal: Terminal, user_id: int, days: dict[dt.date, int], *, actor: int = 0
) -> None:
    """Users Schedule: the code of each date for one existing user."""
    terminal.get_user(user_id)
    _set_calendar(terminal, "user_schedules", str(user_id), days, actor)


def set_department_schedule(
    terminal: Terminal, department: int, days: dict[dt.date, int], *, actor: int = 0
) -> None:
    """Department schedule: the code of each date for one department (1-20)."""
    if not 1 <= department <= len(terminal.settings.departments):
        raise TerminalError("department must be 1-20")
    _set_calendar(terminal, "department_schedules", str(department), days, actor)


def _calendars(terminal: Terminal, key: str) -> dict[str, dict[dt.date, int]]:
    raw: dict[str, dict[str, int]] = terminal.extra.get(key, {})
    return {
        owner: {dt.date.fromisoformat(d): c for d, c in days.items()} for owner, days in raw.items()
    }


def calendar_of(terminal: Terminal, kind: str, owner: int) -> dict[dt.date, int]:
    """The schedule codes set for one user (``kind="user"``) or department."""
    key = "user_schedules" if kind == "user" else "department_schedules"
    return _calendars(terminal, key).get(str(owner), {})


def rules(terminal: Terminal) -> Rules:
    """The engine rules of this terminal."""
    s = terminal.settings
    users = {
        str(u.user_id): UserSchedule(
            department=str(u.department),
            schedule_mode="department" if u.schedule_mode == "department" else "user",
        )
        for u in terminal.users.values()
    }
    return Rules(
        shifts=engine_shifts(terminal),
        schedules=_calendars(terminal, "user_schedules"),
        department_schedules=_calendars(terminal, "department_schedules"),
        late_allowance_minutes=s.late_allowance_min,
        early_allowance_minutes=s.early_allowance_min,
        users=users,
        recheck_interval_minutes=s.recheck_interval_min,
    )


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    if not 1 <= month <= 12 or not 2000 <= year <= 2099:
        raise TerminalError("choose a month of the years 2000-2099")
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def month_report(terminal: Terminal, year: int, month: int) -> list[DayResult]:
    """Export Monthly ATT. Report: the engine's day results of scheduled days in the month."""
    first, last = month_bounds(year, month)
    punches = [
        (str(p.user_id), p.local)
        for p in terminal.punches
        if p.success and first <= p.local.date() <= last
    ]
    return evaluate_rules(rules(terminal), punches, first, last)


def month_records(terminal: Terminal, year: int, month: int) -> list[dict[str, Any]]:
    """Export Monthly ATT. Record: every punch of the month, device wall time."""
    first, last = month_bounds(year, month)
    rows = []
    for p in terminal.punches:
        if p.success and first <= p.local.date() <= last:
            user = terminal.users.get(p.user_id)
            rows.append(
                {
                    "rec_no": p.rec_no,
                    "user_id": p.user_id,
                    "name": user.name if user else "",
                    "time": p.local,
                    "method": p.method,
                    "state": p.state.value if p.state else "",
                }
            )
    return rows
