"""Pure parts of the Dahua adapter: record parsing, failure classification, user entries."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.platform.devices.adapter import (
    UserPush,
    base_url,
    canonical_card,
    failure_reason,
    parse_alarm,
    parse_duress,
    parse_record,
)
from openpss.protocols.dahua_http.client import (
    DahuaAuthError,
    DahuaConnectionError,
    DahuaRequestError,
)


def test_parse_record_from_record_finder_fields() -> None:
    record = parse_record(
        {
            "RecNo": "42",
            "CreateTime": "1767258000",
            "UserID": "7",
            "CardNo": "c0ffee",
            "Method": "1",
            "AttendanceState": "CheckIn",
            "Status": "1",
        }
    )
    assert record == {
        "record_no": 42,
        "event_time": dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC),
        "user_id": "7",
        "card_no": "00C0FFEE",
        "method": "card",
        "attendance_state": "CheckIn",
        "success": True,
        "reason": "",
        "duress": False,
    }


def test_parse_record_from_event_data() -> None:
    record = parse_record({"RecNo": 3, "UTC": 1767258000, "Method": 6, "Status": 0})
    assert (record["record_no"], record["method"], record["success"]) == (3, "fingerprint", False)
    assert record["card_no"] == ""
    assert record["reason"] == "refused"  # a failure without ErrorCode or Reason


def test_parse_refused_and_duress_records() -> None:
    """Issue 8 item 4: the reason of a refused attempt and a duress card are kept."""
    named = parse_record({"RecNo": 4, "UTC": 1, "Status": "0", "ErrorCode": "20"})
    assert (named["success"], named["reason"]) == (False, "outside validity period")
    told = parse_record({"RecNo": 5, "UTC": 1, "Status": 0, "ErrorCode": 16, "Reason": "lost"})
    assert told["reason"] == "lost"
    duress = parse_record({"RecNo": 6, "UTC": 1, "Status": "1", "CardType": "5"})
    assert (duress["success"], duress["reason"], duress["duress"]) == (True, "", True)


def test_canonical_card_keeps_non_hex_numbers() -> None:
    assert canonical_card("1A") == "0000001A"
    assert canonical_card("123456789ABC") == "123456789ABC"
    assert canonical_card("XYZ") == "XYZ"


def test_failure_reasons() -> None:
    assert failure_reason(DahuaConnectionError("timed out")) == "offline"
    full = DahuaRequestError(400, "capacity full: the device stores at most 10000 users")
    assert failure_reason(full) == "device limit reached"
    bad = DahuaRequestError(400, "user ID must be a number 1-99999999, not 'X'")
    assert failure_reason(bad) == "rejected: user ID must be a number 1-99999999, not 'X'"
    assert failure_reason(DahuaAuthError("401")) == "rejected: wrong user name or password"


def test_user_entry() -> None:
    push = UserPush(
        user_id="5",
        name="A very long name beyond sixteen",
        password="1234",
        doors=[1, 2],
        valid_to=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    entry = push.user_json()
    assert entry["UserName"] == "A very long name"
    assert entry["Doors"] == [0, 1]
    assert entry["Password"] == "1234"
    assert entry["ValidTo"] == "2030-01-01 00:00:00"
    assert "Password" not in UserPush(user_id="6", name="B").user_json()


def test_base_url_brackets_ipv6() -> None:
    assert base_url("::1", 80) == "http://[::1]:80"
    assert base_url("door.example.com", 37777) == "http://door.example.com:37777"


def test_parse_record_maps_numeric_attendance_states_of_real_devices() -> None:
    """Real Dahua devices send AttendanceState as a number (4 = CheckOut)."""
    fields = {"RecNo": "1", "CreateTime": "1767258000", "AttendanceState": "4", "Method": "1"}
    assert parse_record(fields)["attendance_state"] == "CheckOut"
    assert parse_record({**fields, "AttendanceState": "0"})["attendance_state"] == ""


def test_failure_reason_keeps_the_device_lockout_message() -> None:
    locked = DahuaAuthError("User locked: too many failed logins, try again in 280 s")
    assert failure_reason(locked) == (
        "rejected: User locked: too many failed logins, try again in 280 s"
    )
    assert failure_reason(DahuaAuthError("")) == "rejected: wrong user name or password"


def test_parse_duress_event() -> None:
    """A Duress event becomes alarm columns, tied to its access record when it names one."""
    alarm = parse_duress({"RecNo": 5, "UTC": 1767258000, "UserID": "7", "CardNo": "bad000"})
    assert alarm == {
        "alarm": "duress",
        "record_no": 5,
        "event_time": dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC),
        "user_id": "7",
        "card_no": "00BAD000",
    }
    assert parse_duress({"UserID": "7"})["record_no"] is None  # a device without RecNo


def test_parse_alarm_of_a_door_station() -> None:
    """AlarmRecord fields (or the alarm event's data) become AlarmRecord columns."""
    tamper = parse_alarm({"RecNo": "3", "CreateTime": "1767258000", "AlarmType": "ChassisIntruded"})
    assert tamper == {
        "alarm_no": 3,
        "event_time": dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC),
        "alarm_type": "tamper",
        "channel": 0,
        "detail": "tamper: the unit was taken off its mounting",
    }
    door = parse_alarm({"RecNo": 4, "CreateTime": 1, "AlarmType": "BreakIn", "Door": "1"})
    assert door is not None and (door["alarm_type"], door["channel"]) == ("door_break_in", 2)
    card = parse_alarm({"RecNo": 5, "AlarmType": "Duress", "UserID": "11", "CardNo": "d0d0"})
    assert card is not None and card["detail"] == "duress card 0000D0D0 used by user 11"
    password = parse_alarm({"RecNo": 6, "AlarmType": "Duress", "Method": "0", "UserID": ""})
    assert password is not None and password["detail"] == "duress password used by user ?"
    # An alarm code the platform has no name for keeps the device's, with its fields.
    other = parse_alarm({"RecNo": 7, "Channel": "2"}, "AlarmLocal")
    assert other is not None and (other["alarm_type"], other["detail"]) == (
        "AlarmLocal",
        "AlarmLocal: Channel=2",
    )
    # The end of an alarm (the tamper sound stopping) has no record number: no record.
    assert parse_alarm({"Sound": False}, "ChassisIntruded") is None


def test_validity_is_sent_in_the_wall_time_the_device_clock_is_set_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sync sets device clocks to the platform's local time: validity follows it."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        start = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
        entry = UserPush(user_id="1", name="A", valid_from=start, valid_to=start).user_json()
        assert entry["ValidFrom"] == "2026-03-01 19:00:00"  # UTC-5 in March
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
