"""The terminal's keypad menus (manual 2.5-2.14): what each menu offers and what its forms do.

The declarations only: each menu is a function of the running `KeypadApp` (the engine in
`keypad.py`: screens, navigation, administrator login, the fingerprint sensor) returning the
`MenuScreen` to show; each form's submit function changes the terminal model and returns the
message to show (or None).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpss.devices.attendance import schedule, usb
from openpss.devices.attendance.keypad_screens import CalendarScreen, InfoScreen, MenuScreen
from openpss.devices.attendance.model import TerminalError, User
from openpss.devices.attendance.settings import VERIFICATION_METHODS

if TYPE_CHECKING:
    from openpss.devices.attendance.keypad import KeypadApp


def main_menu(app: KeypadApp) -> MenuScreen:
    """1 User ... 6 SysInfo."""
    menus = (
        ("User", user_menu),
        ("Data", data_menu),
        ("Shift", shift_menu),
        ("USB", usb_menu),
        ("Features", features_menu),
        ("SysInfo", sysinfo_menu),
    )
    return MenuScreen("Main Menu", [(label, _opener(app, menu)) for label, menu in menus])


def _opener(app: KeypadApp, menu: Callable[[KeypadApp], MenuScreen]) -> Callable[[], object]:
    return lambda: app.push_screen(menu(app))


# --- 1 User --------------------------------------------------------------------------


def user_menu(app: KeypadApp) -> MenuScreen:
    """Add New User, Query & Edit User, Edit Dept., Add Cards in Batch."""
    fields = [
        ("User ID", ""),
        ("Name", ""),
        ("PWD", ""),
        ("Card", ""),
        ("Dept.", "1"),
        ("Schedule Mode (D/P)", "D"),
        ("User Level (U/A)", "U"),
        ("FP file", ""),
    ]
    return MenuScreen(
        "1 User",
        [
            ("Add New User", app.form("Add New User", fields, partial(_add_user, app))),
            ("Query & Edit User", app.info("Users", partial(_user_rows, app))),
            (
                "Edit Dept.",
                app.form(
                    "Edit Dept.", [("Dept.ID", ""), ("Dept.", "")], partial(_rename_department, app)
                ),
            ),
            (
                "Add Cards in Batch",
                app.form("Add Cards in Batch", [("Card", "")], partial(_batch_card, app)),
            ),
        ],
    )


def _add_user(app: KeypadApp, v: list[str]) -> str | None:
    user = User(
        user_id=int(v[0] or 0),
        name=v[1],
        password=v[2],
        cards=[v[3]] if v[3] else [],
        department=int(v[4] or 1),
        schedule_mode="personal" if v[5].upper() == "P" else "department",
        level="admin" if v[6].upper() == "A" else "user",
    )
    existing = app.terminal.users.get(user.user_id)
    if existing:
        user.fingerprints = list(existing.fingerprints)
    if v[7]:  # register one more fingerprint (at most 3, checked by the model)
        user.fingerprints.append(app.read_template(v[7]))
    app.terminal.put_users([user], actor=app.admin_id)
    return None


def _user_rows(app: KeypadApp) -> list[str]:
    rows = ["ID        Name              Auth. Method"]
    for user in sorted(app.terminal.users.values(), key=lambda u: u.user_id):
        methods = (
            "FP " * bool(user.fingerprints)
            + "PWD " * bool(user.password)
            + "Card" * bool(user.cards)
        )
        rows.append(f"{user.user_id:<9} {user.name:<17} {methods.strip()}")
    return rows


def _rename_department(app: KeypadApp, v: list[str]) -> str | None:
    app.terminal.rename_department(int(v[0] or 0), v[1], actor=app.admin_id)
    return None


def _batch_card(app: KeypadApp, v: list[str]) -> str | None:
    user = app.terminal.batch_add_card(v[0], actor=app.admin_id)
    return f"Card {user.cards[0]} -> user {user.user_id}; swipe the next card"


# --- 2 Data --------------------------------------------------------------------------


def data_menu(app: KeypadApp) -> MenuScreen:
    """Query User ATT. Record, Export Monthly ATT. Record / Report."""
    month = [("Month (YYYYMM)", f"{app.terminal.local_now():%Y%m}")]
    return MenuScreen(
        "2 Data",
        [
            (
                "Query User ATT. Record",
                app.form("Query", [("User ID", "")], partial(_records, app)),
            ),
            (
                "Export Monthly ATT. Record",
                app.form("Export Record", month, _export(app, "export_records")),
            ),
            (
                "Export Monthly ATT. Report",
                app.form("Export Report", month, _export(app, "export_report")),
            ),
        ],
    )


def _records(app: KeypadApp, v: list[str]) -> str | None:
    app.call_later(app.push_screen, app.records_screen(int(v[0] or 0)))
    return None


def _export(app: KeypadApp, operation: str) -> Callable[[list[str]], str | None]:
    def run(v: list[str]) -> str | None:
        year, month = int(v[0][:4]), int(v[0][4:6])
        path = (
            usb.export_month_records if operation == "export_records" else usb.export_month_report
        )(app.terminal, app.usb_path(), year, month)
        return f"Exported {path.name}"

    return run


# --- 3 Shift -------------------------------------------------------------------------


def shift_menu(app: KeypadApp) -> MenuScreen:
    """Shift Setup, Schedule Setup, Late/Early Leave Time Setup."""
    s = app.terminal.settings
    return MenuScreen(
        "3 Shift",
        [
            (
                "Shift Setup",
                app.form(
                    "Shift",
                    [("No.", "1"), ("Duty T1", ""), ("Duty T2", ""), ("Overtime", "")],
                    partial(_shift, app),
                ),
            ),
            ("Schedule Setup", lambda: app.push_screen(schedule_menu(app))),
            (
                "Late Time Setup",
                app.form(
                    "Late Time (min)",
                    [("Min", str(s.late_allowance_min))],
                    _setting(app, "late_allowance_min"),
                ),
            ),
            (
                "Early Leave Time Setup",
                app.form(
                    "Early Leave (min)",
                    [("Min", str(s.early_allowance_min))],
                    _setting(app, "early_allowance_min"),
                ),
            ),
        ],
    )


def _shift(app: KeypadApp, v: list[str]) -> str | None:
    number = int(v[0] or 0)
    row = {"Period1": v[1], "Period2": v[2], "Overtime": v[3]}
    rows = schedule.check_shift_table(app.terminal, {number - 1: row})
    schedule.save_shifts(app.terminal, rows, actor=app.admin_id)
    return None


def schedule_menu(app: KeypadApp) -> MenuScreen:
    """Shift > Schedule Setup: Users Schedule and Department (manual 2.7.2)."""
    month = f"{app.terminal.local_now():%Y%m}"
    return MenuScreen(
        "Schedule Setup",
        [
            (
                "User Schedule",
                app.form(
                    "User Schedule",
                    [("User ID", ""), ("Month (YYYYMM)", month)],
                    partial(_user_calendar, app),
                ),
            ),
            (
                "Department",
                app.form(
                    "Department Schedule",
                    [("Dept.", "1"), ("Month (YYYYMM)", month)],
                    partial(_department_calendar, app),
                ),
            ),
        ],
    )


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m").date()
    except ValueError as exc:
        raise TerminalError(f"month must be YYYYMM, not {text!r}") from exc


def _user_calendar(app: KeypadApp, v: list[str]) -> str | None:
    user = app.terminal.get_user(int(v[0] or 0))
    first = _month(v[1])

    def save(day: dt.date, code: int) -> None:
        schedule.set_user_schedule(app.terminal, user.user_id, {day: code}, actor=app.admin_id)

    codes = schedule.calendar_of(app.terminal, "user", user.user_id)
    department = app.terminal.settings.departments[user.department - 1]
    title = f"User {user.user_id} {user.name} ({department})"
    app.call_later(app.push_screen, CalendarScreen(title, first, codes, save))
    return None


def _department_calendar(app: KeypadApp, v: list[str]) -> str | None:
    number = int(v[0] or 0)
    departments = app.terminal.settings.departments
    if not 1 <= number <= len(departments):
        raise TerminalError(f"department must be 1-{len(departments)}")
    first = _month(v[1])

    def save(day: dt.date, code: int) -> None:
        schedule.set_department_schedule(app.terminal, number, {day: code}, actor=app.admin_id)

    codes = schedule.calendar_of(app.terminal, "department", number)
    title = f"Dept. {number:02d} {departments[number - 1]}"
    app.call_later(app.push_screen, CalendarScreen(title, first, codes, save))
    return None


def _setting(
    app: KeypadApp, name: str, convert: Callable[[str], Any] = int
) -> Callable[[list[str]], str | None]:
    def run(v: list[str]) -> str | None:
        app.terminal.update_settings(
            lambda s: setattr(s, name, convert(v[0])), actor=app.admin_id, what=name
        )
        return None

    return run


# --- 4 USB, 5 Features, 6 SysInfo ----------------------------------------------------


def usb_menu(app: KeypadApp) -> MenuScreen:
    """Import/Export user info, fingerprints, bells, auto switch time, shifts."""
    items = []
    for label, key in (
        ("User Info", "users"),
        ("User FP", "fingerprints"),
        ("Bell Info", "bells"),
        ("Auto Switch Time", "switch_times"),
        ("Shift & Schedule", "shifts"),
    ):
        for verb in ("import", "export"):
            items.append((f"{verb.title()} {label}", _usb_action(app, f"{verb}_{key}")))
    return MenuScreen("4 USB", items)


def _usb_action(app: KeypadApp, operation: str) -> Callable[[], object]:
    def confirm(v: list[str]) -> str | None:
        result = (
            getattr(usb, operation)(app.terminal, app.usb_path(), actor=app.admin_id)
            if operation.startswith("import")
            else getattr(usb, operation)(app.terminal, app.usb_path())
        )
        return f"Done: {result.name if isinstance(result, Path) else result}"

    return app.form(operation.replace("_", " ").title(), [("Confirm-OK", "")], confirm)


def features_menu(app: KeypadApp) -> MenuScreen:
    """Date & Time, Communication, Features."""
    s = app.terminal.settings
    return MenuScreen(
        "5 Features",
        [
            (
                "Date & Time",
                app.form("Date & Time", [("Time Zone", "GMT+00:00")], partial(_time_zone, app)),
            ),
            (
                "Communication",
                app.info(
                    "Communication",
                    lambda: [
                        f"IP: {s.network.ip}",
                        f"Mask: {s.network.mask}",
                        f"Gateway: {s.network.gateway}",
                        f"Port: {s.network.port}",
                    ],
                ),
            ),
            (
                "Recheck Interval",
                app.form(
                    "Recheck Interval (0-9)",
                    [("Min", str(s.recheck_interval_min))],
                    _setting(app, "recheck_interval_min"),
                ),
            ),
            (
                "Verification Method",
                app.form(
                    "Verification Method: " + " / ".join(VERIFICATION_METHODS),
                    [("Method", s.verification_method)],
                    _setting(app, "verification_method", str),
                ),
            ),
            (
                "Att. Event Mode",
                app.form(
                    "Att. Event Mode: auto_manual / forced / fixed",
                    [("Mode", s.event_mode), ("Fixed state", s.fixed_state)],
                    partial(_event_mode, app),
                ),
            ),
            (
                "System app check",
                app.form(
                    "Self-check: Auto, FP, Display, Voice, Key, USB",
                    [("Item", "Auto")],
                    partial(_self_check, app),
                ),
            ),
            (
                "Keep Door Open (s)",
                app.form(
                    "Keep Door Open (0-600 s)",
                    [("Sec", str(s.keep_door_open_s))],
                    _setting(app, "keep_door_open_s"),
                ),
            ),
        ],
    )


def _event_mode(app: KeypadApp, v: list[str]) -> str | None:
    def change(settings: Any) -> None:
        settings.event_mode, settings.fixed_state = v[0], v[1]

    app.terminal.update_settings(change, actor=app.admin_id, what="attendance event mode")
    return None


def _self_check(app: KeypadApp, v: list[str]) -> str | None:
    from openpss.devices.attendance.services import DeviceServices

    result = DeviceServices(app.terminal).self_check(v[0])
    return ", ".join(f"{item} {status}" for item, status in result.items())


def _time_zone(app: KeypadApp, v: list[str]) -> str | None:
    from openpss.devices.attendance.settings import parse_tz

    minutes = parse_tz(v[0])
    app.terminal.update_settings(
        lambda s: setattr(s, "timezone_minutes", minutes), actor=app.admin_id, what="time zone"
    )
    return None


def sysinfo_menu(app: KeypadApp) -> MenuScreen:
    """Admin list, admin operation log, registration info, device info."""
    t = app.terminal
    return MenuScreen(
        "6 SysInfo",
        [
            (
                "Admin Level Management",
                app.info(
                    "Administrators",
                    lambda: (
                        [f"{u.user_id} {u.name}" for u in t.users.values() if u.is_admin]
                        or ["none"]
                    ),
                ),
            ),
            ("Management", app.form("Operation log", [("User ID", "")], partial(_admin_log, app))),
            (
                "Registration Info",
                app.info(
                    "Registration Info",
                    lambda: [
                        f"{k}: {used}/{total}" for k, (used, total) in t.registration_info().items()
                    ],
                ),
            ),
            (
                "Device Info",
                app.info(
                    "Device Info",
                    lambda: [
                        f"Serial: {t.serial}",
                        f"Device No.: {t.settings.device_number:05d}",
                        f"Name: {t.settings.machine_name}",
                    ],
                ),
            ),
        ],
    )


def _admin_log(app: KeypadApp, v: list[str]) -> str | None:
    admin_id = int(v[0] or 0)
    rows = [
        f"{e.at:%Y-%m-%d %H:%M} {e.operation}"
        for e in app.terminal.admin_log
        if e.admin_id == admin_id
    ]
    app.call_later(app.push_screen, InfoScreen(f"Log of {admin_id}", rows or ["none"]))
    return None
