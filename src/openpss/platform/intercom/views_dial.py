"""Console page of dial management (platform-video-intercom 2.2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.intercom import configure, dial_xlsx, registrations, rooms
from openpss.platform.intercom.errors import IntercomError
from openpss.platform.intercom.models import EndpointKind, Level, OrgNode
from openpss.platform.intercom.schemas import RegistrationCreate, RegistrationQuery, RoomQuery
from openpss.platform.listing import MAX_LIMIT
from openpss.platform.uploads import read_upload
from openpss.platform.web import flash
from openpss.platform.web.templating import render
from openpss.spreadsheets import SpreadsheetError

router = APIRouter()
DIAL = "/intercom/dial"


def _online(request: Request) -> set[str]:
    events = getattr(request.app.state, "sip_events", None)
    return set(events.online) if events is not None else set()


def _invalidate(request: Request) -> None:
    server = getattr(request.app.state, "sip_server", None)
    invalidate = getattr(getattr(server, "accounts", None), "invalidate", None)
    if invalidate is not None:
        invalidate()


def dial_context(request: Request, session: Session) -> dict[str, Any]:
    """Registrations, and the devices, units and rooms the add form offers."""
    items = registrations.list_registrations(
        session=session, query=RegistrationQuery(limit=MAX_LIMIT), online=_online(request)
    ).items
    numbers = rooms.node_numbers(session)
    units = session.scalars(select(OrgNode).where(OrgNode.level != Level.community)).all()
    room_list = rooms.list_rooms(session=session, query=RoomQuery(limit=MAX_LIMIT)).items
    devices = session.scalars(
        select(Device).where(Device.kind.in_(("vth", "vto"))).order_by(Device.name)
    ).all()
    return {
        "registrations": items,
        "devices": devices,
        "units": [(u.id, "#".join(rooms.node_code(numbers, u.id))) for u in units],
        "rooms": room_list,
        "errors": [],
    }


def _error_page(request: Request, session: Session, errors: list[str], status: int) -> Response:
    session.rollback()
    context = dial_context(request, session)
    context["errors"] = errors
    return render(request, "intercom/dial.html", context, status_code=status)


@router.get("/intercom/dial", response_class=HTMLResponse)
def dial_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Registration numbers of VTHs, VTOs and VTSs."""
    request.state.principal = principal
    return render(request, "intercom/dial.html", dial_context(request, session))


@router.post("/intercom/dial", response_model=None)
async def add_registration(
    request: Request, session: SessionDep, settings: SettingsDep, principal: Operator
) -> Response:
    """Add a registration number."""
    request.state.principal = principal
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token" and v}
    try:
        data = RegistrationCreate.model_validate(form)
        if data.kind is EndpointKind.vto and not data.device_number and data.device_id:
            number = await configure.read_vto_number(
                session=session, settings=settings, device_id=data.device_id
            )
            data = data.model_copy(update={"device_number": number})
        row = registrations.add_registration(
            session=session, actor=principal.actor, secret_key=settings.secret_key, data=data
        )
    except ValidationError as exc:
        return _error_page(request, session, [e["msg"] for e in exc.errors()], 422)
    except IntercomError as exc:
        return _error_page(request, session, [str(exc)], 409)
    session.commit()
    _invalidate(request)
    return flash.redirect(DIAL, f"Registration number {row.number} added.")


@router.post("/intercom/dial/{registration_id}/delete", response_model=None)
async def delete_registration(
    registration_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Delete a registration number."""
    request.state.principal = principal
    try:
        registrations.delete_registration(
            session=session, actor=principal.actor, registration_id=registration_id
        )
    except IntercomError as exc:
        return _error_page(request, session, [str(exc)], 404)
    session.commit()
    _invalidate(request)
    return flash.redirect(DIAL, "Registration number deleted.")


@router.post("/intercom/dial/{registration_id}/configure", response_model=None)
async def configure_registration(
    registration_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> Response:
    """Make the device register with the platform under its number."""
    request.state.principal = principal
    try:
        await configure.configure_device(
            session=session,
            settings=settings,
            actor=principal.actor,
            registration_id=registration_id,
        )
    except IntercomError as exc:
        return _error_page(request, session, [str(exc)], 502)
    return flash.redirect(DIAL, "Device configured to register with the platform.")


@router.post("/intercom/dial/import", response_model=None)
async def import_registrations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import SmartPSS Lite (an export) or ConfigTool (the template), all or nothing."""
    request.state.principal = principal
    form = await request.form()
    configtool = form.get("format") == "configtool"
    try:
        content = await read_upload(file)
        count = await run_in_threadpool(
            lambda: dial_xlsx.import_xlsx(
                session=session,
                actor=principal.actor,
                secret_key=settings.secret_key,
                content=content,
                configtool=configtool,
            )
        )
    except (IntercomError, SpreadsheetError) as exc:
        return _error_page(request, session, [str(exc)], 422)
    session.commit()
    _invalidate(request)
    return flash.redirect(DIAL, f"{count} registration number(s) imported.")
