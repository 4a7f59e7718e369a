"""REST routes of the records domain under /api/v1."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.fields import MAX_DB_INT, DbId, IsoDateTime
from openpss.platform.records import service
from openpss.platform.records.schemas import (
    AccessFilter,
    AccessPage,
    AlarmPage,
    AlarmRecordRead,
    CallPage,
    CallRecordRead,
)
from openpss.platform.security.audit import record_audit
from openpss.platform.web.openapi import CSV, XLSX, file_answer

router = APIRouter(tags=["records"])
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/records/access", response_model=AccessPage)
def search_access(
    session: SessionDep,
    _: Viewer,
    filters: Annotated[AccessFilter, Query()],
    offset: Offset = 0,
    limit: Limit = 50,
) -> AccessPage:
    """Access / attendance records, newest first, filtered by time, device, user, card, result."""
    total, items = service.search_access(
        session=session, filters=filters, offset=offset, limit=limit
    )
    return AccessPage(total=total, items=items)


@router.get("/records/access/export", response_class=Response, responses=file_answer(XLSX, CSV))
def export_access(
    session: SessionDep,
    principal: Operator,
    filters: Annotated[AccessFilter, Query()],
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """Download the matching access records as xlsx or CSV."""
    if format == "csv":
        content = service.export_access_csv(session=session, filters=filters)
    else:
        content = service.export_access_xlsx(session=session, filters=filters)
    record_audit(
        session=session,
        actor=principal.actor,
        action="records.export",
        target=f"access.{format}",
        detail=filters.model_dump(mode="json", exclude_defaults=True),
    )
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    headers = {"Content-Disposition": f'attachment; filename="access-records.{format}"'}
    return Response(content, media_type=media, headers=headers)


@router.get("/records/calls", response_model=CallPage)
def search_calls(
    session: SessionDep,
    _: Viewer,
    start: IsoDateTime | None = None,
    end: IsoDateTime | None = None,
    device_id: DbId | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> CallPage:
    """Intercom call records, newest first."""
    total, rows = service.search_calls(
        session=session, start=start, end=end, device_id=device_id, offset=offset, limit=limit
    )
    return CallPage(total=total, items=[CallRecordRead.model_validate(r) for r in rows])


@router.get("/records/alarms", response_model=AlarmPage)
def search_alarms(
    session: SessionDep,
    _: Viewer,
    start: IsoDateTime | None = None,
    end: IsoDateTime | None = None,
    device_id: DbId | None = None,
    alarm_type: Annotated[str, Query(max_length=64)] = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> AlarmPage:
    """Alarm records (optionally of one type, e.g. "duress"), newest first."""
    total, rows = service.search_alarms(
        session=session,
        start=start,
        end=end,
        device_id=device_id,
        alarm_type=alarm_type,
        offset=offset,
        limit=limit,
    )
    return AlarmPage(total=total, items=[AlarmRecordRead.model_validate(r) for r in rows])
