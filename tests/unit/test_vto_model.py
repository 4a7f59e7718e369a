"""The door station model (no I/O): every rule of the modular VTO manual, with its limit.

Limits checklist (manual = modular VTO quick start guide; platform = video intercom manual):

| rule | source | test |
|---|---|---|
| admin password 8-32, two kinds; e-mail valid | manual 4.2.1, App. 1 | test_initialize_* |
| VTO No. 1-5 digits | manual 4.2.2 | test_vto_number_is_at_most_five_digits |
| VTO No. not a room number | manual 4.2.2 | test_vto_number_cannot_equal_a_room |
| VTO No. fixed while SIP server | 4.2.2 | test_vto_number_changes_only_when_not_sip_server |
| analogue system type: calls fail | manual 4.2.4 | test_calls_fail_under_analogue |
| Build/Unit No. hidden on SIP server | T. 4-2 | test_building_unit_only_with_another_server |
| alternate server needs addresses | T. 4-1 | test_alternate_server_needs_its_addresses |
| camera module always, first | manual 4.2.7 | test_facade_camera_is_always_first |
| <= 9 modules MB1/MB2/MB5, else 1 | manual 4.2.7 | test_facade_module_count_by_model |
| one fingerprint/card/keyboard module | manual 4.2.7 | test_facade_single_modules |
| call keys -> room list or 888888 | manual 4.2.7.2 | test_facade_keys_map_to_rooms |
| room no. <= 6 alphanumerics | manual 4.2.6 | test_room_number_rules |
| #0 master + <= 10 extensions (#1-#99) | manual 4.2.6 | test_room_extensions_limit |
| batch add from layers/rooms/floors | manual 4.2.6 | test_batch_add_* |
| SIP server lists itself | manual 4.2.5 step 3 | test_sip_server_lists_itself |
| tamper alarm 15 s | manual 3.2 | test_tamper_sounds_for_15_seconds |
| room + unlock password 000011888888 | platform 2.3 | test_room_password_unlock |
| max 6 monitor streams | manual 1.2 | tests/integration/test_vto_rtsp.py |
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from openpss.devices.vto.entities import (
    LIGHT_ANSWERED,
    LIGHT_IDLE,
    LIGHT_NOT_ANSWERED,
    LIGHT_RINGING,
    LIGHT_RINGING_2,
    LIGHT_UNLOCK,
    LIGHT_UNLOCK_FAILED,
    AccessUser,
    CallState,
    DoorMode,
    Room,
    SystemType,
    VtoEntry,
    VtoError,
)
from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.store import open_station

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Link:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []

    def invite(self, call_id: str, targets: list[str]) -> None:
        self.calls.append(("invite", call_id, targets))

    def cancel(self, call_id: str) -> None:
        self.calls.append(("cancel", call_id, []))

    def bye(self, call_id: str) -> None:
        self.calls.append(("bye", call_id, []))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> list[tuple[str, str, dict[str, Any]]]:
    return []


@pytest.fixture
def vto(clock: Clock, events: list[tuple[str, str, dict[str, Any]]]) -> DoorStation:
    station = DoorStation(serial="VTOTEST", clock=clock, on_event=lambda *e: events.append(e))
    station.set_system_type(SystemType.tcpip)
    station.link = Link()
    return station


def codes(events: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [code for code, _, _ in events]


def lights(events: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    return [data["State"] for code, _, data in events if code == "BackKeyLight"]


# --- init, numbers, system type ------------------------------------------------------------


def test_initialize_sets_password_and_email(vto: DoorStation) -> None:
    assert not vto.initialized
    vto.initialize("Secret123", "ops@example.com")
    assert vto.initialized and vto.settings.email == "ops@example.com"
    with pytest.raises(VtoError, match="already initialized"):
        vto.initialize("Secret123")


def test_initialize_refuses_weak_password_and_bad_email(vto: DoorStation) -> None:
    with pytest.raises(VtoError, match="8-32 characters"):
        vto.initialize("Ab1")
    with pytest.raises(VtoError, match="two kinds"):
        vto.initialize("abcdefghij")
    with pytest.raises(VtoError, match="e-mail address 'nope' is not valid"):
        vto.initialize("Secret123", "nope")
    assert not vto.initialized


def test_vto_number_is_at_most_five_digits(vto: DoorStation) -> None:
    vto.set_sip_server(enabled=False, address="127.0.0.1")
    vto.set_vto_number("12345")
    for bad in ("123456", "80a1", ""):
        with pytest.raises(VtoError, match="1-5 digits"):
            vto.set_vto_number(bad)
    assert vto.settings.vto_number == "12345"


def test_vto_number_changes_only_when_not_sip_server(vto: DoorStation) -> None:
    assert vto.is_sip_server  # a new unit is its own SIP server, listed in VTO No. Management
    assert list(vto.directory.vtos) == ["8001"]
    with pytest.raises(VtoError, match="not the SIP server"):
        vto.set_vto_number("8002")
    vto.set_sip_server(enabled=False, address="10.0.0.5", port=5080)
    vto.set_vto_number("8002")
    assert vto.settings.vto_number == "8002"
    vto.set_sip_server(enabled=True)
    assert list(vto.directory.vtos) == ["8002"]  # its own entry followed the number


def test_vto_number_cannot_equal_a_room(vto: DoorStation) -> None:
    vto.add_room(Room("9901"))
    vto.set_sip_server(enabled=False, address="10.0.0.5")
    with pytest.raises(VtoError, match="VTO number 9901 is a room number"):
        vto.set_vto_number("9901")
    vto.set_sip_server(enabled=True)
    with pytest.raises(VtoError, match="this VTO's number"):
        vto.add_room(Room(vto.settings.vto_number))


def test_calls_fail_under_analogue(vto: DoorStation, events: list[Any]) -> None:
    vto.set_system_type(SystemType.analogue)
    vto.add_room(Room("101"))
    with pytest.raises(VtoError, match="System Type is analogue: select TCP/IP"):
        vto.call("101")
    assert "Invite" not in codes(events)


def test_building_unit_only_with_another_server(vto: DoorStation) -> None:
    with pytest.raises(VtoError, match=r"Building No\. and Unit No\."):
        vto.update_settings(lambda s: setattr(s, "building_no", "1"))
    vto.set_sip_server(enabled=False, address="10.0.0.5")
    vto.update_settings(lambda s: setattr(s, "building_no", "1"))
    assert vto.settings.building_no == "1"
    vto.set_sip_server(enabled=True)
    assert vto.settings.building_no == ""


def test_alternate_server_needs_its_addresses(vto: DoorStation) -> None:
    with pytest.raises(VtoError, match="alternate IP address"):
        vto.set_sip_server(enabled=False, address="10.0.0.5", alternate_enabled=True)
    with pytest.raises(VtoError, match="unknown SIP setting"):
        vto.set_sip_server(enabled=False, address="10.0.0.5", bogus=1)
    with pytest.raises(VtoError, match="give the SIP server's IP address"):
        vto.set_sip_server(enabled=False)


def test_sip_server_lists_itself(vto: DoorStation) -> None:
    vto.set_sip_server(enabled=True)
    assert vto.settings.vto_number in vto.directory.vtos
    with pytest.raises(VtoError, match="must stay"):
        vto.remove_vto(vto.settings.vto_number)
    vto.put_vto(VtoEntry("8002", ip_address="10.0.0.9"))
    with pytest.raises(VtoError, match=r"Build No\. and Unit No\."):
        vto.put_vto(VtoEntry("8003", build_no="1"))
    with pytest.raises(VtoError, match="1-5 digits"):
        vto.put_vto(VtoEntry("800300"))
    vto.remove_vto("8002")


def test_room_and_vto_management_need_the_sip_server(vto: DoorStation) -> None:
    vto.set_sip_server(enabled=False, address="10.0.0.5")
    with pytest.raises(VtoError, match="not the SIP server"):
        vto.add_room(Room("101"))
    with pytest.raises(VtoError, match="not the SIP server"):
        vto.put_vto(VtoEntry("8002"))


# --- facade --------------------------------------------------------------------------------


def test_facade_camera_is_always_first(vto: DoorStation) -> None:
    vto.set_facade(["button5", "keyboard"])
    assert [m.type.value for m in vto.facade.modules] == ["camera", "button5", "keyboard"]
    with pytest.raises(VtoError, match="one camera module"):
        vto.set_facade(["button1", "camera"])


def test_facade_module_count_by_model(vto: DoorStation) -> None:
    vto.set_facade(["blank"] * 9, model="VTO4202F-MB1")
    with pytest.raises(VtoError, match="at most 9 module"):
        vto.set_facade(["blank"] * 10, model="VTO4202F-MB2")
    vto.set_facade(["card"], model="VTO4202F-P")
    with pytest.raises(VtoError, match="VTO4202F-P takes at most 1 module"):
        vto.set_facade(["card", "blank"], model="VTO4202F-P")
    with pytest.raises(VtoError, match="unknown model"):
        vto.set_facade([], model="VTO9999")


def test_facade_single_modules(vto: DoorStation) -> None:
    for kind in ("fingerprint", "card", "keyboard"):
        with pytest.raises(VtoError, match=f"only one {kind} module"):
            vto.set_facade([kind, "blank", kind])
    with pytest.raises(VtoError, match="unknown module 'laser'"):
        vto.set_facade(["laser"])


def test_facade_keys_map_to_rooms(vto: DoorStation) -> None:
    vto.add_room(Room("101"))
    vto.set_facade([{"type": "button2", "keys": ["101", "888888"]}])
    assert vto.facade.keys() == ["", "101", "888888"]
    with pytest.raises(VtoError, match="not in the room list"):
        vto.set_facade([{"type": "button1", "keys": ["102"]}])
    with pytest.raises(VtoError, match="has 2 call key"):
        vto.set_facade([{"type": "button2", "keys": ["101", "101", "101"]}])


# --- rooms ---------------------------------------------------------------------------------


def test_room_number_rules(vto: DoorStation) -> None:
    vto.add_room(Room("A10B", first_name="Ann"))
    for bad in ("1234567", "10-1", "", "101#100"):
        with pytest.raises(VtoError, match="1-6 letters or digits"):
            vto.add_room(Room(bad))
    with pytest.raises(VtoError, match="already exists"):
        vto.add_room(Room("A10B"))
    with pytest.raises(VtoError, match="register type must be public"):
        vto.add_room(Room("102", register_type="local"))
    vto.put_vto(VtoEntry("8002"))
    with pytest.raises(VtoError, match="8002 is a VTO number"):
        vto.add_room(Room("8002"))


def test_room_extensions_limit(vto: DoorStation) -> None:
    vto.add_room(Room("101#0"))
    for n in range(1, 11):
        vto.add_room(Room(f"101#{n * 9}"))
    with pytest.raises(VtoError, match="already has 10 extension VTHs"):
        vto.add_room(Room("101#95"))
    with pytest.raises(VtoError, match="instead of a plain 101"):
        vto.add_room(Room("101"))
    assert [r.number for r in vto.directory.accounts_of("101")][:3] == ["101#0", "101#9", "101#18"]


def test_batch_add_builds_floors(vto: DoorStation) -> None:
    added = vto.batch_add_rooms(layers=3, rooms_per_layer=2, first_floor=101, second_floor=201)
    assert [r.number for r in added] == ["101", "102", "201", "202", "301", "302"]
    assert vto.clear_rooms() == 6 and not vto.directory.rooms


def test_batch_add_refuses_overlap_and_long_numbers(vto: DoorStation) -> None:
    with pytest.raises(VtoError, match="overlap"):
        vto.batch_add_rooms(layers=2, rooms_per_layer=5, first_floor=101, second_floor=103)
    with pytest.raises(VtoError, match="longer than 6"):
        vto.batch_add_rooms(layers=2, rooms_per_layer=2, first_floor=999998, second_floor=1999998)
    with pytest.raises(VtoError, match="unit layer amount must be 1-99"):
        vto.batch_add_rooms(layers=0, rooms_per_layer=2, first_floor=1, second_floor=3)
    vto.add_room(Room("201"))
    with pytest.raises(VtoError, match="201 already exists"):
        vto.batch_add_rooms(layers=2, rooms_per_layer=2, first_floor=101, second_floor=201)
    assert list(vto.directory.rooms) == ["201"]  # all or nothing


# --- calls ---------------------------------------------------------------------------------


def test_group_call_rings_every_vth_and_is_answered(
    vto: DoorStation, clock: Clock, events: list[Any]
) -> None:
    vto.add_room(Room("101#0"))
    vto.add_room(Room("101#1"))
    vto.set_facade([{"type": "button1", "keys": ["101"]}])
    call_id = vto.press_button(2)
    vto.far_end_ringing(call_id)
    vto.far_end_ringing(call_id)  # a second 180 changes nothing
    vto.far_end_ringing("other")
    assert vto.call_state is CallState.ringing
    assert vto.link.calls == [("invite", call_id, ["101#0", "101#1"])]  # type: ignore[attr-defined]
    vto.call_answered("101#1")
    clock.advance(42)
    vto.press_button(2)  # the call key again hangs up
    assert vto.call_state is CallState.idle
    assert lights(events) == [LIGHT_RINGING, LIGHT_RINGING_2, LIGHT_ANSWERED, LIGHT_IDLE]
    [record] = vto.find_records("call")
    assert record.data["EndState"] == "Received" and record.data["TalkTime"] == 42
    assert "VideoTalkLog" in codes(events) and "Invite" in codes(events)


def test_ring_timeout_is_a_missed_call(vto: DoorStation, clock: Clock, events: list[Any]) -> None:
    vto.add_room(Room("101"))
    vto.call("101")
    clock.advance(vto.settings.access.ring_timeout_s - 1)
    vto.tick()
    assert vto.call_state is CallState.ringing
    clock.advance(1)
    vto.tick()
    assert vto.call_state is CallState.idle
    assert "CallNoAnswered" in codes(events)
    assert lights(events) == [LIGHT_RINGING, LIGHT_NOT_ANSWERED, LIGHT_IDLE]
    assert vto.find_records("call")[0].data["EndState"] == "Missed"


def test_button_raises_no_events_while_unregistered(vto: DoorStation, events: list[Any]) -> None:
    vto.set_sip_server(enabled=False, address="10.0.0.5")
    vto.set_facade([{"type": "button1", "keys": ["101"]}])
    events.clear()
    with pytest.raises(VtoError, match="not registered"):
        vto.press_button(2)
    assert events == []
    vto.set_registered(True)
    vto.press_button(2)
    assert codes(events)[:3] == ["SIPRegisterResult", "BackKeyLight", "Invite"]


def test_remote_hangup_rejection_and_busy(vto: DoorStation, events: list[Any]) -> None:
    vto.add_room(Room("101"))
    vto.call("101")
    with pytest.raises(VtoError, match="busy"):
        vto.call("101")
    vto.call_rejected()
    assert "IgnoreInvite" in codes(events)
    vto.call("101")
    vto.call_answered()
    vto.remote_hangup()
    assert "PassiveHungup" in codes(events)
    assert [r.data["EndState"] for r in vto.find_records("call")] == ["Rejected", "Received"]
    with pytest.raises(VtoError, match="no call"):
        vto.hang_up()


def test_centre_call_and_unknown_room(vto: DoorStation) -> None:
    vto.call("888888", emergency=True)
    assert vto.link.calls[-1][2] == ["888888"]  # type: ignore[attr-defined]
    vto.hang_up()
    assert vto.find_records("call")[0].data["CallType"] == "Emergency"
    with pytest.raises(VtoError, match="room 555 is not in the room list"):
        vto.call("555")


def test_keypad_forgets_keys_after_ten_idle_seconds(vto: DoorStation, clock: Clock) -> None:
    vto.type_keys("12")
    clock.advance(9.9)
    vto.tick()
    assert vto.keypad_buffer == "12"
    clock.advance(0.1)
    vto.tick()
    assert vto.keypad_buffer == ""
    with pytest.raises(VtoError, match="more than 32 keys"):
        vto.type_keys("1" * 33)
    assert vto.keypad_buffer == ""


def test_keypad_dials_then_call(vto: DoorStation) -> None:
    vto.add_room(Room("101"))
    vto.type_keys("101")
    vto.press_key("call")
    assert vto.call_state is CallState.ringing and vto.call_peer == "101"
    with pytest.raises(VtoError, match="unknown key"):
        vto.press_key("x")


def test_talk_time_limit_hangs_up(vto: DoorStation, clock: Clock) -> None:
    vto.add_room(Room("101"))
    vto.call("101")
    vto.call_answered()
    clock.advance(vto.settings.access.max_talk_s)
    vto.tick()
    assert vto.call_state is CallState.idle


# --- unlock --------------------------------------------------------------------------------


def test_card_unlock_and_refusal(vto: DoorStation, clock: Clock, events: list[Any]) -> None:
    vto.put_user(AccessUser("101", cards={"ABCD": False}))
    result = vto.swipe("abcd")
    assert result.opened and vto.unlocked
    clock.advance(vto.settings.access.unlock_hold_ms / 1000)
    vto.tick()
    assert not vto.unlocked
    refused = vto.swipe("FFFF")
    assert not refused.opened
    assert lights(events) == [LIGHT_UNLOCK, LIGHT_UNLOCK_FAILED]
    records = vto.find_records("unlock")
    assert [(r.data["Method"], r.data["Status"], r.data["UserID"]) for r in records] == [
        (1, 1, "101"),
        (1, 0, ""),
    ]


def test_duress_card_opens_and_alarms(vto: DoorStation, events: list[Any]) -> None:
    vto.put_user(AccessUser("101", cards={"D1": True}))
    assert vto.swipe("D1").duress
    assert "Duress" in codes(events) and "AlarmLocal" in codes(events)
    assert vto.find_records("alarm")[0].data["AlarmType"] == "Duress"
    vto.update_settings(lambda s: setattr(s.access, "duress_alarm", False))
    assert vto.swipe("D1").opened and len(vto.find_records("alarm")) == 1  # alarm switched off


def test_fingerprint_unlock_and_duress_finger(vto: DoorStation, events: list[Any]) -> None:
    vto.put_user(AccessUser("7", fingerprints=[b"A" * 100, b"B" * 100], duress_fingerprint=1))
    noisy = b"A" * 95 + b"x" * 5
    assert vto.present_finger(noisy).opened
    assert vto.present_finger(b"B" * 100).duress
    assert not vto.present_finger(b"C" * 100).opened
    assert [r.data["Method"] for r in vto.find_records("unlock")] == [6, 6, 6]


def test_public_and_duress_passwords(vto: DoorStation, events: list[Any]) -> None:
    assert not vto.type_keys("#123456#")[-1]["unlock"].opened  # no public password set
    vto.update_settings(lambda s: setattr(s.access, "public_password", "123456"))
    vto.update_settings(lambda s: setattr(s.access, "duress_password", "654321"))
    assert vto.type_keys("#123456#")[-1]["unlock"].opened
    assert vto.type_keys("#654321#")[-1]["unlock"].duress
    with pytest.raises(VtoError, match="must differ"):
        vto.update_settings(lambda s: setattr(s.access, "duress_password", "123456"))


def test_room_password_unlock(vto: DoorStation) -> None:
    vto.put_user(AccessUser("11", password="888888"))
    result = vto.type_keys("000011888888#")[-1]["unlock"]
    assert result.opened
    assert vto.find_records("unlock")[-1].data["UserID"] == "11"
    assert not vto.type_keys("000011888887#")[-1]["unlock"].opened
    assert not vto.type_keys("000012888888#")[-1]["unlock"].opened


def test_remote_and_exit_button(vto: DoorStation) -> None:
    assert vto.remote_unlock("101").opened
    assert vto.press_exit_button().opened
    data = [r.data for r in vto.find_records("unlock")]
    assert [(d["Method"], d["Type"]) for d in data] == [(4, "Entry"), (5, "Exit")]


def test_always_closed_refuses_always_open_opens(vto: DoorStation, events: list[Any]) -> None:
    vto.set_door_mode(DoorMode.always_closed)
    assert not vto.remote_unlock().opened
    refused = vto.find_records("unlock")[-1].data
    assert (refused["ErrorCode"], refused["Reason"]) == (0x17, "the door is set always closed")
    vto.set_door_mode(DoorMode.always_open)
    assert vto.unlocked
    vto.set_door(open_=True)
    assert "BreakIn" not in codes(events)
    vto.set_door(open_=False)
    vto.set_door_mode(DoorMode.normal)
    assert not vto.unlocked


def test_lock_hold_time_limits(vto: DoorStation) -> None:
    with pytest.raises(VtoError, match="lock hold time must be 250-20000 ms"):
        vto.update_settings(lambda s: setattr(s.access, "unlock_hold_ms", 100))
    with pytest.raises(VtoError, match="ring time must be 15-120 s"):
        vto.update_settings(lambda s: setattr(s.access, "ring_timeout_s", 5))


# --- alarms --------------------------------------------------------------------------------


def test_door_forced_open_and_left_open(vto: DoorStation, clock: Clock, events: list[Any]) -> None:
    vto.set_door(open_=True)
    assert "BreakIn" in codes(events)
    clock.advance(vto.settings.access.close_timeout_s)
    vto.tick()
    vto.tick()
    assert codes(events).count("DoorNotClosed") == 1
    vto.set_door(open_=False)
    assert [d["Status"] for c, _, d in events if c == "DoorStatus"] == ["Open", "Close"]
    assert [r.data["AlarmType"] for r in vto.find_records("alarm")] == ["BreakIn", "DoorNotClosed"]


def test_door_opened_after_unlock_is_not_forced(vto: DoorStation, events: list[Any]) -> None:
    vto.remote_unlock()
    vto.set_door(open_=True)
    assert "BreakIn" not in codes(events)


def test_tamper_sounds_for_15_seconds(vto: DoorStation, clock: Clock, events: list[Any]) -> None:
    vto.set_tamper(detached=True)
    assert vto.alarm_sounding
    assert ("ChassisIntruded", "Start") in [(c, a) for c, a, _ in events]
    clock.advance(14.9)
    vto.tick()
    assert vto.alarm_sounding
    clock.advance(0.1)
    vto.tick()
    assert not vto.alarm_sounding
    assert ("ChassisIntruded", "Stop") in [(c, a) for c, a, _ in events]
    assert vto.find_records("alarm")[0].data["AlarmType"] == "ChassisIntruded"


# --- records and persistence ---------------------------------------------------------------


def test_records_search_by_time(vto: DoorStation, clock: Clock) -> None:
    vto.remote_unlock()
    clock.advance(3600)
    vto.remote_unlock()
    mid = T0 + dt.timedelta(minutes=30)
    assert [r.rec_no for r in vto.find_records("unlock", start=mid)] == [2]
    assert [r.rec_no for r in vto.find_records("unlock", end=mid)] == [1]
    assert [r.rec_no for r in vto.find_records("unlock", after_rec_no=1)] == [2]
    with pytest.raises(VtoError, match="unknown record kind"):
        vto.find_records("bogus")


def test_state_survives_restart(tmp_path: Path) -> None:
    station, store = open_station(tmp_path)
    station.initialize("Secret123", "a@b.cd")
    station.set_system_type(SystemType.tcpip)
    station.add_room(Room("101"))
    station.set_facade([{"type": "button1", "keys": ["101"]}, "card"])
    station.put_user(AccessUser("101", password="1234", cards={"CAFE": True}))
    station.remote_unlock()
    serial = station.serial
    store.close()
    again, store = open_station(tmp_path)
    assert again.serial == serial and again.initialized
    assert again.settings.system_type is SystemType.tcpip
    assert list(again.directory.rooms) == ["101"]
    assert again.facade.keys() == ["", "101"]
    assert again.users["101"].cards == {"CAFE": True}
    assert again.remote_unlock().rec_no == 2
    store.close()


def test_user_limits(vto: DoorStation) -> None:
    vto.put_user(AccessUser("1", cards={"AA": False}))
    with pytest.raises(VtoError, match="card AA already belongs to user 1"):
        vto.put_user(AccessUser("2", cards={"AA": False}))
    with pytest.raises(VtoError, match="unlock password must be 1-8 digits"):
        vto.put_user(AccessUser("3", password="12ab"))
    with pytest.raises(VtoError, match="at most 3 fingerprints"):
        vto.put_user(AccessUser("4", fingerprints=[b"x"] * 4))
