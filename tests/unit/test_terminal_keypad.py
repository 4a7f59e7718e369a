"""The keypad (Textual) driven with Textual's test pilot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from textual.pilot import Pilot

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance import schedule
from openpss.devices.attendance.keypad import (
    CalendarScreen,
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
    # The refused attempt is kept as a record (Status 0) with its reason.
    assert [(p.success, p.reason) for p in terminal.punches] == [
        (False, "wrong user ID or password")
    ]


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
        await pilot.press("enter", "enter")  # no fingerprint file
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
        await pilot.press("enter", "enter", "enter")
        assert "only administrators can enter the main menu" in text(app)
        await pilot.press("escape", "m")
        await type_text(pilot, "7")
        await pilot.press("enter")
        await type_text(pilot, "9999")
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen) and "Main Menu" in text(app)
        assert app.admin_id == 7
        await pilot.press("escape", "m", "enter", "enter")  # log in with the admin's card
        await type_text(pilot, "C7")
        await pilot.press("enter", "enter")
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


TEMPLATE = bytes(range(200))


def _fingerprint_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "fingerprints"
    folder.mkdir()
    (folder / "ann_thumb.fpt").write_bytes(TEMPLATE)
    (folder / "stranger.fpt").write_bytes(bytes(reversed(TEMPLATE)))
    return folder


async def test_fingerprint_sensor_picks_a_stored_template(tmp_path: Path) -> None:
    terminal = make_terminal()
    terminal.put_users([User(user_id=12, name="Ann", password="4321", fingerprints=[TEMPLATE])])
    app = KeypadApp(terminal, fingerprint_dir=_fingerprint_folder(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press("f")  # place a finger: the stored templates are offered
        assert isinstance(app.screen, MenuScreen)
        assert "1 ann_thumb.fpt" in text(app) and "2 stranger.fpt" in text(app)
        await pilot.press("down", "enter")  # the stranger's finger
        await pilot.pause()
        assert isinstance(app.screen, StandbyScreen)
        assert "Failed: fingerprint not recognized" in text(app)
        await pilot.press("f3", "f", "1")  # v/F3: BREAK IN, then Ann's thumb
        await pilot.pause()
        assert "Ann: BreakIn" in text(app)
    assert [(p.method, p.state, p.reason) for p in terminal.punches] == [
        ("fingerprint", None, "fingerprint not recognized"),
        ("fingerprint", AttendanceState.break_in, ""),
    ]


async def test_fingerprint_without_folder_asks_for_a_file(tmp_path: Path) -> None:
    terminal = make_terminal()
    terminal.put_users([User(user_id=12, name="Ann", fingerprints=[TEMPLATE])])
    (tmp_path / "thumb.bin").write_bytes(TEMPLATE)
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, FormScreen) and "template file" in text(app)
        await type_text(pilot, str(tmp_path / "missing.bin"))
        await pilot.press("enter")
        assert "Error: cannot read fingerprint template" in text(app)
        for _ in str(tmp_path / "missing.bin"):
            await pilot.press("backspace")
        await type_text(pilot, str(tmp_path / "thumb.bin"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StandbyScreen) and "Ann: CheckIn" in text(app)


async def _add_user_with_finger(pilot: Pilot[None], template_name: str) -> None:
    await pilot.press("1")  # on 1 User: Add New User
    for value in ("8", "Dee", "", "", "1", "D"):
        await type_text(pilot, value)
        await pilot.press("enter")
    await pilot.press("backspace", "A", "enter")  # administrator
    await type_text(pilot, template_name)
    await pilot.press("enter")
    await pilot.pause()


async def test_enrol_fingerprints_and_log_in_by_finger(tmp_path: Path) -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal, fingerprint_dir=_fingerprint_folder(tmp_path))
    async with app.run_test() as pilot:
        await pilot.press("m", "1")  # no administrator yet; 1 User
        for name in ("ann_thumb.fpt", "stranger.fpt", "ann_thumb.fpt"):
            await _add_user_with_finger(pilot, name)
            assert isinstance(app.screen, MenuScreen)  # the form closed: saved
        assert len(terminal.get_user(8).fingerprints) == 3
        await _add_user_with_finger(pilot, "stranger.fpt")
        assert "a user can have at most 3 fingerprints" in text(app)
        await pilot.press("escape", "escape", "escape")
        assert isinstance(app.screen, StandbyScreen)
        await pilot.press("m", "enter", "enter", "enter")
        await type_text(pilot, "stranger.fpt")  # the administrator's second finger
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen) and app.admin_id == 8
    assert len(terminal.get_user(8).fingerprints) == 3


async def test_user_schedule_on_the_calendar() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("m", "3", "enter")  # 3 Shift > Shift Setup: shift 1
        await pilot.press("enter")
        await type_text(pilot, "08:00-12:00")
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        await pilot.press("2", "1")  # Schedule Setup > User Schedule
        await type_text(pilot, "12")
        await pilot.press("enter", "enter")  # this month, 2026-03
        await pilot.pause()
        assert isinstance(app.screen, CalendarScreen)
        shown = text(app)
        assert "User 12 Ann (HQ)  2026-03" in shown
        assert shown.splitlines()[1].split() == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        assert shown.splitlines()[2].startswith("[ 1   ]   2")  # 1 March 2026 is a Sunday
        await pilot.press("down", "enter")  # 2 March, edit its schedule
        await pilot.press("up")  # 0 -> 1
        assert "schedule 1 (shift 1), OK to save" in text(app)
        await pilot.press("enter")
        assert "Saved 2026-03-02: 1" in text(app)
        await type_text(pilot, "3")  # 3 March: shift 7 is not configured
        await pilot.press("enter", "7", "enter")
        assert "Error: schedule of 12 on 2026-03-03: schedule 7 names shift 7" in text(app)
        await pilot.press("2", "6", "enter")  # 26: leave of absence
        assert "Saved 2026-03-03: 26" in text(app)
        await pilot.press("up", "up", "enter", "down", "escape")  # 1 March: chosen, cancelled
        assert "Date 2026-03-01: OK to set its schedule" in text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, MenuScreen) and "Schedule Setup" in text(app)
    assert schedule.calendar_of(terminal, "user", 12) == {
        dt.date(2026, 3, 2): 1,
        dt.date(2026, 3, 3): 26,
    }


async def test_department_schedule_on_the_calendar() -> None:
    terminal = make_terminal()
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await pilot.press("m", "3", "2", "2")  # 3 Shift > Schedule Setup > Department
        await pilot.press("backspace")
        await type_text(pilot, "21")
        await pilot.press("enter", "enter")
        assert "Error: department must be 1-20" in text(app)
        await pilot.press("up", "backspace", "backspace")
        await type_text(pilot, "2")
        await pilot.press("enter", "backspace", "backspace")
        await type_text(pilot, "04")  # 2026-04
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CalendarScreen) and "Dept. 02 PM1  2026-04" in text(app)
        await pilot.press("up", "enter", "down", "enter")  # 30 April: 26 (wraps below 0)
        assert "Saved 2026-04-30: 26" in text(app)
    assert schedule.calendar_of(terminal, "department", 2) == {dt.date(2026, 4, 30): 26}


async def test_hash_key_on_standby_reviews_a_persons_records() -> None:
    terminal = make_terminal()
    terminal.put_users([User(user_id=13, name="Cy", cards=["C13"])])
    assert terminal.present(user_id=12, password="4321").accepted
    app = KeypadApp(terminal)
    async with app.run_test() as pilot:
        await type_text(pilot, "9")
        await pilot.press("number_sign")  # with something typed, # deletes
        assert isinstance(app.screen, StandbyScreen) and "User ID:" not in text(app)
        await pilot.press("number_sign")  # with nothing typed, # reviews records
        assert isinstance(app.screen, FormScreen) and "Review records" in text(app)
        await type_text(pilot, "12")
        await pilot.press("enter")
        await type_text(pilot, "1111")
        await pilot.press("enter", "enter", "enter")
        assert "Error: wrong user ID or password" in text(app)
        await pilot.press("up", "up", "backspace", "backspace", "backspace", "backspace")
        await type_text(pilot, "4321")
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, InfoScreen)
        assert text(app).splitlines() == ["12 Ann", "2026-03-02 09:00:00 CheckIn password"]
        await pilot.press("escape", "number_sign", "enter", "enter")
        await type_text(pilot, "C13")  # Cy swipes: no records yet
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert text(app).splitlines() == ["13 Cy", "none"]
