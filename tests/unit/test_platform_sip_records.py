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
