"""Demo attendance for `openpss demo`: an office period and shift, punches and results for last
month and the current month up to now (the console opens on the current month)."""

from __future__ import annotations

import datetime as dt
import logging
import random

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from openpss.platform.attendance import compute, shifts
from openpss.platform.attendance.models import AttendancePeriod, ShiftAssignment
from openpss.platform.attendance.schemas import PeriodCreate, RestBreakSchema, ShiftCreate
from openpss.platform.people.models import Department, Person
from openpss.platform.records.models import AccessRecord
from openpss.platform.security.audit import SYSTEM

logger = logging.getLogger(__name__)
OFFICE = "Office"


def _previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


def _demo_punches(
    user_ids: list[str], start: dt.date, until: dt.datetime, zone: dt.tzinfo
) -> list[dict[str, object]]:
    """Four punches per working day up to `until`, with some lateness, early leave and missing
    punches."""
    rng = random.Random(7)
    rows: list[dict[str, object]] = []
    day = start
    while day <= until.date():
        if day.weekday() < 5:
            for user_id in user_ids:
                for hour, minute, spread in ((8, 50, 25), (12, 2, 5), (12, 58, 5), (18, 5, 20)):
                    if rng.random() < 0.02:
                        continue  # a forgotten punch
                    at = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    at += dt.timedelta(
                        minutes=rng.randint(-spread, spread), seconds=rng.randint(0, 59)
                    )
                    if at <= until:
                        rows.append({"user_id": user_id, "event_time": at, "source": "demo"})
        day += dt.timedelta(days=1)
    return rows


def seed_demo_attendance(*, session: Session, today: dt.date | None = None) -> int:
    """Create the office period and shift, punches and results from the first of last month up
    to now (idempotent)."""
    if session.scalar(select(AttendancePeriod.id).where(AttendancePeriod.name == OFFICE)):
        return 0
    ctx = compute.load_context(session)
    end = today or compute.today(ctx)
    start, _ = _previous_month(end)
    now = dt.datetime.now(ctx.zone)
    punches_until = min(now, dt.datetime.combine(end, dt.time.max, tzinfo=ctx.zone))
    lunch = RestBreakSchema(name="Lunch", start="12:00", end="13:00", minutes=60)
    period = shifts.create_period(
        session=session,
        actor=SYSTEM,
        data=PeriodCreate(
            name=OFFICE,
            work_start="09:00",
            work_end="18:00",
            checkin_start="07:00",
            checkout_end="21:00",
            late_permitted_minutes=5,
            late_absence_minutes=120,
            early_permitted_minutes=5,
            color="green",
            rests=[lunch],
        ),
    )
    shift = shifts.create_shift(
        session=session,
        actor=SYSTEM,
        data=ShiftCreate(
            name="Office week",
            start_date=start,
            cycle_mode="week",
            cycles=1,
            arrangement={i: [period.id] for i in range(5)},
        ),
    )
    until = dt.date(start.year + 2, 12, 31)
    for department_id in session.scalars(
        select(Department.id).where(Department.parent_id.is_(None))
    ):
        session.add(
            ShiftAssignment(
                shift_id=shift.id, department_id=department_id, start_date=start, end_date=until
            )
        )
    user_ids = list(session.scalars(select(Person.user_id).order_by(Person.user_id)))
    rows = _demo_punches(user_ids, start, punches_until, ctx.zone)
    if rows:
        session.execute(insert(AccessRecord), rows)
    stored = compute.compute_range(session=session, start=start, end=end)
    logger.info("demo attendance: %d punches, %d results for %s..%s", len(rows), stored, start, end)
    return stored
