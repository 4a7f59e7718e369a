"""Console pages for attendance results: the person calendar, monthly reports, jobs."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import (
    compute,
    jobs,
    pages,
    reports,
    service,
)
from openpss.platform.attendance.models import (
    AttendanceResult,
)
from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import Invalid, NotFound
from openpss.platform.fields import DbId
from openpss.platform.people.models import Person

router = APIRouter()  # included by views.router under /attendance
STATUS_LABELS = {
    "normal": "Normal",
    "abnormal": "Late/early",
    "absent": "Absent",
    "in_progress": "In progress",
    "rest": "Rest",
    "leave": "Leave",
    "business_trip": "Business trip",
    "holiday": "Holiday",
}


def _month(year: int | None, month: int | None, session: Session) -> tuple[int, int]:
    today = compute.today(compute.load_context(session))
    year, month = year or today.year, month or today.month
    if not 1 <= month <= 12:
        raise Invalid("month must be 1-12")
    return year, month


@router.get("/calendar", response_class=HTMLResponse)
def person_calendar(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    person_id: DbId | None = None,
    year: int | None = None,
    month: int | None = None,
) -> HTMLResponse:
    """One person's month, each day coloured by its attendance status."""
    year, month = _month(year, month, session)
    persons = pages.names(session)["persons"]
    person = session.get(Person, person_id) if person_id else (persons[0] if persons else None)
    start, end = reports.month_bounds(year, month)
    results: dict[dt.date, AttendanceResult] = {}
    if person is not None:
        compute.refresh(session, start, end, [person.id])
        query = select(AttendanceResult).where(
            AttendanceResult.person_id == person.id,
            AttendanceResult.day >= start,
            AttendanceResult.day <= end,
        )
        results = {r.day: r for r in session.scalars(query)}
    weeks = calendar.Calendar().monthdatescalendar(year, month)
    return pages.page(
        request,
        principal,
        "calendar.html",
        persons=persons,
        person=person,
        year=year,
        month=month,
        weeks=weeks,
        results=results,
        labels=STATUS_LABELS,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    year: int | None = None,
    month: int | None = None,
    department_id: str = "",
) -> HTMLResponse:
    """Monthly report and record exports, department chart of lateness and absence."""
    year, month = _month(year, month, session)
    department = pages.optional_int(department_id)
    chart = reports.department_chart(
        session=session, year=year, month=month, department_id=department
    )
    return pages.page(
        request,
        principal,
        "reports.html",
        year=year,
        month=month,
        department_id=department,
        departments=pages.names(session)["departments"],
        chart_svg=reports.chart_svg(chart),
        totals={"late": sum(d.late for d in chart), "absence": sum(d.absence for d in chart)},
        report=_report_preview(session, year, month, department),
    )


REPORT_PREVIEW_ROWS = 100  # the page shows this many persons; the exports hold everyone


def _report_preview(
    session: Session, year: int, month: int, department_id: int | None
) -> dict[str, Any]:
    """The month's report as the page shows it: the manual's headings and the first rows."""
    rows = reports.report_rows(session=session, year=year, month=month, department_id=department_id)
    header = next(rows)
    body = list(itertools.islice(rows, REPORT_PREVIEW_ROWS + 1))
    return {
        "headings": reports.headings(header),
        "rows": body[:REPORT_PREVIEW_ROWS],
        "more": len(body) > REPORT_PREVIEW_ROWS,
    }


@router.post("/reports/compute", response_class=HTMLResponse)
def compute_month(
    request: Request,
    session: SessionDep,
    principal: Operator,
    year: int = Form(...),
    month: int = Form(...),
) -> HTMLResponse:
    """Start computing a month in the background; the page polls the progress."""
    start, end = reports.month_bounds(year, month)
    service.record_compute(session=session, actor=principal.actor, start=start, end=end)
    session.commit()
    job = jobs.start_compute(request.app.state.session_factory, start, end)
    return pages.page(request, principal, "_progress.html", job=job)


@router.post("/reports/export", response_class=HTMLResponse)
def export_month(
    request: Request,
    principal: Viewer,
    year: int = Form(...),
    month: int = Form(...),
    kind: str = Form("report"),
    format: str = Form("xlsx"),
    department_id: str = Form(""),
) -> HTMLResponse:
    """Start writing a monthly report or record file; the page polls, then offers the download."""
    if kind not in ("report", "record") or format not in ("csv", "xlsx"):
        raise Invalid("kind is report or record; format is csv or xlsx")
    try:
        department = pages.optional_int(department_id)
        job = jobs.start_export(
            request.app.state.session_factory,
            request.app.state.settings.data_dir / "exports" / "attendance",
            kind=kind,
            year=year,
            month=month,
            fmt=format,
            department_id=department,
        )
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    return pages.page(request, principal, "_progress.html", job=job)


@router.get("/jobs/{job_id}/download")
def job_download(job_id: str, principal: Viewer) -> FileResponse:
    """The file an export job wrote."""
    job = jobs.get_job(job_id)
    if job is None or job.path is None or job.state != "finished" or not job.path.exists():
        raise NotFound(f"no finished export {job_id}")
    return FileResponse(job.path, filename=job.filename, media_type=job.media_type)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_progress(request: Request, job_id: str, principal: Viewer) -> HTMLResponse:
    """The progress bar of a computation (polled every second while it runs)."""
    job = jobs.get_job(job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return pages.page(request, principal, "_progress.html", job=job)
