"""Punch-time rules of the terminal: recheck interval (2.11.2), event mode and states (2.11.5-6)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from openpss.attendance.terminal import RuleError, apply_recheck, is_repeat

__all__ = [
    "AttendanceState",
    "EventMode",
    "EventModeConfig",
    "StateSwitch",
    "apply_recheck",
    "is_repeat",
    "parse_switches",
    "proposed_state",
    "punch_state",
]

MAX_STATE_SWITCH_TIMES = 24  # manual 2.11.6: "You can configure up to 24 state switch time."


class AttendanceState(enum.StrEnum):
    """The attendance status kept on each punch."""

    check_in = "CheckIn"
    check_out = "CheckOut"
    break_out = "BreakOut"
    break_in = "BreakIn"
    overtime_in = "OvertimeIn"
    overtime_out = "OvertimeOut"


class EventMode(enum.StrEnum):
    """Manual 2.11.5, Att. Event Mode."""

    auto_manual = "auto_manual"
    forced = "forced"
    fixed = "fixed"


@dataclass(frozen=True)
class StateSwitch:
    """From `at` on, the terminal proposes `state` (one row of the State Switch Time table)."""

    at: dt.time
    state: AttendanceState


@dataclass(frozen=True)
class EventModeConfig:
    """The attendance event mode and its settings."""

    mode: EventMode = EventMode.auto_manual
    switches: tuple[StateSwitch, ...] = ()
    fixed_state: AttendanceState | None = None

    def __post_init__(self) -> None:
        if len(self.switches) > MAX_STATE_SWITCH_TIMES:
            raise RuleError(
                f"at most {MAX_STATE_SWITCH_TIMES} state switch times, not {len(self.switches)}"
            )
        if self.mode is EventMode.fixed and self.fixed_state is None:
            raise RuleError("fixed mode needs the attendance status to show (fixed_state)")


def proposed_state(config: EventModeConfig, at: dt.time) -> AttendanceState | None:
    """The status auto/manual mode shows at `at`: the latest switch at or before it, wrapping."""
    if config.mode is EventMode.fixed:
        return config.fixed_state
    if config.mode is EventMode.forced or not config.switches:
        return None
    ordered = sorted(config.switches, key=lambda s: s.at)
    current = ordered[-1].state  # before the first switch, yesterday's last switch still holds
    for switch in ordered:
        if switch.at <= at:
            current = switch.state
    return current


def punch_state(
    config: EventModeConfig, at: dt.time, chosen: AttendanceState | None = None
) -> AttendanceState:
    """The status stored with a punch; forced mode needs the user's choice, fixed ignores it."""
    if config.mode is EventMode.fixed:
        assert config.fixed_state is not None
        return config.fixed_state
    if chosen is not None:
        return chosen
    if config.mode is EventMode.forced:
        raise RuleError("forced mode: select an attendance status before punching")
    return proposed_state(config, at) or AttendanceState.check_in


def parse_switches(rows: Iterable[tuple[str, str]]) -> tuple[StateSwitch, ...]:
    """State switch rows ("HH:MM", state name); "NULL" rows are unused and dropped."""
    switches = []
    for time_text, state in rows:
        if state.upper() == "NULL":
            continue
        hours, minutes = (int(x) for x in time_text.split(":"))
        switches.append(StateSwitch(dt.time(hours, minutes), AttendanceState(state)))
    return tuple(switches)
