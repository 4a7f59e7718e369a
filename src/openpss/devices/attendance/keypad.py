"""Keypad front-end of the terminal (manual 2.1-2.14) as a Textual terminal UI.

Keys (keyboard -> device key): 0-9 and letters; Escape or F1 -> ESC/F1; Up or F2 -> ^/F2;
Down or F3 -> v/F3; Enter or F4 -> OK/F4; ``#`` or Backspace -> # (delete); ``m`` or F5 ->
the menu key. On the standby screen ESC/F1, ^/F2, v/F3 and OK/F4 choose Check In, Break Out,
Break In and Check Out for the next punch; typing a user ID then OK asks for the password and
clocks in; ``c`` is the card reader (type the card number), ``f`` the fingerprint sensor (pick
a template file from ``fingerprint_dir``, or type a path); ``#`` with nothing typed reviews a
person's records. The menu key opens 1 User ... 6 SysInfo (administrators only once one
exists). Shift > Schedule Setup shows a month calendar (figures 2-12/2-13) to set each day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textual.app import App

from openpss.devices.attendance import schedule, usb
from openpss.devices.attendance.keypad_screens import (
    CalendarScreen,
    FormScreen,
    InfoScreen,
    MenuScreen,
    StandbyScreen,
    TextScreen,
)
from openpss.devices.attendance.model import Terminal, TerminalError, User
from openpss.devices.attendance.settings import VERIFICATION_METHODS

__all__ = [
    "CalendarScreen",
    "FormScreen",
    "InfoScreen",
    "KeypadApp",
    "MenuScreen",
    "StandbyScreen",
    "TextScreen",
]


class KeypadApp(App[None]):
    """The terminal's screen and keypad."""

    def __init__(
        self,
        terminal: Terminal,
        *,
        usb_dir: Path | None = None,
        fingerprint_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.terminal = terminal
        self.usb_dir = usb_dir
        self.fingerprint_dir = fingerprint_dir  # stored templates the "sensor" offers
        self.admin_id = 0

    def on_mount(self) -> None:
        self.push_screen(StandbyScreen())

    # --- fingerprint sensor ---------------------------------------------------------------

    def read_template(self, name: str) -> bytes:
        """A stored fingerprint template: a file in the fingerprint folder, or a path."""
        if not name:
            raise TerminalError("choose a fingerprint template file")
        path = Path(name)
        if self.fingerprint_dir is not None and not path.is_absolute():
            path = self.fingerprint_dir / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise TerminalError(f"cannot read fingerprint template {name}: {exc.strerror}") from exc

    def template_files(self) -> list[str]:
        """Names of the templates in the fingerprint folder."""
        folder = self.fingerprint_dir
        if folder is None or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    def choose_fingerprint(self, use: Callable[[bytes], str | None]) -> None:
        """Placing a finger: pick a template from the folder (^/v, OK) or type its path."""
        files = self.template_files()
        if not files:
            title = "Place finger: template file"
            self.push_screen(
                FormScreen(title, [("File", "")], lambda v: use(self.read_template(v[0])))
            )
            return

        def pick(name: str) -> Callable[[], object]:
            def chosen() -> None:
                self.pop_screen()
                try:
                    use(self.read_template(name))
                except TerminalError as exc:
                    self.notify(str(exc), severity="error")

            return chosen

        self.push_screen(MenuScreen("Place finger", [(name, pick(name)) for name in files]))

    def review_records(self) -> None:
        """Standby ``#``: verify by ID + password, card or finger, then list the records."""

        def show(values: list[str]) -> str | None:
            if values[3]:
                user, _ = self.terminal.identify(fingerprint=self.read_template(values[3]))
            elif values[2]:
                user, _ = self.terminal.identify(card=values[2])
            else:
                user, _ = self.terminal.identify(user_id=int(values[0] or 0), password=values[1])
            self.call_later(self.push_screen, self._records_screen(user.user_id))
            return None

        fields = [("User ID", ""), ("PWD", ""), ("or Card", ""), ("or FP file", "")]
        self.push_screen(FormScreen("Review records", fields, show))

    def _records_screen(self, user_id: int) -> InfoScreen:
        user = self.terminal.get_user(user_id)
        rows = [
            f"{p.local:%Y-%m-%d %H:%M:%S} {p.state.value if p.state else ''} {p.method}"
            for p in self.terminal.user_punches(user_id)
        ]
        return InfoScreen(f"{user_id} {user.name}", rows or ["none"])

    # --- navigation ----------------------------------------------------------------------

    def open_menu(self) -> None:
        """The menu key: administrators only, once an administrator exists (manual 2.4)."""
        if not self.terminal.has_admin():
            self.admin_id = 0
            self.push_screen(self.main_menu())
            return

        def login(values: list[str]) -> str | None:
            if values[3]:  # the administrator placed a finger
                admin = self.terminal.open_menu(fingerprint=self.read_template(values[3]))
            elif values[2]:  # the administrator swiped a card instead
                admin = self.terminal.open_menu(card=values[2])
            else:
                admin = self.terminal.open_menu(user_id=int(values[0] or 0), password=values[1])
            self.admin_id = admin.user_id if admin else 0
            self.call_later(self.push_screen, self.main_menu())
            return None

        fields = [("User ID", ""), ("PWD", ""), ("or Card", ""), ("or FP file", "")]
        self.push_screen(FormScreen("Administrator login", fields, login))

    def main_menu(self) -> MenuScreen:
        """1 User ... 6 SysInfo."""
        return MenuScreen(
            "Main Menu",
            [
                ("User", lambda: self.push_screen(self.user_menu())),
                ("Data", lambda: self.push_screen(self.data_menu())),
                ("Shift", lambda: self.push_screen(self.shift_menu())),
                ("USB", lambda: self.push_screen(self.usb_menu())),
                ("Features", lambda: self.push_screen(self.features_menu())),
                ("SysInfo", lambda: self.push_screen(self.sysinfo_menu())),
            ],
        )

    def form(
        self,
        title: str,
        fields: Sequence[tuple[str, str]],
        submit: Callable[[list[str]], str | None],
    ) -> Callable[[], object]:
        """An action opening a form."""
        return lambda: self.push_screen(FormScreen(title, fields, submit))

    def info(self, title: str, rows: Callable[[], list[str]]) -> Callable[[], object]:
        """An action opening an information screen."""
        return lambda: self.push_screen(InfoScreen(title, rows()))

    # --- 1 User --------------------------------------------------------------------------

    def user_menu(self) -> MenuScreen:
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
                ("Add New User", self.form("Add New User", fields, self._add_user)),
                ("Query & Edit User", self.info("Users", self._user_rows)),
                (
                    "Edit Dept.",
                    self.form(
                        "Edit Dept.", [("Dept.ID", ""), ("Dept.", "")], self._rename_department
                    ),
                ),
                (
                    "Add Cards in Batch",
                    self.form("Add Cards in Batch", [("Card", "")], self._batch_card),
                ),
            ],
        )

    def _add_user(self, v: list[str]) -> str | None:
        user = User(
            user_id=int(v[0] or 0),
            name=v[1],
            password=v[2],
            cards=[v[3]] if v[3] else [],
            department=int(v[4] or 1),
            schedule_mode="personal" if v[5].upper() == "P" else "department",
            level="admin" if v[6].upper() == "A" else "user",
        )
        existing = self.terminal.users.get(user.user_id)
        if existing:
            user.fingerprints = list(existing.fingerprints)
        if v[7]:  # register one more fingerprint (at most 3, checked by the model)
            user.fingerprints.append(self.read_template(v[7]))
        self.terminal.put_users([user], actor=self.admin_id)
        return None

    def _user_rows(self) -> list[str]:
        rows = ["ID        Name              Auth. Method"]
        for user in sorted(self.terminal.users.values(), key=lambda u: u.user_id):
            methods = (
                "FP " * bool(user.fingerprints)
                + "PWD " * bool(user.password)
                + "Card" * bool(user.cards)
            )
            rows.append(f"{user.user_id:<9} {user.name:<17} {methods.strip()}")
        return rows

    def _rename_department(self, v: list[str]) -> str | None:
        self.terminal.rename_department(int(v[0] or 0), v[1], actor=self.admin_id)
        return None

    def _batch_card(self, v: list[str]) -> str | None:
        user = self.terminal.batch_add_card(v[0], actor=self.admin_id)
        return f"Card {user.cards[0]} -> user {user.user_id}; swipe the next card"

    # --- 2 Data --------------------------------------------------------------------------

    def data_menu(self) -> MenuScreen:
        """Query User ATT. Record, Export Monthly ATT. Record / Report."""
        month = [("Month (YYYYMM)", f"{self.terminal.local_now():%Y%m}")]
        return MenuScreen(
            "2 Data",
            [
                ("Query User ATT. Record", self.form("Query", [("User ID", "")], self._records)),
                (
                    "Export Monthly ATT. Record",
                    self.form("Export Record", month, self._export("export_records")),
                ),
                (
                    "Export Monthly ATT. Report",
                    self.form("Export Report", month, self._export("export_report")),
                ),
            ],
        )

    def _records(self, v: list[str]) -> str | None:
        self.call_later(self.push_screen, self._records_screen(int(v[0] or 0)))
        return None

    def _export(self, operation: str) -> Callable[[list[str]], str | None]:
        def run(v: list[str]) -> str | None:
            year, month = int(v[0][:4]), int(v[0][4:6])
            path = (
                usb.export_month_records
                if operation == "export_records"
                else usb.export_month_report
            )(self.terminal, self._usb(), year, month)
            return f"Exported {path.name}"

        return run

    def _usb(self) -> Path:
        if self.usb_dir is None:
            raise TerminalError("no USB drive inserted")
        return self.usb_dir

    # --- 3 Shift -------------------------------------------------------------------------

    def shift_menu(self) -> MenuScreen:
        """Shift Setup, Schedule Setup, Late/Early Leave Time Setup."""
        s = self.terminal.settings
        return MenuScreen(
            "3 Shift",
            [
                (
                    "Shift Setup",
                    self.form(
                        "Shift",
                        [("No.", "1"), ("Duty T1", ""), ("Duty T2", ""), ("Overtime", "")],
                        self._shift,
                    ),
                ),
                ("Schedule Setup", lambda: self.push_screen(self.schedule_menu())),
                (
                    "Late Time Setup",
                    self.form(
                        "Late Time (min)",
                        [("Min", str(s.late_allowance_min))],
                        self._setting("late_allowance_min"),
                    ),
                ),
                (
                    "Early Leave Time Setup",
                    self.form(
                        "Early Leave (min)",
                        [("Min", str(s.early_allowance_min))],
                        self._setting("early_allowance_min"),
                    ),
                ),
            ],
        )

    def _shift(self, v: list[str]) -> str | None:
        number = int(v[0] or 0)
        row = {"Period1": v[1], "Period2": v[2], "Overtime": v[3]}
        rows = schedule.check_shift_table(self.terminal, {number - 1: row})
        schedule.save_shifts(self.terminal, rows, actor=self.admin_id)
        return None

    def schedule_menu(self) -> MenuScreen:
        """Shift > Schedule Setup: Users Schedule and Department (manual 2.7.2)."""
        month = f"{self.terminal.local_now():%Y%m}"
        return MenuScreen(
            "Schedule Setup",
            [
                (
                    "User Schedule",
                    self.form(
                        "User Schedule",
                        [("User ID", ""), ("Month (YYYYMM)", month)],
                        self._user_calendar,
                    ),
                ),
                (
                    "Department",
                    self.form(
                        "Department Schedule",
                        [("Dept.", "1"), ("Month (YYYYMM)", month)],
                        self._department_calendar,
                    ),
                ),
            ],
        )

    @staticmethod
    def _month(text: str) -> dt.date:
        try:
            return dt.datetime.strptime(text, "%Y%m").date()
        except ValueError as exc:
            raise TerminalError(f"month must be YYYYMM, not {text!r}") from exc

    def _user_calendar(self, v: list[str]) -> str | None:
        user = self.terminal.get_user(int(v[0] or 0))
        first = self._month(v[1])

        def save(day: dt.date, code: int) -> None:
            schedule.set_user_schedule(
                self.terminal, user.user_id, {day: code}, actor=self.admin_id
            )

        codes = schedule.calendar_of(self.terminal, "user", user.user_id)
        department = self.terminal.settings.departments[user.department - 1]
        title = f"User {user.user_id} {user.name} ({department})"
        self.call_later(self.push_screen, CalendarScreen(title, first, codes, save))
        return None

    def _department_calendar(self, v: list[str]) -> str | None:
        number = int(v[0] or 0)
        departments = self.terminal.settings.departments
        if not 1 <= number <= len(departments):
            raise TerminalError(f"department must be 1-{len(departments)}")
        first = self._month(v[1])

        def save(day: dt.date, code: int) -> None:
            schedule.set_department_schedule(
                self.terminal, number, {day: code}, actor=self.admin_id
            )

        codes = schedule.calendar_of(self.terminal, "department", number)
        title = f"Dept. {number:02d} {departments[number - 1]}"
        self.call_later(self.push_screen, CalendarScreen(title, first, codes, save))
        return None

    def _setting(
        self, name: str, convert: Callable[[str], Any] = int
    ) -> Callable[[list[str]], str | None]:
        def run(v: list[str]) -> str | None:
            self.terminal.update_settings(
                lambda s: setattr(s, name, convert(v[0])), actor=self.admin_id, what=name
            )
            return None

        return run

    # --- 4 USB, 5 Features, 6 SysInfo ----------------------------------------------------

    def usb_menu(self) -> MenuScreen:
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
                items.append((f"{verb.title()} {label}", self._usb_action(f"{verb}_{key}")))
        return MenuScreen("4 USB", items)

    def _usb_action(self, operation: str) -> Callable[[], object]:
        def confirm(v: list[str]) -> str | None:
            result = (
                getattr(usb, operation)(self.terminal, self._usb(), actor=self.admin_id)
                if operation.startswith("import")
                else getattr(usb, operation)(self.terminal, self._usb())
            )
            return f"Done: {result.name if isinstance(result, Path) else result}"

        return self.form(operation.replace("_", " ").title(), [("Confirm-OK", "")], confirm)

    def features_menu(self) -> MenuScreen:
        """Date & Time, Communication, Features."""
        s = self.terminal.settings
        return MenuScreen(
            "5 Features",
            [
                (
                    "Date & Time",
                    self.form("Date & Time", [("Time Zone", "GMT+00:00")], self._time_zone),
                ),
                (
                    "Communication",
                    self.info(
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
                    self.form(
                        "Recheck Interval (0-9)",
                        [("Min", str(s.recheck_interval_min))],
                        self._setting("recheck_interval_min"),
                    ),
                ),
                (
                    "Verification Method",
                    self.form(
                        "Verification Method: " + " / ".join(VERIFICATION_METHODS),
                        [("Method", s.verification_method)],
                        self._setting("verification_method", str),
                    ),
                ),
                (
                    "Att. Event Mode",
                    self.form(
                        "Att. Event Mode: auto_manual / forced / fixed",
                        [("Mode", s.event_mode), ("Fixed state", s.fixed_state)],
                        self._event_mode,
                    ),
                ),
                (
                    "System self check",
                    self.form(
                        "Self-check: Auto, FP, Display, Voice, Key, USB",
                        [("Item", "Auto")],
                        self._self_check,
                    ),
                ),
                (
                    "Keep Door Open (s)",
                    self.form(
                        "Keep Door Open (0-600 s)",
                        [("Sec", str(s.keep_door_open_s))],
                        self._setting("keep_door_open_s"),
                    ),
                ),
            ],
        )

    def _event_mode(self, v: list[str]) -> str | None:
        def change(settings: Any) -> None:
            settings.event_mode, settings.fixed_state = v[0], v[1]

        self.terminal.update_settings(change, actor=self.admin_id, what="attendance event mode")
        return None

    def _self_check(self, v: list[str]) -> str | None:
        from openpss.devices.attendance.services import DeviceServices

        result = DeviceServices(self.terminal).self_check(v[0])
        return ", ".join(f"{item} {status}" for item, status in result.items())

    def _time_zone(self, v: list[str]) -> str | None:
        from openpss.devices.attendance.settings import parse_tz

        minutes = parse_tz(v[0])
        self.terminal.update_settings(
            lambda s: setattr(s, "timezone_minutes", minutes), actor=self.admin_id, what="time zone"
        )
        return None

    def sysinfo_menu(self) -> MenuScreen:
        """Admin list, admin operation log, registration info, device info."""
        t = self.terminal
        return MenuScreen(
            "6 SysInfo",
            [
                (
                    "Admin Level Management",
                    self.info(
                        "Administrators",
                        lambda: (
                            [f"{u.user_id} {u.name}" for u in t.users.values() if u.is_admin]
                            or ["none"]
                        ),
                    ),
                ),
                ("Management", self.form("Operation log", [("User ID", "")], self._admin_log)),
                (
                    "Registration Info",
                    self.info(
                        "Registration Info",
                        lambda: [
                            f"{k}: {used}/{total}"
                            for k, (used, total) in t.registration_info().items()
                        ],
                    ),
                ),
                (
                    "Device Info",
                    self.info(
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

    def _admin_log(self, v: list[str]) -> str | None:
        admin_id = int(v[0] or 0)
        rows = [
            f"{e.at:%Y-%m-%d %H:%M} {e.operation}"
            for e in self.terminal.admin_log
            if e.admin_id == admin_id
        ]
        self.call_later(self.push_screen, InfoScreen(f"Log of {admin_id}", rows or ["none"]))
        return None
