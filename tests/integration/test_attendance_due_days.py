"""Issue 8.3: today is in progress, days outside employment are not due, reports are current."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openpss.platform.attendance import assignments, compute, reports, shifts
from openpss.platform.attendance.models import AttendanceResult
from openpss.platform.attendance.schemas import AssignmentCreate, PeriodCreate, ShiftCreate
from openpss.platform.people.models import Department, Person
from openpss.platform.security.audit import Actor
from tests.integration.attendance_support import department, person, punch

ACTOR = Actor("tester", "127.0.0.1")
UTC = dt.UTC


def d(day: int) -> dt.date:
    return dt.date(2024, 3, day)


def _office_week(session: Session, dept: Department, start: dt.date, end: dt.date) -> None:
    """Mon-Fri 09:00-18:00, valid 07:00-20:00, assigned to the department."""
    office = shifts.create_period(
        session=session,
        actor=ACTOR,
        data=PeriodCreate(
            name="Office",
            work_start="09:00",
            work_end="18:00",
            checkin_start="07:00",
            checkout_end="20:00",
        ),
    )
    week = shifts.create_shift(
        session=session,
        actor=ACTOR,
        data=ShiftCreate(
            name="Week",
            start_date=dt.date(2024, 3, 4),
            cycle_mode="week",
            cycles=1,
            arrangement={i: [office.id] for i in range(5)},
        ),
    )
    assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=week.id, department_id=dept.id, start_date=start, end_date=end
        ),
    )


def _report(session: Session, year: int = 2024, month: int = 3) -> dict[str, dict[str, Any]]:
    rows = list(reports.report_rows(session=session, year=year, month=month))
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


def _days(session: Session, person_id: int) -> dict[dt.date, str]:
    query = select(AttendanceResult.day, AttendanceResult.status)
    return dict(session.execute(query.where(AttendanceResult.person_id == person_id)).all())


def test_check_in_today_is_in_progress_not_absent(session: Session) -> None:
    """The day under way with a valid check-in reads in progress, and counts no absence."""
    dept = department(session, "Ops")
    worker = person(session, "w", dept)
    today = dt.datetime.now(UTC).date()
    flexible = shifts.create_period(
        session=session,
        actor=ACTOR,
        data=PeriodCreate(name="Any time", kind="flexible", required_minutes=480),
    )
    daily = shifts.create_shift(
        session=session,
        actor=ACTOR,
        data=ShiftCreate(
            name="Daily",
            start_date=today,
            cycle_mode="day",
            cycles=1,
            arrangement={0: [flexible.id]},
        ),
    )
    assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=daily.id, person_id=worker.id, start_date=today, end_date=today
        ),
    )
    punch(session, "w", f"{today.isoformat()} 00:00:01")
    compute.compute_range(session=session, start=today, end=today)
    row = session.scalar(select(AttendanceResult).where(AttendanceResult.person_id == worker.id))
    assert row is not None
    assert (row.status, row.absence_days) == ("in_progress", 0.0)
    assert row.detail[0]["status"] == "in_progress" and row.detail[0]["check_in"] == "00:00:01"
    report = _report(session, today.year, today.month)["w"]
    assert (report["absence_days"], report["days_attended"]) == (0.0, 0)


def test_days_before_validity_start_are_not_due(session: Session) -> None:
    """A person valid from the 15th at 10:00 is due from the 15th (window open until 20:00)."""
    dept = department(session, "Ops")
    _office_week(session, dept, d(1), d(31))
    newcomer = person(session, "n", dept)
    newcomer.valid_from = dt.datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
    late_joiner = person(session, "j", dept)
    late_joiner.valid_from = dt.datetime(2024, 3, 15, 21, 0, tzinfo=UTC)  # after the window
    session.flush()
    compute.compute_range(session=session, start=d(1), end=d(31))
    days = _days(session, newcomer.id)
    assert min(days) == d(15) and days[d(15)] == "absent"
    assert min(_days(session, late_joiner.id)) == d(16)  # Saturday: a rest day, not due
    report = _report(session)
    assert (report["n"]["days_due"], report["n"]["absence_days"]) == (11, 11.0)
    assert report["j"]["days_due"] == 10


def test_employment_and_termination_dates_bound_the_due_days(session: Session) -> None:
    dept = department(session, "Ops")
    _office_week(session, dept, d(1), d(31))
    worker = person(session, "e", dept)
    worker.employment_date = dt.datetime(2024, 3, 20, tzinfo=UTC)
    worker.termination_date = dt.datetime(2024, 3, 27, tzinfo=UTC)
    session.flush()
    compute.compute_range(session=session, start=d(1), end=d(31))
    days = _days(session, worker.id)
    assert (min(days), max(days)) == (d(20), d(27))
    assert _report(session)["e"]["days_due"] == 6  # 20-22, 25-27


def test_report_counts_a_person_added_after_the_compute(session: Session) -> None:
    """Report totals follow changes without a manual Compute (missing days computed on read)."""
    dept = department(session, "Ops")
    _office_week(session, dept, d(1), d(31))
    person(session, "a", dept)
    compute.compute_range(session=session, start=d(1), end=d(31))
    person(session, "b", dept)  # after the month was computed
    punch(session, "b", "2024-03-04 09:00")
    punch(session, "b", "2024-03-04 18:00")
    report = _report(session)
    assert (report["b"]["days_due"], report["b"]["days_attended"]) == (20, 1)  # from Mon 4th
    assert report["b"]["absence_days"] == 19.0
    assert report["a"]["absence_days"] == 20.0


def test_stale_in_progress_day_is_final_when_read(session: Session) -> None:
    """A day stored 'in progress' whose windows have since closed is recomputed on read."""
    dept = department(session, "Ops")
    _office_week(session, dept, d(1), d(31))
    worker = person(session, "s", dept)
    compute.compute_range(session=session, start=d(1), end=d(31))
    session.execute(
        update(AttendanceResult)
        .where(AttendanceResult.person_id == worker.id, AttendanceResult.day == d(4))
        .values(status="in_progress", absence_days=0.0)
    )
    assert _report(session)["s"]["absence_days"] == 20.0
    assert _days(session, worker.id)[d(4)] == "absent"


@pytest.mark.parametrize("field", ["valid_from", "employment_date"])
def test_moving_the_start_later_drops_the_stored_absences(session: Session, field: str) -> None:
    dept = department(session, "Ops")
    _office_week(session, dept, d(1), d(31))
    worker = person(session, "m", dept)
    compute.compute_range(session=session, start=d(1), end=d(31))
    session.commit()
    moved = session.get(Person, worker.id)
    assert moved is not None
    setattr(moved, field, dt.datetime(2024, 3, 25, tzinfo=UTC))
    session.commit()
    assert _report(session)["m"]["days_due"] == 5
