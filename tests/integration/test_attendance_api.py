"""The attendance REST API: periods, shifts, assignments, punches, results, reports."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook

from openpss.platform.security.models import Role
from tests.conftest import Api
from tests.integration.attendance_support import department, person, punch
from tests.support.polling import eventually


def seed(api: Api) -> tuple[int, int]:
    """A department with one person and one punch-in on Monday 2024-03-04."""
    app = api.client.app
    with app.state.session_factory() as session:  # type: ignore[attr-defined]
        dept = department(session, "Ops")
        pid = person(session, "u1", dept).id
        punch(session, "u1", "2024-03-04 09:10")
        session.commit()
        return dept.id, pid


def test_attendance_api_end_to_end(api: Api) -> None:
    dept_id, person_id = seed(api)
    op = api.headers(Role.operator)
    c = api.client
    period = c.post(
        "/api/v1/attendance/periods",
        headers=op,
        json={
            "name": "Day",
            "work_start": "09:00",
            "work_end": "17:00",
            "checkin_start": "08:00",
            "checkout_end": "18:00",
            "late_permitted_minutes": 5,
            "color": "green",
        },
    )
    assert period.status_code == 201, period.text
    assert period.json()["work_start"] == "09:00"
    shift = c.post(
        "/api/v1/attendance/shifts",
        headers=op,
        json={
            "name": "Week",
            "start_date": "2024-03-04",
            "cycle_mode": "week",
            "cycles": 1,
            "arrangement": {str(i): [period.json()["id"]] for i in range(5)},
        },
    )
    assert shift.status_code == 201, shift.text
    assigned = c.post(
        "/api/v1/attendance/assignments",
        headers=op,
        json={
            "shift_id": shift.json()["id"],
            "department_id": dept_id,
            "start_date": "2024-03-01",
            "end_date": "2024-03-31",
        },
    )
    assert assigned.status_code == 201, assigned.text
    results = c.get(
        "/api/v1/attendance/results",
        headers=op,
        params={"start": "2024-03-04", "end": "2024-03-04"},
    ).json()["items"]
    assert [(r["status"], r["punches"]) for r in results] == [("absent", ["09:10:00"])]
    manual = c.post(
        "/api/v1/attendance/punches",
        headers=op,
        json={"person_id": person_id, "time": "2024-03-04T17:00:00", "reason": "card forgotten"},
    )
    assert manual.status_code == 201, manual.text
    monday = c.get(
        "/api/v1/attendance/results",
        headers=op,
        params={"start": "2024-03-04", "end": "2024-03-04"},
    ).json()["items"][0]
    assert (monday["status"], monday["late_minutes"], monday["work_minutes"]) == (
        "abnormal",
        5,
        470,
    )
    report = c.get(
        "/api/v1/attendance/reports/report",
        headers=op,
        params={"year": 2024, "month": 3, "format": "csv"},
    )
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(report.text)))
    assert (rows[0]["user_id"], rows[0]["late_count"], rows[0]["days_due"]) == ("u1", "1", "20")
    xlsx = c.get(
        "/api/v1/attendance/reports/record",
        headers=op,
        params={"year": 2024, "month": 3, "format": "xlsx"},
    )
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.values)
    assert values[1][:2] == ("u1", "Person u1") and values[1][2 + 3] == "09:10:00 17:00:00"
    chart = c.get("/api/v1/attendance/chart", headers=op, params={"year": 2024, "month": 3})
    assert chart.json()[3] == {"day": "2024-03-04", "late": 1, "absence_days": 0.0}


def test_attendance_api_errors(api: Api) -> None:
    op = api.headers(Role.operator)
    c = api.client
    bad_time = c.post(
        "/api/v1/attendance/periods", headers=op, json={"name": "X", "work_start": "25:00"}
    )
    assert bad_time.status_code == 422
    ok = c.post("/api/v1/attendance/periods", headers=op, json={"name": "X"})
    assert ok.status_code == 201
    dup = c.post("/api/v1/attendance/periods", headers=op, json={"name": "X"})
    assert dup.status_code == 409 and "already exists" in dup.json()["detail"]
    flex = c.post("/api/v1/attendance/periods", headers=op, json={"name": "F", "kind": "flexible"})
    assert flex.status_code == 422 and "required work minutes" in flex.json()["detail"]
    missing = c.patch("/api/v1/attendance/periods/999", headers=op, json={"color": "red"})
    assert missing.status_code == 404 and missing.json()["detail"] == "period 999 does not exist"
    viewer = c.post(
        "/api/v1/attendance/periods", headers=api.headers(Role.viewer), json={"name": "Y"}
    )
    assert viewer.status_code == 403
    zone = c.patch("/api/v1/attendance/settings", headers=op, json={"timezone": "Mars/Base"})
    assert zone.status_code == 422 and "is not an IANA time zone" in zone.json()["detail"]
    cycles = c.post(
        "/api/v1/attendance/shifts",
        headers=op,
        json={"name": "S", "start_date": "2024-03-04", "cycles": 32},
    )
    assert cycles.status_code == 422


def test_background_export_through_the_api(api: Api) -> None:
    seed(api)
    viewer = api.headers(Role.viewer)
    c = api.client
    started = c.post(
        "/api/v1/attendance/exports",
        headers=viewer,
        json={"kind": "record", "year": 2024, "month": 3, "format": "csv"},
    )
    assert started.status_code == 202, started.text
    job = started.json()
    url = f"/api/v1/attendance/exports/{job['id']}"

    def finished() -> dict[str, Any] | None:
        answer: dict[str, Any] = c.get(url, headers=viewer).json()
        return answer if answer["state"] != "running" else None

    job = eventually(finished, what="the export job finished")
    assert (job["state"], job["done"], job["total"], job["percent"]) == ("finished", 1, 1, 100)
    got = c.get(job["download_url"], headers=viewer)
    assert 'filename="attendance-record-2024-03.csv"' in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][:3] == ["user_id", "name", "2024-03-01"] and rows[1][:2] == ["u1", "Person u1"]
    bad = c.post("/api/v1/attendance/exports", headers=viewer, json={"year": 2024, "month": 13})
    assert bad.status_code == 422
    assert c.get("/api/v1/attendance/exports/nope", headers=viewer).status_code == 404
