"""Console pages of the records domain: access, call and alarm records."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select

from openpss.platform.deps import SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.listing import from_params
from openpss.platform.records import service
from openpss.platform.records.schemas import AccessQuery, AlarmQuery, RecordKind, RecordQuery
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


@router.get("/records", response_class=HTMLResponse)
def records_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Records: access (with filters, paging and export), calls, alarms."""
    params = request.query_params
    kind: RecordKind = params.get("kind", "access")  # type: ignore[assignment]
    kind = kind if kind in ("access", "calls", "alarms") else "access"
    model = {"access": AccessQuery, "calls": RecordQuery, "alarms": AlarmQuery}[kind]
    context: dict[str, Any] = {"kind": kind, "params": params, "errors": []}
    context["devices"] = list(session.execute(select(Device.id, Device.name).order_by(Device.name)))
    kept = [(k, v) for k, v in params.multi_items() if k != "page"]
    context["base_query"] = urlencode(kept)
    try:
        query = from_params(model, params.multi_items(), limit=PAGE_SIZE)
        page = service.search_records(session=session, kind=kind, query=query)
        total, rows, number = page.total, page.items, query.page_number
        if kind == "access":
            context["export_query"] = query.filters()
    except (ValidationError, ValueError) as exc:
        total, rows, number = 0, [], 1
        context["errors"] = [str(exc)]
    pages = max(1, -(-total // PAGE_SIZE))
    context.update(rows=rows, total=total, page=number, pages=pages)
    status = 422 if context["errors"] else 200
    return render(request, "records/records.html", context, status_code=status)
