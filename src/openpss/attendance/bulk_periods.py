"""Vectorised (NumPy) evaluation of the platform's periods (manual 3.8) for many person-days.

Gives exactly the results of `periods.evaluate_person_day` (tested on random data): the punches
are one sorted array of keys (person row * span + local second), each (person-day, period) is a
slot whose valid window is found with two binary searches, then array arithmetic per slot and
one bincount per column to sum the slots of each person-day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openpss.attendance.bulk import EPOCH, SECONDS_PER_DAY
from openpss.attendance.periods import (
    MAX_REST_BREAKS,
    FixedPeriod,
    FlexiblePeriod,
    RestBreak,
)
from openpss.attendance.terminal import MINUTES_PER_DAY

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Kinds of a person-day in a plan.
KIND_SHIFT, KIND_LEAVE, KIND_TRIP, KIND_HOLIDAY = range(4)
KIND_NAMES = ("shift", "leave", "business_trip", "holiday")
# Statuses of one period, as `periods.PeriodOutcome.status` spells them.
PERIOD_STATUSES = ("normal", "late", "early", "late_early", "absent", "in_progress")
NORMAL, LATE, EARLY, LATE_EARLY, ABSENT, IN_PROGRESS = range(6)
# Statuses of a person-day, as `periods.DayOutcome.status` (and the plan kinds) spell them.
DAY_STATUSES = ("normal", "abnormal", "absent", "in_progress", "rest", *KIND_NAMES[1:])
DAY_NORMAL, DAY_ABNORMAL, DAY_ABSENT, DAY_IN_PROGRESS, DAY_REST = range(5)
FIXED, FLEXIBLE = 0, 1
REST_NONE, REST_AUTO, REST_CHECKED = 0, 1, 2
# Near punches only: a day's windows see the punches of the day before, the day and the next.
WINDOW_LOW, WINDOW_HIGH = -SECONDS_PER_DAY, 2 * SECONDS_PER_DAY - 1

EvaluatedPeriod = FixedPeriod | FlexiblePeriod
COLUMN_NAMES = (
    "kind",
    "start",
    "end",
    "low",
    "high",
    "due",
    "first_last_only",
    "late_permitted",
    "late_absence",
    "early_permitted",
    "overtime",
)


def _span(start: int, end: int) -> int:
    return (end - start) % MINUTES_PER_DAY or MINUTES_PER_DAY


def _rest_row(period: FixedPeriod, rest: RestBreak) -> tuple[int, ...]:
    """Mode, deduction bounds (minutes), minutes, check window (seconds), transfer flag."""
    start = period.work_start
    low = start + (rest.start - start) % MINUTES_PER_DAY
    check_from = rest.validity_start if rest.validity_start is not None else rest.start
    check_to = rest.validity_end if rest.validity_end is not None else rest.end
    begin = start + (check_from - start) % MINUTES_PER_DAY
    mode = REST_CHECKED if rest.must_check else REST_AUTO if rest.auto_deduction else REST_NONE
    return (
        mode,
        low,
        low + _span(rest.start, rest.end),
        rest.minutes,
        begin * 60,
        (begin + _span(check_from, check_to)) * 60 + 59,
        int(rest.transfer_unused),
    )


@dataclass(frozen=True)
class PeriodTable:
    """The fixed and flexible periods as columns, indexed by their position in `periods`."""

    periods: tuple[EvaluatedPeriod, ...]
    columns: dict[str, IntArray]
    rests: IntArray  # (periods, MAX_REST_BREAKS, 7): see _rest_row

    @classmethod
    def of(cls, periods: Sequence[EvaluatedPeriod]) -> PeriodTable:
        """Columns of every period; the slot arithmetic reads them by period index."""
        rows = [_period_row(p) for p in periods]
        names = COLUMN_NAMES
        data = np.array(rows, dtype=np.int64).reshape(len(rows), len(names))
        rests = np.zeros((len(periods), MAX_REST_BREAKS, 7), dtype=np.int64)
        for i, period in enumerate(periods):
            if isinstance(period, FixedPeriod):
                for k, rest in enumerate(period.rests):
                    rests[i, k] = _rest_row(period, rest)
        return cls(tuple(periods), {n: data[:, i] for i, n in enumerate(names)}, rests)


def _period_row(period: EvaluatedPeriod) -> tuple[int, ...]:
    if isinstance(period, FlexiblePeriod):
        low = period.day_change_minute * 60
        late = (0, -1, 0, int(period.overtime_beyond_required))
        return (FLEXIBLE, 0, 0, low, low + 86399, period.due_minutes, period.first_last_only, *late)
    start = period.work_start
    end = start + period.span_minutes
    absence = -1 if period.late_absence_minutes is None else period.late_absence_minutes
    return (
        FIXED,
        start,
        end,
        (start - period.before_minutes) * 60,
        (end + period.after_minutes) * 60 + 59,
        period.due_minutes,
        period.first_last_only,
        period.late_permitted_minutes,
        absence,
        period.early_permitted_minutes,
        0,
    )


@dataclass(frozen=True)
class Punches:
    """Sorted punch keys: person row * span + seconds since local midnight of `origin`."""

    keys: IntArray
    origin: dt.date  # the day before the first planned day
    span: int  # seconds per person row

    @classmethod
    def of(cls, persons: IntArray, local_seconds: IntArray, first: dt.date, days: int) -> Punches:
        """Keys of (person row, local epoch second) punches of days first-1 .. first+days."""
        origin = first - dt.timedelta(days=1)
        span = (days + 2) * SECONDS_PER_DAY
        rel = np.asarray(local_seconds, dtype=np.int64) - (origin - EPOCH).days * SECONDS_PER_DAY
        inside = (rel >= 0) & (rel < span) & (persons >= 0)
        keys = persons[inside].astype(np.int64) * span + rel[inside]
        keys.sort()
        return cls(keys, origin, span)

    def midnight(self, person: IntArray, day: IntArray) -> IntArray:
        """Key of local midnight of day offset `day` (from the first planned day)."""
        return person * self.span + (day + 1) * SECONDS_PER_DAY


@dataclass(frozen=True)
class Plan:
    """Person-days to evaluate (rows) and the periods they hold (slots, in row order)."""

    person: IntArray  # row -> person row in the punch keys
    day: IntArray  # row -> day offset from the first planned day
    kind: IntArray  # row -> KIND_*
    slot_row: IntArray  # slot -> row (ascending)
    slot_period: IntArray  # slot -> index in the PeriodTable


@dataclass(frozen=True)
class SlotResult:
    """One (person-day, period): status, punch indices in the keys (-1: none), minutes."""

    status: IntArray
    check_in: IntArray
    check_out: IntArray
    late: IntArray
    early: IntArray
    work: IntArray
    overtime: IntArray
    due: IntArray


@dataclass(frozen=True)
class DayColumns:
    """The stored columns of each planned row (see compute._outcome_columns)."""

    status: IntArray  # index in DAY_STATUSES
    due: IntArray
    work: IntArray
    overtime: IntArray
    late_count: IntArray
    late: IntArray
    early_count: IntArray
    early: IntArray
    absence_days: npt.NDArray[np.float64]
    slots: SlotResult


class _Window:
    """Punch positions and minute arithmetic of the slots over the sorted keys."""

    def __init__(self, keys: IntArray, base: IntArray) -> None:
        self.keys, self.base = keys, base
        self.last = max(keys.size - 1, 0)

    def find(self, low: IntArray, high: IntArray) -> tuple[IntArray, IntArray]:
        """First index and count of keys in [base + low, base + high]."""
        i = np.searchsorted(self.keys, self.base + low, "left").astype(np.int64)
        j = np.searchsorted(self.keys, self.base + high, "right").astype(np.int64)
        return i, np.maximum(j - i, 0)

    def minute(self, index: IntArray, rows: IntArray | slice = slice(None)) -> IntArray:
        """Minute (from the slot's midnight, may be negative) of the key at each index."""
        if self.keys.size == 0:
            return np.zeros_like(index)
        return (self.keys[np.clip(index, 0, self.last)] - self.base[rows]) // 60


def _overlap(a: IntArray, b: IntArray, low: IntArray, high: IntArray) -> IntArray:
    return np.maximum(0, np.minimum(b, high) - np.maximum(a, low))


def evaluate_slots(
    table: PeriodTable, punches: Punches, plan: Plan, now: dt.datetime | None = None
) -> SlotResult:
    """Evaluate every slot of the plan; `now` (local wall time) marks open windows in progress."""
    col = {name: values[plan.slot_period] for name, values in table.columns.items()}
    base = punches.midnight(plan.person[plan.slot_row], plan.day[plan.slot_row])
    win = _Window(punches.keys, base)
    i, n = win.find(np.maximum(col["low"], WINDOW_LOW), np.minimum(col["high"], WINDOW_HIGH))
    fll = col["first_last_only"].astype(bool)
    pairs = np.where(fll, (n >= 2).astype(np.int64), n // 2)
    has = pairs > 0
    last = np.where(fll, i + n - 1, i + 2 * pairs - 1)
    work, rest_overlap = _pair_sums(win, (i, n, pairs), fll, col, table.rests[plan.slot_period])
    flexible = col["kind"] == FLEXIBLE
    first_minute, last_minute = win.minute(i), win.minute(last)
    late_raw = first_minute - col["start"]
    too_late = has & ~flexible & (col["late_absence"] >= 0) & (late_raw > col["late_absence"])
    ok = has & ~too_late
    late = np.where(ok & ~flexible, np.maximum(0, late_raw - col["late_permitted"]), 0)
    early = np.maximum(0, col["end"] - last_minute - col["early_permitted"])
    deduction = _rest_deduction(win, i, n, col, table.rests[plan.slot_period], rest_overlap)
    fixed_work = np.maximum(0, work - deduction)
    short = np.maximum(0, col["due"] - work)
    early = np.where(ok, np.where(flexible, short, early), 0)
    overtime = np.where(ok & flexible & (col["overtime"] == 1), np.maximum(0, work - col["due"]), 0)
    work = np.where(ok, np.where(flexible, np.minimum(work, col["due"]), fixed_work), 0)
    status = np.where(ok, (late > 0) * LATE + (early > 0) * EARLY, ABSENT)  # LATE+EARLY=LATE_EARLY
    check_in = np.where(n >= 1, i, -1)
    check_out = np.where(ok, last, np.where(too_late, i + n - 1, -1))
    if now is not None:
        open_ = _open_windows(punches, plan, col["high"], now)
        status = np.where(open_, IN_PROGRESS, status)
        late, early, work, overtime = (np.where(open_, 0, a) for a in (late, early, work, overtime))
    return SlotResult(status, check_in, check_out, late, early, work, overtime, col["due"].copy())


def _open_windows(punches: Punches, plan: Plan, high: IntArray, now: dt.datetime) -> BoolArray:
    """Slots whose valid window (unclipped) ends at or after `now`."""
    origin = dt.datetime.combine(punches.origin, dt.time())
    now_rel = int((now.replace(microsecond=0) - origin).total_seconds())
    midnight = (plan.day[plan.slot_row] + 1) * SECONDS_PER_DAY
    return np.asarray(now_rel - midnight <= high)


def _pair_sums(
    win: _Window,
    found: tuple[IntArray, IntArray, IntArray],
    fll: BoolArray,
    col: dict[str, IntArray],
    rests: IntArray,
) -> tuple[IntArray, IntArray]:
    """Work minutes of the punch pairs and their overlap with each rest (slots x rests)."""
    i, n, pairs = found
    work = np.zeros(i.size, dtype=np.int64)
    rest_overlap = np.zeros((i.size, MAX_REST_BREAKS), dtype=np.int64)
    active = np.flatnonzero(pairs > 0)
    k = 0
    while active.size:  # pair k of every slot with more than k pairs
        whole = fll[active]  # first-last-only: one pair, the window's first and last punch
        first = np.where(whole, i[active], i[active] + 2 * k)
        second = np.where(whole, i[active] + n[active] - 1, first + 1)
        a, b = win.minute(first, active), win.minute(second, active)
        flexible = col["kind"][active] == FLEXIBLE
        duty = _overlap(a, b, col["start"][active], col["end"][active])
        work[active] += np.where(flexible, b - a, duty)
        for r in range(MAX_REST_BREAKS):
            bounds = rests[active, r]
            if bounds[:, 0].any():
                rest_overlap[active, r] += _overlap(a, b, bounds[:, 1], bounds[:, 2])
        k += 1
        active = active[pairs[active] > k]
    return work, rest_overlap


def _rest_deduction(
    win: _Window,
    i: IntArray,
    n: IntArray,
    col: dict[str, IntArray],
    rests: IntArray,
    rest_overlap: IntArray,
) -> IntArray:
    """Minutes of rest taken out of each fixed slot's work time."""
    total = np.zeros(i.size, dtype=np.int64)
    low = np.maximum(col["low"], WINDOW_LOW)
    high = np.minimum(col["high"], WINDOW_HIGH)
    for r in range(MAX_REST_BREAKS):
        mode, minutes = rests[:, r, 0], rests[:, r, 3]
        if not mode.any():
            continue
        total += np.where(mode == REST_AUTO, np.minimum(minutes, rest_overlap[:, r]), 0)
        checked = np.flatnonzero(mode == REST_CHECKED)
        if checked.size:
            total[checked] += _checked_rest(win, checked, low, high, rests[checked, r])
    return total


def _checked_rest(
    win: _Window, rows: IntArray, low: IntArray, high: IntArray, rest: IntArray
) -> IntArray:
    """A rest that must be checked: its minutes unless two punches inside its window."""
    sub = _Window(win.keys, win.base[rows])
    ci, cn = sub.find(np.maximum(low[rows], rest[:, 4]), np.minimum(high[rows], rest[:, 5]))
    taken = sub.minute(ci + cn - 1) - sub.minute(ci)
    minutes = rest[:, 3]
    used = np.where(rest[:, 6] == 1, taken, np.maximum(taken, minutes))
    return np.where(cn < 2, minutes, used)


def sum_days(plan: Plan, slots: SlotResult) -> DayColumns:
    """Sum each row's slots into the stored day columns (rest when a shift day has no slot)."""
    rows = plan.person.size

    def total(values: IntArray | BoolArray) -> IntArray:
        return np.bincount(plan.slot_row, weights=values, minlength=rows).astype(np.int64)

    count = np.bincount(plan.slot_row, minlength=rows)
    absent_due = total(np.where(slots.status == ABSENT, slots.due, 0))
    due = total(slots.due)
    status = np.select(
        [
            plan.kind != KIND_SHIFT,
            count == 0,
            total(slots.status == IN_PROGRESS) > 0,
            total(slots.status == ABSENT) == count,
            total(slots.status == NORMAL) == count,
        ],
        [plan.kind + DAY_REST, DAY_REST, DAY_IN_PROGRESS, DAY_ABSENT, DAY_NORMAL],
        DAY_ABNORMAL,
    )
    return DayColumns(
        status=status,
        due=due,
        work=total(slots.work),
        overtime=total(slots.overtime),
        late_count=total(slots.late > 0),
        late=total(slots.late),
        early_count=total(slots.early > 0),
        early=total(slots.early),
        absence_days=_absence_days(absent_due, due),
        slots=slots,
    )


def _absence_days(absent: IntArray, due: IntArray) -> npt.NDArray[np.float64]:
    """round(absent / due, 3) exactly as Python rounds it; 0 when nothing is due."""
    out = np.where((due > 0) & (absent == due), 1.0, 0.0)
    partial = np.flatnonzero((absent > 0) & (absent < due))
    if partial.size:
        pairs = np.stack([absent[partial], due[partial]], axis=1)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        values = np.array([round(int(a) / int(d), 3) for a, d in unique.tolist()])
        out[partial] = values[inverse.reshape(-1)]
    return out
