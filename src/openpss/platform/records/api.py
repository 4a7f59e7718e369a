"""REST routes of the records domain under /api/v1."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import Conflict, NotFound
from openpss.platform.jobs import Job
from openpss.platform.listing import Page
from openpss.platform.records import export, service
from openpss.platform.records.schemas import (
    AccessPage,
    AccessQuery,
    AlarmPage,
    AlarmQuery,
    AlarmRecordRead,
    CallPage,
    CallQuery,
    CallRecordRead,
    ExportFormat,
    ExportJobRead,
    RecordKind,
    RecordQuery,
)
from openpss.platform.security.audit import Actor
from openpss.platform.web.openapi import CSV, XLSX, file_answer

router = APIRouter(tags=["records"])


def _search(session: SessionDep, kind: RecordKind, query: RecordQuery) -> Page[Any]:
    return service.search_records(session=session, kind=kind, query=query)


def _paging(page: Page[Any]) -> dict[str, Any]:
    return {
        "total": page.total,
        "total_exact": page.total_exact,
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


@router.get("/records/access", response_model=AccessPage)
def search_access(
    session: SessionDep, _: Viewer, query: Annotated[AccessQuery, Query()]
) -> AccessPage:
    """Access / attendance records, newest first, filtered by time, device or organization
    node, user, card, method and result (granted / refused)."""
    page = _search(session, "access", query)
    return AccessPage(items=page.items, **_paging(page))


@router.get("/records/calls", response_model=CallPage)
def search_calls(session: SessionDep, _: Viewer, query: Annotated[CallQuery, Query()]) -> CallPage:
    """Intercom call records, newest first, filtered by time, device or organization node and
    status (answered / missed / rejected / busy / failed)."""
    page = _search(session, "calls", query)
    items = [CallRecordRead.model_validate(r) for r in page.items]
    return CallPage(items=items, **_paging(page))


@router.get("/records/alarms", response_model=AlarmPage)
def search_alarms(
    session: SessionDep, _: Viewer, query: Annotated[AlarmQuery, Query()]
) -> AlarmPage:
    """Alarm records (optionally of one type, e.g. "duress"), newest first, by time, device or
    organization node."""
    page = _search(session, "alarms", query)
    items = [AlarmRecordRead.model_validate(r) for r in page.items]
    return AlarmPage(items=items, **_paging(page))


# ---------------------------------------------------------------- export


@router.get("/records/access/export", response_class=Response, responses=file_answer(XLSX, CSV))
def export_access(
    request: Request,
    session: SessionDep,
    principal: Operator,
    filters: Annotated[AccessQuery, Query()],
    format: ExportFormat = "xlsx",
) -> FileResponse:
    """Download the matching access records as xlsx or CSV in this request (for a large result
    start an export job instead: POST /records/access/exports)."""
    export.audit_export(
        session=session, actor=principal.actor, kind="access", filters=filters, fmt=format
    )
    directory = _export_dir(request)
    path = directory / f"direct-{secrets.token_hex(8)}.{format}"
    try:
        export.write_export(session, "access", filters, format, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    return FileResponse(
        path,
        media_type=media,
        filename=f"access-records.{format}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _export_dir(request: Request) -> Path:
    directory: Path = request.app.state.settings.data_dir / "exports" / "records"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _job_read(job: Job) -> ExportJobRead:
    finished = job.state == "finished" and job.path is not None
    return ExportJobRead(
        id=job.id,
        kind=job.filename.split("-", 1)[0],
        filename=job.filename,
        state=job.state,
        done=job.done,
        total=job.total,
        percent=job.percent,
        message=job.message,
        download_url=f"/api/v1/records/exports/{job.id}/file" if finished else None,
    )


def _start(
    request: Request,
    session: SessionDep,
    actor: Actor,
    kind: RecordKind,
    filters: RecordQuery,
    fmt: ExportFormat,
) -> ExportJobRead:
    job = export.start_export(
        session=session,
        actor=actor,
        factory=request.app.state.session_factory,
        directory=_export_dir(request),
        kind=kind,
        filters=filters,
        fmt=fmt,
    )
    return _job_read(job)


@router.post("/records/access/exports", response_model=ExportJobRead, status_code=202)
def start_access_export(
    request: Request,
    session: SessionDep,
    principal: Operator,
    filters: Annotated[AccessQuery, Query()],
    format: ExportFormat = "xlsx",
) -> ExportJobRead:
    """Export every matching access record in the background; poll the job, then fetch it."""
    return _start(request, session, principal.actor, "access", filters, format)


@router.post("/records/calls/exports", response_model=ExportJobRead, status_code=202)
def start_call_export(
    request: Request,
    session: SessionDep,
    principal: Operator,
    filters: Annotated[CallQuery, Query()],
    format: ExportFormat = "xlsx",
) -> ExportJobRead:
    """Export every matching call record in the background; poll the job, then fetch it."""
    return _start(request, session, principal.actor, "calls", filters, format)


@router.post("/records/alarms/exports", response_model=ExportJobRead, status_code=202)
def start_alarm_export(
    request: Request,
    session: SessionDep,
    principal: Operator,
    filters: Annotated[AlarmQuery, Query()],
    format: ExportFormat = "xlsx",
) -> ExportJobRead:
    """Export every matching alarm record in the background; poll the job, then fetch it."""
    return _start(request, session, principal.actor, "alarms", filters, format)


def _export_job(job_id: str) -> Job:
    job = export.get_export(job_id)
    if job is None:
        raise NotFound(f"records export {job_id} does not exist")
    return job


@router.get("/records/exports/{job_id}", response_model=ExportJobRead)
def export_status(job_id: str, _: Operator) -> ExportJobRead:
    """Progress of a records export: records written of all."""
    return _job_read(_export_job(job_id))


@router.get(
    "/records/exports/{job_id}/file", response_class=Response, responses=file_answer(XLSX, CSV)
)
def export_file(job_id: str, _: Operator) -> FileResponse:
    """The file of a finished records export."""
    job = _export_job(job_id)
    if job.state != "finished" or job.path is None or not job.path.exists():
        raise Conflict(f"records export {job_id} is {job.state}: {job.message or 'not done yet'}")
    return FileResponse(job.path, filename=job.filename, media_type=job.media_type)
