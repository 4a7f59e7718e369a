"""Which stored attendance results a change affects, and recomputing exactly those (up to today).

Shared by the period/shift, assignment, leave/holiday and settings services; the results
themselves are computed by `compute`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openpss.platform.attendance import compute
from openpss.platform.attendance.models import (
    AttendanceResult,
    AttendanceShift,
    ShiftAssignment,
)
from openpss.platform.errors import Conflict, NotFound
from openpss.platform.people.models import Department, Person

logger = logging.getLogger(__name__)
T = TypeVar("T")


def get_row(session: Session, model: type[T], key: int, what: str) -> T:
    """The row with this key, or NotFound naming `what`."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key} does not exist")
    return row


def flush_unique(session: Session, what: str) -> None:
    """Flush; a unique-constraint clash becomes Conflict saying `what` already exists."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{what} already exists; choose another name") from None


def department_members(session: Session, department_id: int) -> list[int]:
    """Ids of the persons in a department and its sub-departments."""
    tree: dict[int | None, list[int]] = {}
    for did, parent in session.execute(select(Department.id, Department.parent_id)):
        tree.setdefault(parent, []).append(did)
    wanted, stack = set(), [department_id]
    while stack:
        current = stack.pop()
        if current not in wanted:
            wanted.add(current)
            stack.extend(tree.get(current, []))
    query = select(Person.id).where(Person.department_id.in_(wanted))
    return list(session.scalars(query))


def assignment_persons(session: Session, row: ShiftAssignment) -> list[int]:
    """Ids of the persons an assignment names (its person, or its department's members)."""
    if row.person_id is not None:
        return [row.person_id]
    assert row.department_id is not None
    return department_members(session, row.department_id)


Targets = list[tuple[list[int], dt.date, dt.date]]


def assignment_targets(session: Session, shift_ids: list[int]) -> Targets:
    """(persons, start, end) of every assignment of these shifts."""
    query = select(ShiftAssignment).where(ShiftAssignment.shift_id.in_(shift_ids))
    return [
        (assignment_persons(session, a), a.start_date, a.end_date) for a in session.scalars(query)
    ]


def governed_pairs(session: Session, row: ShiftAssignment) -> set[tuple[int, dt.date]]:
    """Person-days up to today whose shift comes from this assignment.

    Persons whose own (or a nearer department's) assignment takes precedence are left out.
    """
    ctx = compute.load_context(session)
    end = min(row.end_date, compute.today(ctx))
    days = [row.start_date + dt.timedelta(days=i) for i in range((end - row.start_date).days + 1)]
    persons = compute.load_persons(session, assignment_persons(session, row))
    return {
        (person.id, day)
        for person in persons
        for day in days
        if ctx.shift_id_of(person, day) == row.shift_id
    }


def compute_until_today(session: Session, persons: list[int], start: dt.date, end: dt.date) -> None:
    """Compute these persons' results from `start` to `end` (up to today)."""
    end = min(end, compute.today(compute.load_context(session)))
    if persons and start <= end:
        compute.compute_range(session=session, start=start, end=end, person_ids=persons)


def recompute_days(session: Session, start: dt.date, end: dt.date) -> None:
    """Recompute every person's results from `start` to `end` (up to today)."""
    if start <= end:
        end = min(end, compute.today(compute.load_context(session)))
        if start <= end:
            compute.compute_range(session=session, start=start, end=end)


def recompute_existing(session: Session, targets: Targets) -> None:
    """Recompute the stored results inside each (persons, start, end) target."""
    pairs: set[tuple[int, dt.date]] = set()
    for persons, start, end in targets:
        pairs.update(stored_pairs(session, persons, start, end))
    compute.compute_person_days(session, pairs)


def stored_pairs(
    session: Session, persons: list[int], start: dt.date, end: dt.date
) -> set[tuple[int, dt.date]]:
    """(person id, day) of the stored results of these persons within start..end."""
    found: set[tuple[int, dt.date]] = set()
    for offset in range(0, len(persons), 1000):
        query = select(AttendanceResult.person_id, AttendanceResult.day).where(
            AttendanceResult.person_id.in_(persons[offset : offset + 1000]),
            AttendanceResult.day >= start,
            AttendanceResult.day <= end,
        )
        found.update((pid, day) for pid, day in session.execute(query))
    return found


@dataclass(frozen=True)
class ShiftPlan:
    """A snapshot of a shift's calendar as period ids, to compare before and after a change."""

    start_date: dt.date
    cycle_mode: str
    cycles: int
    arrangement: dict[int, tuple[int, ...]]

    @classmethod
    def of(cls, row: AttendanceShift) -> ShiftPlan:
        """Snapshot a stored shift."""
        arrangement = {int(k): tuple(v) for k, v in row.arrangement.items()}
        return cls(row.start_date, row.cycle_mode, row.cycles, arrangement)

    def ids_on(self, day: dt.date) -> tuple[int, ...]:
        """Period ids the shift schedules on `day` (same cycle rule as the core CycleShift)."""
        if day < self.start_date:
            return ()
        origin = self.start_date
        if self.cycle_mode == "week":
            origin -= dt.timedelta(days=origin.weekday())
        length = self.cycles * (7 if self.cycle_mode == "week" else 1)
        return self.arrangement.get((day - origin).days % length, ())


def uses_period(plan: ShiftPlan, period_id: int) -> Callable[[dt.date], bool]:
    """Whether the plan schedules the period on a day."""
    return lambda day: period_id in plan.ids_on(day)


def recompute_shift_days(
    session: Session, shift_id: int, changed: Callable[[dt.date], bool]
) -> int:
    """Recompute stored person-days whose plan takes this shift on a `changed` day.

    Days a person's own assignment, a leave, a trip or a holiday overrides are left alone.
    """
    ctx = compute.load_context(session)
    candidates: set[tuple[int, dt.date]] = set()
    for persons, start, end in assignment_targets(session, [shift_id]):
        candidates.update(stored_pairs(session, persons, start, end))
    persons_by_id = {p.id: p for p in compute.load_persons(session, {p for p, _ in candidates})}
    pairs = {
        (pid, day)
        for pid, day in candidates
        if pid in persons_by_id
        and changed(day)
        and ctx.planned_shift_id(persons_by_id[pid], day) == shift_id
    }
    logger.info("shift %d changed: recomputing %d person-days", shift_id, len(pairs))
    return compute.compute_person_days(session, pairs)
