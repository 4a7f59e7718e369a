"""The keypad (Textual) driven with Textual's test pilot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual.pilot import Pilot

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance.keypad import (
    FormScreen,
    InfoScreen,
    KeypadApp,
    MenuScreen,
    StandbyScreen,
    TextScreen,
)
from openpss.devices.attendance.model import Terminal, User


def make_terminal() -> Terminal:
    terminal = Terminal(serial="KP1", clock=lambda: dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))
    terminal.put_users([User(user_id=12, name="Ann", password="4321")])
    return terminal


def text(app: KeypadApp) -> str:
    screen = app.screen
    assert isinstance(screen, TextScreen)
    return "\n".join(screen.lines())


async def type_text(pilot: Pilot[None], value: str) -> None:
    for character in value:
        await pilot.press(character)


async def test_standby_shows_clock_network_and_battery() -> None:
    app = KeypadApp(make_terminal())
    async with app.run_test() as pilot:
        await pilot.pause()
        shown = text(app)
        assert "09:00:00   2026-03-02" in shown
        assert "Network: connected (192.168.1.108)" in shown and "Battery: 25%" in shown


async def test_clock_in_with_id_and_password_and_break_out_key() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("f2")  # ^/F2 on standby: BREAK OUT
        await type_text(pilot, "12")
        await pilot.press("enter")
        assert isinstance(app.screen, FormScreen)
        await type_text(pilot, "4321")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StandbyScreen)
        assert "Ann: BreakOut" in text(app)
    [punch] = terminal.punches
    assert punch.method == "password" and punch.state is AttendanceState.break_out


async def test_wrong_password_is_shown() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await type_text(pilot, "12")
        await pilot.press("enter")
        await type_text(pilot, "1")
        await pilot.press("enter")
        await pilot.pause()
        assert "Failed: wrong user ID or password" in text(app)
    assert terminal.punches == []


async def test_add_administrator_then_menu_needs_admin_login() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("m")  # no administrator yet: anyone enters
        assert isinstance(app.screen, MenuScreen) and "1 User" in text(app)
        await pilot.press("1", "1")  # 1 User > Add New User
        assert isinstance(app.screen, FormScreen)
        for value in ("7", "Boss", "9999", "C7"):
            await type_text(pilot, value)
            await pilot.press("enter")
        await pilot.press("enter", "enter", "backspace", "A")  # Dept. 1, Department, Admin
        await pilot.press("enter")
        await pilot.pause()
        assert terminal.get_user(7).is_admin
        for _ in range(3):
            await pilot.press("escape")
        assert isinstance(app.screen, StandbyScreen)
        await pilot.press("m")
        assert "Administrator login" in text(app)
        await type_text(pilot, "12")
        await pilot.press("enter")
        await type_text(pilot, "4321")
        await pilot.press("enter", "enter")
        assert "only administrators can enter the main menu" in text(app)
        await pilot.press("escape", "m")
        await type_text(pilot, "7")
        await pilot.press("enter")
        await type_text(pilot, "9999")
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen) and "Main Menu" in text(app)
        assert app.admin_id == 7
        await pilot.press("escape", "m", "enter", "enter")  # log in with the admin's card
        await type_text(pilot, "C7")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen) and app.admin_id == 7


async def test_department_names_cannot_be_empty_on_the_keypad() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("m", "1", "3")  # 1 User > Edit Dept.
        await type_text(pilot, "4")
        await pilot.press("enter", "enter")
        assert "Error: department names cannot be empty" in text(app)
        await type_text(pilot, "Sales")
        await pilot.press("enter")
        await pilot.pause()
    assert terminal.settings.departments[3] == "Sales"


async def test_sysinfo_and_recheck_interval_limits() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("m", "6", "3")  # 6 SysInfo > Registration Info
        assert isinstance(app.screen, InfoScreen) and "users: 1/10000" in text(app)
        await pilot.press("escape", "escape", "5", "3")  # 5 Features > Recheck Interval
        await pilot.press("backspace")
        await type_text(pilot, "12")
        await pilot.press("enter")
        assert "recheck interval must be 0-9 minutes, not 12" in text(app)
        await pilot.press("backspace", "backspace")
        await type_text(pilot, "4")
        await pilot.press("enter")
        await pilot.pause()
    assert terminal.settings.recheck_interval_min == 4


async def test_usb_export_from_the_menu(tmp_path: Path) -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal, usb_dir=tmp_path)
    async with app.run_test() as pilot:
        await pilot.press("m", "4", "down", "enter", "enter")  # 4 USB > Export User Info
        assert "Done: UserInfo.xlsx" in text(app)
    assert (tmp_path / "UserInfo.xlsx").is_file()


async def test_card_reader_swipe_and_last_record_line() -> None:
    terminal = make_terminal()
    terminal.put_users([User(user_id=13, name="Cy", cards=["C13"])])
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("f1", "c")  # ESC/F1 on standby: Check In; then the card reader
        await type_text(pilot, "c13")
        await pilot.press("enter")
        await pilot.pause()
        shown = text(app)
        assert "Cy: CheckIn" in shown and "Last record: No. 1 user 13 CheckIn" in shown
    assert terminal.punches[0].method == "card"
