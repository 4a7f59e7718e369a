"""Console pages of the vision domain: camera list, and the viewer (MV Viewer) of one camera."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import DomainError, Invalid, NotFound
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.vision import ffc_wizard, service
from openpss.platform.vision.deps import SessionsDep
from openpss.platform.vision.features import LEVELS, level_index
from openpss.platform.vision.images import png_bytes, tiff_bytes
from openpss.platform.vision.live import ACQUISITION_MODES, CameraSessions
from openpss.platform.vision.schemas import CameraCreate, CameraQuery
from openpss.platform.web.templating import render

router = APIRouter()
DEFAULT_INTERFACE = "127.0.0.1"
PAGE_SIZE = 50


def _list(
    request: Request,
    session: SessionDep,
    sessions: CameraSessions,
    query: CameraQuery | None = None,
    **extra: Any,
) -> HTMLResponse:
    query = query or CameraQuery(limit=PAGE_SIZE)
    page = service.list_cameras(session=session, query=query)
    context: dict[str, Any] = {
        "cameras": page.items,
        "connected": {c.id for c in page.items if sessions.get(c.id)},
        "total": page.total,
        "page": query.page_number,
        "pages": page.pages,
        "search": query.search,
        "sort": query.sort,
        "found": [],
        "interface": DEFAULT_INTERFACE,
        "errors": [],
        "message": "",
        "form": {},
    }
    context.update(extra)
    return render(request, "vision/list.html", context)


@router.get("/vision", response_class=HTMLResponse)
def camera_list(
    request: Request, session: SessionDep, sessions: SessionsDep, principal: Viewer
) -> HTMLResponse:
    """The camera list (one page of the API's CameraQuery): discovery, add by IP, connect."""
    try:
        query = from_params(CameraQuery, request.query_params.multi_items(), limit=PAGE_SIZE)
    except Invalid as exc:
        return _list(request, session, sessions, errors=[str(exc)])
    return _list(request, session, sessions, query)


@router.post("/vision", response_class=HTMLResponse)
async def camera_add(
    request: Request, session: SessionDep, sessions: SessionsDep, principal: Operator
) -> HTMLResponse:
    """Add a camera from the form (manual IP or a discovery answer)."""
    form = await request.form()
    values = {
        k: str(form.get(k, "")).strip()
        for k in ("name", "address", "port", "manufacturer", "model_name", "serial")
    }
    values = {k: v for k, v in values.items() if v}
    try:
        data = CameraCreate.model_validate(values)
        camera = service.add_camera(session=session, actor=principal.actor, data=data)
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return _list(request, session, sessions, errors=errors, form=values)
    except DomainError as exc:
        return _list(request, session, sessions, errors=[str(exc)], form=values)
    return _list(request, session, sessions, message=f"Camera {camera.name} added.")


@router.post("/vision/discover", response_class=HTMLResponse)
def camera_discover(
    request: Request,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
    interface: str = Form(DEFAULT_INTERFACE),
) -> HTMLResponse:
    """Broadcast a discovery on the chosen interface and list the answers."""
    try:
        found = service.discover(session=session, finder=sessions.finder, interface=interface)
    except DomainError as exc:
        return _list(request, session, sessions, errors=[str(exc)], interface=interface)
    message = f"{len(found)} camera(s) answered on {interface}."
    return _list(request, session, sessions, found=found, interface=interface, message=message)


def _viewer(
    request: Request, session: SessionDep, sessions: CameraSessions, camera_id: DbId, **extra: Any
) -> HTMLResponse:
    camera = service.get_camera(session=session, camera_id=camera_id)
    live = sessions.get(camera_id)
    context: dict[str, Any] = {
        "camera": camera,
        "live": live,
        "levels": LEVELS,
        "level": "Beginner",
        "modes": ACQUISITION_MODES,
        "errors": [],
        "message": "",
    }
    context.update(extra)
    if live is not None:
        context["tree"] = live.features(context["level"])
        context["stats"] = live.statistics()
        context["wizard"] = ffc_wizard.state_of(live)
    return render(request, "vision/camera.html", context)


@router.get("/vision/{camera_id}", response_class=HTMLResponse)
def camera_page(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Viewer,
    level: str = "Beginner",
) -> HTMLResponse:
    """The viewer of one camera."""
    level = level if level in LEVELS else "Beginner"
    return _viewer(request, session, sessions, camera_id, level=level)


@router.post("/vision/{camera_id}/connect", response_class=HTMLResponse)
def camera_connect(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> HTMLResponse:
    """Connect with control privilege."""
    try:
        service.connect(
            session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
        )
    except DomainError as exc:
        return _viewer(request, session, sessions, camera_id, errors=[str(exc)])
    return _viewer(request, session, sessions, camera_id, message="Connected.")


@router.post("/vision/{camera_id}/disconnect", response_class=HTMLResponse)
def camera_disconnect(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> HTMLResponse:
    """Release the camera."""
    service.disconnect(
        session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
    )
    return _viewer(request, session, sessions, camera_id, message="Disconnected.")


def _features(
    request: Request, sessions: CameraSessions, camera_id: DbId, level: str, error: str = ""
) -> HTMLResponse:
    level = level if level in LEVELS else "Beginner"
    level_index(level)
    live = sessions.get(camera_id)
    tree = live.features(level) if live else []
    context = {
        "tree": tree,
        "level": level,
        "levels": LEVELS,
        "camera_id": camera_id,
        "feature_error": error,
    }
    return render(request, "vision/_features.html", context)


@router.get("/vision/{camera_id}/features", response_class=HTMLResponse)
def features_fragment(
    request: Request,
    camera_id: DbId,
    sessions: SessionsDep,
    principal: Viewer,
    level: str = "Beginner",
) -> HTMLResponse:
    """The feature tree at a level (HTMX fragment)."""
    return _features(request, sessions, camera_id, level)


@router.post("/vision/{camera_id}/features", response_class=HTMLResponse)
def feature_set(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
    name: str = Form(...),
    value: str = Form(""),
    level: str = Form("Beginner"),
    execute: str = Form(""),
) -> HTMLResponse:
    """Write one feature (or execute a command) and re-render the tree."""
    where: dict[str, Any] = {"session": session, "sessions": sessions, "actor": principal.actor}
    try:
        if execute:
            service.execute_command(**where, camera_id=camera_id, name=name)
        else:
            service.set_feature(**where, camera_id=camera_id, name=name, value=value)
    except DomainError as exc:
        return _features(request, sessions, camera_id, level, str(exc))
    return _features(request, sessions, camera_id, level)


@router.post("/vision/{camera_id}/play", response_class=HTMLResponse)
def play(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
    mode: str = Form("Continuous"),
    count: int = Form(1),
) -> HTMLResponse:
    """Play continuous, single or multi."""
    try:
        service.start_acquisition(
            session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id,
            mode=mode, count=count,
        )  # fmt: skip
    except DomainError as exc:
        return _panel(request, sessions, camera_id, str(exc))
    return _panel(request, sessions, camera_id)


@router.post("/vision/{camera_id}/stop", response_class=HTMLResponse)
def stop(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
) -> HTMLResponse:
    """Stop acquiring."""
    try:
        service.stop_acquisition(
            session=session, sessions=sessions, actor=principal.actor, camera_id=camera_id
        )
    except DomainError as exc:
        return _panel(request, sessions, camera_id, str(exc))
    return _panel(request, sessions, camera_id)


def _panel(
    request: Request, sessions: CameraSessions, camera_id: DbId, error: str = ""
) -> HTMLResponse:
    live = sessions.get(camera_id)
    context = {
        "live": live,
        "camera_id": camera_id,
        "stats": live.statistics() if live else {},
        "panel_error": error,
    }
    return render(request, "vision/_live.html", context)


@router.get("/vision/{camera_id}/live", response_class=HTMLResponse)
def live_panel(
    request: Request, camera_id: DbId, sessions: SessionsDep, principal: Viewer
) -> HTMLResponse:
    """Preview, statistics and event log (polled by the page)."""
    return _panel(request, sessions, camera_id)


@router.get("/vision/{camera_id}/frame.{extension}")
def frame_file(
    camera_id: DbId, extension: str, sessions: SessionsDep, principal: Viewer, preview: bool = False
) -> Response:
    """The latest frame: PNG (preview or full) or TIFF (samples as received)."""
    live = sessions.get(camera_id)
    if live is None or live.latest is None:
        raise NotFound("no frame received yet; press Play first")
    name = f"camera{camera_id}-{live.latest.block_id}"
    if extension == "png":
        headers = {} if preview else {"Content-Disposition": f'attachment; filename="{name}.png"'}
        body = png_bytes(live.latest, preview=preview)
        return Response(body, media_type="image/png", headers=headers)
    if extension in ("tif", "tiff"):
        headers = {"Content-Disposition": f'attachment; filename="{name}.tiff"'}
        return Response(tiff_bytes(live.latest), media_type="image/tiff", headers=headers)
    raise NotFound(f"unknown frame format {extension!r}; use png or tiff")


@router.post("/vision/{camera_id}/ffc", response_class=HTMLResponse)
def ffc_step(
    request: Request,
    camera_id: DbId,
    session: SessionDep,
    sessions: SessionsDep,
    principal: Operator,
    step: str = Form(...),
    mode: str = Form("point"),
    frames: int = Form(4),
) -> HTMLResponse:
    """One step of the FFC wizard: capture dark, capture bright, or apply."""
    error, message = "", ""
    where: dict[str, Any] = {"session": session, "sessions": sessions, "actor": principal.actor}
    try:
        if step in ("dark", "bright"):
            frames = max(1, min(frames, 16))
            count = service.ffc_capture(**where, camera_id=camera_id, field=step, frames=frames)  # type: ignore[arg-type]
            message = f"Captured {count} {step}-field frame(s)."
        elif step == "apply":
            message = service.ffc_apply(**where, camera_id=camera_id, mode=mode)
        else:
            raise Invalid(f"unknown FFC step {step!r}")
    except DomainError as exc:
        error = str(exc)
    live_now = sessions.get(camera_id)
    context = {
        "camera_id": camera_id,
        "wizard": ffc_wizard.state_of(live_now) if live_now else None,
        "ffc_error": error,
        "ffc_message": message,
    }
    return render(request, "vision/_ffc.html", context)
