"""REST routes of the devices domain under /api/v1."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, UploadFile

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import extract, service
from openpss.platform.devices.schemas import (
    DeviceCreate,
    DevicePage,
    DeviceQuery,
    DeviceRead,
    DeviceUpdate,
    ImportResult,
)
from openpss.platform.fields import DbId
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
    return service.import_devices_xlsx(
        session=session,
        settings=settings,
        actor=principal.actor,
        content=await file.read(),
        filename=file.filename or "",
    )


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


@router.post("/devices/{device_id}/extract", responses=DEVICE_ERRORS)
async def extract_personnel(
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    department_id: DbId | None = None,
    show: extract.Show = "all",
) -> dict[str, Any]:
    """Extract the device's users (with cards) into the platform; results all/success/failure."""
    _, results = await extract.extract_personnel(
        session=session,
        settings=settings,
        actor=principal.actor,
        device_id=device_id,
        department_id=department_id,
    )
    done = sum(r.success for r in results)
    return {
        "total": len(results),
        "success": done,
        "failure": len(results) - done,
        "items": [asdict(r) for r in extract.shown(results, show)],
    }
