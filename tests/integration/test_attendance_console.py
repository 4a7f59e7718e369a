"""Attendance console pages through a logged-in session (forms, drag targets, calendar, jobs)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openpss.platform.attendance.models import AttendanceShift
from openpss.platform.people.models import Person
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from tests.conftest import Api
from tests.integration.attendance_support import department, person, punch
from tests.support.polling import eventually


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
    assert "is before the start date" in bad.text
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

    def finished() -> str | None:
        page = client.get(f"/attendance/jobs/{job_id}", headers={"HX-Request": "true"}).text
        return page if 'data-state="finished"' in page else None

    state = eventually(finished, what="the compute job finished")
    assert "31 person-days computed" in state


def _rest(name: str, start: str, end: str, minutes: int, **fields: str) -> list[tuple[str, str]]:
    row = {"name": name, "start": start, "end": end, "minutes": str(minutes)}
    row |= {"validity_start": "", "validity_end": "", "remark": ""}
    row |= {"auto_deduction": "true", "must_check": "false", "transfer_unused": "false"} | fields
    return [(f"rest_{key}", value) for key, value in row.items()]


def _data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Repeated form fields as httpx wants them: one list per name, in order."""
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return data


def test_period_form_with_several_rest_periods(console: tuple[TestClient, dict[str, str]]) -> None:
    client, csrf = console
    base = [("name", "Split"), ("kind", "fixed"), ("color", "teal"), ("work_start", "08:00")]
    base += [("work_end", "20:00"), ("checkin_start", "06:00"), ("checkout_end", "22:00")]
    base += [("late_permitted_minutes", "5"), ("early_permitted_minutes", "5")]
    lunch = _rest("Lunch", "12:00", "13:00", 60, remark="canteen")
    flags = {"auto_deduction": "false", "must_check": "true"}
    tea = _rest("Tea", "15:00", "15:30", 15, validity_start="14:45", validity_end="15:45", **flags)
    empty = _rest("", "", "", 0)  # a blank row the user added and left empty is ignored
    added = client.post("/attendance/periods", data=_data(base + lunch + tea + empty), headers=csrf)
    assert added.status_code == 200, added.text
    assert "12:00–13:00 (60 min), 15:00–15:30 (15 min)" in added.text
    periods = client.get("/api/v1/attendance/periods").json()["items"]
    rests = periods[0]["rests"]
    assert [r["name"] for r in rests] == ["Lunch", "Tea"]
    assert rests[0]["remark"] == "canteen"
    assert (rests[1]["auto_deduction"], rests[1]["must_check"]) == (False, True)
    assert (rests[1]["validity_start"], rests[1]["validity_end"]) == ("14:45", "15:45")
    too_many = [
        pair for i in range(8) for pair in _rest(f"R{i}", f"{9 + i:02d}:00", f"{9 + i:02d}:10", 5)
    ]
    refused = client.post(
        "/attendance/periods", data=_data([*base[1:], ("name", "Many"), *too_many]), headers=csrf
    )
    assert "at most 7 rest periods" in refused.text
    period_id = periods[0]["id"]
    edit = client.get(f"/attendance/periods/{period_id}")
    assert edit.text.count('class="rest-row"') == 2 + 1  # two rows and the template row
    assert 'value="canteen"' in edit.text
    seven = too_many[: 7 * len(lunch)]
    saved = client.post(f"/attendance/periods/{period_id}", data=_data(base + seven), headers=csrf)
    assert saved.status_code == 200, saved.text
    rests = client.get("/api/v1/attendance/periods").json()["items"][0]["rests"]
    assert [r["name"] for r in rests] == [f"R{i}" for i in range(7)]
    bad = client.post(
        f"/attendance/periods/{period_id}",
        data=_data(base + _rest("Long", "12:00", "12:10", 30)),
        headers=csrf,
    )
    assert "rest minutes must be 1-10" in bad.text and 'value="Long"' in bad.text


def _finish(client: TestClient, text: str) -> str:
    """Poll a job's progress fragment until it is no longer running."""
    job_id = re.search(r'id="job-(\w+)"', text).group(1)  # type: ignore[union-attr]

    def done() -> str | None:
        page = client.get(f"/attendance/jobs/{job_id}", headers={"HX-Request": "true"}).text
        return page if 'data-state="running"' not in page else None

    return eventually(done, what="the job finished")


def test_exports_run_as_jobs_with_progress_and_a_download(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    client, csrf = console
    hx = {**csrf, "HX-Request": "true"}
    api = "/api/v1/attendance"
    period = client.post(f"{api}/periods", json={"name": "Day"}, headers=csrf).json()
    shift = {"name": "W", "start_date": "2024-03-04", "arrangement": {"0": [period["id"]]}}
    shift_id = client.post(f"{api}/shifts", json=shift, headers=csrf).json()["id"]
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        person_id = s.scalars(select(Person.id)).one()
    assignment = {"shift_id": shift_id, "person_id": person_id}
    assignment |= {"start_date": "2024-03-01", "end_date": "2024-03-31"}
    assert client.post(f"{api}/assignments", json=assignment, headers=csrf).status_code == 201
    page = client.get("/attendance/reports", params={"year": 2024, "month": 3})
    assert 'id="export-form"' in page.text
    form = {"year": "2024", "month": "3", "kind": "report", "format": "csv", "department_id": ""}
    started = client.post("/attendance/reports/export", data=form, headers=hx)
    assert "<progress" in started.text
    done = _finish(client, started.text)
    assert 'data-state="finished"' in done and "1 persons exported" in done
    assert 'value="100"' in done
    link = re.search(r'href="(/attendance/jobs/\w+/download)"', done).group(1)  # type: ignore[union-attr]
    download = client.get(link)
    assert download.headers["content-type"].startswith("text/csv")
    assert 'filename="attendance-report-2024-03.csv"' in download.headers["content-disposition"]
    header, row = download.text.splitlines()[:2]
    assert header.startswith("user_id,name,department,days_due")
    assert row.startswith("u1,Person u1,Ops,")
    xlsx = client.post(
        "/attendance/reports/export", data=form | {"kind": "record", "format": "xlsx"}, headers=hx
    )
    done = _finish(client, xlsx.text)
    link = re.search(r'href="(/attendance/jobs/\w+/download)"', done).group(1)  # type: ignore[union-attr]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get(link).content), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("User ID", "Name", "2024-03-01")  # the manual's column names
    assert rows[1][0] == "u1" and rows[1][5] == "09:12:00 18:00:00"  # 2024-03-04
    bad = client.post("/attendance/reports/export", data=form | {"month": "13"}, headers=hx)
    assert bad.status_code == 422 and "is not a month" in bad.text
    assert client.get("/attendance/jobs/nope/download").status_code == 404


def test_reports_page_speaks_the_manuals_column_names_and_the_chart_has_axes_and_values(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    """Issue 8.14: the report showed field names (user_id, days_due, absence_days) and the
    department chart had neither axes nor values."""
    client, csrf = console
    api = "/api/v1/attendance"
    period = client.post(f"{api}/periods", json={"name": "Day"}, headers=csrf).json()
    shift = {"name": "W", "start_date": "2024-03-04", "arrangement": {"0": [period["id"]]}}
    shift_id = client.post(f"{api}/shifts", json=shift, headers=csrf).json()["id"]
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        person_id = s.scalars(select(Person.id)).one()
    assignment = {"shift_id": shift_id, "person_id": person_id}
    assignment |= {"start_date": "2024-03-01", "end_date": "2024-03-31"}
    assert client.post(f"{api}/assignments", json=assignment, headers=csrf).status_code == 201
    client.post("/attendance/reports/compute", data={"year": "2024", "month": "3"}, headers=csrf)
    page = client.get("/attendance/reports", params={"year": 2024, "month": 3}).text
    table = page[page.index('id="report-table"') :]
    for heading in ("User ID", "Required Attendance (days)", "Absence (days)", "Late (times)"):
        assert f"<th>{heading}</th>" in table
    for field in ("user_id", "days_due", "absence_days"):
        assert f"<th>{field}</th>" not in page
    assert "<td>u1</td>" in table
    chart = page[page.index('<div id="chart">') : page.index("</svg>")]
    assert "Day of month" in chart and "Persons late / absence days" in chart
    assert chart.count("<line ") == 2 and chart.count('class="y-tick"') == 3
    assert 'class="bar-value">1</text>' in chart  # a Monday absent: one absence day labelled


def test_export_files_older_than_a_day_are_removed(tmp_path: Path) -> None:
    from openpss.platform.attendance import jobs

    stale, fresh = tmp_path / "old.csv", tmp_path / "new.csv"
    for path in (stale, fresh):
        path.write_text("x")
    day_ago = time.time() - jobs.STALE_SECONDS - 60
    os.utime(stale, (day_ago, day_ago))
    jobs._remove_stale(tmp_path)
    assert not stale.exists() and fresh.exists()


def test_shift_basic_info_can_be_changed(console: tuple[TestClient, dict[str, str]]) -> None:
    client, csrf = console
    info = {"name": "Rota", "start_date": "2024-03-04", "cycle_mode": "week", "cycles": "1"}
    client.post("/attendance/shifts", data=info, headers=csrf)
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        shift_id = s.scalars(select(AttendanceShift.id)).one()
    changed = info | {"name": "Rota 2", "cycle_mode": "day", "cycles": "3"}
    page = client.post(f"/attendance/shifts/{shift_id}", data=changed, headers=csrf)
    assert "Shift Rota 2" in page.text and 'id="cycle-day-2"' in page.text
    assert 'id="cycle-day-3"' not in page.text
    bad = client.post(
        f"/attendance/shifts/{shift_id}", data=changed | {"cycles": "32"}, headers=csrf
    )
    assert "cycles: Input should be less than or equal to 31" in bad.text


def test_leave_and_holiday_forms_save_or_show_the_error(
    console: tuple[TestClient, dict[str, str]],
) -> None:
    """The assignments page's leave and holiday forms: saved and listed, or the page again with
    the reason (and nothing saved)."""
    client, csrf = console
    app = client.app
    with app.state.session_factory() as s:  # type: ignore[attr-defined]
        person_id = s.scalars(select(Person.id).where(Person.user_id == "u1")).one()
    leave = {"person_id": str(person_id), "kind": "leave", "reason": "dentist"}
    saved = client.post(
        "/attendance/exceptions",
        headers=csrf,
        data={**leave, "start_date": "2024-03-11", "end_date": "2024-03-12"},
    )
    assert saved.status_code == 200 and "dentist" in saved.text  # followed the redirect
    refused = client.post(
        "/attendance/exceptions",
        headers=csrf,
        data={**leave, "reason": "backwards", "start_date": "2024-03-20", "end_date": "2024-03-19"},
    )
    assert "is before the start date" in refused.text
    assert "backwards" not in client.get("/attendance/assignments").text
    this_year = dt.date.today().year  # the page lists the current year's holidays
    holiday = client.post(
        "/attendance/holidays",
        headers=csrf,
        data={"day": f"{this_year}-03-15", "name": "Founders Day"},
    )
    assert "Founders Day" in holiday.text
    bad_day = client.post(
        "/attendance/holidays", headers=csrf, data={"day": "not a date", "name": "Nope"}
    )
    assert "day:" in bad_day.text
    assert "Nope" not in client.get("/attendance/assignments").text
