"""Keypad front-end of the terminal (manual 2.1-2.14) as a Textual terminal UI.

Keys (keyboard -> device key): 0-9 and letters; Escape or F1 -> ESC/F1; Up or F2 -> ^/F2;
Down or F3 -> v/F3; Enter or F4 -> OK/F4; ``#`` or Backspace -> # (delete); ``m`` or F5 ->
the menu key. On the standby screen ESC/F1, ^/F2, v/F3 and OK/F4 choose Check In, Break Out,
Break In and Check Out for the next punch; typing a user ID then OK asks for the password and
clocks in; ``c`` is the card reader (type the card number), ``f`` the fingerprint sensor (pick
a template file from ``fingerprint_dir``, or type a path); ``#`` with nothing typed reviews a
person's records. The menu key opens 1 User ... 6 SysInfo (administrators only once one
exists). Shift > Schedule Setup shows a month calendar (figures 2-12/2-13) to set each day.
This module is the engine (screens, navigation, login, sensor); the menus are declared in
``keypad_menus``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App

from openpss.devices.attendance import keypad_menus
from openpss.devices.attendance.keypad_screens import (
    CalendarScreen,
    FormScreen,
    InfoScreen,
    MenuScreen,
    StandbyScreen,
    TextScreen,
)
from openpss.devices.attendance.model import Terminal, TerminalError

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
            self.call_later(self.push_screen, self.records_screen(user.user_id))
            return None

        fields = [("User ID", ""), ("PWD", ""), ("or Card", ""), ("or FP file", "")]
        self.push_screen(FormScreen("Review records", fields, show))

    def records_screen(self, user_id: int) -> InfoScreen:
        """A user's punches, newest last."""
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
        """1 User ... 6 SysInfo (declared in keypad_menus)."""
        return keypad_menus.main_menu(self)

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

    def usb_path(self) -> Path:
        """The inserted USB drive's folder; TerminalError when none is inserted."""
        if self.usb_dir is None:
            raise TerminalError("no USB drive inserted")
        return self.usb_dir
