"""Platform attendance services against SQLite and PostgreSQL: schedules, results, recompute."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import assignments, compute, reports, service, shifts
from openpss.platform.attendance.models import AttendanceResult
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
    ManualPunchCreate,
    PeriodCreate,
    PeriodUpdate,
    SettingsUpdate,
    ShiftCreate,
    ShiftUpdate,
)
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.models import Person
from openpss.platform.security.audit import Actor
from openpss.platform.security.models import AuditEntry
from tests.integration.attendance_support import department, person, punch

ACTOR = Actor("tester", "127.0.0.1")
MON = dt.date(2024, 3, 4)


def d(day: int) -> dt.date:
    return dt.date(2024, 3, day)


@pytest.fixture
def world(session: Session) -> dict[str, int]:
    """Company > Sales; a and b in Sales; c with its own shift; office period Mon-Fri."""
    root = department(session, "Company")
    sales = department(session, "Sales", root)
    ids = {p: person(session, p, sales).id for p in ("a", "b", "c")}
    office = shifts.create_period(
        session=session,
        actor=ACTOR,
        data=PeriodCreate(
            name="Office",
            work_start="09:00",
            work_end="18:00",
            checkin_start="07:00",
            checkout_end="20:00",
            late_permitted_minutes=5,
            late_absence_minutes=120,
            early_permitted_minutes=5,
            rests=[{"name": "Lunch", "start": "12:00", "end": "13:00", "minutes": 60}],
        ),
    )
    late = shifts.create_period(
        session=session,
        actor=ACTOR,
        data=PeriodCreate(
            name="Late",
            work_start="13:00",
            work_end="21:00",
            checkin_start="12:00",
            checkout_end="23:00",
        ),
    )
    week = shifts.create_shift(
        session=session,
        actor=ACTOR,
        data=ShiftCreate(
            name="Week",
            start_date=MON,
            cycle_mode="week",
            cycles=1,
            arrangement={i: [office.id] for i in range(5)},
        ),
    )
    evening = shifts.create_shift(
        session=session,
        actor=ACTOR,
        data=ShiftCreate(
            name="Evening", start_date=MON, cycle_mode="day", cycles=1, arrangement={0: [late.id]}
        ),
    )
    assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=week.id, department_id=root.id, start_date=d(1), end_date=d(31)
        ),
    )
    assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=evening.id, person_id=ids["c"], start_date=d(1), end_date=d(31)
        ),
    )
    session.flush()
    return {**ids, "office": office.id, "week": week.id, "sales": sales.id}


def result(session: Session, person_id: int, day: dt.date) -> AttendanceResult:
    row = session.scalar(
        select(AttendanceResult).where(
            AttendanceResult.person_id == person_id, AttendanceResult.day == day
        )
    )
    assert row is not None
    return row


def test_month_results_follow_department_and_person_assignments(
    session: Session, world: dict[str, int]
) -> None:
    for text in ("2024-03-04 09:07", "2024-03-04 17:56", "2024-03-05 08:55", "2024-03-05 18:01"):
        punch(session, "a", text)
    punch(session, "c", "2024-03-04 12:59")
    punch(session, "c", "2024-03-04 21:00")
    stored = compute.compute_range(session=session, start=d(1), end=d(31))
    assert stored == 3 * 31  # everyone is scheduled all month (weekends are rest days)
    monday = result(session, world["a"], MON)
    assert (monday.status, monday.late_minutes, monday.early_minutes) == ("abnormal", 2, 0)
    assert monday.work_minutes == 8 * 60 + 49 - 60  # lunch deducted automatically
    assert monday.punches == ["09:07:00", "17:56:00"]
    assert result(session, world["a"], d(5)).status == "normal"
    assert result(session, world["a"], d(9)).status == "rest"  # Saturday
    b_monday = result(session, world["b"], MON)
    assert (b_monday.status, b_monday.absence_days) == ("absent", 1.0)
    c_monday = result(session, world["c"], MON)  # the person's own shift wins
    assert (c_monday.status, c_monday.work_minutes) == ("normal", 480)


def test_late_punch_recomputes_exactly_the_affected_day(
    session: Session, world: dict[str, int]
) -> None:
    compute.compute_range(session=session, start=d(1), end=d(31))
    before = {
        (r.person_id, r.day): r.computed_at for r in session.scalars(select(AttendanceResult))
    }
    records = [punch(session, "b", "2024-03-06 09:00"), punch(session, "b", "2024-03-06 18:00")]
    assert compute.recompute_for_punches(session, records) == 1
    session.expire_all()
    after = {(r.person_id, r.day): r for r in session.scalars(select(AttendanceResult))}
    changed = [key for key, row in after.items() if row.computed_at != before[key]]
    assert changed == [(world["b"], d(6))]
    assert after[(world["b"], d(6))].status == "normal"


def test_rule_change_recomputes_existing_results(session: Session, world: dict[str, int]) -> None:
    punch(session, "a", "2024-03-04 09:20")
    punch(session, "a", "2024-03-04 18:00")
    compute.compute_range(session=session, start=d(4), end=d(4))
    assert result(session, world["a"], MON).late_minutes == 15
    shifts.update_period(
        session=session,
        actor=ACTOR,
        period_id=world["office"],
        data=PeriodUpdate(late_permitted_minutes=30),
    )
    session.expire_all()
    assert result(session, world["a"], MON).status == "normal"
    # Dragging the office period off Monday makes Monday a rest day.
    arrangement = {i: [world["office"]] for i in range(1, 5)}
    shifts.update_shift(
        session=session,
        actor=ACTOR,
        shift_id=world["week"],
        data=ShiftUpdate(arrangement=arrangement),
    )
    session.expire_all()
    assert result(session, world["a"], MON).status == "rest"


def test_leave_trip_and_holidays_override_the_schedule(
    session: Session, world: dict[str, int]
) -> None:
    assignments.create_exception(
        session=session,
        actor=ACTOR,
        data=ExceptionCreate(
            person_id=world["a"], kind="leave", start_date=d(4), end_date=d(5), reason="flu"
        ),
    )
    assignments.create_exception(
        session=session,
        actor=ACTOR,
        data=ExceptionCreate(
            person_id=world["b"], kind="business_trip", start_date=d(4), end_date=d(4)
        ),
    )
    assignments.create_holiday(
        session=session, actor=ACTOR, data=HolidayCreate(day=d(6), name="Fête")
    )
    session.expire_all()
    assert result(session, world["a"], d(5)).status == "leave"
    assert result(session, world["b"], MON).status == "business_trip"
    assert result(session, world["a"], d(6)).status == "holiday"
    service.update_settings(
        session=session,
        actor=ACTOR,
        data=SettingsUpdate(holiday_country="GB", holiday_subdivision="ENG"),
    )
    session.expire_all()
    compute.compute_range(session=session, start=d(29), end=d(29))
    assert result(session, world["b"], d(29)).status == "holiday"  # Good Friday 2024
    with pytest.raises(Invalid, match="no public holidays known"):
        service.update_settings(
            session=session, actor=ACTOR, data=SettingsUpdate(holiday_country="XX")
        )


def test_manual_punch_is_an_audited_access_record(session: Session, world: dict[str, int]) -> None:
    compute.compute_range(session=session, start=d(4), end=d(4))
    for time in ("2024-03-04T09:00", "2024-03-04T18:00"):
        record = service.add_manual_punch(
            session=session,
            actor=ACTOR,
            data=ManualPunchCreate(
                person_id=world["b"], time=dt.datetime.fromisoformat(time), reason="forgot card"
            ),
        )
    assert record.source == "manual"
    session.expire_all()
    assert result(session, world["b"], MON).status == "normal"
    audit = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "attendance.punch.manual")
    )
    assert [a.target for a in audit] == ["b", "b"]


def test_rules_are_enforced_with_clear_messages(session: Session, world: dict[str, int]) -> None:
    with pytest.raises(Conflict, match="already exists"):
        shifts.create_period(session=session, actor=ACTOR, data=PeriodCreate(name="Office"))
    session.rollback()


def test_overlapping_periods_on_one_day_are_refused(
    session: Session, world: dict[str, int]
) -> None:
    other = shifts.create_period(
        session=session,
        actor=ACTOR,
        data=PeriodCreate(
            name="Overlap",
            work_start="17:00",
            work_end="19:00",
            checkin_start="16:00",
            checkout_end="20:00",
        ),
    )
    with pytest.raises(Invalid, match="starts before period 'Office' ends"):
        shifts.create_shift(
            session=session,
            actor=ACTOR,
            data=ShiftCreate(
                name="Bad", start_date=MON, arrangement={0: [world["office"], other.id]}
            ),
        )
    with pytest.raises(Invalid, match="exactly one of person_id"):
        assignments.create_assignment(
            session=session,
            actor=ACTOR,
            data=AssignmentCreate(shift_id=world["week"], start_date=d(1), end_date=d(2)),
        )
    with pytest.raises(NotFound, match="period 999 does not exist"):
        shifts.create_shift(
            session=session,
            actor=ACTOR,
            data=ShiftCreate(name="Missing", start_date=MON, arrangement={0: [999]}),
        )


def test_month_report_and_record_and_chart(session: Session, world: dict[str, int]) -> None:
    punch(session, "a", "2024-03-04 09:30")
    punch(session, "a", "2024-03-04 18:00")
    compute.compute_range(session=session, start=d(1), end=d(31))
    rows = list(reports.report_rows(session=session, year=2024, month=3))
    header, first = rows[0], rows[1]
    assert header[:4] == ["user_id", "name", "department", "days_due"]
    report = dict(zip(header, first, strict=True))
    assert (report["user_id"], report["days_due"], report["days_attended"]) == ("a", 20, 1)
    assert (report["late_count"], report["late_minutes"], report["absence_days"]) == (1, 25, 19.0)
    assert report["work_hours"] == 7.5
    record = list(reports.record_rows(session=session, year=2024, month=3))
    assert record[1][0] == "a" and record[1][2 + 3] == "09:30:00 18:00:00"
    chart = reports.department_chart(
        session=session, year=2024, month=3, department_id=world["sales"]
    )
    assert (chart[3].late, chart[3].absence) == (1, 2.0)  # a late; b and c absent on Monday
    assert "<svg" in reports.chart_svg(chart)


def test_moving_a_person_recomputes_their_stored_days_at_commit(
    session: Session, world: dict[str, int]
) -> None:
    """Guards hooks.py: results follow the department's assignment after a move."""
    compute.compute_range(session=session, start=d(1), end=d(31))
    session.commit()
    assert result(session, world["b"], MON).status == "absent"
    elsewhere = department(session, "Elsewhere")  # a second root: no shift assigned
    moved = session.get(Person, world["b"])
    assert moved is not None
    moved.department_id = elsewhere.id
    session.commit()
    days = session.scalars(
        select(AttendanceResult.day).where(AttendanceResult.person_id == world["b"])
    ).all()
    assert days == []  # unscheduled now: the stored absences are gone
    assert result(session, world["a"], MON).status == "absent"  # others untouched


def _stamps(session: Session) -> dict[tuple[int, dt.date], dt.datetime]:
    session.expire_all()
    return {(r.person_id, r.day): r.computed_at for r in session.scalars(select(AttendanceResult))}


def _changed(session: Session, before: dict[tuple[int, dt.date], dt.datetime]) -> set[Any]:
    after = _stamps(session)
    assert after.keys() == before.keys()
    return {key for key, stamp in after.items() if stamp != before[key]}


def test_period_and_shift_changes_recompute_exactly_the_days_that_use_them(
    session: Session, world: dict[str, int]
) -> None:
    a, b, c = world["a"], world["b"], world["c"]
    leave = ExceptionCreate(person_id=b, kind="leave", start_date=d(6), end_date=d(6))
    assignments.create_exception(session=session, actor=ACTOR, data=leave)
    assignments.create_holiday(
        session=session, actor=ACTOR, data=HolidayCreate(day=d(8), name="Founders")
    )
    compute.compute_range(session=session, start=d(1), end=d(31))
    before = _stamps(session)
    shifts.update_period(
        session=session,
        actor=ACTOR,
        period_id=world["office"],
        data=PeriodUpdate(late_permitted_minutes=10),
    )
    # The shift starts on Monday the 4th; weekends have no period; the 8th is a holiday;
    # b is on leave on the 6th; c's own evening shift overrides the department's.
    weekdays = [day for day in range(4, 32) if d(day).weekday() < 5 and day != 8]
    expected = {(a, d(day)) for day in weekdays} | {(b, d(day)) for day in weekdays if day != 6}
    assert _changed(session, before) == expected
    before = _stamps(session)
    arrangement = {i: [world["office"]] for i in range(1, 5)}  # Monday becomes a rest day
    shifts.update_shift(
        session=session,
        actor=ACTOR,
        shift_id=world["week"],
        data=ShiftUpdate(arrangement=arrangement),
    )
    mondays = [d(4), d(11), d(18), d(25)]
    assert _changed(session, before) == {(p, day) for p in (a, b) for day in mondays}
    assert result(session, a, d(11)).status == "rest"
    assert result(session, c, d(11)).status != "rest"
    before = _stamps(session)
    shifts.update_shift(
        session=session, actor=ACTOR, shift_id=world["week"], data=ShiftUpdate(name="Office week")
    )
    assert _changed(session, before) == set()


def test_punches_are_evaluated_in_the_attendance_time_zone(
    session: Session, world: dict[str, int]
) -> None:
    service.update_settings(
        session=session, actor=ACTOR, data=SettingsUpdate(timezone="Europe/Berlin")
    )
    punch(session, "a", "2024-03-04 08:00")  # stored as UTC: 09:00 in Berlin (CET, +1)
    punch(session, "a", "2024-03-04 17:00")
    punch(session, "a", "2024-03-31 07:00")  # a Sunday, after the switch to CEST (+2)
    compute.compute_range(session=session, start=d(4), end=d(31))
    monday = result(session, world["a"], MON)
    assert (monday.status, monday.punches) == ("normal", ["09:00:00", "18:00:00"])
    assert result(session, world["a"], d(31)).punches == ["09:00:00"]


def test_assignment_changes_recompute_only_the_days_they_govern(
    session: Session, world: dict[str, int]
) -> None:
    a, b = world["a"], world["b"]
    compute.compute_range(session=session, start=d(1), end=d(31))
    before = _stamps(session)
    sales_week = assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=world["week"], department_id=world["sales"], start_date=d(10), end_date=d(12)
        ),
    )
    # c's own evening shift wins over the Sales assignment: c's days are not touched.
    expected = {(p, d(day)) for p in (a, b) for day in (10, 11, 12)}
    assert _changed(session, before) == expected
    before = _stamps(session)
    assignments.delete_assignment(session=session, actor=ACTOR, assignment_id=sales_week.id)
    assert _changed(session, before) == expected  # now the Company assignment governs again
    own = assignments.create_assignment(
        session=session,
        actor=ACTOR,
        data=AssignmentCreate(
            shift_id=world["week"], person_id=a, start_date=d(30), end_date=d(31)
        ),
    )
    before = _stamps(session)
    assignments.delete_assignment(session=session, actor=ACTOR, assignment_id=own.id)
    assert _changed(session, before) == {(a, d(30)), (a, d(31))}
