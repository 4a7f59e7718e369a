"""Recheck interval (2.11.2) and attendance event modes / state switch times (2.11.5-2.11.6)."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.attendance import (
    AttendanceState,
    EventMode,
    EventModeConfig,
    RuleError,
    apply_recheck,
    is_repeat,
    proposed_state,
    punch_state,
)
from openpss.attendance.punches import StateSwitch, parse_switches

T0 = dt.datetime(2026, 11, 2, 9, 0)


def test_recheck_interval_boundary() -> None:
    # Interval 3: a punch 2:59 later is a repeat, 3:00 later is a new punch.
    assert is_repeat(T0, T0 + dt.timedelta(minutes=2, seconds=59), 3)
    assert not is_repeat(T0, T0 + dt.timedelta(minutes=3), 3)
    assert not is_repeat(T0, T0 + dt.timedelta(seconds=1), 0)
    assert not is_repeat(None, T0, 9)
    with pytest.raises(RuleError, match="0-9 minutes"):
        is_repeat(T0, T0, 10)


def test_apply_recheck_measures_from_the_last_accepted_punch() -> None:
    punches = [T0 + dt.timedelta(minutes=m) for m in (0, 2, 4, 6, 7)]
    assert apply_recheck(punches, 3) == [
        T0,
        T0 + dt.timedelta(minutes=4),
        T0 + dt.timedelta(minutes=7),
    ]


MANUAL_SWITCHES = parse_switches(
    [("08:00", "CheckIn"), ("17:30", "CheckOut"), ("00:00", "NULL"), ("00:00", "NULL")]
)


def test_state_switch_times_of_the_manual() -> None:
    config = EventModeConfig(EventMode.auto_manual, MANUAL_SWITCHES)
    assert proposed_state(config, dt.time(8, 0)) is AttendanceState.check_in
    assert proposed_state(config, dt.time(17, 29)) is AttendanceState.check_in
    assert proposed_state(config, dt.time(17, 30)) is AttendanceState.check_out
    assert proposed_state(config, dt.time(7, 59)) is AttendanceState.check_out  # wraps
    # Auto/manual: the user may change the proposed status.
    chosen = punch_state(config, dt.time(9, 0), AttendanceState.break_out)
    assert chosen is AttendanceState.break_out


def test_forced_and_fixed_modes() -> None:
    forced = EventModeConfig(EventMode.forced)
    with pytest.raises(RuleError, match="select an attendance status"):
        punch_state(forced, dt.time(9, 0))
    assert punch_state(forced, dt.time(9, 0), AttendanceState.overtime_in).value == "OvertimeIn"
    fixed = EventModeConfig(EventMode.fixed, fixed_state=AttendanceState.break_in)
    assert punch_state(fixed, dt.time(9, 0), AttendanceState.check_out) is AttendanceState.break_in
    with pytest.raises(RuleError, match="fixed_state"):
        EventModeConfig(EventMode.fixed)


def test_at_most_24_state_switch_times() -> None:
    switches = tuple(StateSwitch(dt.time(h, 0), AttendanceState.check_in) for h in range(24))
    assert len(EventModeConfig(switches=switches).switches) == 24
    with pytest.raises(RuleError, match="at most 24"):
        EventModeConfig(switches=(*switches, StateSwitch(dt.time(0, 30), AttendanceState.check_in)))
