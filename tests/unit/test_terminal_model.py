"""The attendance terminal model: users, credentials, punches, settings, limits of the manual."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from openpss.attendance.punches import AttendanceState
from openpss.devices.attendance import model
from openpss.devices.attendance.model import CapacityError, Terminal, TerminalError, User
from openpss.devices.attendance.settings import DstPoint
from openpss.devices.attendance.store import open_terminal

T0 = dt.datetime(2026, 3, 2, 8, 55, tzinfo=dt.UTC)  # a Monday


class Clock:
    """A settable UTC clock."""

    def __init__(self, at: dt.datetime = T0) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, minutes: float) -> None:
        self.at += dt.timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def terminal(clock: Clock) -> Terminal:
    events: list[tuple[str, dict[str, Any]]] = []
    t = Terminal(serial="T1", clock=clock, on_event=lambda c, d: events.append((c, d)))
    t.extra["events"] = events
    t.put_users([User(user_id=1, name="Ann", password="1234", cards=["a1"])])
    return t


def test_user_limits_are_enforced_with_clear_errors(terminal: Terminal) -> None:
    cases = [
        (User(user_id=0), "user ID must be a number 1-99999999"),
        (User(user_id=100_000_000), "user ID must be a number 1-99999999"),
        (User(user_id=2, name="x" * 17), "name must be at most 16 characters"),
        (User(user_id=2, cards=[str(i) for i in range(6)]), "at most 5 cards"),
        (User(user_id=2, fingerprints=[b"a", b"b", b"c", b"d"]), "at most 3 fingerprints"),
        (User(user_id=2, password="123456789"), "password must be 1-8 digits"),
        (User(user_id=2, password="0123"), "cannot start with 0"),
        (User(user_id=2, password="0"), "cannot start with 0"),
        (User(user_id=2, password="12a"), "password must be 1-8 digits"),
        (User(user_id=2, department=21), "department must be 1-20"),
        (User(user_id=2, level="root"), "level must be user or admin"),
        (User(user_id=2, schedule_mode="x"), "schedule mode must be department or personal"),
        (User(user_id=2, cards=["A1"]), "card A1 already belongs to user 1"),
    ]
    for user, message in cases:
        with pytest.raises(TerminalError, match=message):
            terminal.put_users([user])
    assert list(terminal.users) == [1]


def test_maximum_values_are_accepted(terminal: Terminal) -> None:
    user = User(
        user_id=99_999_999,
        name="x" * 16,
        password="98765432",
        cards=[f"C{i}" for i in range(5)],
        fingerprints=[b"a", b"b", b"c"],
    )
    terminal.put_users([user])
    assert terminal.get_user(99_999_999).cards == ["C0", "C1", "C2", "C3", "C4"]


def test_batch_is_all_or_nothing(terminal: Terminal) -> None:
    with pytest.raises(TerminalError, match="user 3: name"):
        terminal.put_users([User(user_id=2, name="ok"), User(user_id=3, name="y" * 17)])
    assert 2 not in terminal.users


def test_same_user_id_overwrites(terminal: Terminal) -> None:
    terminal.put_users([User(user_id=1, name="Bob", cards=["B2"])])
    assert terminal.get_user(1).name == "Bob"
    assert terminal.card_owner == {"B2": 1}


def test_capacity_full_is_reported(terminal: Terminal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "USER_CAPACITY", 2)
    terminal.put_users([User(user_id=2)])
    with pytest.raises(CapacityError, match="capacity full: the device stores at most 2 users"):
        terminal.put_users([User(user_id=3)])
    terminal.put_users([User(user_id=2, name="replace is fine")])


def test_card_punch_records_number_method_and_state(terminal: Terminal) -> None:
    result = terminal.present(card="A1")
    assert result.accepted and result.punch is not None
    assert result.punch.rec_no == 1
    assert result.punch.method == "card"
    assert result.punch.card_no == "A1"
    assert result.punch.state is AttendanceState.check_in  # 08:55 after the 08:00 switch
    code, data = terminal.extra["events"][-1]
    assert code == "AccessControl" and data["RecNo"] == 1 and data["Method"] == 1


def test_password_punch_and_wrong_password(terminal: Terminal) -> None:
    assert not terminal.present(user_id=1, password="9999").accepted
    _, data = terminal.extra["events"][-1]
    assert (data["Status"], data["ErrorCode"], data["Method"]) == (0, 0x10, 0)  # unauthorized
    assert data["Reason"] == "wrong user ID or password"
    result = terminal.present(user_id=1, password="1234")
    assert result.accepted and result.punch and result.punch.method == "password"


def test_recheck_interval_refuses_repeat(terminal: Terminal, clock: Clock) -> None:
    terminal.update_settings(lambda s: setattr(s, "recheck_interval_min", 3))
    assert terminal.present(card="A1").accepted
    clock.advance(2.9)
    repeat = terminal.present(card="A1")
    assert not repeat.accepted and repeat.message == "repeat clock in/out"
    clock.advance(0.2)
    assert terminal.present(card="A1").accepted
    # The refused repeat is a record too (Status 0 with its reason).
    assert [(p.rec_no, p.success, p.reason) for p in terminal.punches] == [
        (1, True, ""),
        (2, False, "repeat clock in/out"),
        (3, True, ""),
    ]


def test_recheck_interval_range(terminal: Terminal) -> None:
    with pytest.raises(TerminalError, match="recheck interval must be 0-9"):
        terminal.update_settings(lambda s: setattr(s, "recheck_interval_min", 10))


def test_verification_method_is_honoured(terminal: Terminal) -> None:
    terminal.put_users(
        [
            User(
                user_id=1,
                name="Ann",
                password="1234",
                cards=["A1"],
                fingerprints=[bytes(range(64))],
            )
        ]
    )
    terminal.update_settings(lambda s: setattr(s, "verification_method", "FP/PWD"))
    refused = terminal.present(card="A1")
    assert not refused.accepted
    assert refused.message == "Card is not allowed: verification method is FP/PWD"
    code, data = terminal.extra["events"][-1]
    assert code == "AccessControl" and data["RecNo"] == 1  # stored as a record
    assert (data["Status"], data["ErrorCode"], data["Method"]) == (0, 0x13, 1)  # method error
    assert data["Reason"] == refused.message
    assert terminal.present(fingerprint=bytes(range(64))).accepted
    terminal.update_settings(lambda s: setattr(s, "verification_method", "Card"))
    assert not terminal.present(user_id=1, password="1234").accepted
    with pytest.raises(TerminalError, match="verification method must be one of"):
        terminal.update_settings(lambda s: setattr(s, "verification_method", "Face"))


def test_fingerprint_similarity_threshold(terminal: Terminal) -> None:
    template = bytes(range(100))
    terminal.put_users([User(user_id=5, fingerprints=[template])])
    noisy = bytearray(template)
    for i in range(10):  # 90 % equal: still the same finger
        noisy[i] ^= 0xFF
    assert terminal.present(fingerprint=bytes(noisy)).user_id == 5
    noisy[10] ^= 0xFF  # 89 %: not recognized
    result = terminal.present(fingerprint=bytes(noisy))
    assert not result.accepted and result.message == "fingerprint not recognized"


def test_event_modes(terminal: Terminal) -> None:
    terminal.update_settings(lambda s: setattr(s, "event_mode", "forced"))
    refused = terminal.present(card="A1")
    assert not refused.accepted and "forced mode" in refused.message
    chosen = terminal.present(card="A1", state=AttendanceState.break_out)
    assert chosen.punch and chosen.punch.state is AttendanceState.break_out

    def fixed(s: Any) -> None:
        s.event_mode, s.fixed_state = "fixed", "OvertimeIn"

    terminal.update_settings(fixed)
    result = terminal.present(card="A1", state=AttendanceState.check_in)
    assert result.punch and result.punch.state is AttendanceState.overtime_in


def test_only_admins_open_the_menu_once_an_admin_exists(terminal: Terminal) -> None:
    assert terminal.open_menu(card="A1") is None  # no administrator yet: anyone
    terminal.put_users([User(user_id=9, level="admin", password="4321")])
    with pytest.raises(TerminalError, match="only administrators"):
        terminal.open_menu(card="A1")
    admin = terminal.open_menu(user_id=9, password="4321")
    assert admin is not None and admin.user_id == 9


def test_departments_cannot_be_empty_or_deleted(terminal: Terminal) -> None:
    terminal.rename_department(4, "Sales")
    assert terminal.settings.departments[3] == "Sales"
    with pytest.raises(TerminalError, match="cannot be empty"):
        terminal.rename_department(4, "  ")
    with pytest.raises(TerminalError, match="department must be 1-20"):
        terminal.rename_department(21, "X")
    with pytest.raises(TerminalError, match="cannot be added or deleted"):
        terminal.update_settings(lambda s: s.departments.pop())


def test_batch_add_by_swiping_cards(terminal: Terminal) -> None:
    user = terminal.batch_add_card("77")
    assert user.user_id == 2 and user.cards == ["77"]
    with pytest.raises(TerminalError, match="already belongs"):
        terminal.batch_add_card("77")


def test_time_zone_and_set_time(terminal: Terminal, clock: Clock) -> None:
    terminal.update_settings(lambda s: setattr(s, "timezone_minutes", 480))
    assert terminal.local_now() == dt.datetime(2026, 3, 2, 16, 55)
    terminal.set_local_time(dt.datetime(2026, 3, 2, 17, 0))
    assert terminal.local_now() == dt.datetime(2026, 3, 2, 17, 0)
    clock.advance(1)
    assert terminal.local_now() == dt.datetime(2026, 3, 2, 17, 1)
    with pytest.raises(TerminalError, match="time zone minutes must be -720-780"):
        terminal.update_settings(lambda s: setattr(s, "timezone_minutes", 14 * 60))


def test_dst_by_week_and_by_date(terminal: Terminal) -> None:
    def by_week(s: Any) -> None:
        s.dst.enabled = True
        s.dst.start = DstPoint(month=3, week=-1, day=0, hour=2)  # last Sunday of March
        s.dst.end = DstPoint(month=10, week=-1, day=0, hour=3)

    terminal.update_settings(by_week)
    summer = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)
    assert terminal.to_local(summer) == dt.datetime(2026, 7, 1, 13)
    assert terminal.to_local(dt.datetime(2026, 3, 29, 1, 59, tzinfo=dt.UTC)).hour == 1
    assert terminal.to_local(dt.datetime(2026, 3, 29, 2, 0, tzinfo=dt.UTC)).hour == 3
    assert terminal.to_utc(dt.datetime(2026, 7, 1, 13)) == summer

    def by_date(s: Any) -> None:
        s.dst.start = DstPoint(month=6, week=0, day=15, hour=0)
        s.dst.end = DstPoint(month=6, week=0, day=16, hour=0)

    terminal.update_settings(by_date)
    assert terminal.to_local(dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)).hour == 13
    assert terminal.to_local(dt.datetime(2026, 6, 16, 12, tzinfo=dt.UTC)).hour == 12


def test_keep_door_open_and_bell_limits(terminal: Terminal) -> None:
    terminal.update_settings(lambda s: setattr(s, "keep_door_open_s", 600))
    with pytest.raises(TerminalError, match=r"keep door open \(s\) must be 0-600"):
        terminal.update_settings(lambda s: setattr(s, "keep_door_open_s", 601))
    with pytest.raises(TerminalError, match="bell 1 cycle must be one of"):
        terminal.update_settings(lambda s: setattr(s.bells[0], "cycle", "Someday"))


def test_find_punches_after_record_number(terminal: Terminal, clock: Clock) -> None:
    for _ in range(5):
        terminal.present(card="A1")
        clock.advance(10)
    assert [p.rec_no for p in terminal.find_punches(after_rec_no=3)[1]] == [4, 5]
    assert terminal.find_punches(after_rec_no=1, limit=2) == (4, terminal.punches[1:3])
    start = T0 + dt.timedelta(minutes=15)
    assert [p.rec_no for p in terminal.find_punches(start=start)[1]] == [3, 4, 5]


def test_state_survives_restart(tmp_path: Path, clock: Clock) -> None:
    terminal, store = open_terminal(tmp_path, clock=clock)
    terminal.put_users([User(user_id=7, name="Eve", cards=["E7"], fingerprints=[b"\x01\x02"])])
    terminal.update_settings(lambda s: setattr(s, "recheck_interval_min", 4))
    terminal.set_local_time(dt.datetime(2026, 3, 2, 12, 0))
    terminal.present(card="E7")
    serial = terminal.serial
    store.close()
    again, store2 = open_terminal(tmp_path, clock=clock)
    assert again.serial == serial
    assert again.get_user(7).fingerprints == [b"\x01\x02"]
    assert again.card_owner == {"E7": 7}
    assert again.settings.recheck_interval_min == 4
    assert again.local_now() == dt.datetime(2026, 3, 2, 12, 0)
    assert [p.rec_no for p in again.punches] == [1]
    assert again.present(card="E7").message == "repeat clock in/out"  # recheck survives too
    store2.close()


def test_admin_log_and_registration_info(terminal: Terminal) -> None:
    terminal.put_users([User(user_id=3, level="admin", cards=["C3"])], actor=3)
    assert terminal.admin_log[-1].admin_id == 3
    info = terminal.registration_info()
    assert info["users"] == (2, model.USER_CAPACITY)
    assert info["administrators"][0] == 1
    assert info["cards"][0] == 2
