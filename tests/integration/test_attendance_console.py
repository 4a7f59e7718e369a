"""Attendance console pages through a logged-in session (forms, drag targets, calendar, jobs)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.attendance.models import AttendanceShift
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from tests.conftest import Api
from tests.integration.attendance_support import department, person, punch


@pytest.fixture
def console(api: Api) -> tuple[TestClient, dict[str, str]]:
    """The operator's console session and its CSRF header; one person punched on 2024-03-04."""
    app = api.client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        account = s.scalars(select(Account).where(Account.role == Role.operator)).one()
        cookie, row = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        dept = department(s, "Ops")
        person(s, "u1", dept)
        punch(s, "u1", "2024-03-04 09:12")
        punch(s, "u1", "2024-03-04 18:00")
        s.commit()
        csrf = row.csrf_token
    api.client.cookies.set("openpss_session", cookie)
    return api.client, {"X-CSRF-Token": csrf}


def test_console_flow(console: tuple[TestClient, dict[str, str]]) -> None:
    client, csrf = console
    form = {
        "name": "Day",
        "kind": "fixed",
        "color": "green",
        "work_start": "09:00",
        "work_end": "18:00",
        "checkin_start": "07:00",
        "checkout_end": "20:00",
        "late_permitted_minutes": "5",
        "late_absence_minutes": "120",
        "early_permitted_minutes": "5",
        "required_minutes": "0",
        "first_last_only": "true",
    }
    form |= {"rest_start": "12:00", "rest_end": "13:00", "rest_minutes": "60"}
    added = client.post("/attendance/periods", data=form, headers=csrf)
    assert added.status_code == 200 and "09:00–18:00" in added.text
    assert "12:00–13:00 (60 min)" in added.text
    too_long = client.post(
        "/attendance/periods", headers=csrf, data=form | {"name": "Other", "rest_minutes": "61"}
    )
    assert "rest minutes must be 1-60" in too_long.text
    again = client.post("/attendance/periods", data=form, headers=csrf)
    assert "already exists" in again.text
    shift = client.post(
        "/attendance/shifts",
        headers=csrf,
        data={"name": "Week", "start_date": "2024-03-04", "cycle_mode": "week", "cycles": "1"},
    )
    assert 'id="cycle-day-6"' in shift.text and "Week 1 Sun" in shift.text
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        shift_id = s.scalars(select(AttendanceShift.id)).one()
    period_id = re.search(r'data-period-id="(\d+)"', shift.text).group(1)  # type: ignore[union-attr]
    for day in range(3):
        dropped = client.post(
            f"/attendance/shifts/{shift_id}/days/{day}", data={"period_id": period_id}, headers=csrf
        )
    assert dropped.text.count('class="att-chip" style="background:green">Day<') == 3
    cleared = client.post(f"/attendance/shifts/{shift_id}/days/2/clear", headers=csrf)
    assert cleared.text.count('class="att-chip" style="background:green">Day<') == 2
    assign_page = client.get("/attendance/assignments")
    target = re.search(r'value="(department:\d+)"', assign_page.text).group(1)  # type: ignore[union-attr]
    assigned = client.post(
        "/attendance/assignments",
        headers=csrf,
        data={
            "shift_id": str(shift_id),
            "target": target,
            "start_date": "2024-03-01",
            "end_date": "2024-03-31",
        },
    )
    assert "department Ops" in assigned.text
    bad = client.post(
        "/attendance/assignments",
        headers=csrf,
        data={
            "shift_id": str(shift_id),
            "target": target,
            "start_date": "2024-03-31",
            "end_date": "2024-03-01",
        },
    )
    assert "end_date is before start_date" in bad.text
    calendar = client.get("/attendance/calendar", params={"year": 2024, "month": 3})
    assert 'data-date="2024-03-04" data-status="abnormal"' in calendar.text
    assert 'data-date="2024-03-05" data-status="absent"' in calendar.text
    assert 'data-date="2024-03-06" data-status="rest"' in calendar.text
    page = client.get("/attendance/reports", params={"year": 2024, "month": 3})
    assert "<svg" in page.text and "1 late check-ins" in page.text
    job = client.post(
        "/attendance/reports/compute",
        data={"year": "2024", "month": "3"},
        headers={**csrf, "HX-Request": "true"},
    )
    job_id = re.search(r'id="job-(\w+)"', job.text).group(1)  # type: ignore[union-attr]
    for _ in range(200):
        state = client.get(f"/attendance/jobs/{job_id}", headers={"HX-Request": "true"})
        if 'data-state="finished"' in state.text:
            break
        time.sleep(0.05)
    assert "31 person-days computed" in state.text
