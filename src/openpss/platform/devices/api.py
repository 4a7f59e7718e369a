"""REST routes of the devices domain under /api/v1."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import collect, extract, service
from openpss.platform.devices.schemas import (
    DeviceCreate,
    DevicePage,
    DeviceQuery,
    DeviceRead,
    DeviceUpdate,
    ImportResult,
)
from openpss.platform.errors import Unavailable
from openpss.platform.fields import DbId
from openpss.platform.people.cards import display_card
from openpss.platform.uploads import run_import, upload_errors
from openpss.platform.web.openapi import DEVICE_ERRORS, XLSX, file_answer

router = APIRouter(tags=["devices"])


@router.get("/devices", response_model=DevicePage)
def list_devices(
    session: SessionDep, _: Viewer, query: Annotated[DeviceQuery, Query()]
) -> DevicePage:
    """List devices with type, serial, firmware and online status."""
    page = service.list_devices(session=session, query=query)
    return DevicePage(total=page.total, items=[DeviceRead.model_validate(d) for d in page.items])


@router.post("/devices", response_model=DeviceRead, status_code=201)
def create_device(
    data: DeviceCreate, session: SessionDep, settings: SettingsDep, principal: Operator
) -> DeviceRead:
    """Add a device by IP/Domain."""
    device = service.create_device(
        session=session, settings=settings, actor=principal.actor, data=data
    )
    return DeviceRead.model_validate(device)


@router.get("/devices/export", response_class=Response, responses=file_answer(XLSX))
def export_devices(session: SessionDep, principal: Operator) -> Response:
    """Download the device list as xlsx (no passwords)."""
    content = service.export_devices_xlsx(session=session, actor=principal.actor)
    headers = {"Content-Disposition": 'attachment; filename="devices.xlsx"'}
    return Response(content, media_type=XLSX, headers=headers)


@router.post("/devices/import", response_model=ImportResult)
async def import_devices(
    file: UploadFile, session: SessionDep, settings: SettingsDep, principal: Operator
) -> ImportResult:
    """Import a device list (xlsx); nothing is written unless every row is valid."""
    with upload_errors():
        return await run_import(
            file,
            lambda data: service.import_devices_xlsx(
                session=session, settings=settings, actor=principal.actor, content=data,
                filename=file.filename or "",
            ),
        )  # fmt: skip


@router.get("/devices/{device_id}", response_model=DeviceRead)
def get_device(device_id: DbId, session: SessionDep, _: Viewer) -> DeviceRead:
    """One device."""
    return DeviceRead.model_validate(service.get_device(session=session, device_id=device_id))


@router.patch("/devices/{device_id}", response_model=DeviceRead)
def update_device(
    device_id: DbId,
    data: DeviceUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> DeviceRead:
    """Edit a device; omit the password to keep it."""
    device = service.update_device(
        session=session, settings=settings, actor=principal.actor, device_id=device_id, data=data
    )
    return DeviceRead.model_validate(device)


@router.delete("/devices/{device_id}", status_code=204)
def delete_device(device_id: DbId, session: SessionDep, principal: Admin) -> Response:
    """Delete a device."""
    service.delete_device(session=session, actor=principal.actor, device_id=device_id)
    return Response(status_code=204)


@router.get("/devices/{device_id}/extract", responses=DEVICE_ERRORS)
async def extract_preview(
    device_id: DbId, session: SessionDep, settings: SettingsDep, operator: Operator
) -> list[dict[str, Any]]:
    """The device's users before import, those already in the platform marked `present`."""
    _, users = await extract.read_device_users(
        session=session, settings=settings, device_id=device_id
    )
    return [asdict(row) for row in extract.preview(session=session, users=users)]


@router.get("/devices/{device_id}/extract/export", responses=DEVICE_ERRORS)
async def extract_export(
    device_id: DbId, session: SessionDep, settings: SettingsDep, operator: Operator
) -> Response:
    """The device's users as an xlsx list (User ID, Name, Card No., in the platform or new)."""
    name, body = await extract.preview_export(
        session=session, settings=settings, device_id=device_id
    )
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=XLSX, headers=headers)


@router.post("/devices/{device_id}/extract", responses=DEVICE_ERRORS)
async def extract_personnel(
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    department_id: DbId | None = None,
    show: extract.Show = "all",
    user_ids: Annotated[list[str] | None, Query(description="import only these users")] = None,
) -> dict[str, Any]:
    """Extract the device's users (with cards) into the platform, all or the picked `user_ids`;
    results all / success / present (already in the platform) / failure."""
    _, results = await extract.extract_personnel(
        user_ids=user_ids,
        session=session,
        settings=settings,
        actor=principal.actor,
        device_id=device_id,
        department_id=department_id,
    )
    done = sum(r.success for r in results)
    present = sum(r.present for r in results)
    return {
        "total": len(results),
        "success": done,
        "present": present,
        "failure": len(results) - done - present,
        "items": [asdict(r) | {"status": r.status} for r in extract.shown(results, show)],
    }


WaitQuery = Annotated[
    int, Query(ge=1, le=collect.MAX_WAIT, description="seconds to wait for the person")
]


@router.post("/devices/{device_id}/read-card", responses=DEVICE_ERRORS)
async def read_card(
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    _: Operator,
    wait: WaitQuery = collect.DEFAULT_WAIT,
) -> dict[str, str]:
    """The number of the next card presented at the device (card reader "Device")."""
    try:
        number = await collect.read_card(
            session=session, settings=settings, device_id=device_id, wait=wait
        )
    except collect.CollectError as exc:
        raise Unavailable(str(exc)) from exc
    return {"number": number, "shown": display_card(session, number)}


@router.post("/devices/{device_id}/capture-fingerprint", responses=DEVICE_ERRORS)
async def capture_fingerprint(
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    _: Operator,
    wait: WaitQuery = collect.DEFAULT_WAIT,
) -> dict[str, str]:
    """A fingerprint template (base64) from a finger presented three times at the device."""
    try:
        template = await collect.capture_fingerprint(
            session=session, settings=settings, device_id=device_id, wait=wait
        )
    except collect.CollectError as exc:
        raise Unavailable(str(exc)) from exc
    return {"template": base64.b64encode(template).decode()}
