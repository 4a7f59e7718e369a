"""Checklist of the manual's limits (chapter 2): each is refused with a clear message.

Each row: manual section, a change, the message. The device keeps its old state on refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from openpss.devices.attendance.model import Terminal, TerminalError, User
from openpss.devices.attendance.settings import Bell, StateSwitchRow

SETTINGS_LIMITS: list[tuple[str, Callable[[Any], object], str]] = [
    ("2.9 time zone", lambda s: setattr(s, "timezone_minutes", 13 * 60 + 1), "must be -720-780"),
    ("2.9 time zone", lambda s: setattr(s, "timezone_minutes", -12 * 60 - 1), "must be -720-780"),
    ("2.9 date format", lambda s: setattr(s, "date_format", "YY/MM"), "date format must be one"),
    ("2.10 IP", lambda s: setattr(s.network, "ip", "300.1.1.1"), "is not an IPv4 address"),
    ("2.10 port", lambda s: setattr(s.network, "port", 70000), "port must be 1-65535"),
    ("2.11.1 bell cycle", lambda s: setattr(s.bells[0], "cycle", "Sometimes"), "cycle must be"),
    ("2.11.1 bell rows", lambda s: s.bells.append(Bell()), "exactly 16 bell rows"),
    ("2.11.2 recheck", lambda s: setattr(s, "recheck_interval_min", 10), "must be 0-9"),
    ("2.11.3 method", lambda s: setattr(s, "verification_method", "Face"), "must be one of FP"),
    ("2.11.5 event mode", lambda s: setattr(s, "event_mode", "magic"), "auto_manual, forced"),
    ("2.11.5 door", lambda s: setattr(s, "keep_door_open_s", 601), "must be 0-600, not 601"),
    ("2.11.6 state", lambda s: setattr(s.state_switches[0], "state", "Lunch"), "state must be"),
    ("2.11.6 rows", lambda s: s.state_switches.append(StateSwitchRow()), "exactly 24 state"),
    ("2.5.3 departments", lambda s: s.departments.pop(), "cannot be added or deleted"),
]


@pytest.mark.parametrize(("section", "change", "message"), SETTINGS_LIMITS)
def test_settings_limits(section: str, change: Callable[[Any], object], message: str) -> None:
    terminal = Terminal(serial="LIM")
    before = terminal.settings.to_json()
    with pytest.raises(TerminalError, match=message):
        terminal.update_settings(change)
    assert terminal.settings.to_json() == before, section


USER_LIMITS = [
    (User(user_id=0), "user ID must be a number 1-99999999"),
    (User(user_id=1, name="x" * 17), "name must be at most 16 characters"),
    (User(user_id=1, password="0"), "password cannot start with 0"),
    (User(user_id=1, password="0123"), "password cannot start with 0"),
    (User(user_id=1, password="123456789"), "password must be 1-8 digits"),
    (User(user_id=1, password="12a4"), "password must be 1-8 digits"),
    (User(user_id=1, cards=list("ABCDEF")), "at most 5 cards"),
    (User(user_id=1, fingerprints=[bytes([n]) * 64 for n in range(4)]), "at most 3 fingerprints"),
    (User(user_id=1, department=21), "department must be 1-20"),
    (User(user_id=1, schedule_mode="weird"), "schedule mode must be department or personal"),
    (User(user_id=1, level="boss"), "level must be user or admin"),
]


@pytest.mark.parametrize(("user", "message"), USER_LIMITS)
def test_user_limits(user: User, message: str) -> None:
    terminal = Terminal(serial="LIM")
    terminal.put_users([User(user_id=1, name="Kept", password="1234")])
    with pytest.raises(TerminalError, match=message):
        terminal.put_users([user])
    assert terminal.users[1].name == "Kept" and terminal.users[1].password == "1234"


def test_limits_at_the_edges_are_accepted() -> None:
    terminal = Terminal(serial="LIM")
    edge = User(
        user_id=99_999_999,
        name="x" * 16,
        password="98765432",
        cards=list("ABCDE"),
        fingerprints=[bytes([n]) * 64 for n in range(3)],
        department=20,
        schedule_mode="personal",
        level="admin",
    )
    terminal.put_users([edge])
    terminal.update_settings(lambda s: setattr(s, "timezone_minutes", 13 * 60))
    terminal.update_settings(lambda s: setattr(s, "keep_door_open_s", 600))
    terminal.update_settings(lambda s: setattr(s, "recheck_interval_min", 9))
    assert terminal.users[99_999_999].is_admin
    assert terminal.settings.timezone_minutes == 780
