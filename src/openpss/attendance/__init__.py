"""The attendance rule engine: a pure core (no I/O, no asyncio, no database).

Shared by the virtual attendance terminal and the platform. Public API:

Terminal rules (manual 2.7, 2.15, 2.16), module `openpss.attendance.terminal`:
- `Period(start, end)` (minutes after midnight; `Period.parse("09:00", "12:00")`),
  `Shift(duty=(p1, p2), overtime=p3)`: up to 2 duty periods, in order, and an optional overtime
  session; `Shift.window_starts()` / `Shift.window_of(minute)` give the punch windows.
- `Rules(shifts={1: shift}, schedules={"1001": {date: 1}}, late_allowance_minutes=5, ...)`:
  up to 24 shifts, schedule codes 0 rest / 1-24 shift / 25 business trip / 26 leave, user or
  department calendars, recheck interval 0-9 minutes. Bad values raise `RuleError`.
- `evaluate(rules, [(user_id, local_datetime), ...]) -> list[DayResult]`: one result per
  scheduled (user, day) with `work_hours`, `overtime_hours`, `late_minutes`, `early_minutes`,
  `absence_days`, `status` and per-period `PeriodResult`s.
- `evaluate_shift_day(shift, times, late_allowance=, early_allowance=)` for one day.

Punch rules (manual 2.11.2, 2.11.5, 2.11.6), module `openpss.attendance.punches`:
- `is_repeat(last_accepted, at, interval_minutes)`, `apply_recheck(times, interval_minutes)`.
- `EventModeConfig(mode, switches, fixed_state)`, `proposed_state(config, time)`,
  `punch_state(config, time, chosen)` -> `AttendanceState` (CheckIn, CheckOut, BreakOut, ...).

Bulk evaluation, module `openpss.attendance.bulk`: `ScheduleMatrix`, `evaluate_bulk` (NumPy,
same results as `evaluate`).

Platform periods and shifts (manual 3.8, 3.9), module `openpss.attendance.periods`.
"""

from __future__ import annotations

from openpss.attendance.punches import (
    AttendanceState,
    EventMode,
    EventModeConfig,
    StateSwitch,
    proposed_state,
    punch_state,
)
from openpss.attendance.terminal import (
    BUSINESS_TRIP,
    LEAVE,
    MAX_SHIFTS,
    REST,
    DayResult,
    Period,
    PeriodResult,
    RuleError,
    Rules,
    Shift,
    UserSchedule,
    apply_recheck,
    evaluate,
    evaluate_day,
    evaluate_shift_day,
    is_repeat,
)

__all__ = [
    "BUSINESS_TRIP",
    "LEAVE",
    "MAX_SHIFTS",
    "REST",
    "AttendanceState",
    "DayResult",
    "EventMode",
    "EventModeConfig",
    "Period",
    "PeriodResult",
    "RuleError",
    "Rules",
    "Shift",
    "StateSwitch",
    "UserSchedule",
    "apply_recheck",
    "evaluate",
    "evaluate_day",
    "evaluate_shift_day",
    "is_repeat",
    "proposed_state",
    "punch_state",
]
