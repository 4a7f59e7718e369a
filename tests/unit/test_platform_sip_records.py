"""Which server call records the platform stores: the console's calls are stored once, by it."""

from __future__ import annotations

import datetime as dt

from openpss.platform.intercom.sip import console_took_part
from openpss.protocols.sip.accounts import CallRecord

START = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _record(caller: str, callee: str, legs: list[tuple[str, int]]) -> CallRecord:
    return CallRecord(call_id="c1", caller=caller, callee=callee, start=START, legs=legs)


def test_centre_call_rung_at_the_console_is_left_to_the_console() -> None:
    assert console_took_part(_record("8001", "888888", [("888888", 200)]))


def test_console_dialling_a_device_is_left_to_the_console() -> None:
    assert console_took_part(_record("888888", "8001", [("8001", 200)]))


def test_centre_call_rung_at_call_group_members_is_stored_by_the_server_record() -> None:
    assert not console_took_part(_record("8001", "888888", [("102", 603), ("101", 200)]))


def test_centre_call_nobody_registered_for_is_stored_by_the_server_record() -> None:
    assert not console_took_part(_record("8001", "888888", []))


def test_call_group_call_a_manager_client_answered_is_left_to_the_console() -> None:
    record = _record("8001", "888888", [("888888/alice", 487), ("101", 486), ("888888/bob", 200)])
    record.answered_by = "888888/bob"
    assert console_took_part(record)


def test_call_group_call_no_console_answered_is_stored_by_the_server() -> None:
    missed = _record("8001", "888888", [("888888/alice", 480), ("888888/bob", 487)])
    assert not console_took_part(missed)
    taken_by_vts = _record("8001", "888888", [("888888/alice", 487), ("101", 200)])
    taken_by_vts.answered_by = "101"
    assert not console_took_part(taken_by_vts)


def test_console_target_round_trips_any_user_name() -> None:
    from openpss.platform.intercom.callgroups import console_target, console_user

    for name in ("alice", "Zoë Ops", "a/b", "x@y;z"):
        target = console_target(name)
        assert target.startswith("888888/") and " " not in target and ";" not in target
        assert console_user(target) == name
    assert console_user("888888") is None and console_user("101") is None
    assert console_user(None) is None and console_user("888888/") is None
