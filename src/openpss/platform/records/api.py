"""REST routes of the records domain under /api/v1."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.listing import Page
from openpss.platform.records import service
from openpss.platform.records.schemas import (
    AccessPage,
    AccessQuery,
    AlarmPage,
    AlarmQuery,
    AlarmRecordRead,
    CallPage,
    CallRecordRead,
    RecordKind,
    RecordQuery,
)
from openpss.platform.web.openapi import CSV, XLSX, file_answer

router = APIRouter(tags=["records"])


@router.get("/records/access", response_model=AccessPage)
def search_access(
    session: SessionDep, _: Viewer, query: Annotated[AccessQuery, Query()]
) -> AccessPage:
    """Access / attendance records, newest first, filtered by time, device, user, card, result."""
    page = _search(session, "access", query)
    return AccessPage(total=page.total, items=page.items, next_cursor=page.next_cursor)


def _search(session: SessionDep, kind: RecordKind, query: RecordQuery) -> Page[Any]:
    return service.search_records(session=session, kind=kind, query=query)


@router.get("/records/access/export", response_class=Response, responses=file_answer(XLSX, CSV))
def export_access(
    session: SessionDep,
    principal: Operator,
    filters: Annotated[AccessQuery, Query()],
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """Download the matching access records as xlsx or CSV."""
    content = service.export_access(
        session=session, actor=principal.actor, filters=filters, fmt=format
    )
    media = "text/csv; charset=utf-8" if format == "csv" else XLSX
    headers = {"Content-Disposition": f'attachment; filename="access-records.{format}"'}
    return Response(content, media_type=media, headers=headers)


@router.get("/records/calls", response_model=CallPage)
def search_calls(
    session: SessionDep, _: Viewer, query: Annotated[RecordQuery, Query()]
) -> CallPage:
    """Intercom call records, newest first, filtered by time and device."""
    page = _search(session, "calls", query)
    items = [CallRecordRead.model_validate(r) for r in page.items]
    return CallPage(total=page.total, items=items, next_cursor=page.next_cursor)


@router.get("/records/alarms", response_model=AlarmPage)
def search_alarms(
    session: SessionDep, _: Viewer, query: Annotated[AlarmQuery, Query()]
) -> AlarmPage:
    """Alarm records (optionally of one type, e.g. "duress"), newest first, by time and device."""
    page = _search(session, "alarms", query)
    items = [AlarmRecordRead.model_validate(r) for r in page.items]
    return AlarmPage(total=page.total, items=items, next_cursor=page.next_cursor)
