"""Shift assignments, leave and business trips, and holidays (manual 3.9): who works which
shift when, and the days that override it. Every change is audited and recomputes its days.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import compute, recompute
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendanceShift,
    Holiday,
    ShiftAssignment,
)
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
)
from openpss.platform.errors import Invalid
from openpss.platform.people.models import Department, Person
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)


def _end_before_start(start: dt.date, end: dt.date) -> str:
    return f"the end date {end} is before the start date {start}: choose an end on or after it"


def create_assignment(*, session: Session, actor: Actor, data: AssignmentCreate) -> ShiftAssignment:
    """Apply a shift to a person or a department for a date range, and compute those days."""
    if (data.person_id is None) == (data.department_id is None):
        raise Invalid("give exactly one of person_id and department_id")
    if data.end_date < data.start_date:
        raise Invalid(_end_before_start(data.start_date, data.end_date))
    recompute.get_row(session, AttendanceShift, data.shift_id, "shift")
    if data.person_id is not None:
        recompute.get_row(session, Person, data.person_id, "person")
    if data.department_id is not None:
        recompute.get_row(session, Department, data.department_id, "department")
    row = ShiftAssignment(**data.model_dump())
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="attendance.assignment.create",
        target=str(row.id),
        detail=data.model_dump(mode="json"),
    )
    compute.compute_person_days(session, recompute.governed_pairs(session, row))
    return row


def delete_assignment(*, session: Session, actor: Actor, assignment_id: int) -> None:
    """Remove an assignment and recompute the days it covered."""
    row = recompute.get_row(session, ShiftAssignment, assignment_id, "assignment")
    governed = recompute.governed_pairs(session, row)
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="attendance.assignment.delete",
        target=str(assignment_id),
    )
    compute.compute_person_days(session, governed)


def create_exception(
    *, session: Session, actor: Actor, data: ExceptionCreate
) -> AttendanceException:
    """Record a leave or business trip; it overrides the scheduled days it covers."""
    if data.end_date < data.start_date:
        raise Invalid(_end_before_start(data.start_date, data.end_date))
    recompute.get_row(session, Person, data.person_id, "person")
    row = AttendanceException(**data.model_dump())
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"attendance.{data.kind}.create",
        target=str(data.person_id),
        detail=data.model_dump(mode="json"),
    )
    recompute.compute_until_today(session, [data.person_id], data.start_date, data.end_date)
    return row


def delete_exception(*, session: Session, actor: Actor, exception_id: int) -> None:
    """Remove a leave or trip and recompute its days."""
    row = recompute.get_row(session, AttendanceException, exception_id, "leave/trip")
    person, start, end = row.person_id, row.start_date, row.end_date
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"attendance.{row.kind}.delete",
        target=str(exception_id),
    )
    recompute.compute_until_today(session, [person], start, end)


def create_holiday(*, session: Session, actor: Actor, data: HolidayCreate) -> Holiday:
    """Add a custom holiday and recompute that day."""
    row = Holiday(day=data.day, name=data.name)
    session.add(row)
    recompute.flush_unique(session, f"a holiday on {data.day}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.holiday.create",
        target=data.day.isoformat(),
        detail=data.name,
    )
    recompute.recompute_days(session, data.day, data.day)
    return row


def delete_holiday(*, session: Session, actor: Actor, holiday_id: int) -> None:
    """Remove a custom holiday and recompute that day."""
    row = recompute.get_row(session, Holiday, holiday_id, "holiday")
    day = row.day
    session.delete(row)
    session.flush()
    record_audit(
        session=session, actor=actor, action="attendance.holiday.delete", target=day.isoformat()
    )
    recompute.recompute_days(session, day, day)


def list_holidays(*, session: Session, year: int) -> list[dict[str, Any]]:
    """Custom and public holidays of a year, by date."""
    settings = compute.get_settings(session)
    found: list[dict[str, Any]] = []
    if settings.holiday_country:
        calendar = holiday_calendars.country_holidays(
            settings.holiday_country, subdiv=settings.holiday_subdivision or None, years=year
        )
        found += [{"id": None, "day": d, "name": n} for d, n in sorted(calendar.items())]
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    query = select(Holiday).where(Holiday.day >= start, Holiday.day <= end)
    found += [{"id": h.id, "day": h.day, "name": h.name} for h in session.scalars(query)]
    return sorted(found, key=lambda h: h["day"])
