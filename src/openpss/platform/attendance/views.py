"""Console pages of the attendance domain: periods, shifts, assignments, calendar, reports."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.attendance.periods import MAX_REST_BREAKS
from openpss.platform.attendance import compute, forms, jobs, reports, service
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendancePeriod,
    AttendanceResult,
    AttendanceShift,
    ShiftAssignment,
)
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
    PeriodCreate,
    PeriodUpdate,
    ShiftCreate,
    ShiftUpdate,
)
from openpss.platform.deps import Operator, Principal, SessionDep, Viewer
from openpss.platform.people.models import Department, Person
from openpss.platform.security.audit import record_audit
from openpss.platform.web import flash
from openpss.platform.web.templating import render

router = APIRouter(prefix="/attendance")
T = TypeVar("T")
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


def _page(request: Request, principal: Principal, name: str, **ctx: Any) -> HTMLResponse:
    request.state.principal = principal
    return render(request, f"attendance/{name}", ctx, status_code=ctx.pop("status", 200))


def _attempt(call: Callable[[], T]) -> tuple[T | None, str]:
    """Run a service call; a domain or validation error becomes the message to show."""
    try:
        return call(), ""
    except service.AttendanceError as exc:
        return None, str(exc)
    except ValidationError as exc:
        return None, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def _save_then_assignments(
    request: Request,
    session: Session,
    principal: Principal,
    call: Callable[[], object],
    saved: str = "Saved.",
) -> Response:
    """Run a change from the assignments page: back to it, or shown again with the error."""
    _, error = _attempt(call)
    if error:
        session.rollback()
        return assignments_page(request, session, principal, error)
    return flash.redirect("/attendance/assignments", saved)


def _names(session: Session) -> dict[str, Any]:
    return {
        "periods": list(session.scalars(select(AttendancePeriod).order_by(AttendancePeriod.name))),
        "shifts": list(session.scalars(select(AttendanceShift).order_by(AttendanceShift.name))),
        "departments": list(session.scalars(select(Department).order_by(Department.name))),
        "persons": list(session.scalars(select(Person).order_by(Person.user_id).limit(500))),
    }


@router.get("", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Attendance overview: links to every page."""
    return _page(request, principal, "index.html", **_names(session))


async def _form_data(request: Request) -> Any:
    return await request.form()


FormDep = Annotated[Any, Depends(_form_data)]


@router.get("/periods", response_class=HTMLResponse)
def periods_page(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    error: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Attendance periods and the form to add one."""
    periods = [service.period_to_read(p) for p in _names(session)["periods"]]
    return _page(
        request,
        principal,
        "periods.html",
        periods=periods,
        error=error,
        form_period=values or forms.PERIOD_DEFAULTS,
        form_action="/attendance/periods",
        max_rests=MAX_REST_BREAKS,
    )


@router.post("/periods", response_class=HTMLResponse)
def add_period(
    request: Request, session: SessionDep, principal: Operator, form: FormDep
) -> Response:
    """Add a period from the console form (with up to 7 rest-period rows)."""
    _, error = _attempt(
        lambda: service.create_period(
            session=session,
            actor=principal.actor,
            data=PeriodCreate.model_validate(forms.period_fields(form)),
        )
    )
    if error:
        session.rollback()
        return periods_page(request, session, principal, error, forms.submitted(form))
    return flash.redirect("/attendance/periods", f"Period '{form.get('name', '')}' added.")


@router.get("/periods/{period_id}", response_class=HTMLResponse)
def period_page(
    request: Request,
    period_id: int,
    session: SessionDep,
    principal: Viewer,
    error: str = "",
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """One period's form, to change any field or its rest periods."""
    row = session.get(AttendancePeriod, period_id)
    if row is None:
        raise HTTPException(404, f"period {period_id} does not exist")
    return _page(
        request,
        principal,
        "period.html",
        period=row,
        error=error,
        form_period=values or service.period_to_read(row).model_dump(),
        form_action=f"/attendance/periods/{period_id}",
        max_rests=MAX_REST_BREAKS,
    )


@router.post("/periods/{period_id}", response_class=HTMLResponse)
def edit_period(
    request: Request, period_id: int, session: SessionDep, principal: Operator, form: FormDep
) -> Response:
    """Save the period form; stored results of the days that use the period are recomputed."""
    _, error = _attempt(
        lambda: service.update_period(
            session=session,
            actor=principal.actor,
            period_id=period_id,
            data=PeriodUpdate.model_validate(forms.period_fields(form)),
        )
    )
    if error:
        session.rollback()
        return period_page(request, period_id, session, principal, error, forms.submitted(form))
    return flash.redirect("/attendance/periods", f"Period '{form.get('name', '')}' saved.")


@router.get("/shifts", response_class=HTMLResponse)
def shifts_page(
    request: Request, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """Shifts and the form to add one."""
    return _page(request, principal, "shifts.html", error=error, **_names(session))


@router.post("/shifts", response_class=HTMLResponse)
def add_shift(
    request: Request,
    session: SessionDep,
    principal: Operator,
    name: str = Form(...),
    start_date: str = Form(...),
    cycle_mode: str = Form("week"),
    cycles: int = Form(1),
) -> Response:
    """Add an empty shift, then open its calendar to drag periods onto days."""
    row, error = _attempt(
        lambda: service.create_shift(
            session=session,
            actor=principal.actor,
            data=ShiftCreate.model_validate(
                {"name": name, "start_date": start_date, "cycle_mode": cycle_mode, "cycles": cycles}
            ),
        )
    )
    if row is None:
        session.rollback()
        return shifts_page(request, session, principal, error)
    return flash.redirect(f"/attendance/shifts/{row.id}", f"Shift '{row.name}' added.")


def _shift_or_404(session: Session, shift_id: int) -> AttendanceShift:
    row = session.get(AttendanceShift, shift_id)
    if row is None:
        raise HTTPException(404, f"shift {shift_id} does not exist")
    return row


def _cycle_days(shift: AttendanceShift) -> list[dict[str, Any]]:
    weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    length = shift.cycles * (7 if shift.cycle_mode == "week" else 1)
    days = []
    for index in range(length):
        label = (
            f"Week {index // 7 + 1} {weekdays[index % 7]}"
            if shift.cycle_mode == "week"
            else f"Day {index + 1}"
        )
        days.append({"index": index, "label": label, "ids": shift.arrangement.get(str(index), [])})
    return days


@router.get("/shifts/{shift_id}", response_class=HTMLResponse)
def shift_page(
    request: Request, shift_id: int, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """The shift calendar: drag a period onto a day, right-click a day to clear it."""
    shift = _shift_or_404(session, shift_id)
    names = _names(session)
    by_id = {p.id: p for p in names["periods"]}
    return _page(
        request,
        principal,
        "shift.html",
        shift=shift,
        days=_cycle_days(shift),
        by_id=by_id,
        periods=names["periods"],
        error=error,
    )


@router.post("/shifts/{shift_id}", response_class=HTMLResponse)
def edit_shift(
    request: Request,
    shift_id: int,
    session: SessionDep,
    principal: Operator,
    name: str = Form(...),
    start_date: str = Form(...),
    cycle_mode: str = Form("week"),
    cycles: int = Form(1),
) -> Response:
    """Change a shift's basic info; changed days of its stored results are recomputed."""
    _shift_or_404(session, shift_id)
    data = {"name": name, "start_date": start_date, "cycle_mode": cycle_mode, "cycles": cycles}
    _, error = _attempt(
        lambda: service.update_shift(
            session=session,
            actor=principal.actor,
            shift_id=shift_id,
            data=ShiftUpdate.model_validate(data),
        )
    )
    if error:
        session.rollback()
        return shift_page(request, shift_id, session, principal, error)
    return flash.redirect(f"/attendance/shifts/{shift_id}", f"Shift '{name}' saved.")


def _set_day(
    request: Request,
    session: Session,
    principal: Principal,
    shift_id: int,
    change: Callable[[dict[int, list[int]]], object],
) -> HTMLResponse:
    shift = _shift_or_404(session, shift_id)
    arrangement = {int(k): list(v) for k, v in shift.arrangement.items()}
    change(arrangement)
    _, error = _attempt(
        lambda: service.update_shift(
            session=session,
            actor=principal.actor,
            shift_id=shift_id,
            data=ShiftUpdate(arrangement={k: v for k, v in arrangement.items() if v}),
        )
    )
    if error:
        session.rollback()
    response = shift_page(request, shift_id, session, principal, error)
    if not error:
        response.headers.update(flash.hx_trigger(f"Shift '{shift.name}' arrangement saved."))
    return response


@router.post("/shifts/{shift_id}/days/{index}", response_class=HTMLResponse)
def drop_period(
    request: Request,
    shift_id: int,
    index: int,
    session: SessionDep,
    principal: Operator,
    period_id: int = Form(...),
) -> HTMLResponse:
    """A period dropped onto a cycle day: add it to that day's periods, ordered by start."""

    def change(arrangement: dict[int, list[int]]) -> None:
        ids = arrangement.setdefault(index, [])
        if period_id not in ids:
            ids.append(period_id)
            starts = {p.id: p.work_start for p in session.scalars(select(AttendancePeriod))}
            ids.sort(key=lambda pid: starts.get(pid, 0))

    return _set_day(request, session, principal, shift_id, change)


@router.post("/shifts/{shift_id}/days/{index}/clear", response_class=HTMLResponse)
def clear_day(
    request: Request, shift_id: int, index: int, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Right-click on a day: remove its periods."""
    return _set_day(
        request, session, principal, shift_id, lambda arrangement: arrangement.pop(index, None)
    )


@router.post("/shifts/{shift_id}/clear", response_class=HTMLResponse)
def clear_all(
    request: Request, shift_id: int, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Clear All: remove every period from the cycle."""
    return _set_day(request, session, principal, shift_id, lambda arrangement: arrangement.clear())


@router.get("/assignments", response_class=HTMLResponse)
def assignments_page(
    request: Request, session: SessionDep, principal: Viewer, error: str = ""
) -> HTMLResponse:
    """Shift assignments, leave and business trips, custom holidays."""
    names = _names(session)
    year = compute.today(compute.load_context(session)).year
    return _page(
        request,
        principal,
        "assignments.html",
        error=error,
        assignments=list(session.scalars(select(ShiftAssignment).order_by(ShiftAssignment.id))),
        exceptions=list(
            session.scalars(select(AttendanceException).order_by(AttendanceException.id))
        ),
        holidays=service.list_holidays(session=session, year=year),
        settings=compute.get_settings(session),
        shift_names={s.id: s.name for s in names["shifts"]},
        person_names={p.id: f"{p.user_id} {p.name}" for p in names["persons"]},
        department_names={d.id: d.name for d in names["departments"]},
        **names,
    )


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


@router.post("/assignments", response_class=HTMLResponse)
def add_assignment(
    request: Request,
    session: SessionDep,
    principal: Operator,
    shift_id: int = Form(...),
    target: str = Form(...),
    start_date: str = Form(...),
    end_date: str = Form(...),
) -> Response:
    """Assign a shift to "person:ID" or "department:ID" for a date range."""
    kind, _, key = target.partition(":")
    data = {"shift_id": shift_id, "start_date": start_date, "end_date": end_date}
    data["person_id" if kind == "person" else "department_id"] = _optional_int(key)
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: service.create_assignment(
            session=session, actor=principal.actor, data=AssignmentCreate.model_validate(data)
        ),
        f"Shift assigned from {start_date} to {end_date}.",
    )


@router.post("/exceptions", response_class=HTMLResponse)
def add_exception(
    request: Request,
    session: SessionDep,
    principal: Operator,
    person_id: int = Form(...),
    kind: str = Form(...),
    start_date: str = Form(...),
    end_date: str = Form(...),
    reason: str = Form(""),
) -> Response:
    """Record a leave or business trip."""
    data = {"person_id": person_id, "kind": kind, "start_date": start_date}
    data |= {"end_date": end_date, "reason": reason}
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: service.create_exception(
            session=session, actor=principal.actor, data=ExceptionCreate.model_validate(data)
        ),
        f"{'Business trip' if kind == 'business_trip' else 'Leave'} saved: "
        f"{start_date} to {end_date}.",
    )


@router.post("/holidays", response_class=HTMLResponse)
def add_holiday(
    request: Request,
    session: SessionDep,
    principal: Operator,
    day: str = Form(...),
    name: str = Form(...),
) -> Response:
    """Add a custom holiday."""
    return _save_then_assignments(
        request,
        session,
        principal,
        lambda: service.create_holiday(
            session=session,
            actor=principal.actor,
            data=HolidayCreate.model_validate({"day": day, "name": name}),
        ),
        f"Holiday '{name}' on {day} added.",
    )


def _month(year: int | None, month: int | None, session: Session) -> tuple[int, int]:
    today = compute.today(compute.load_context(session))
    year, month = year or today.year, month or today.month
    if not 1 <= month <= 12:
        raise HTTPException(422, "month must be 1-12")
    return year, month


@router.get("/calendar", response_class=HTMLResponse)
def person_calendar(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    person_id: int | None = None,
    year: int | None = None,
    month: int | None = None,
) -> HTMLResponse:
    """One person's month, each day coloured by its attendance status."""
    year, month = _month(year, month, session)
    persons = _names(session)["persons"]
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
    return _page(
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
    department = _optional_int(department_id)
    chart = reports.department_chart(
        session=session, year=year, month=month, department_id=department
    )
    return _page(
        request,
        principal,
        "reports.html",
        year=year,
        month=month,
        department_id=department,
        departments=_names(session)["departments"],
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
    record_audit(
        session=session,
        actor=principal.actor,
        action="attendance.results.compute",
        detail={"start": start.isoformat(), "end": end.isoformat()},
    )
    session.commit()
    job = jobs.start_compute(request.app.state.session_factory, start, end)
    return _page(request, principal, "_progress.html", job=job)


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
        raise HTTPException(422, "kind is report or record; format is csv or xlsx")
    try:
        department = _optional_int(department_id)
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
        raise HTTPException(422, str(exc)) from None
    return _page(request, principal, "_progress.html", job=job)


@router.get("/jobs/{job_id}/download")
def job_download(job_id: str, principal: Viewer) -> FileResponse:
    """The file an export job wrote."""
    job = jobs.get_job(job_id)
    if job is None or job.path is None or job.state != "finished" or not job.path.exists():
        raise HTTPException(404, f"no finished export {job_id}")
    return FileResponse(job.path, filename=job.filename, media_type=job.media_type)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_progress(request: Request, job_id: str, principal: Viewer) -> HTMLResponse:
    """The progress bar of a computation (polled every second while it runs)."""
    job = jobs.get_job(job_id)
    if job is None:
        raise HTTPException(404, f"job {job_id} does not exist")
    return _page(request, principal, "_progress.html", job=job)
