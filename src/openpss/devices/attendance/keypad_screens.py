"""Screens of the keypad UI: standby, menus, forms and information pages (see keypad.py)."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.model import Terminal, TerminalError

BATTERY_FIRST_START = 25  # manual 2.2: "the battery level is 25%" at first start
KEY_ESC, KEY_UP, KEY_DOWN, KEY_OK = ("escape", "f1"), ("up", "f2"), ("down", "f3"), ("enter", "f4")
KEY_DELETE, KEY_MENU = ("number_sign", "backspace"), ("m", "f5")
STANDBY_STATES = {
    "escape": AttendanceState.check_in,
    "f1": AttendanceState.check_in,
    "up": AttendanceState.break_out,
    "f2": AttendanceState.break_out,
    "down": AttendanceState.break_in,
    "f3": AttendanceState.break_in,
}
DATE_PATTERNS = {"YYYY-MM-DD": "%Y-%m-%d", "MM-DD-YYYY": "%m-%d-%Y", "DD-MM-YYYY": "%d-%m-%Y"}


class KeypadHost(Protocol):
    """What the screens need from the application."""

    terminal: Terminal

    def open_menu(self) -> None:
        """The menu key."""

    def choose_fingerprint(self, use: Callable[[bytes], str | None]) -> None:
        """The fingerprint sensor: pick a stored template and hand its bytes to ``use``."""

    def review_records(self) -> None:
        """The # shortcut: verify a person, then show their records."""


class TextScreen(Screen[None]):
    """A screen drawn as lines of text in one Static widget."""

    def compose(self) -> ComposeResult:
        yield Static(id="body")

    def on_mount(self) -> None:
        self.redraw()

    def lines(self) -> list[str]:
        """The text to show."""
        return []

    def redraw(self) -> None:
        """Render `lines()`."""
        self.query_one("#body", Static).update("\n".join(self.lines()))

    @property
    def keypad(self) -> KeypadHost:
        """The application (typed)."""
        return cast(KeypadHost, self.app)


class StandbyScreen(TextScreen):
    """Clock, network and battery state; clocking in by ID + password."""

    def __init__(self) -> None:
        super().__init__()
        self.typed = ""
        self.state: AttendanceState | None = None
        self.message = ""

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(1.0, self.redraw)

    def lines(self) -> list[str]:
        t = self.keypad.terminal
        local = t.local_now()
        pattern = DATE_PATTERNS[t.settings.date_format]
        return [
            f"{local:%H:%M:%S}   {local.strftime(pattern)}",
            f"Network: connected ({t.settings.network.ip})   Battery: {BATTERY_FIRST_START}%",
            f"State: {self.state.value if self.state else 'auto'}",
            f"User ID: {self.typed}"
            if self.typed
            else "Enter user ID, place a finger (f), swipe a card (c), or press the menu key",
            self.message,
            f"Last record: No. {last.rec_no} user {last.user_id} "
            + (last.state.value if last.state else f"refused: {last.reason}")
            if (last := t.punches[-1] if t.punches else None)
            else "",
        ]

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key.isdigit():
            self.typed = (self.typed + key)[:8]
        elif key in KEY_DELETE and self.typed:
            self.typed = self.typed[:-1]
        elif key in KEY_DELETE:  # "#" on standby: shortcut for reviewing records
            self.keypad.review_records()
        elif key in KEY_OK and self.typed:
            user_id, self.typed = int(self.typed), ""
            self.app.push_screen(
                FormScreen("Password", [("PWD", "")], lambda v: self._punch(user_id, v[0]))
            )
        elif key in KEY_OK:
            self.state = AttendanceState.check_out
        elif key in STANDBY_STATES:
            self.state = STANDBY_STATES[key]
        elif key in KEY_MENU:
            self.keypad.open_menu()
        elif key == "c":  # the card reader: type the number of the card swiped
            self.app.push_screen(FormScreen("Swipe card", [("Card", "")], self._swipe))
        elif key == "f":  # the fingerprint sensor: choose a stored template file
            self.keypad.choose_fingerprint(self._finger)
        self.redraw()

    def _finger(self, template: bytes) -> str | None:
        result = self.keypad.terminal.present(fingerprint=template, state=self.state)
        self.message = result.message if result.accepted else f"Failed: {result.message}"
        self.state = None
        self.redraw()
        return None

    def _swipe(self, values: list[str]) -> str | None:
        result = self.keypad.terminal.present(card=values[0], state=self.state)
        self.message = result.message if result.accepted else f"Failed: {result.message}"
        self.state = None
        self.redraw()
        return None

    def _punch(self, user_id: int, password: str) -> str | None:
        result = self.keypad.terminal.present(user_id=user_id, password=password, state=self.state)
        self.message = result.message if result.accepted else f"Failed: {result.message}"
        self.state = None
        self.redraw()
        return None


class MenuScreen(TextScreen):
    """A numbered menu: ^/v move, OK opens, a digit opens directly, ESC goes back."""

    def __init__(self, title: str, items: Sequence[tuple[str, Callable[[], object]]]) -> None:
        super().__init__()
        self.title_text = title
        self.items = list(items)
        self.cursor = 0

    def lines(self) -> list[str]:
        rows = [self.title_text]
        for index, (label, _) in enumerate(self.items):
            rows.append(f"{'>' if index == self.cursor else ' '} {index + 1} {label}")
        return rows

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in KEY_UP:
            self.cursor = (self.cursor - 1) % len(self.items)
        elif key in KEY_DOWN:
            self.cursor = (self.cursor + 1) % len(self.items)
        elif key.isdigit() and 1 <= int(key) <= len(self.items):
            self.cursor = int(key) - 1
            self.items[self.cursor][1]()
        elif key in KEY_OK:
            self.items[self.cursor][1]()
        elif key in KEY_ESC:
            self.app.pop_screen()
            return
        self.redraw()


class FormScreen(TextScreen):
    """Fields typed one after the other; OK moves on, the last OK submits.

    ``submit`` returns a message to show (and stays) or None (the form closes); a
    TerminalError it raises is shown and the form stays open for correction.
    """

    def __init__(
        self,
        title: str,
        fields: Sequence[tuple[str, str]],
        submit: Callable[[list[str]], str | None],
    ) -> None:
        super().__init__()
        self.title_text = title
        self.labels = [label for label, _ in fields]
        self.values = [value for _, value in fields]
        self.submit = submit
        self.current = 0
        self.message = ""

    def lines(self) -> list[str]:
        rows = [self.title_text]
        for index, (label, value) in enumerate(zip(self.labels, self.values, strict=True)):
            shown = "*" * len(value) if label in ("PWD", "Password") else value
            rows.append(f"{'>' if index == self.current else ' '} {label}: {shown}")
        return [*rows, self.message]

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in KEY_ESC:
            self.app.pop_screen()
            return
        if key in KEY_DELETE:
            self.values[self.current] = self.values[self.current][:-1]
        elif key in KEY_UP:
            self.current = max(0, self.current - 1)
        elif key in KEY_DOWN:
            self.current = min(len(self.values) - 1, self.current + 1)
        elif key in KEY_OK:
            self._ok()
            return
        elif event.character and event.character.isprintable() and len(event.character) == 1:
            self.values[self.current] += event.character
        self.redraw()

    def _ok(self) -> None:
        if self.current < len(self.values) - 1:
            self.current += 1
            self.redraw()
            return
        try:
            message = self.submit(list(self.values))
        except (TerminalError, ValueError) as exc:
            self.message = f"Error: {exc}"
            self.redraw()
            return
        if message is None:
            self.app.pop_screen()
        else:
            self.message = message
            self.redraw()


class InfoScreen(TextScreen):
    """Read-only lines; ESC or OK goes back."""

    def __init__(self, title: str, rows: Sequence[str]) -> None:
        super().__init__()
        self.rows = [title, *rows]

    def lines(self) -> list[str]:
        return self.rows

    def on_key(self, event: events.Key) -> None:
        if event.key in KEY_ESC or event.key in KEY_OK:
            self.app.pop_screen()


SCHEDULE_CODES = range(0, 27)  # manual 2.7.2: 0 break, 1-24 shifts, 25 business trip, 26 leave
SCHEDULE_LABELS = {0: "break", 25: "business trip", 26: "leave"}
WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


class CalendarScreen(TextScreen):
    """A month calendar with the schedule code of each day (manual figures 2-12, 2-13).

    ^/v (or typed digits) select a date, OK edits it; then ^/v or digits choose the schedule
    (0 break, 1-24 shift, 25 business trip, 26 leave) and OK saves it; ESC goes back.
    ``save(day, code)`` stores one day and raises TerminalError when the code is refused.
    """

    def __init__(
        self,
        title: str,
        first: dt.date,
        codes: dict[dt.date, int],
        save: Callable[[dt.date, int], None],
    ) -> None:
        super().__init__()
        self.title_text = title
        self.first = first.replace(day=1)
        self.days = calendar.monthrange(self.first.year, self.first.month)[1]
        self.codes = dict(codes)
        self.save = save
        self.day = 1
        self.editing: int | None = None  # the code being chosen, None while selecting a date
        self.typed = ""
        self.message = ""

    def _date(self, day: int) -> dt.date:
        return self.first.replace(day=day)

    def _cell(self, day: int) -> str:
        code = self.codes.get(self._date(day))
        if day == self.day and self.editing is not None:
            code = self.editing
        text = f"{day:>2} {'' if code is None else code:<2}"
        return f"[{text}]" if day == self.day else f" {text} "

    def lines(self) -> list[str]:
        rows = [f"{self.title_text}  {self.first:%Y-%m}", " ".join(f"{d:^7}" for d in WEEKDAYS)]
        offset = (self.first.weekday() + 1) % 7  # the calendar starts on Sunday
        cells = ["       "] * offset + [self._cell(d) for d in range(1, self.days + 1)]
        rows += [" ".join(cells[i : i + 7]) for i in range(0, len(cells), 7)]
        selected = self._date(self.day)
        if self.editing is None:
            rows.append(f"Date {selected}: OK to set its schedule")
        else:
            label = SCHEDULE_LABELS.get(self.editing, f"shift {self.editing}")
            rows.append(f"Date {selected}: schedule {self.editing} ({label}), OK to save")
        return [*rows, self.message]

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in KEY_ESC:
            if self.editing is None:
                self.app.pop_screen()
                return
            self.editing, self.typed = None, ""
        elif self.editing is None:
            self._select_date(key)
        else:
            self._choose_code(key)
        self.redraw()

    def _select_date(self, key: str) -> None:
        if key in KEY_UP:
            self.day = self.day - 1 or self.days
        elif key in KEY_DOWN:
            self.day = self.day % self.days + 1
        elif key.isdigit():
            self.typed = (self.typed + key)[-2:]
            if 1 <= int(self.typed) <= self.days:
                self.day = int(self.typed)
        elif key in KEY_OK:
            self.editing, self.typed = self.codes.get(self._date(self.day), 0), ""

    def _choose_code(self, key: str) -> None:
        count = len(SCHEDULE_CODES)
        assert self.editing is not None
        if key in KEY_UP:
            self.editing = (self.editing + 1) % count
        elif key in KEY_DOWN:
            self.editing = (self.editing - 1) % count
        elif key.isdigit():
            self.typed = (self.typed + key)[-2:]
            if int(self.typed) in SCHEDULE_CODES:
                self.editing = int(self.typed)
        elif key in KEY_OK:
            day, code = self._date(self.day), self.editing
            try:
                self.save(day, code)
            except TerminalError as exc:
                self.message = f"Error: {exc}"
                return
            self.codes[day] = code
            self.editing, self.typed, self.message = None, "", f"Saved {day}: {code}"
