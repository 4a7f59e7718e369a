"""The platform's person-days on the vectorised engine: plan matrix in, stored columns out.

The plan (which periods each person has on each day, after leave, trips, holidays, assignments
and employment) is built per department and day, then per person only where a person has their
own assignment, leave or employment limits; `openpss.attendance.bulk_periods` evaluates it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from openpss.attendance.bulk import SECONDS_PER_DAY
from openpss.attendance.bulk_periods import (
    DAY_STATUSES,
    KIND_HOLIDAY,
    KIND_LEAVE,
    KIND_SHIFT,
    KIND_TRIP,
    PERIOD_STATUSES,
    DayColumns,
    EvaluatedPeriod,
    IntArray,
    PeriodTable,
    Plan,
    Punches,
    evaluate_slots,
    sum_days,
)
from openpss.attendance.periods import FixedPeriod, FlexiblePeriod

if TYPE_CHECKING:
    from openpss.platform.attendance.compute import Context, PersonRow

UNSCHEDULED = -1
Employment = tuple[dt.datetime | None, dt.date | None]  # see Context.employment
KIND_OF = {"leave": KIND_LEAVE, "business_trip": KIND_TRIP}
# "HH:MM:SS" of every second of a day, JSON-quoted: punch and check times are looked up here.
_CLOCK = [json.dumps(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}") for s in range(86400)]


@dataclass(frozen=True)
class Month:
    """A planned and evaluated block of persons x days, ready to be written."""

    persons: Sequence[PersonRow]
    first: dt.date
    plan: Plan
    table: PeriodTable
    punches: Punches
    days: DayColumns


def _periods_table(ctx: Context) -> tuple[PeriodTable, dict[int, int]]:
    """Every fixed and flexible period of the shifts, and its index by object id."""
    found: dict[int, EvaluatedPeriod] = {}
    for shift in ctx.shifts.values():
        for periods in shift.arrangement.values():
            for period in periods:
                if isinstance(period, FixedPeriod | FlexiblePeriod):
                    found.setdefault(id(period), period)
    index = {key: i for i, key in enumerate(found)}
    return PeriodTable.of(list(found.values())), index


def _shift_matrix(ctx: Context, persons: Sequence[PersonRow], days: list[dt.date]) -> IntArray:
    """Shift id of each person-day (0: none): departments first, then own assignments."""
    by_department: dict[int | None, IntArray] = {}
    matrix = np.zeros((len(persons), len(days)), dtype=np.int64)
    for row, person in enumerate(persons):
        line = by_department.get(person.department_id)
        if line is None:
            line = np.array(
                [ctx.department_shift_id(person.department_id, d) or 0 for d in days],
                dtype=np.int64,
            )
            by_department[person.department_id] = line
        matrix[row] = line
        for start, end, shift_id in reversed(ctx.person_assignments.get(person.id, ())):
            low, high = max((start - days[0]).days, 0), min((end - days[0]).days, len(days) - 1)
            if low <= high:
                matrix[row, low : high + 1] = shift_id  # newest assignment written last wins
    return matrix


def _kind_matrix(
    ctx: Context,
    persons: Sequence[PersonRow],
    days: list[dt.date],
    shifts: IntArray,
    employment: list[Employment],
) -> IntArray:
    """KIND_* of each person-day, UNSCHEDULED where no plan or outside employment."""
    kinds = np.where(shifts > 0, KIND_SHIFT, UNSCHEDULED)
    holiday = np.array([ctx.holiday(d) is not None for d in days], dtype=bool)
    kinds[:, holiday] = np.where(shifts[:, holiday] > 0, KIND_HOLIDAY, UNSCHEDULED)
    first = days[0]
    for row, person in enumerate(persons):
        for start, end, kind in reversed(ctx.exceptions.get(person.id, ())):
            low, high = max((start - first).days, 0), min((end - first).days, len(days) - 1)
            if low <= high:
                kinds[row, low : high + 1] = KIND_OF[kind]
        employed_from, employed_to = employment[row]
        if employed_from is not None and employed_from.date() > first:
            kinds[row, : (employed_from.date() - first).days] = UNSCHEDULED
        if employed_to is not None and employed_to >= first:
            kinds[row, (employed_to - first).days + 1 :] = UNSCHEDULED
        elif employed_to is not None:
            kinds[row] = UNSCHEDULED
    return kinds


def build_plan(
    ctx: Context,
    persons: Sequence[PersonRow],
    days: list[dt.date],
    wanted: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> tuple[Plan, PeriodTable]:
    """The rows (person-days with a plan) and slots (their periods) of persons x days."""
    table, index = _periods_table(ctx)
    shifts = _shift_matrix(ctx, persons, days)
    employment = [ctx.employment(p) for p in persons]
    kinds = _kind_matrix(ctx, persons, days, shifts, employment)
    if wanted is not None:
        kinds = np.where(wanted, kinds, UNSCHEDULED)
    person, day = np.nonzero(kinds != UNSCHEDULED)
    kind, shift = kinds[person, day], shifts[person, day]
    combo_periods: dict[tuple[int, int], list[int]] = {}
    slot_rows: list[IntArray] = []
    slot_periods: list[int] = []
    shift_rows = np.flatnonzero(kind == KIND_SHIFT)
    combos = shift[shift_rows] * len(days) + day[shift_rows]
    for combo in np.unique(combos).tolist():
        shift_id, offset = divmod(combo, len(days))
        planned = ctx.shifts[shift_id].periods_on(days[offset]) if shift_id in ctx.shifts else ()
        ids = [index[id(p)] for p in planned if id(p) in index]
        combo_periods[(shift_id, offset)] = ids
    rows_of = _rows_by_combo(shift_rows, combos)
    for combo, rows in rows_of.items():
        ids = combo_periods[divmod(combo, len(days))]
        if ids:
            slot_rows.append(np.repeat(rows, len(ids)))
            slot_periods.extend(ids * rows.size)
    slot_row = np.concatenate(slot_rows) if slot_rows else np.zeros(0, dtype=np.int64)
    slot_period = np.array(slot_periods, dtype=np.int64)
    order = np.argsort(slot_row, kind="stable")  # row order; a row's periods keep theirs
    plan = Plan(person, day, kind, slot_row[order], slot_period[order])
    return _first_days(employment, days, plan, table), table


def _rows_by_combo(rows: IntArray, combos: IntArray) -> dict[int, IntArray]:
    order = np.argsort(combos, kind="stable")
    values, starts = np.unique(combos[order], return_index=True)
    bounds = [*starts.tolist(), order.size]
    return {int(v): rows[order[bounds[k] : bounds[k + 1]]] for k, v in enumerate(values)}


def _first_days(
    employment: list[Employment], days: list[dt.date], plan: Plan, table: PeriodTable
) -> Plan:
    """On the day employment starts, periods whose valid window closed before it are not due."""
    starting = [
        (row, (start.date() - days[0]).days, start - dt.datetime.combine(start.date(), dt.time()))
        for row, (start, _) in enumerate(employment)
        if start is not None and days[0] <= start.date() <= days[-1]
    ]
    if not starting:
        return plan
    keep_slot = np.ones(plan.slot_row.size, dtype=bool)
    drop_row = np.zeros(plan.person.size, dtype=bool)
    high = table.columns["high"]
    keys = plan.person * len(days) + plan.day
    bounds = np.searchsorted(plan.slot_row, np.arange(plan.person.size + 1)).tolist()
    for row, offset, since in starting:
        r = int(np.searchsorted(keys, row * len(days) + offset))
        if r >= keys.size or keys[r] != row * len(days) + offset:
            continue
        a, b = bounds[r], bounds[r + 1]
        due = high[plan.slot_period[a:b]] >= since.total_seconds()
        keep_slot[a:b] = due
        drop_row[r] = plan.kind[r] != KIND_SHIFT or not due.any()
    keep_slot &= ~drop_row[plan.slot_row]
    renumber = np.cumsum(~drop_row) - 1
    kept = ~drop_row
    return Plan(
        plan.person[kept],
        plan.day[kept],
        plan.kind[kept],
        renumber[plan.slot_row[keep_slot]],
        plan.slot_period[keep_slot],
    )


def evaluate_month(
    ctx: Context,
    persons: Sequence[PersonRow],
    days: list[dt.date],
    punches: tuple[IntArray, IntArray],
    wanted: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> Month:
    """Plan and evaluate persons x days; `punches` are (person row, local epoch second)."""
    plan, table = build_plan(ctx, persons, days, wanted)
    keys = Punches.of(punches[0], punches[1], days[0], len(days))
    now = dt.datetime.now(ctx.zone).replace(tzinfo=None, microsecond=0)
    slots = evaluate_slots(table, keys, plan, now if days[-1] >= now.date() else None)
    return Month(persons, days[0], plan, table, keys, sum_days(plan, slots))


def month_columns(month: Month) -> list[list[Any]]:
    """The stored columns of every planned row, in store.COLUMNS order (without computed_at):
    person id, day, status, due, work, overtime, late count, late, early count, early minutes,
    absence days, punches JSON, detail JSON. Built column by column: no Python call per row."""
    plan, days = month.plan, month.days
    keys = month.punches.keys
    clock = [_CLOCK[s] for s in (keys % SECONDS_PER_DAY).tolist()]
    midnight = month.punches.midnight(plan.person, plan.day)
    own = zip(
        np.searchsorted(keys, midnight).tolist(),
        np.searchsorted(keys, midnight + SECONDS_PER_DAY).tolist(),
        strict=True,
    )
    detail = _details(month, clock)
    starts = np.searchsorted(plan.slot_row, np.arange(plan.person.size + 1)).tolist()
    ids = [p.id for p in month.persons]
    dates = [
        (month.first + dt.timedelta(days=d)).isoformat()
        for d in range(int(plan.day.max(initial=0)) + 1)
    ]
    return [
        [ids[p] for p in plan.person.tolist()],
        [dates[d] for d in plan.day.tolist()],
        [DAY_STATUSES[s] for s in days.status.tolist()],
        *(
            column.tolist()
            for column in (days.due, days.work, days.overtime, days.late_count, days.late)
        ),
        days.early_count.tolist(),
        days.early.tolist(),
        days.absence_days.tolist(),
        ["[" + ", ".join(clock[a:b]) + "]" for a, b in own],
        ["[" + ", ".join(detail[a:b]) + "]" for a, b in itertools.pairwise(starts)],
    ]


def _details(month: Month, clock: list[str]) -> list[str]:
    """The JSON object of every slot (the period's name, status, times and minutes)."""
    slots = month.days.slots
    names = [json.dumps(p.name) for p in month.table.periods]
    columns = zip(
        month.plan.slot_period.tolist(),
        slots.status.tolist(),
        slots.check_in.tolist(),
        slots.check_out.tolist(),
        slots.late.tolist(),
        slots.early.tolist(),
        slots.work.tolist(),
        strict=True,
    )
    return [
        f'{{"name": {names[p]}, "status": "{PERIOD_STATUSES[s]}", '
        f'"check_in": {clock[i] if i >= 0 else "null"}, '
        f'"check_out": {clock[o] if o >= 0 else "null"}, '
        f'"late_minutes": {late}, "early_minutes": {early}, "work_minutes": {work}}}'
        for p, s, i, o, late, early, work in columns
    ]
