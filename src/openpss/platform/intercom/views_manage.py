"""Console page of intercom management (platform-video-intercom chapter 3).

``/intercom``: the organization tree (shown down to the unit level), the VTOs and VTHs under the
selected node with online state and doors (a click on a door unlocks it), search by status and
type, always open / restore for the listed door stations, the dial pad (full numbers), missed
calls with call back, and the latest 100 call / access / alarm records, refreshed in place
(``/intercom/live`` answers 204 while nothing was added). Rules, audit and errors live in
``management`` and the devices domain's ``doors``; these routes only render.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.errors import DomainError, NotFound, Unavailable
from openpss.platform.intercom import management
from openpss.platform.intercom.api_manage import sip_online
from openpss.platform.intercom.buildings import node_tree
from openpss.platform.intercom.schemas import IntercomDeviceQuery
from openpss.platform.listing import from_params
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
FILTERS = ("node_id", "status", "kind", "search")
LIVE_REFRESH_SECONDS = 2


def _query(request: Request, form: dict[str, str] | None = None) -> IntercomDeviceQuery:
    params = form if form is not None else dict(request.query_params)
    return from_params(IntercomDeviceQuery, params, limit=PAGE_SIZE)


def devices_context(request: Request, session: Session) -> dict[str, Any]:
    """The tree and the device list as the URL's filters select them."""
    errors: list[str] = []
    try:
        query = _query(request)
        page = management.list_devices(session=session, query=query, sip_online=sip_online(request))
    except DomainError as exc:  # a bad filter or a node deleted meanwhile: the whole list
        errors.append(str(exc))
        query = IntercomDeviceQuery(limit=PAGE_SIZE)
        page = management.list_devices(session=session, query=query)
    tree = node_tree(session=session)
    filters = {name: request.query_params.get(name, "") for name in FILTERS}
    filters["node_id"] = str(query.node_id or tree.id)
    return {
        "tree": tree,
        "selected": query.node_id or tree.id,
        "query": query,
        "filters": filters,
        "devices": page.items,
        "total": page.total,
        "page": query.page_number,
        "pages": page.pages,
        "errors": errors,
        "ready": getattr(request.app.state, "console_calls", None) is not None,
    }


def live_context(session: Session) -> dict[str, Any]:
    """The latest records and the marker that tells whether any was added since."""
    return {
        "marker": management.records_marker(session=session),
        "records": management.latest_records(session=session),
        "refresh": LIVE_REFRESH_SECONDS,
    }


@router.get("/intercom", response_class=HTMLResponse)
def management_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """The intercom management page."""
    request.state.principal = principal
    context = devices_context(request, session) | live_context(session)
    context["missed"] = management.missed_calls(session=session)
    return render(request, "intercom/manage.html", context)


@router.get("/intercom/devices", response_class=HTMLResponse)
def devices_fragment(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """The device list (and the tree's selection) for a tree click or a search."""
    request.state.principal = principal
    return render(request, "intercom/manage_devices.html", devices_context(request, session))


@router.get("/intercom/live", response_model=None)
def live_fragment(
    request: Request, session: SessionDep, principal: Viewer, since: str = ""
) -> Response:
    """The record list, or 204 (nothing to swap) while no record was added since ``since``."""
    request.state.principal = principal
    if since and since == management.records_marker(session=session):
        return Response(status_code=204)
    return render(request, "intercom/manage_live.html", live_context(session))


def _notice(request: Request, text: str, *, status: int = 200) -> HTMLResponse:
    # X-Openpss-Page: error makes the console swap an error answer in (openpss.js)
    headers = {"X-Openpss-Page": "error"} if status >= 400 else None
    context = {"text": text, "failed": status >= 400}
    return render(request, "intercom/manage_notice.html", context, status_code=status,
                  headers=headers)  # fmt: skip


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    return 502 if isinstance(exc, Unavailable) else 422


@router.post("/intercom/devices/{device_id}/doors/{door}/open", response_class=HTMLResponse)
async def open_door(
    request: Request,
    device_id: int,
    door: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> HTMLResponse:
    """A click on a door: unlock it once."""
    request.state.principal = principal
    try:
        device = await management.open_door(
            session=session, settings=settings, actor=principal.actor, device_id=device_id,
            door=door,
        )  # fmt: skip
    except DomainError as exc:
        session.rollback()
        return _notice(request, str(exc), status=_status(exc))
    return _notice(request, f"Door {door} of {device.name} opened.")


@router.post("/intercom/doors/mode", response_class=HTMLResponse)
async def door_mode(
    request: Request, session: SessionDep, settings: SettingsDep, principal: Operator
) -> HTMLResponse:
    """Always open or restore every door of the listed door stations."""
    request.state.principal = principal
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    mode = form.pop("mode", "")
    try:
        results = await management.set_listed_door_mode(
            session=session, settings=settings, actor=principal.actor,
            query=_query(request, form), mode=mode, sip_online=sip_online(request),
        )  # fmt: skip
    except DomainError as exc:
        session.rollback()
        return _notice(request, str(exc), status=_status(exc))
    label = "Always open" if mode == "always_open" else "Restore"
    done = [r for r in results if not r.reason]
    text = f"{label}: {len(done)} of {len(results)} door station(s) done"
    failed = [f"{r.name} ({r.reason})" for r in results if r.reason]
    if failed:
        text += "; not done: " + ", ".join(failed)
    return _notice(request, text + ".", status=200 if not failed else 502)
