"""Console pages of the records domain: access, call and alarm records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select

from openpss.platform.deps import SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.fields import PageNumber, parse_db_id
from openpss.platform.records import service
from openpss.platform.records.schemas import AccessFilter
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


def _time(value: str) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC) if value else None


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request, session: SessionDep, principal: Viewer, page: PageNumber = 1
) -> HTMLResponse:
    """Records: access (with filters, paging and export), calls, alarms."""
    params = request.query_params
    kind = params.get("kind", "access")
    offset = (page - 1) * PAGE_SIZE
    context: dict[str, Any] = {"kind": kind, "page": page, "params": params, "errors": []}
    context["devices"] = list(session.execute(select(Device.id, Device.name).order_by(Device.name)))
    kept = [(k, v) for k, v in params.multi_items() if k != "page"]
    context["base_query"] = urlencode(kept)
    rows: Sequence[Any]
    try:
        device_id = parse_db_id(params.get("device_id", ""), "device_id")
        start, end = _time(params.get("start", "")), _time(params.get("end", ""))
        if kind == "calls":
            total, rows = service.search_calls(
                session=session, start=start, end=end, device_id=device_id, offset=offset
            )
        elif kind == "alarms":
            total, rows = service.search_alarms(
                session=session, start=start, end=end, device_id=device_id, offset=offset
            )
        else:
            success = {"1": True, "0": False}.get(params.get("success", ""))
            filters = AccessFilter(
                start=start,
                end=end,
                device_id=device_id,
                user_id=params.get("user_id", ""),
                card=params.get("card", ""),
                success=success,
                reason=params.get("reason", ""),
            )
            total, rows = service.search_access(session=session, filters=filters, offset=offset)
            context["export_query"] = filters.model_dump(mode="json", exclude_defaults=True)
    except (ValidationError, ValueError) as exc:
        total, rows = 0, []
        context["errors"] = [str(exc)]
    context.update(rows=rows, total=total, pages=max(1, -(-total // PAGE_SIZE)))
    status = 422 if context["errors"] else 200
    return render(request, "records/records.html", context, status_code=status)
