"""Vectorised (NumPy) evaluation of the terminal rules for many users and days at once.

Gives exactly the results of `terminal.evaluate` (tested on random data) for a dense schedule
matrix and punch arrays: one sort of a packed (user, day, second) key, then array arithmetic.
`evaluate_rules` is the entry point of the terminal and of `openpss attendance evaluate`; the
scalar `terminal.evaluate` stays as the reference the tests compare against.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openpss.attendance.terminal import (
    MAX_SHIFTS,
    MINUTES_PER_DAY,
    DayResult,
    Period,
    PeriodResult,
    Rules,
    evaluate_period,
)

SECONDS_PER_DAY = 86400
EPOCH = dt.date(1970, 1, 1)
UNSCHEDULED = -1
SEGMENTS = 3  # two duty periods and the overtime session
_CODES = 27  # schedule codes 0-26
NONE, DUTY, OVERTIME = 0, 1, 2

IntArray = npt.NDArray[np.int64]
SmallArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class ScheduleMatrix:
    """Schedule codes of `user_ids` x consecutive days from `first_day`; -1 is unscheduled."""

    user_ids: list[str]
    first_day: dt.date
    codes: npt.NDArray[np.int8]

    @classmethod
    def from_rules(cls, rules: Rules, first_day: dt.date, last_day: dt.date) -> ScheduleMatrix:
        """The calendars of every scheduled user of `rules` between two dates (inclusive)."""
        users = rules.scheduled_users()
        n_days = (last_day - first_day).days + 1
        codes = np.full((len(users), n_days), UNSCHEDULED, dtype=np.int8)
        for row, user_id in enumerate(users):
            for day, code in rules.calendar(user_id).items():
                offset = (day - first_day).days
                if 0 <= offset < n_days:
                    codes[row, offset] = code
        return cls(users, first_day, codes)

    @property
    def n_days(self) -> int:
        """Number of days covered."""
        return int(self.codes.shape[1])


@dataclass(frozen=True)
class BulkResult:
    """Column arrays, one row per scheduled (user, day), ordered by user then day."""

    user_index: IntArray
    day_index: IntArray
    schedule: IntArray
    work_tenths: IntArray
    overtime_tenths: IntArray
    late_minutes: IntArray
    early_minutes: IntArray
    absence_halves: IntArray
    check_in: SmallArray  # (rows, 3) second of day, -1 when none
    check_out: SmallArray

    def __len__(self) -> int:
        return int(self.user_index.shape[0])

    def to_day_results(self, rules: Rules, matrix: ScheduleMatrix) -> list[DayResult]:
        """The same rows as `terminal.DayResult` objects (for output and for tests)."""
        return [self._day_result(rules, matrix, row) for row in range(len(self))]

    def _day_result(self, rules: Rules, matrix: ScheduleMatrix, row: int) -> DayResult:
        code = int(self.schedule[row])
        day = matrix.first_day + dt.timedelta(days=int(self.day_index[row]))
        user_id = matrix.user_ids[int(self.user_index[row])]
        shift = rules.shifts.get(code)
        if shift is None or not 1 <= code <= MAX_SHIFTS:
            return DayResult(user_id, day, code)
        periods = []
        for j, segment in enumerate(shift.segments):
            kind = "duty" if j < len(shift.duty) else "overtime"
            slot = j if kind == "duty" else 2
            periods.append(self._period(row, slot, kind, segment, rules))
        return DayResult(user_id, day, code, tuple(periods))

    def _period(
        self, row: int, slot: int, kind: str, segment: Period, rules: Rules
    ) -> PeriodResult:
        stamps = (int(self.check_in[row, slot]), int(self.check_out[row, slot]))
        times = [_time(v) for v in stamps if v >= 0]
        late, early = rules.late_allowance_minutes, rules.early_allowance_minutes
        return evaluate_period(kind, segment, times, late, early)


def _time(second: int) -> dt.time:
    return dt.time(second // 3600, second // 60 % 60, second % 60)


def _tables(rules: Rules) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Window lookup [code, minute] -> slot, and segment kind/start/end [code, slot]."""
    window = np.zeros((_CODES, MINUTES_PER_DAY), dtype=np.int64)
    kind = np.zeros((_CODES, SEGMENTS), dtype=np.int64)
    start = np.zeros((_CODES, SEGMENTS), dtype=np.int64)
    end = np.zeros((_CODES, SEGMENTS), dtype=np.int64)
    for code, shift in rules.shifts.items():
        slots = list(range(len(shift.duty))) + ([2] if shift.overtime else [])
        for slot, segment, first in zip(slots, shift.segments, shift.window_starts(), strict=True):
            window[code, first:] = slot
            kind[code, slot] = OVERTIME if slot == 2 else DUTY
            start[code, slot], end[code, slot] = segment.start, segment.end
    return window, kind, start, end


def drop_repeats(key: IntArray, interval_seconds: int, span: int) -> IntArray:
    """Apply the recheck interval to sorted keys (user * span + second), as the terminal does."""
    if interval_seconds <= 0 or key.size < 2:
        return key
    close = (np.diff(key) < interval_seconds) & (key[1:] // span == key[:-1] // span)
    candidates = np.flatnonzero(close) + 1
    if candidates.size == 0:
        return key
    keep = np.ones(key.size, dtype=bool)
    last = -1
    previous = -2
    for i in candidates.tolist():  # only punches close to their predecessor need the sequence
        if i != previous + 1:
            last = int(key[i - 1])
        previous = i
        if key[i] - last < interval_seconds:
            keep[i] = False
        else:
            last = int(key[i])
    return key[keep]


def evaluate_bulk(
    rules: Rules, matrix: ScheduleMatrix, user_index: IntArray, timestamps: IntArray
) -> BulkResult:
    """Evaluate punches given as user row in `matrix` and local time in epoch seconds."""
    n_days = matrix.n_days
    key = _sorted_keys(rules, matrix, user_index, timestamps)
    person_day = key // SECONDS_PER_DAY
    second = key - person_day * SECONDS_PER_DAY
    codes = matrix.codes.reshape(-1).astype(np.int64)
    first, last, count = _group(rules, codes, person_day, second)
    return _results(rules, codes, n_days, first, last, count)


def _sorted_keys(
    rules: Rules, matrix: ScheduleMatrix, user_index: IntArray, timestamps: IntArray
) -> IntArray:
    """Sorted user * span + second-in-matrix keys of the punches inside the matrix."""
    n_users, n_days = matrix.codes.shape
    # With a recheck interval keep the day before: its last punches can make early ones repeats.
    before = 1 if rules.recheck_interval_minutes else 0
    span = (n_days + before) * SECONDS_PER_DAY
    rel = np.asarray(timestamps, dtype=np.int64) - (
        ((matrix.first_day - EPOCH).days - before) * SECONDS_PER_DAY
    )
    users = np.asarray(user_index, dtype=np.int64)
    inside = (rel >= 0) & (rel < span) & (users >= 0) & (users < n_users)
    key = users * span + rel if inside.all() else users[inside] * span + rel[inside]
    key.sort()
    if not before:
        return key
    key = drop_repeats(key, rules.recheck_interval_minutes * 60, span)
    user, offset = np.divmod(key, span)
    in_range = offset >= SECONDS_PER_DAY
    return user[in_range] * (n_days * SECONDS_PER_DAY) + offset[in_range] - SECONDS_PER_DAY


def _group(
    rules: Rules, codes: IntArray, person_day: IntArray, second: IntArray
) -> tuple[SmallArray, SmallArray, SmallArray]:
    """First and last second and punch count per (person-day, slot), as (person-days, 3)."""
    window = _tables(rules)[0].astype(np.int32).reshape(-1)
    code = codes[person_day]
    on_shift = (code >= 1) & (code <= MAX_SHIFTS)
    if not on_shift.all():  # rest, trip and leave days keep their punches out of the windows
        person_day, second, code = person_day[on_shift], second[on_shift], code[on_shift]
    second32 = second.astype(np.int32)
    group = person_day * SEGMENTS + window[code * MINUTES_PER_DAY + second32 // 60]
    size = codes.size * SEGMENTS
    first = np.full(size, -1, dtype=np.int32)
    last = np.full(size, -1, dtype=np.int32)
    count = np.zeros(size, dtype=np.int32)
    if group.size:
        change = np.flatnonzero(group[1:] != group[:-1]) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [group.size])) - 1
        ids = group[starts]
        first[ids], last[ids], count[ids] = second32[starts], second32[ends], ends - starts + 1
    shape = (codes.size, SEGMENTS)
    return first.reshape(shape), last.reshape(shape), count.reshape(shape)


def _results(
    rules: Rules,
    codes: IntArray,
    n_days: int,
    first: SmallArray,
    last: SmallArray,
    count: SmallArray,
) -> BulkResult:
    kind_table, start_table, end_table = (a.astype(np.int32) for a in _tables(rules)[1:])
    scheduled = codes >= 0
    rows = np.flatnonzero(scheduled)
    code = codes[rows]
    if rows.size != codes.size:
        first, last, count = first[rows], last[rows], count[rows]
    kind, start, end = kind_table[code], start_table[code], end_table[code]
    present = count >= 2
    duty = present & (kind == DUTY)
    in_minute, out_minute = first // 60, last // 60
    late = np.where(duty, np.maximum(0, in_minute - start - rules.late_allowance_minutes), 0)
    early = np.where(duty, np.maximum(0, end - out_minute - rules.early_allowance_minutes), 0)
    overlap = np.minimum(out_minute, end) - np.maximum(in_minute, start)
    work = np.where(duty, np.maximum(0, overlap), 0).sum(axis=1, dtype=np.int64)
    overtime = np.where(present & (kind == OVERTIME), out_minute - in_minute, 0)
    return BulkResult(
        user_index=rows // n_days,
        day_index=rows % n_days,
        schedule=code,
        work_tenths=work // 6,
        overtime_tenths=overtime.sum(axis=1, dtype=np.int64) // 6,
        late_minutes=late.sum(axis=1, dtype=np.int64),
        early_minutes=early.sum(axis=1, dtype=np.int64),
        absence_halves=((kind == DUTY) & ~present).sum(axis=1, dtype=np.int64),
        check_in=np.where(count >= 1, first, -1),
        check_out=np.where(present, last, -1),
    )


def punch_arrays(
    matrix: ScheduleMatrix, punches: Sequence[tuple[str, dt.datetime]]
) -> tuple[IntArray, IntArray]:
    """User rows and epoch seconds of (user_id, local time) punches; unknown users get -1."""
    row_of = {user_id: row for row, user_id in enumerate(matrix.user_ids)}
    users = np.fromiter((row_of.get(u, -1) for u, _ in punches), dtype=np.int64, count=len(punches))
    seconds = np.fromiter(
        (
            (at.date() - EPOCH).days * SECONDS_PER_DAY + at.hour * 3600 + at.minute * 60 + at.second
            for _, at in punches
        ),
        dtype=np.int64,
        count=len(punches),
    )
    return users, seconds


def evaluate_rules(
    rules: Rules,
    punches: Sequence[tuple[str, dt.datetime]],
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[DayResult]:
    """`terminal.evaluate` on the bulk engine, optionally only for the days first..last."""
    days = [day for user in rules.scheduled_users() for day in rules.calendar(user)]
    if not days:
        return []
    first = max(min(days), first) if first else min(days)
    last = min(max(days), last) if last else max(days)
    if last < first:
        return []
    matrix = ScheduleMatrix.from_rules(rules, first, last)
    users, seconds = punch_arrays(matrix, punches)
    return evaluate_bulk(rules, matrix, users, seconds).to_day_results(rules, matrix)
