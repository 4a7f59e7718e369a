"""The attendance terminal's rules (manual 2.7, 2.15, 2.16): shifts, windows, late/early, hours.

Times of day are whole minutes after midnight (0-1439); the terminal counts to the minute and
drops seconds (manual 2.15: "9:05:00-9:05:59 is the normal punch-in time").
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MINUTES_PER_DAY = 1440
MAX_SHIFTS = 24  # manual 2.7.1: "You can set up to 24 shifts."
MAX_DUTY_PERIODS = 2  # manual 2.7.1: Duty T1 and Duty T2
REST = 0  # manual 2.7.2: schedule codes
BUSINESS_TRIP = 25
LEAVE = 26
HALF_DAY = 0.5  # manual 2.15: "One time period indicates 0.5 day."


class RuleError(ValueError):
    """A rule (shift, schedule, allowance) breaks a limit of the manual."""


def parse_hhmm(text: str) -> int:
    """Minutes after midnight of an "HH:MM" time of day (00:00-23:59)."""
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit()) or len(minutes) != 2:
        raise RuleError(f"time {text!r} is not HH:MM")
    if int(hours) > 23 or int(minutes) > 59:
        raise RuleError(f"time {text!r} is out of range 00:00-23:59")
    return int(hours) * 60 + int(minutes)


def format_hhmm(minute: int) -> str:
    """ "HH:MM" of minutes after midnight."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def truncate_tenths(minutes: int) -> float:
    """Hours of `minutes`, truncated to one decimal (manual 2.16: 70 minutes is 1.1 hours)."""
    return (minutes // 6) / 10


@dataclass(frozen=True)
class Period:
    """A time period of a shift, start and end in minutes after midnight, start < end."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < self.end < MINUTES_PER_DAY):
            raise RuleError(
                f"period {format_hhmm(self.start % MINUTES_PER_DAY)}-"
                f"{format_hhmm(self.end % MINUTES_PER_DAY)} must start before it ends, "
                "within one day"
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        """A period from two "HH:MM" strings."""
        return cls(parse_hhmm(start), parse_hhmm(end))

    def __str__(self) -> str:
        return f"{format_hhmm(self.start)}-{format_hhmm(self.end)}"


@dataclass(frozen=True)
class Shift:
    """Up to 2 duty periods (in order, not overlapping) and an optional overtime session."""

    duty: tuple[Period, ...]
    overtime: Period | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.duty) <= MAX_DUTY_PERIODS:
            raise RuleError(f"a shift has 1 or 2 duty periods, not {len(self.duty)}")
        ordered = self.segments
        for earlier, later in itertools.pairwise(ordered):
            if later.start <= earlier.end:
                raise RuleError(
                    f"period {later} must start after {earlier} ends "
                    "(periods are in order and cannot overlap)"
                )

    @property
    def segments(self) -> tuple[Period, ...]:
        """Duty periods then the overtime session, in the order of the day."""
        return self.duty + ((self.overtime,) if self.overtime else ())

    def window_starts(self) -> tuple[int, ...]:
        """First minute of each segment's punch window (manual 2.15: middle of the gap)."""
        return self._window_starts

    @functools.cached_property
    def _window_starts(self) -> tuple[int, ...]:
        starts = [0]
        for earlier, later in zip(self.segments, self.segments[1:], strict=False):
            starts.append(earlier.end + math.ceil((later.start - earlier.end) / 2))
        return tuple(starts)

    def window_of(self, minute: int) -> int:
        """Index in `segments` of the window holding `minute` (the last window ends 23:59:59)."""
        return bisect.bisect_right(self._window_starts, minute) - 1


@dataclass(frozen=True)
class PeriodResult:
    """The outcome of one duty period or the overtime session on one day."""

    kind: str  # "duty" or "overtime"
    period: Period
    check_in: dt.time | None
    check_out: dt.time | None
    late_minutes: int = 0
    early_minutes: int = 0
    work_minutes: int = 0

    @property
    def missing(self) -> bool:
        """True when the window holds fewer than two punches."""
        return self.check_out is None

    @property
    def status(self) -> str:
        """normal, late, early, late_early or missing (overtime: normal or none)."""
        if self.missing:
            return "none" if self.kind == "overtime" else "missing"
        flags = ("late" if self.late_minutes else "") + ("_early" if self.early_minutes else "")
        return flags.lstrip("_") or "normal"


@dataclass(frozen=True)
class DayResult:
    """One scheduled day of one user."""

    user_id: str
    date: dt.date
    schedule: int
    periods: tuple[PeriodResult, ...] = ()

    @property
    def status(self) -> str:
        """rest, business_trip, leave, normal or abnormal."""
        if self.schedule == REST:
            return "rest"
        if self.schedule == BUSINESS_TRIP:
            return "business_trip"
        if self.schedule == LEAVE:
            return "leave"
        duty = [p for p in self.periods if p.kind == "duty"]
        return "normal" if all(p.status == "normal" for p in duty) else "abnormal"

    @property
    def work_hours(self) -> float:
        """Sum of the duty periods' overlap minutes, truncated to one decimal."""
        return truncate_tenths(sum(p.work_minutes for p in self.periods if p.kind == "duty"))

    @property
    def overtime_hours(self) -> float:
        """Overtime check-out minus check-in, not clipped to the session, one decimal."""
        return truncate_tenths(sum(p.work_minutes for p in self.periods if p.kind == "overtime"))

    @property
    def late_minutes(self) -> int:
        """Minutes late beyond the allowance, over all duty periods."""
        return sum(p.late_minutes for p in self.periods)

    @property
    def early_minutes(self) -> int:
        """Minutes early beyond the allowance, over all duty periods."""
        return sum(p.early_minutes for p in self.periods)

    @property
    def absence_days(self) -> float:
        """0.5 day for every duty period without both a punch-in and a punch-out."""
        return HALF_DAY * sum(1 for p in self.periods if p.kind == "duty" and p.missing)


def _minute(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def evaluate_period(
    kind: str, period: Period, punches: Sequence[dt.time], late_allowance: int, early_allowance: int
) -> PeriodResult:
    """Earliest punch is the check-in, latest the check-out; fewer than two is a missing punch."""
    if len(punches) < 2:
        return PeriodResult(kind, period, min(punches) if punches else None, None)
    check_in, check_out = min(punches), max(punches)
    first, last = _minute(check_in), _minute(check_out)
    if kind == "overtime":
        return PeriodResult(kind, period, check_in, check_out, work_minutes=last - first)
    late = max(0, first - period.start - late_allowance)
    early = max(0, period.end - last - early_allowance)
    work = max(0, min(last, period.end) - max(first, period.start))
    return PeriodResult(kind, period, check_in, check_out, late, early, work)


def evaluate_shift_day(
    shift: Shift, punches: Iterable[dt.time], *, late_allowance: int, early_allowance: int
) -> tuple[PeriodResult, ...]:
    """Split one day's punches into the shift's windows and evaluate each period."""
    by_window: list[list[dt.time]] = [[] for _ in shift.segments]
    for punch in punches:
        by_window[shift.window_of(_minute(punch))].append(punch)
    kinds = ["duty"] * len(shift.duty) + (["overtime"] if shift.overtime else [])
    return tuple(
        evaluate_period(kind, segment, window, late_allowance, early_allowance)
        for kind, segment, window in zip(kinds, shift.segments, by_window, strict=True)
    )


@dataclass(frozen=True)
class UserSchedule:
    """Which calendar a user follows (manual 2.7.2): "user" or "department"."""

    department: str = ""
    schedule_mode: str = "user"


@dataclass
class Rules:
    """Everything a terminal evaluates attendance with."""

    shifts: dict[int, Shift]
    schedules: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    late_allowance_minutes: int = 0
    early_allowance_minutes: int = 0
    department_schedules: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    users: dict[str, UserSchedule] = field(default_factory=dict)
    recheck_interval_minutes: int = 0

    def __post_init__(self) -> None:
        validate_rules(self)

    def calendar(self, user_id: str) -> Mapping[dt.date, int]:
        """The schedule a user follows: their own, or their department's in department mode."""
        user = self.users.get(user_id)
        if user is not None and user.schedule_mode == "department":
            return self.department_schedules.get(user.department, {})
        return self.schedules.get(user_id, {})

    def scheduled_users(self) -> list[str]:
        """Every user with a calendar, sorted."""
        return sorted(set(self.schedules) | set(self.users))


def validate_schedule_code(code: int, shifts: Mapping[int, Shift]) -> None:
    """0 rest, 1-24 a configured shift, 25 business trip, 26 leave of absence."""
    if code in (REST, BUSINESS_TRIP, LEAVE):
        return
    if not 1 <= code <= MAX_SHIFTS:
        raise RuleError(f"schedule {code} is not 0 (rest), 1-24 (shift), 25 (trip) or 26 (leave)")
    if code not in shifts:
        raise RuleError(f"schedule {code} names shift {code}, which is not configured")


def validate_rules(rules: Rules) -> None:
    """Check the limits of the manual; raise RuleError naming what to fix."""
    for number in rules.shifts:
        if not 1 <= number <= MAX_SHIFTS:
            raise RuleError(f"shift number {number} is outside 1-{MAX_SHIFTS}")
    for name in ("late_allowance_minutes", "early_allowance_minutes"):
        value = getattr(rules, name)
        if not 0 <= value < MINUTES_PER_DAY:
            raise RuleError(f"{name} must be 0-1439 minutes, not {value}")
    check_recheck_interval(rules.recheck_interval_minutes)
    for calendar in (*rules.schedules.values(), *rules.department_schedules.values()):
        for code in calendar.values():
            validate_schedule_code(code, rules.shifts)
    for user_id, user in rules.users.items():
        if user.schedule_mode not in ("user", "department"):
            raise RuleError(f"user {user_id}: schedule_mode must be 'user' or 'department'")


def check_recheck_interval(minutes: int) -> None:
    """Manual 2.11.2: the recheck interval is 0-9 minutes."""
    if not 0 <= minutes <= 9:
        raise RuleError(f"recheck interval must be 0-9 minutes, not {minutes}")


def is_repeat(last_accepted: dt.datetime | None, at: dt.datetime, interval_minutes: int) -> bool:
    """True when `at` falls within the recheck interval after the last accepted punch."""
    check_recheck_interval(interval_minutes)
    if last_accepted is None or interval_minutes == 0:
        return False
    return dt.timedelta(0) <= at - last_accepted < dt.timedelta(minutes=interval_minutes)


def apply_recheck(punches: Sequence[dt.datetime], interval_minutes: int) -> list[dt.datetime]:
    """Drop repeat punches from one user's time-ordered punches (the device says "repeat")."""
    accepted: list[dt.datetime] = []
    for at in punches:
        if not is_repeat(accepted[-1] if accepted else None, at, interval_minutes):
            accepted.append(at)
    return accepted


def evaluate_day(rules: Rules, user_id: str, day: dt.date, punches: Iterable[dt.time]) -> DayResult:
    """The result of one scheduled day (rest, trip and leave days carry no periods)."""
    code = rules.calendar(user_id)[day]
    if code in (REST, BUSINESS_TRIP, LEAVE):
        return DayResult(user_id, day, code)
    periods = evaluate_shift_day(
        rules.shifts[code],
        punches,
        late_allowance=rules.late_allowance_minutes,
        early_allowance=rules.early_allowance_minutes,
    )
    return DayResult(user_id, day, code, periods)


def evaluate(rules: Rules, punches: Iterable[tuple[str, dt.datetime]]) -> list[DayResult]:
    """One result per scheduled (user, day), sorted; punches are (user_id, local time)."""
    by_user: dict[str, list[dt.datetime]] = {}
    for user_id, at in punches:
        by_user.setdefault(user_id, []).append(at)
    results: list[DayResult] = []
    for user_id in rules.scheduled_users():
        accepted = apply_recheck(sorted(by_user.get(user_id, [])), rules.recheck_interval_minutes)
        by_day: dict[dt.date, list[dt.time]] = {}
        for at in accepted:
            by_day.setdefault(at.date(), []).append(at.time())
        for day in sorted(rules.calendar(user_id)):
            results.append(evaluate_day(rules, user_id, day, by_day.get(day, [])))
    return results
