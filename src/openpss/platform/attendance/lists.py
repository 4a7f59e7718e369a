"""The attendance lists (periods, shifts, assignments, leave, holidays, results), each filtered,
sorted and paged once on its declared query (schemas.*Query) for the API and the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import assignments, compute
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendancePeriod,
    AttendanceResult,
    AttendanceShift,
    ShiftAssignment,
)
from openpss.platform.attendance.schemas import (
    AssignmentQuery,
    ExceptionQuery,
    HolidayQuery,
    PeriodQuery,
    ResultQuery,
    ShiftQuery,
)
from openpss.platform.db import contains_text
from openpss.platform.listing import Page, page_of, paginate
from openpss.platform.people.models import Person


def list_periods(*, session: Session, query: PeriodQuery) -> Page[AttendancePeriod]:
    """Periods by name, filtered by part of the name and kind."""
    statement = select(AttendancePeriod)
    if query.search:
        statement = statement.where(contains_text(AttendancePeriod.name, query.search))
    if query.kind is not None:
        statement = statement.where(AttendancePeriod.kind == query.kind)
    return paginate(session, statement, query, order=(AttendancePeriod.name, AttendancePeriod.id))


def list_shifts(*, session: Session, query: ShiftQuery) -> Page[AttendanceShift]:
    """Shifts by name, filtered by part of the name and cycle mode."""
    statement = select(AttendanceShift)
    if query.search:
        statement = statement.where(contains_text(AttendanceShift.name, query.search))
    if query.cycle_mode is not None:
        statement = statement.where(AttendanceShift.cycle_mode == query.cycle_mode)
    return paginate(session, statement, query, order=(AttendanceShift.name, AttendanceShift.id))


def list_assignments(*, session: Session, query: AssignmentQuery) -> Page[ShiftAssignment]:
    """Shift assignments in the order they were made."""
    statement = select(ShiftAssignment)
    row = ShiftAssignment
    for column, value in (
        (row.shift_id, query.shift_id),
        (row.person_id, query.person_id),
        (row.department_id, query.department_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if query.on is not None:
        statement = statement.where(row.start_date <= query.on, row.end_date >= query.on)
    return paginate(session, statement, query, order=(row.id,))


def list_exceptions(*, session: Session, query: ExceptionQuery) -> Page[AttendanceException]:
    """Leave and business trips in the order they were entered."""
    row = AttendanceException
    statement = select(row)
    if query.person_id is not None:
        statement = statement.where(row.person_id == query.person_id)
    if query.kind is not None:
        statement = statement.where(row.kind == query.kind)
    if query.on is not None:
        statement = statement.where(row.start_date <= query.on, row.end_date >= query.on)
    return paginate(session, statement, query, order=(row.id,))


def list_holidays(*, session: Session, query: HolidayQuery) -> Page[dict[str, Any]]:
    """Public (by the country set) and custom holidays of a year, by date."""
    found = assignments.list_holidays(session=session, year=query.year)
    if query.custom:
        found = [h for h in found if h["id"] is not None]
    return page_of(found, query)


def list_results(*, session: Session, query: ResultQuery) -> Page[AttendanceResult]:
    """Person-day results by person and day; the persons asked for are brought up to date
    first (all persons when no person is named: a department is filtered after refreshing)."""
    person_ids = None if query.person_id is None else [query.person_id]
    compute.refresh(session, query.start, query.end, person_ids)
    row = AttendanceResult
    statement = select(row).where(row.day >= query.start, row.day <= query.end)
    if query.person_id is not None:
        statement = statement.where(row.person_id == query.person_id)
    if query.department_id is not None:
        members = select(Person.id).where(Person.department_id == query.department_id)
        statement = statement.where(row.person_id.in_(members))
    if query.status:
        statement = statement.where(row.status == query.status)
    return paginate(session, statement, query, order=(row.person_id, row.day))
