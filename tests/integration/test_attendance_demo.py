"""Demo attendance: the demo company gets an office shift, last month's punches and results."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import reports
from openpss.platform.attendance.demo import seed_demo_attendance
from openpss.platform.people.demo import seed_demo_data
from openpss.platform.records.models import AccessRecord


def test_demo_month_is_computed_and_exported(session: Session) -> None:
    seed_demo_data(session=session)
    stored = seed_demo_attendance(session=session, today=dt.date(2026, 11, 21))
    assert stored > 0
    assert seed_demo_attendance(session=session, today=dt.date(2026, 11, 21)) == 0  # idempotent
    rows = list(reports.report_rows(session=session, year=2026, month=10))
    header, body = rows[0], rows[1:]
    table = [dict(zip(header, row, strict=True)) for row in body]
    assert all(r["days_due"] == 22 for r in table)  # October 2026 has 22 working days
    assert sum(r["late_count"] for r in table) > 0
    assert sum(r["days_attended"] for r in table) > 0.9 * 22 * len(table)
    assert all(0 < r["work_hours"] <= 22 * 8 for r in table)


def test_demo_seeds_the_current_month_up_to_today(session: Session) -> None:
    """Issue 8.12: the console opens attendance on the current month, which the demo left empty."""
    seed_demo_data(session=session)
    today = dt.date.today()
    seed_demo_attendance(session=session)
    records = session.scalars(select(AccessRecord.event_time)).all()
    assert max(records).date() <= today
    assert all(at <= dt.datetime.now(dt.UTC) for at in records)  # nothing in the future
    header, *body = reports.report_rows(session=session, year=today.year, month=today.month)
    table = [dict(zip(header, row, strict=True)) for row in body]
    working_days_so_far = sum(1 for d in range(1, today.day) if today.replace(day=d).weekday() < 5)
    assert table and all(r["days_due"] >= working_days_so_far for r in table)
    if working_days_so_far:
        assert sum(r["days_attended"] for r in table) > 0.9 * working_days_so_far * len(table)
