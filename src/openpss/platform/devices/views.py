"""Console pages of the devices domain: the device manager."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import extract, service
from openpss.platform.devices.adapter import DahuaAdapter
from openpss.platform.devices.schemas import DeviceCreate, DeviceUpdate
from openpss.platform.errors import DomainError
from openpss.platform.fields import DbId, PageNumber
from openpss.platform.security.audit import record_audit
from openpss.platform.uploads import run_import
from openpss.platform.web import flash
from openpss.platform.web.openapi import XLSX
from openpss.platform.web.templating import render
from openpss.protocols.dahua_http.client import DahuaError
from openpss.spreadsheets import SpreadsheetError

router = APIRouter()
PAGE_SIZE = 50


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _list_page(
    request: Request, session: SessionDep, *, search: str = "", page: PageNumber = 1, **extra: Any
) -> HTMLResponse:
    page = max(page, 1)
    total, rows = service.list_devices(
        session=session, search=search, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = {
        "devices": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "search": search,
        "form": {},
        "errors": [],
        "message": "",
    }
    context.update(extra)
    return render(request, "devices/list.html", context)


@router.get("/devices", response_class=HTMLResponse)
def device_list(
    request: Request, session: SessionDep, principal: Viewer, search: str = "", page: PageNumber = 1
) -> HTMLResponse:
    """The device manager: list, add, import, export."""
    return _list_page(request, session, search=search, page=page)


def _form_dict(form: Any, fields: tuple[str, ...]) -> dict[str, str]:
    return {f: str(form.get(f, "")).strip() for f in fields if str(form.get(f, "")).strip()}


FIELDS = ("name", "host", "port", "username", "password", "kind", "door_count", "remark")


@router.post("/devices", response_class=HTMLResponse)
async def device_add(
    request: Request, session: SessionDep, settings: SettingsDep, principal: Operator
) -> HTMLResponse:
    """Add a device from the console form."""
    values = _form_dict(await request.form(), FIELDS)
    try:
        data = DeviceCreate.model_validate(values)
        device = service.create_device(session=session, settings=settings, data=data)
    except ValidationError as exc:
        return _list_page(request, session, form=values, errors=_errors(exc))
    except DomainError as exc:
        return _list_page(request, session, form=values, errors=[str(exc)])
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.create",
        target=device.name,
        detail={"host": device.host, "port": device.port, "username": device.username},
    )
    return _list_page(request, session, message=f"Device '{device.name}' added.")


@router.get("/devices/export")
def device_export(session: SessionDep, principal: Operator) -> Response:
    """Download the device list (xlsx, no passwords)."""
    content = service.export_devices_xlsx(session=session)
    record_audit(session=session, actor=principal.actor, action="device.export")
    headers = {"Content-Disposition": 'attachment; filename="devices.xlsx"'}
    return Response(content, media_type=XLSX, headers=headers)


@router.post("/devices/import", response_class=HTMLResponse)
async def device_import(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Import a device list; every row is validated before anything is written."""
    try:
        result = await run_import(
            file,
            lambda data: service.import_devices_xlsx(
                session=session, settings=settings, content=data
            ),
        )
    except (DomainError, SpreadsheetError) as exc:
        return _list_page(request, session, errors=[str(exc)])
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.import",
        target=file.filename or "",
        detail=result.model_dump(),
    )
    message = f"Imported: {result.created} added, {result.updated} updated."
    if result.without_password:
        message += " Set a password for: " + ", ".join(result.without_password) + "."
    return _list_page(request, session, message=message)


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_edit_page(
    request: Request, device_id: DbId, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The edit form of one device."""
    device = service.get_device(session=session, device_id=device_id)
    return render(request, "devices/edit.html", {"device": device, "errors": [], "message": ""})


@router.post("/devices/{device_id}", response_class=HTMLResponse)
async def device_edit(
    request: Request,
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> HTMLResponse:
    """Save the edit form (a blank password keeps the stored one)."""
    device = service.get_device(session=session, device_id=device_id)
    values = _form_dict(await request.form(), FIELDS)
    try:
        data = DeviceUpdate.model_validate(values)
        service.update_device(session=session, settings=settings, device_id=device_id, data=data)
    except ValidationError as exc:
        session.rollback()
        device = service.get_device(session=session, device_id=device_id)
        ctx = {"device": device, "errors": _errors(exc), "message": ""}
        return render(request, "devices/edit.html", ctx)
    except DomainError as exc:
        session.rollback()
        device = service.get_device(session=session, device_id=device_id)
        return render(request, "devices/edit.html", {"device": device, "errors": [str(exc)]})
    detail = {k: v for k, v in values.items() if k != "password"}
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.update",
        target=device.name,
        detail=detail | ({"password": "changed"} if "password" in values else {}),
    )
    ctx = {"device": device, "errors": [], "message": "Saved."}
    return render(request, "devices/edit.html", ctx)


@router.post("/devices/{device_id}/delete")
def device_delete(device_id: DbId, session: SessionDep, principal: Admin) -> RedirectResponse:
    """Delete a device and go back to the list."""
    device = service.delete_device(session=session, device_id=device_id)
    record_audit(session=session, actor=principal.actor, action="device.delete", target=device.name)
    return flash.redirect("/devices", f"Device '{device.name}' deleted.")


async def _read_users(
    session: SessionDep, settings: SettingsDep, device: Any
) -> tuple[list[dict[str, Any]] | None, str]:
    """The device's users with cards, or None and the reason it could not be read."""
    try:
        password = service.device_password(settings=settings, device=device)
        async with DahuaAdapter.for_device(device, password) as adapter:
            return await adapter.read_personnel(), ""
    except (DomainError, DahuaError) as exc:
        return None, f"extraction failed: {exc}"


@router.post("/devices/{device_id}/extract/preview", response_class=HTMLResponse)
async def device_extract_preview(
    request: Request,
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> HTMLResponse:
    """Read the device's users and list them to pick from (already present ones marked)."""
    device = service.get_device(session=session, device_id=device_id)
    users, error = await _read_users(session, settings, device)
    if users is None:
        return render(request, "devices/edit.html", {"device": device, "errors": [error]})
    rows = extract.preview(session=session, users=users)
    ctx = {"device": device, "errors": [], "message": "", "extracted": rows}
    return render(request, "devices/edit.html", ctx)


@router.post("/devices/{device_id}/extract/export", response_model=None)
async def device_extract_export(
    request: Request,
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> Response:
    """The device's users as an xlsx list."""
    device = service.get_device(session=session, device_id=device_id)
    users, error = await _read_users(session, settings, device)
    if users is None:
        return render(request, "devices/edit.html", {"device": device, "errors": [error]})
    body = extract.preview_xlsx(extract.preview(session=session, users=users))
    name = f"extracted-users-device-{device.id}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type=XLSX, headers=headers)


@router.post("/devices/{device_id}/extract", response_class=HTMLResponse)
async def device_extract(
    request: Request,
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> HTMLResponse:
    """Extract the device's personnel (all, or the users picked from the list) into the
    platform and show the results."""
    form = await request.form()
    show = str(form.get("show", "all"))
    picked = [str(v) for v in form.getlist("user_ids")] if form.get("picking") else None
    device = service.get_device(session=session, device_id=device_id)
    if picked == []:
        ctx = {"device": device, "errors": ["pick at least one user to import"], "message": ""}
        return render(request, "devices/edit.html", ctx, status_code=422)
    users, error = await _read_users(session, settings, device)
    if users is None:
        return render(request, "devices/edit.html", {"device": device, "errors": [error]})
    results = extract.import_personnel(session=session, users=users, user_ids=picked)
    done = sum(r.success for r in results)
    present = sum(r.present for r in results)
    record_audit(
        session=session,
        actor=principal.actor,
        action="device.extract_personnel",
        target=device.name,
        detail={"users": len(results), "imported": done},
    )
    which = show if show in ("success", "present", "failure") else "all"
    ctx = {
        "device": device,
        "errors": [],
        "message": f"Extracted {len(results)} user(s): {done} imported, {present} already "
        f"present, {len(results) - done - present} failed.",
        "results": extract.shown(results, which),  # type: ignore[arg-type]
        "show": show,
    }
    return render(request, "devices/edit.html", ctx)
