"""The indoor monitor model: room numbers, the call state machine, unlock, messages, records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from openpss.devices.vth.entities import CallState, RoomNumber, VthError, parse_start_time
from openpss.devices.vth.model import IndoorMonitor, NoLink
from openpss.devices.vth.settings import Door
from openpss.devices.vth.store import open_monitor


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def vth(clock: Clock) -> IndoorMonitor:
    unit = IndoorMonitor(serial="VTHTEST", clock=clock)
    unit.set_room("101#0")
    unit.set_registered(True)
    return unit


def sent(unit: IndoorMonitor) -> list[tuple[str, ...]]:
    assert isinstance(unit.link, NoLink)
    return unit.link.sent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("101", RoomNumber("101")),
        ("101#0", RoomNumber("101", 0)),
        ("A12#9", RoomNumber("A12", 9)),
        ("101#99", RoomNumber("101", 99)),
        ("11#01#11#5", RoomNumber("11", 5, "11", "01")),
    ],
)
def test_room_numbers_of_the_manuals(text: str, expected: RoomNumber) -> None:
    assert RoomNumber.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1234567", "1-6 letters or digits"),
        ("10-1", "1-6 letters or digits"),
        ("101#100", r"0 \(master VTH\) or 1-99"),
        ("101#x", r"0 \(master VTH\) or 1-99"),
        ("1#2#3", "must be ROOM, ROOM#EXTENSION"),
        ("111#01#11#5", "building number must be 1-2 digits"),
    ],
)
def test_bad_room_numbers_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(VthError, match=message):
        RoomNumber.parse(text)


def test_building_numbers_refused_when_a_vto_is_the_sip_server(vth: IndoorMonitor) -> None:
    vth.set_sip_server("127.0.0.1", 5060, realm="VDP", password="123456")
    with pytest.raises(VthError, match="Table 4-2"):
        vth.set_room("11#01#11#5")
    vth.set_sip_server("127.0.0.1", 5080, realm="openpss", password="pw")
    assert str(vth.set_room("11#01#11#5")) == "11#01#11#5"
    assert vth.settings.room_number.is_master is False


def test_incoming_call_answer_talk_hangup_records(vth: IndoorMonitor, clock: Clock) -> None:
    assert vth.incoming_call("c1", "8001") == "ringing"
    assert vth.call_state is CallState.ringing
    vth.answer()
    assert vth.call_state is CallState.talking
    clock.now += dt.timedelta(seconds=12)
    vth.set_mute(True)
    assert vth.status()["call"]["muted"] is True
    vth.hang_up()
    assert vth.call_state is CallState.idle
    assert sent(vth) == [("answer", "c1"), ("hangup", "c1")]
    record = vth.find_records("call")[0].data
    assert record["Type"] == "Incoming" and record["EndState"] == "Received"
    assert record["TalkTime"] == 12 and record["PeerNumber"] == "8001"


def test_reject_answers_busy(vth: IndoorMonitor) -> None:
    vth.incoming_call("c1", "8001")
    vth.reject()
    assert sent(vth) == [("reject", "c1", "486")]
    assert vth.find_records("call")[0].data["EndState"] == "Rejected"


def test_second_call_while_busy_is_refused_busy(vth: IndoorMonitor) -> None:
    vth.incoming_call("c1", "8001")
    assert vth.incoming_call("c2", "8002") == "busy"
    assert vth.call_peer == "8001" and ("reject", "c2", "486") in sent(vth)


def test_missed_after_the_ring_time(vth: IndoorMonitor, clock: Clock) -> None:
    vth.set_option("ring_time_s", 20)
    vth.incoming_call("c1", "8001")
    clock.now += dt.timedelta(seconds=19)
    vth.tick()
    assert vth.call_state is CallState.ringing
    clock.now += dt.timedelta(seconds=1)
    vth.tick()
    assert vth.call_state is CallState.idle
    assert ("reject", "c1", "480") in sent(vth)
    assert vth.find_records("call")[0].data["EndState"] == "Missed"


def test_caller_cancel_while_ringing_is_missed(vth: IndoorMonitor) -> None:
    vth.incoming_call("c1", "8001")
    vth.remote_ended("c1", "cancelled")
    assert vth.find_records("call")[0].data["EndState"] == "Missed"


def test_call_answered_by_another_unit_is_answered_elsewhere_not_missed(
    vth: IndoorMonitor,
) -> None:
    codes: list[str] = []
    vth.on_event = lambda code, action, data: codes.append(code)
    vth.incoming_call("c1", "8001")
    vth.remote_ended("c1", "answered elsewhere")
    assert vth.call_state is CallState.idle
    record = vth.find_records("call")[0].data
    assert record["EndState"] == "AnsweredElsewhere" and record["TalkTime"] == 0
    assert "Invite" in codes and "CallNoAnswered" not in codes


def test_auto_answer_and_do_not_disturb(vth: IndoorMonitor) -> None:
    vth.set_option("auto_answer", True)
    assert vth.incoming_call("c1", "8001") == "answered"
    assert vth.call_state is CallState.talking
    vth.remote_ended("c1")
    vth.set_option("dnd", True)
    assert vth.incoming_call("c2", "8001") == "dnd"
    assert vth.call_state is CallState.idle
    last = vth.find_records("call")[-1].data
    assert last["EndState"] == "Missed" and last["Reason"] == "do not disturb"


def test_ring_time_limits(vth: IndoorMonitor) -> None:
    with pytest.raises(VthError, match="ring time must be 1-120 s"):
        vth.set_option("ring_time_s", 0)
    with pytest.raises(VthError, match="unknown option"):
        vth.set_option("volume", 3)


def test_outgoing_call_needs_registration_and_records_failure(vth: IndoorMonitor) -> None:
    call_id = vth.call("888888")
    assert vth.call_state is CallState.calling and ("dial", call_id, "888888") in sent(vth)
    vth.remote_ended(call_id, "busy")
    assert vth.find_records("call")[0].data == {
        "Type": "Outgoing",
        "PeerNumber": "888888",
        "EndState": "Busy",
        "TalkTime": 0,
        "Reason": "busy",
        "RecNo": 1,
    }
    vth.set_registered(False, "408")
    with pytest.raises(VthError, match="not registered"):
        vth.call("102")


def test_unlock_during_call_goes_to_the_caller_else_to_a_door(vth: IndoorMonitor) -> None:
    vth.incoming_call("c1", "8001")
    vth.answer()
    assert vth.unlock() == "8001"
    assert ("unlock", "c1") in sent(vth)
    vth.hang_up()
    with pytest.raises(VthError, match="no door station named"):
        vth.unlock("gate")
    vth.put_door(Door("gate", "127.0.0.1", 8080, 8554, password="x"))
    vth.monitor("gate")
    assert vth.call_state is CallState.monitoring
    assert vth.unlock() == "gate" and ("open-door", "gate") in sent(vth)
    with pytest.raises(VthError, match="hang up first"):
        vth.call("102")
    vth.hang_up()
    assert vth.call_state is CallState.idle and ("stop-monitor",) in sent(vth)
    methods = [r.data["Method"] for r in vth.find_records("unlock")]
    assert methods == ["SIP", "HTTP"]


def test_messages_from_the_platform_are_kept_across_restart(tmp_path: Path) -> None:
    unit, store = open_monitor(tmp_path)
    unit.set_room("101#1")
    unit.receive_unlock_password("101", "888888", "platform")
    unit.receive_information("Water", "No water on Monday", "platform")
    with pytest.raises(VthError, match="6-8 digits"):
        unit.receive_unlock_password("101", "12ab")
    with pytest.raises(VthError, match="but this VTH is 101#1"):
        unit.receive_unlock_password("102", "123456")
    store.close()
    again, store = open_monitor(tmp_path)
    try:
        assert again.serial == unit.serial and again.settings.room == "101#1"
        assert again.unlock_passwords == {"101": "888888"}
        assert [m.subject for m in again.messages] == ["Unlock password", "Water"]
        subjects = [r.data["Subject"] for r in again.find_records("message")]
        assert subjects == ["******", "Water"]  # the password itself is not in the records
    finally:
        store.close()


def test_admin_password_rule() -> None:
    unit = IndoorMonitor(serial="X")
    with pytest.raises(VthError, match="8-32 characters"):
        unit.set_admin_password("short")
    unit.set_admin_password("Secret123")
    assert unit.initialized


def test_information_release_shown_from_its_start_time(vth: IndoorMonitor, clock: Clock) -> None:
    later = clock.now + dt.timedelta(hours=2)
    vth.receive_information("Water", "No water 9-12", "platform", later)
    vth.receive_information("Lift", "Lift B is out", "platform")
    assert [m.subject for m in vth.shown_messages()] == ["Lift"]
    clock.now = later
    assert [m.subject for m in vth.shown_messages()] == ["Water", "Lift"]
    with pytest.raises(VthError, match="needs a time zone"):
        vth.receive_information("x", "y", "", dt.datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("2026-01-05 08:00:00", dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)),
        ("2026-01-05T09:00:00+01:00", dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)),
    ],
)
def test_start_time_forms(text: str, expected: dt.datetime | None) -> None:
    assert parse_start_time(text) == expected


def test_bad_start_time_says_the_format() -> None:
    with pytest.raises(VthError, match="must be YYYY-MM-DD HH:MM:SS"):
        parse_start_time("tomorrow")


def test_incoming_call_interrupts_monitoring(vth: IndoorMonitor) -> None:
    vth.put_door(Door("gate", "127.0.0.1", 8080, 8554))
    vth.monitor("gate")
    assert vth.incoming_call("c1", "8001") == "ringing"
    assert ("stop-monitor",) in sent(vth) and vth.monitor_door == ""
    assert vth.call_peer == "8001"


def test_unlock_without_call_or_door_says_how_to_add_one(vth: IndoorMonitor) -> None:
    with pytest.raises(VthError, match="add one with --door"):
        vth.unlock()
    vth.put_door(Door("gate", "127.0.0.1"))
    vth.put_door(Door("garage", "127.0.0.2"))
    with pytest.raises(VthError, match="name the door station"):
        vth.monitor()
    with pytest.raises(VthError, match="HTTP port must be 1-65535"):
        vth.put_door(Door("bad", "127.0.0.1", 0))
