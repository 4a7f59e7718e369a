"""The platform's attendance periods and shifts (manual 3.8-3.9), evaluated per person-day.

Pure: local wall-clock datetimes in, a `DayOutcome` out. A fixed period's work time may cross
midnight; its valid check-in window may start the day before and its check-out window may end
the day after.
"""

from __future__ import annotations

import datetime as dt
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from openpss.attendance.terminal import MINUTES_PER_DAY, RuleError, format_hhmm

MAX_FIXED_PERIODS_PER_DAY = 8  # manual 3.8: "you can add up to 8 attendance periods"
MAX_REST_BREAKS = 7  # manual 3.8: "you can add up to 7 rest periods"
MAX_SPAN_MINUTES = MINUTES_PER_DAY  # manual 3.8: "The time span must not exceed 24 hours."
CYCLE_MODES = ("day", "week")
IN_PROGRESS = "in_progress"  # a period (and its day) whose valid check-in/out window is still open


def _span(start: int, end: int) -> int:
    """Minutes from start to end, crossing midnight when end is not after start."""
    return (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY


def _at(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)


@dataclass(frozen=True)
class RestBreak:
    """A rest period inside a fixed period (manual 3.8, Figure 3-15)."""

    name: str
    start: int
    end: int
    minutes: int
    validity_start: int | None = None
    validity_end: int | None = None
    auto_deduction: bool = True
    must_check: bool = False
    transfer_unused: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.minutes <= _span(self.start, self.end):
            raise RuleError(
                f"rest {self.name!r}: rest minutes must be 1-{_span(self.start, self.end)} "
                f"(the length of {format_hhmm(self.start)}-{format_hhmm(self.end)})"
            )


@dataclass(frozen=True)
class FixedPeriod:
    """Fixed attendance period: work time, valid check-in/out windows, late/early rules."""

    name: str
    work_start: int
    work_end: int
    checkin_start: int
    checkout_end: int
    record_as_minutes: int | None = None
    first_last_only: bool = True
    late_permitted_minutes: int = 0
    late_absence_minutes: int | None = None
    early_permitted_minutes: int = 0
    rests: tuple[RestBreak, ...] = ()
    kind: str = field(default="fixed", init=False)

    def __post_init__(self) -> None:
        for name in ("work_start", "work_end", "checkin_start", "checkout_end"):
            if not 0 <= getattr(self, name) < MINUTES_PER_DAY:
                raise RuleError(f"period {self.name!r}: {name} must be a time 00:00-23:59")
        if len(self.rests) > MAX_REST_BREAKS:
            raise RuleError(f"period {self.name!r}: at most {MAX_REST_BREAKS} rest periods")
        if self.before_minutes + self.span_minutes + self.after_minutes > 2 * MINUTES_PER_DAY:
            raise RuleError(
                f"period {self.name!r}: the valid check-in/out time spans more than 48 hours; "
                f"{self._window_fix()}"
            )

    def _window_fix(self) -> str:
        """What to change when the valid check-in/out time spans more than 48 hours."""
        return (
            f"set valid check-in from (now {format_hhmm(self.checkin_start)}) at or before work "
            f"start {format_hhmm(self.work_start)} and valid check-out until (now "
            f"{format_hhmm(self.checkout_end)}) at or after work end {format_hhmm(self.work_end)}"
        )

    @cached_property  # frozen: computed once per period, not per person-day
    def span_minutes(self) -> int:
        """Length of the work time (at most 24 hours)."""
        return _span(self.work_start, self.work_end)

    @cached_property
    def before_minutes(self) -> int:
        """How long before work start the valid check-in time opens."""
        return (self.work_start - self.checkin_start) % MINUTES_PER_DAY

    @cached_property
    def after_minutes(self) -> int:
        """How long after work end the valid check-out time closes."""
        return (self.checkout_end - self.work_end) % MINUTES_PER_DAY

    @cached_property
    def due_minutes(self) -> int:
        """Minutes the period counts as ("Record as"), default the work time."""
        return self.record_as_minutes if self.record_as_minutes is not None else self.span_minutes

    def work_bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Work start and end on `day` (the end may be on the next day)."""
        start = _at(day, self.work_start)
        return start, start + dt.timedelta(minutes=self.span_minutes)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Valid check-in start and check-out end on `day`, inclusive to the minute."""
        start, end = self.work_bounds(day)
        return (
            start - dt.timedelta(minutes=self.before_minutes),
            end + dt.timedelta(minutes=self.after_minutes, seconds=59),
        )


@dataclass(frozen=True)
class FlexiblePeriod:
    """Flexible period: required hours a day; the day runs from the cross-day change time."""

    name: str
    required_minutes: int
    day_change_minute: int = 0
    first_last_only: bool = True
    overtime_beyond_required: bool = False
    kind: str = field(default="flexible", init=False)

    def __post_init__(self) -> None:
        if not 0 < self.required_minutes <= MAX_SPAN_MINUTES:
            raise RuleError(f"period {self.name!r}: required work hours must be 0-24")

    @property
    def due_minutes(self) -> int:
        """The required minutes."""
        return self.required_minutes

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The attendance day: change time to change time of the next day."""
        start = _at(day, self.day_change_minute)
        return start, start + dt.timedelta(days=1, microseconds=-1)


@dataclass(frozen=True)
class RestPeriodType:
    """The rest type: a day off."""

    name: str = "Rest"
    kind: str = field(default="rest", init=False)

    @property
    def due_minutes(self) -> int:
        """A rest day is due nothing."""
        return 0

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """An empty window at the start of the day."""
        start = _at(day, 0)
        return start, start


AnyPeriod = FixedPeriod | FlexiblePeriod | RestPeriodType


def check_day_periods(periods: Sequence[AnyPeriod]) -> None:
    """Manual 3.8: up to 8 fixed periods a day, each starting no earlier than the previous ends."""
    fixed = [p for p in periods if isinstance(p, FixedPeriod)]
    if len(fixed) > MAX_FIXED_PERIODS_PER_DAY:
        raise RuleError(f"a day holds at most {MAX_FIXED_PERIODS_PER_DAY} fixed periods")
    if len(fixed) != len(periods) and len(periods) > 1:
        raise RuleError("a flexible or rest period must be the only period of its day")
    day = dt.date(2000, 1, 1)
    for earlier, later in itertools.pairwise(fixed):
        if later.work_bounds(day)[0] < earlier.work_bounds(day)[1]:
            raise RuleError(
                f"period {later.name!r} starts before period {earlier.name!r} ends; "
                "arrange periods in order without overlap"
            )


@dataclass(frozen=True)
class CycleShift:
    """A shift (manual 3.9): periods arranged on a cycle of days or weeks from a start date."""

    name: str
    start_date: dt.date
    cycle_mode: str
    cycles: int
    arrangement: dict[int, tuple[AnyPeriod, ...]]

    def __post_init__(self) -> None:
        if self.cycle_mode not in CYCLE_MODES:
            raise RuleError("cycle mode is 'day' or 'week'")
        if not 1 <= self.cycles <= 31:
            raise RuleError("number of cycles must be 1-31")
        for index, periods in self.arrangement.items():
            if not 0 <= index < self.length:
                raise RuleError(f"day {index + 1} is outside the cycle of {self.length} days")
            check_day_periods(periods)

    @property
    def length(self) -> int:
        """Days in one cycle."""
        return self.cycles * (7 if self.cycle_mode == "week" else 1)

    def index_of(self, day: dt.date) -> int:
        """Position of `day` in the cycle (week cycles start on the Monday of the start week)."""
        origin = self.start_date
        if self.cycle_mode == "week":
            origin -= dt.timedelta(days=origin.weekday())
        return (day - origin).days % self.length

    def periods_on(self, day: dt.date) -> tuple[AnyPeriod, ...]:
        """Periods scheduled on `day`; none before the start date."""
        if day < self.start_date:
            return ()
        return self.arrangement.get(self.index_of(day), ())


@dataclass(frozen=True)
class PeriodOutcome:
    """The result of one period on one day."""

    name: str
    check_in: dt.datetime | None
    check_out: dt.datetime | None
    status: str  # normal, late, early, late_early, absent, in_progress
    late_minutes: int = 0
    early_minutes: int = 0
    work_minutes: int = 0
    overtime_minutes: int = 0
    due_minutes: int = 0


@dataclass(frozen=True)
class DayOutcome:
    """One person-day."""

    status: str
    periods: tuple[PeriodOutcome, ...] = ()

    def total(self, name: str) -> int:
        """Sum of one PeriodOutcome field."""
        return sum(int(getattr(p, name)) for p in self.periods)

    @property
    def late_count(self) -> int:
        """Periods checked in late."""
        return sum(1 for p in self.periods if p.late_minutes)

    @property
    def early_count(self) -> int:
        """Periods checked out early."""
        return sum(1 for p in self.periods if p.early_minutes)

    @property
    def absence_days(self) -> float:
        """Absent periods as a share of the day, weighted by their due minutes."""
        due = self.total("due_minutes")
        absent = sum(p.due_minutes for p in self.periods if p.status == "absent")
        return round(absent / due, 3) if due else 0.0


class _Punches:
    """One day's punches, sorted, with their offsets in seconds from that day's midnight."""

    __slots__ = ("offsets", "times")

    def __init__(self, day: dt.date, punches: Sequence[dt.datetime]) -> None:
        base = dt.datetime.combine(day, dt.time())
        self.times = sorted(punches)
        self.offsets = [int((p - base).total_seconds()) for p in self.times]

    def between(self, low: int, high: int) -> tuple[list[int], list[dt.datetime]]:
        """Offsets and times of the punches with low <= offset <= high (seconds)."""
        i, j = bisect_left(self.offsets, low), bisect_right(self.offsets, high)
        return self.offsets[i:j], self.times[i:j]


def _pairs(minutes: list[int], first_last_only: bool) -> list[tuple[int, int]]:
    if len(minutes) < 2:
        return []
    if first_last_only:
        return [(minutes[0], minutes[-1])]
    return [(minutes[i], minutes[i + 1]) for i in range(0, len(minutes) - 1, 2)]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _rest_deduction(period: FixedPeriod, pairs: list[tuple[int, int]], offsets: list[int]) -> int:
    """Minutes of rest taken out of the work time (minutes are from the day's midnight)."""
    total = 0
    for rest in period.rests:
        start = period.work_start + (rest.start - period.work_start) % MINUTES_PER_DAY
        bounds = (start, start + _span(rest.start, rest.end))
        if rest.must_check:
            total += _checked_rest(rest, period.work_start, offsets)
        elif rest.auto_deduction:
            total += min(rest.minutes, sum(_overlap(pair, bounds) for pair in pairs))
    return total


def _checked_rest(rest: RestBreak, work_start: int, offsets: list[int]) -> int:
    """Minutes deducted for a rest that must be checked out and in within its validity window."""
    low = rest.validity_start if rest.validity_start is not None else rest.start
    high = rest.validity_end if rest.validity_end is not None else rest.end
    begin = work_start + (low - work_start) % MINUTES_PER_DAY
    end = begin + _span(low, high)
    inside = [s for s in offsets if begin * 60 <= s <= end * 60 + 59]
    if len(inside) < 2:
        return rest.minutes
    taken = inside[-1] // 60 - inside[0] // 60
    return taken if rest.transfer_unused else max(taken, rest.minutes)


def _fixed(period: FixedPeriod, punches: _Punches) -> PeriodOutcome:
    start = period.work_start
    end = start + period.span_minutes
    offsets, times = punches.between(
        (start - period.before_minutes) * 60, (end + period.after_minutes) * 60 + 59
    )
    due = period.due_minutes
    pairs = _pairs([s // 60 for s in offsets], period.first_last_only)
    if not pairs:
        return PeriodOutcome(
            period.name, times[0] if times else None, None, "absent", due_minutes=due
        )
    late = pairs[0][0] - start
    if period.late_absence_minutes is not None and late > period.late_absence_minutes:
        return PeriodOutcome(period.name, times[0], times[-1], "absent", due_minutes=due)
    late = max(0, late - period.late_permitted_minutes)
    early = max(0, end - pairs[-1][1] - period.early_permitted_minutes)
    work = sum(_overlap(pair, (start, end)) for pair in pairs)
    work = max(0, work - _rest_deduction(period, pairs, offsets))
    status = ("late" if late else "") + ("_early" if early else "")
    last = times[-1] if period.first_last_only else times[2 * len(pairs) - 1]
    return PeriodOutcome(
        period.name, times[0], last, status.lstrip("_") or "normal", late, early, work, 0, due
    )


def _flexible(period: FlexiblePeriod, punches: _Punches) -> PeriodOutcome:
    low = period.day_change_minute * 60
    offsets, times = punches.between(low, low + 86399)
    pairs = _pairs([s // 60 for s in offsets], period.first_last_only)
    due = period.required_minutes
    if not pairs:
        return PeriodOutcome(
            period.name, times[0] if times else None, None, "absent", due_minutes=due
        )
    work = sum(b - a for a, b in pairs)
    short = max(0, due - work)
    overtime = max(0, work - due) if period.overtime_beyond_required else 0
    last = times[-1] if period.first_last_only else times[2 * len(pairs) - 1]
    status = "early" if short else "normal"
    return PeriodOutcome(
        period.name, times[0], last, status, 0, short, min(work, due), overtime, due
    )


def evaluate_fixed(
    period: FixedPeriod, day: dt.date, punches: Sequence[dt.datetime]
) -> PeriodOutcome:
    """Check-in/out in the valid windows, late/early allowances, work minutes less rests."""
    return _fixed(period, _Punches(day, punches))


def evaluate_flexible(
    period: FlexiblePeriod, day: dt.date, punches: Sequence[dt.datetime]
) -> PeriodOutcome:
    """Work minutes from the day's punches; short of the required hours counts as early."""
    return _flexible(period, _Punches(day, punches))


def _in_progress(outcome: PeriodOutcome) -> PeriodOutcome:
    """A period whose valid window is still open: nothing is counted against it yet."""
    return PeriodOutcome(
        outcome.name,
        outcome.check_in,
        outcome.check_out,
        IN_PROGRESS,
        due_minutes=outcome.due_minutes,
    )


def evaluate_person_day(
    day: dt.date,
    periods: Sequence[AnyPeriod],
    punches: Sequence[dt.datetime],
    now: dt.datetime | None = None,
) -> DayOutcome:
    """Evaluate a day's periods (punches are local times, any order); none or rest: a rest day.

    With `now` (local wall time, whole seconds), a period whose valid window has not closed by
    then is "in_progress" (not absent, not late), and so is its day.
    """
    prepared = _Punches(day, punches)
    outcomes = []
    for period in periods:
        if isinstance(period, FixedPeriod):
            outcome = _fixed(period, prepared)
        elif isinstance(period, FlexiblePeriod):
            outcome = _flexible(period, prepared)
        else:
            continue
        if now is not None and now <= period.window(day)[1]:
            outcome = _in_progress(outcome)
        outcomes.append(outcome)
    if not outcomes:
        return DayOutcome("rest")
    statuses = {o.status for o in outcomes}
    if IN_PROGRESS in statuses:
        return DayOutcome(IN_PROGRESS, tuple(outcomes))
    if statuses == {"absent"}:
        return DayOutcome("absent", tuple(outcomes))
    if statuses == {"normal"}:
        return DayOutcome("normal", tuple(outcomes))
    return DayOutcome("abnormal", tuple(outcomes))


def day_window(
    day: dt.date, periods: Sequence[AnyPeriod]
) -> tuple[dt.datetime, dt.datetime] | None:
    """The span of local time whose punches can change `day`'s result; None for a rest day."""
    windows = [p.window(day) for p in periods if not isinstance(p, RestPeriodType)]
    if not windows:
        return None
    return min(w[0] for w in windows), max(w[1] for w in windows)
