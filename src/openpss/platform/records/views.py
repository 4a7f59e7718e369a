"""Console pages of the records domain: access, call and alarm records (platform-video-intercom 4).

Filters: time period, organization node or room, device, and each kind's own (call status,
access result, alarm type). Paging: page size, first / previous / next / last and a jump to a
page. Numbered pages while the count is exact; past listing.COUNT_CAP matches the count shows
"10000+" and previous / next follow the keyset cursors. Export runs as a background job whose
progress the page polls (records/export.py), then offers the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.errors import DomainError, Invalid, NotFound
from openpss.platform.intercom import rooms
from openpss.platform.intercom.calls import media_of
from openpss.platform.listing import Page, from_params
from openpss.platform.records import export, service
from openpss.platform.records.schemas import (
    CALL_STATUSES,
    RECORD_KINDS,
    ExportFormat,
    RecordKind,
    RecordQuery,
)
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZES = (10, 20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_ROOM_OPTIONS = 500  # rooms offered in the organization list (more: filter by their unit)
ALARM_TYPES = ("duress", "tamper", "door_held_open", "door_sensor", "alarm_input")
NAVIGATION = ("page", "after", "before", "last", "n")


def _kind(value: str) -> RecordKind:
    for kind in RECORD_KINDS:
        if value == kind:
            return kind
    return "access"


def _params(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The URL parameters as the query models name them (org=n12 / r5 -> node_id / room_id)."""
    out: list[tuple[str, str]] = []
    for key, value in items:
        if key == "org" and value[:1] in ("n", "r"):
            out.append(("node_id" if value[0] == "n" else "room_id", value[1:]))
        elif key != "limit":  # the page size is one of PAGE_SIZES (_page_size)
            out.append((key, value))
    return out


def _organization(session: Session) -> list[tuple[str, str]]:
    """(value, label) of each organization node (indented by depth) and of the first rooms."""
    outline = rooms.organization_outline(session=session, max_rooms=MAX_ROOM_OPTIONS)
    return [(f"{kind[0]}{key}", "\u2003" * depth + label) for kind, key, depth, label in outline]


def _pager(page: Page[Any], query: RecordQuery, number: int | None) -> dict[str, Any]:
    """Which page this is, how many there are (when counted) and the navigation parameters."""
    limit = query.limit
    if page.total_exact:
        pages = max(1, -(-page.total // limit))
        if query.last:
            number = pages
        elif not (query.after or query.before):
            number = query.page_number
        nav: dict[str, dict[str, Any] | None] = {
            "first": {"page": 1},
            "prev": {"page": number - 1} if number and number > 1 else None,
            "next": {"page": number + 1} if number and number < pages else None,
            "last": {"page": pages},
        }
        return {"number": number, "pages": pages, "nav": nav}
    if query.last:
        number = None
    elif not (query.after or query.before):
        number = query.page_number
    if not page.prev_cursor:
        number = 1
    nav = {
        "first": {},
        "prev": {"before": page.prev_cursor, "n": (number or 2) - 1} if page.prev_cursor else None,
        "next": {"after": page.next_cursor, "n": number + 1 if number else ""}
        if page.next_cursor
        else None,
        "last": {"last": "1"},
    }
    return {"number": number, "pages": None, "nav": nav}


@router.get("/records", response_class=HTMLResponse)
def records_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Records: access, calls and alarms, with filters, paging and export."""
    params = request.query_params
    kind = _kind(params.get("kind", "access"))
    context: dict[str, Any] = {"kind": kind, "params": params, "errors": []}
    context["devices"] = list(session.execute(select(Device.id, Device.name).order_by(Device.name)))
    context["organization"] = _organization(session)
    context.update(page_sizes=PAGE_SIZES, call_statuses=CALL_STATUSES, alarm_types=ALARM_TYPES)
    kept = [(k, v) for k, v in params.multi_items() if k not in NAVIGATION]
    context["base_query"] = urlencode(kept)
    context["filter_query"] = urlencode([(k, v) for k, v in kept if k != "kind"])
    context.update(rows=[], total=0, exact=True, pager=_pager_empty(), media={})
    try:
        query = from_params(
            service.QUERIES[kind],
            _params(params.multi_items()),
            limit=_page_size(params.get("limit")),
        )
        page = service.search_records(session=session, kind=kind, query=query)
        number = int(params["n"]) if params.get("n", "").isdigit() else None
        context.update(rows=page.items, total=page.total, exact=page.total_exact)
        context.update(pager=_pager(page, query, number), limit=query.limit)
        if kind == "calls":
            data_dir = request.app.state.settings.data_dir
            context["media"] = {row.id: media_of(data_dir, row.id) for row in page.items}
    except DomainError as exc:
        context["errors"] = [str(exc)]
    status = 422 if context["errors"] else 200
    return render(request, "records/records.html", context, status_code=status)


def _page_size(value: str | None) -> int:
    if value and value.isdigit() and int(value) in PAGE_SIZES:
        return int(value)
    return DEFAULT_PAGE_SIZE


def _pager_empty() -> dict[str, Any]:
    return {"number": 1, "pages": 1, "nav": {"first": {}, "prev": None, "next": None, "last": {}}}


# ---------------------------------------------------------------- export jobs


@router.post("/records/exports", response_class=HTMLResponse)
def start_export(
    request: Request,
    session: SessionDep,
    principal: Operator,
    kind: str = Form("access"),
    format: str = Form("xlsx"),
    filters: str = Form("", description="the page's filter parameters (URL-encoded)"),
) -> HTMLResponse:
    """Start exporting the whole result of the page's search; the page polls the progress."""
    if kind not in RECORD_KINDS or format not in ("xlsx", "csv"):
        raise Invalid("export access, calls or alarms records as xlsx or csv", field="format")
    record_kind = _kind(kind)
    fmt: ExportFormat = "csv" if format == "csv" else "xlsx"
    given = _params(parse_qsl(filters, keep_blank_values=True))
    query = from_params(service.QUERIES[record_kind], [p for p in given if p[0] not in NAVIGATION])
    job = export.start_export(
        session=session,
        actor=principal.actor,
        factory=request.app.state.session_factory,
        directory=request.app.state.settings.data_dir / "exports" / "records",
        kind=record_kind,
        filters=query,
        fmt=fmt,
    )
    return render(request, "records/_export.html", {"job": job})


@router.get("/records/exports/{export_id}", response_class=HTMLResponse)
def export_progress(request: Request, export_id: str, principal: Operator) -> HTMLResponse:
    """The progress of an export (polled every second while it runs)."""
    job = export.get_export(export_id)
    if job is None:
        raise NotFound(f"records export {export_id} does not exist")
    return render(request, "records/_export.html", {"job": job})


@router.get("/records/exports/{export_id}/download")
def export_download(export_id: str, principal: Operator) -> FileResponse:
    """The file a finished export wrote."""
    job = export.get_export(export_id)
    if job is None or job.path is None or job.state != "finished" or not job.path.exists():
        raise NotFound(f"no finished records export {export_id}")
    return FileResponse(job.path, filename=job.filename, media_type=job.media_type)
