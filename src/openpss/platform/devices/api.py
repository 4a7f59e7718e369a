"""REST routes of the devices domain under /api/v1."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import collect, extract, service
from openpss.platform.devices.adapter import DahuaAdapter
from openpss.platform.devices.schemas import (
    DeviceCreate,
    DevicePage,
    DeviceRead,
    DeviceUpdate,
    ImportResult,
)
from openpss.platform.errors import Unavailable
from openpss.platform.fields import MAX_DB_INT, DbId
from openpss.platform.people.cards import display_card
from openpss.platform.security.audit import record_audit
from openpss.platform.uploads import run_import, upload_errors
from openpss.platform.web.openapi import DEVICE_ERRORS, XLSX, file_answer
from openpss.protocols.dahua_http.client import DahuaError

router = APIRouter(tags=["devices"])


@router.get("/devices", response_model=DevicePage)
def list_devices(
    session: SessionDep,
    _: Viewer,
    search: str = "",
    offset: int = Query(0, ge=0, le=MAX_DB_INT),
    limit: int = Query(50, ge=1, le=500),
) -> DevicePage:
    """List devices with type, serial, firmware and online status."""
    total, rows = service.list_devices(session=session, search=search, offset=offset, limit=limit)
    return DevicePage(total=total, items=[DeviceRead.model_validate(d) for d in rows])


@router.post("/devices", response_model=DeviceRead, status_code=201)
def create_device(
    data: DeviceCreate, session: SessionDep, settings: SettingsDep, principal: Operator
) -> DeviceRead:
    """Add a device by IP/Domain."""
    device = service.create_device(session=session, settings=settings, data=data)
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.create",
        target=device.name,
        detail={"host": device.host, "port": device.port, "username": device.username},
    )
    return DeviceRead.model_validate(device)


@router.get("/devices/export", response_class=Response, responses=file_answer(XLSX))
def export_devices(session: SessionDep, principal: Operator) -> Response:
    """Download the device list as xlsx (no passwords)."""
    content = service.export_devices_xlsx(session=session)
    record_audit(session=session, actor=principal.actor, action="device.export")
    headers = {"Content-Disposition": 'attachment; filename="devices.xlsx"'}
    return Response(content, media_type=XLSX, headers=headers)


@router.post("/devices/import", response_model=ImportResult)
async def import_devices(
    file: UploadFile, session: SessionDep, settings: SettingsDep, principal: Operator
) -> ImportResult:
    """Import a device list (xlsx); nothing is written unless every row is valid."""
    with upload_errors():
        result = await run_import(
            file,
            lambda data: service.import_devices_xlsx(
                session=session, settings=settings, content=data
            ),
        )
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.import",
        target=file.filename or "",
        detail=result.model_dump(),
    )
    return result


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
        session=session, settings=settings, device_id=device_id, data=data
    )
    detail = data.model_dump(exclude_unset=True, exclude={"password"})
    if data.password is not None:
        detail["password"] = "changed"
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.update",
        target=device.name,
        detail=detail,
    )
    return DeviceRead.model_validate(device)


@router.delete("/devices/{device_id}", status_code=204)
def delete_device(device_id: DbId, session: SessionDep, principal: Admin) -> Response:
    """Delete a device."""
    device = service.delete_device(session=session, device_id=device_id)
    record_audit(session=session, actor=principal.actor, action="device.delete", target=device.name)
    return Response(status_code=204)


async def _device_users(
    session: SessionDep, settings: SettingsDep, device_id: DbId
) -> tuple[Any, list[dict[str, Any]]]:
    """The device and its users with their cards, read over the device API."""
    device = service.get_device(session=session, device_id=device_id)
    password = service.device_password(settings=settings, device=device)
    try:
        async with DahuaAdapter.for_device(device, password) as adapter:
            return device, await adapter.read_personnel()
    except DahuaError as exc:
        raise Unavailable(f"device '{device.name}': {exc}") from exc


@router.get("/devices/{device_id}/extract", responses=DEVICE_ERRORS)
async def extract_preview(
    device_id: DbId, session: SessionDep, settings: SettingsDep, _: Operator
) -> list[dict[str, Any]]:
    """The device's users before import, those already in the platform marked `present`."""
    _, users = await _device_users(session, settings, device_id)
    return [asdict(row) for row in extract.preview(session=session, users=users)]


@router.get(
    "/devices/{device_id}/extract/export",
    response_class=Response,
    responses={**file_answer(XLSX), **DEVICE_ERRORS},
)
async def extract_export(
    device_id: DbId, session: SessionDep, settings: SettingsDep, _: Operator
) -> Response:
    """The device's users as an xlsx list (User ID, Name, Card No., in the platform or new)."""
    device, users = await _device_users(session, settings, device_id)
    body = extract.preview_xlsx(extract.preview(session=session, users=users))
    name = f"extracted-users-device-{device.id}.xlsx"
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
    device, users = await _device_users(session, settings, device_id)
    results = extract.import_personnel(
        session=session, users=users, department_id=department_id, user_ids=user_ids
    )
    done = sum(r.success for r in results)
    present = sum(r.present for r in results)
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.extract_personnel",
        target=device.name,
        detail={"users": len(results), "imported": done},
    )
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
    number = await collect.read_card(
        session=session, settings=settings, device_id=device_id, wait=wait
    )
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
    template = await collect.capture_fingerprint(
        session=session, settings=settings, device_id=device_id, wait=wait
    )
    return {"template": base64.b64encode(template).decode()}
