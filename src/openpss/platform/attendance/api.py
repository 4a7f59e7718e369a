"""REST routes of the attendance domain under /api/v1/attendance."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from openpss.platform.attendance import assignments, compute, jobs, lists, reports, service, shifts
from openpss.platform.attendance.models import AttendanceShift
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    AssignmentPage,
    AssignmentQuery,
    AssignmentRead,
    ComputeRequest,
    ExceptionCreate,
    ExceptionPage,
    ExceptionQuery,
    ExceptionRead,
    ExportRequest,
    HolidayCreate,
    HolidayPage,
    HolidayQuery,
    HolidayRead,
    JobRead,
    ManualPunchCreate,
    PeriodCreate,
    PeriodPage,
    PeriodQuery,
    PeriodRead,
    PeriodUpdate,
    ResultPage,
    ResultQuery,
    SettingsRead,
    SettingsUpdate,
    ShiftCreate,
    ShiftPage,
    ShiftQuery,
    ShiftRead,
    ShiftUpdate,
)
from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import Conflict, NotFound
from openpss.platform.fields import DbId
from openpss.platform.listing import Page
from openpss.platform.web.openapi import CSV, XLSX, file_answer

router = APIRouter(prefix="/attendance", tags=["attendance"])
T = TypeVar("T")


P = TypeVar("P", AssignmentPage, ExceptionPage, HolidayPage, ResultPage)


def _page(model: type[P], page: Page[Any]) -> P:
    """The API page of a service page whose rows validate as the page's items."""
    return model.model_validate({"total": page.total, "items": page.items}, from_attributes=True)


def _shift_read(row: AttendanceShift) -> ShiftRead:
    arrangement = {int(k): v for k, v in row.arrangement.items()}
    return ShiftRead(
        id=row.id,
        name=row.name,
        start_date=row.start_date,
        cycle_mode=row.cycle_mode,
        cycles=row.cycles,
        arrangement=arrangement,
    )


@router.get("/periods", response_model=PeriodPage)
def list_periods(
    session: SessionDep, _: Viewer, query: Annotated[PeriodQuery, Query()]
) -> PeriodPage:
    """Attendance periods by name, one page (filtered by name and kind)."""
    page = lists.list_periods(session=session, query=query)
    return PeriodPage(total=page.total, items=[shifts.period_to_read(p) for p in page.items])


@router.post("/periods", response_model=PeriodRead, status_code=201)
def create_period(data: PeriodCreate, session: SessionDep, p: Operator) -> PeriodRead:
    """Add an attendance period."""
    row = shifts.create_period(session=session, actor=p.actor, data=data)
    return shifts.period_to_read(row)


@router.patch("/periods/{period_id}", response_model=PeriodRead)
def update_period(
    period_id: DbId, data: PeriodUpdate, session: SessionDep, p: Operator
) -> PeriodRead:
    """Change a period; results of shifts using it are recomputed."""
    row = shifts.update_period(session=session, actor=p.actor, period_id=period_id, data=data)
    return shifts.period_to_read(row)


@router.delete("/periods/{period_id}", status_code=204)
def delete_period(period_id: DbId, session: SessionDep, p: Operator) -> None:
    """Delete a period no shift uses."""
    shifts.delete_period(session=session, actor=p.actor, period_id=period_id)


@router.get("/shifts", response_model=ShiftPage)
def list_shifts(session: SessionDep, _: Viewer, query: Annotated[ShiftQuery, Query()]) -> ShiftPage:
    """Shifts by name, one page (filtered by name and cycle mode)."""
    page = lists.list_shifts(session=session, query=query)
    return ShiftPage(total=page.total, items=[_shift_read(s) for s in page.items])


@router.post("/shifts", response_model=ShiftRead, status_code=201)
def create_shift(data: ShiftCreate, session: SessionDep, p: Operator) -> ShiftRead:
    """Add a shift."""
    row = shifts.create_shift(session=session, actor=p.actor, data=data)
    return _shift_read(row)


@router.patch("/shifts/{shift_id}", response_model=ShiftRead)
def update_shift(shift_id: DbId, data: ShiftUpdate, session: SessionDep, p: Operator) -> ShiftRead:
    """Change a shift; its results are recomputed."""
    row = shifts.update_shift(session=session, actor=p.actor, shift_id=shift_id, data=data)
    return _shift_read(row)


@router.delete("/shifts/{shift_id}", status_code=204)
def delete_shift(shift_id: DbId, session: SessionDep, p: Operator) -> None:
    """Delete a shift and its assignments."""
    shifts.delete_shift(session=session, actor=p.actor, shift_id=shift_id)


@router.get("/assignments", response_model=AssignmentPage)
def list_assignments(
    session: SessionDep, _: Viewer, query: Annotated[AssignmentQuery, Query()]
) -> AssignmentPage:
    """Shift assignments, one page (of a shift, person or department, in force on a day)."""
    return _page(AssignmentPage, lists.list_assignments(session=session, query=query))


@router.post("/assignments", response_model=AssignmentRead, status_code=201)
def create_assignment(data: AssignmentCreate, session: SessionDep, p: Operator) -> Any:
    """Assign a shift to a person or department for a date range."""
    return assignments.create_assignment(session=session, actor=p.actor, data=data)


@router.delete("/assignments/{assignment_id}", status_code=204)
def delete_assignment(assignment_id: DbId, session: SessionDep, p: Operator) -> None:
    """Remove an assignment."""
    assignments.delete_assignment(session=session, actor=p.actor, assignment_id=assignment_id)


@router.get("/exceptions", response_model=ExceptionPage)
def list_exceptions(
    session: SessionDep, _: Viewer, query: Annotated[ExceptionQuery, Query()]
) -> ExceptionPage:
    """Leave and business trips, one page (of a person, of a kind, in force on a day)."""
    return _page(ExceptionPage, lists.list_exceptions(session=session, query=query))


@router.post("/exceptions", response_model=ExceptionRead, status_code=201)
def create_exception(data: ExceptionCreate, session: SessionDep, p: Operator) -> Any:
    """Record a leave or business trip."""
    return assignments.create_exception(session=session, actor=p.actor, data=data)


@router.delete("/exceptions/{exception_id}", status_code=204)
def delete_exception(exception_id: DbId, session: SessionDep, p: Operator) -> None:
    """Remove a leave or business trip."""
    assignments.delete_exception(session=session, actor=p.actor, exception_id=exception_id)


@router.get("/holidays", response_model=HolidayPage)
def list_holidays(
    session: SessionDep, _: Viewer, query: Annotated[HolidayQuery, Query()]
) -> HolidayPage:
    """Public (by country) and custom holidays of a year, by date, one page."""
    return _page(HolidayPage, lists.list_holidays(session=session, query=query))


@router.post("/holidays", response_model=HolidayRead, status_code=201)
def create_holiday(data: HolidayCreate, session: SessionDep, p: Operator) -> Any:
    """Add a custom holiday."""
    return assignments.create_holiday(session=session, actor=p.actor, data=data)


@router.delete("/holidays/{holiday_id}", status_code=204)
def delete_holiday(holiday_id: DbId, session: SessionDep, p: Operator) -> None:
    """Remove a custom holiday."""
    assignments.delete_holiday(session=session, actor=p.actor, holiday_id=holiday_id)


@router.get("/settings", response_model=SettingsRead)
def read_settings(session: SessionDep, _: Viewer) -> Any:
    """Time zone and holiday country."""
    return compute.get_settings(session)


@router.patch("/settings", response_model=SettingsRead)
def update_settings(data: SettingsUpdate, session: SessionDep, p: Operator) -> Any:
    """Change time zone or holiday country (stored results are recomputed)."""
    return service.update_settings(session=session, actor=p.actor, data=data)


@router.post("/punches", status_code=201)
def add_punch(data: ManualPunchCreate, session: SessionDep, p: Operator) -> dict[str, Any]:
    """Enter a punch by hand (audited); the affected days are recomputed."""
    record = service.add_manual_punch(session=session, actor=p.actor, data=data)
    return {"id": record.id, "user_id": record.user_id, "event_time": record.event_time}


@router.post("/compute")
def compute_results(data: ComputeRequest, session: SessionDep, p: Operator) -> dict[str, int]:
    """Compute and store results for a date range."""
    stored = service.compute_results(
        session=session, actor=p.actor, start=data.start, end=data.end, person_ids=data.person_ids
    )
    return {"results": stored}


@router.get("/results", response_model=ResultPage)
def list_results(
    session: SessionDep, _: Viewer, query: Annotated[ResultQuery, Query()]
) -> ResultPage:
    """Person-day results of a date range by person and day, one page (stale or missing days
    recomputed first)."""
    return _page(ResultPage, lists.list_results(session=session, query=query))


def export_response(
    rows: Iterator[list[Any]], fmt: str, name: str
) -> StreamingResponse | FileResponse:
    """CSV streamed as it is produced; xlsx written with the streaming writer, then sent."""
    if fmt == "csv":
        return StreamingResponse(
            reports.csv_chunks(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    reports.write_xlsx(rows, path, name)
    return FileResponse(
        path,
        filename=f"{name}.xlsx",
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _rows_in_own_session(
    request: Request, kind: str, year: int, month: int, department_id: DbId | None
) -> Iterator[list[Any]]:
    """Report rows read through a session that lives as long as the streamed response."""
    producer = reports.report_rows if kind == "report" else reports.record_rows
    with request.app.state.session_factory() as session:
        yield from producer(session=session, year=year, month=month, department_id=department_id)


@router.get("/reports/{kind}", response_class=Response, responses=file_answer(XLSX, CSV))
def export_report(
    kind: Literal["report", "record"],
    request: Request,
    _: Viewer,
    year: int = Query(..., ge=1970, le=9999),
    month: int = Query(..., ge=1, le=12),
    format: Literal["csv", "xlsx"] = "csv",
    department_id: DbId | None = None,
) -> Any:
    """Monthly attendance report (totals) or record (each day's punches), CSV or xlsx."""
    rows = _rows_in_own_session(request, kind, year, month, department_id)
    return export_response(rows, format, f"attendance-{kind}-{year}-{month:02d}")


@router.get("/chart")
def chart(
    session: SessionDep,
    _: Viewer,
    year: int,
    month: int = Query(..., ge=1, le=12),
    department_id: DbId | None = None,
) -> list[dict[str, Any]]:
    """Persons late and absence days per day of the month."""
    days = reports.department_chart(
        session=session, year=year, month=month, department_id=department_id
    )
    return [{"day": d.day, "late": d.late, "absence_days": d.absence} for d in days]


def _job_read(job: jobs.Job) -> JobRead:
    finished = job.state == "finished" and job.path is not None
    return JobRead(
        id=job.id,
        label=job.label,
        state=job.state,
        done=job.done,
        total=job.total,
        percent=job.percent,
        message=job.message,
        download_url=f"/api/v1/attendance/exports/{job.id}/file" if finished else None,
    )


def _export_job(job_id: str) -> jobs.Job:
    job = jobs.get_job(job_id)
    if job is None or job.filename == "":
        raise NotFound(f"export {job_id} does not exist")
    return job


@router.post("/exports", response_model=JobRead, status_code=202)
def start_export(data: ExportRequest, request: Request, _: Viewer) -> JobRead:
    """Write a monthly report or record in the background; poll it, then fetch the file."""
    job = jobs.start_export(
        request.app.state.session_factory,
        request.app.state.settings.data_dir / "exports" / "attendance",
        kind=data.kind,
        year=data.year,
        month=data.month,
        fmt=data.format,
        department_id=data.department_id,
    )
    return _job_read(job)


@router.get("/exports/{job_id}", response_model=JobRead)
def export_status(job_id: str, _: Viewer) -> JobRead:
    """Progress of an export (persons written of all)."""
    return _job_read(_export_job(job_id))


@router.get("/exports/{job_id}/file", response_class=Response, responses=file_answer(XLSX, CSV))
def export_file(job_id: str, _: Viewer) -> FileResponse:
    """The file of a finished export."""
    job = _export_job(job_id)
    if job.state != "finished" or job.path is None or not job.path.exists():
        raise Conflict(f"export {job_id} is {job.state}: {job.message or 'not done yet'}")
    return FileResponse(job.path, filename=job.filename, media_type=job.media_type)
