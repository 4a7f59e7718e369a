"""Console pages of the devices domain: the device manager."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import extract, service
from openpss.platform.devices.schemas import DeviceCreate, DeviceQuery, DeviceUpdate
from openpss.platform.errors import DomainError, Invalid
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _list_page(
    request: Request, session: SessionDep, query: DeviceQuery | None = None, **extra: Any
) -> HTMLResponse:
    query = query or DeviceQuery(limit=PAGE_SIZE)
    page = service.list_devices(session=session, query=query)
    context = {
        "devices": page.items,
        "total": page.total,
        "page": query.page_number,
        "pages": page.pages,
        "search": query.search,
        "sort": query.sort,
        "form": {},
        "errors": [],
        "message": "",
    }
    context.update(extra)
    return render(request, "devices/list.html", context)


@router.get("/devices", response_class=HTMLResponse)
def device_list(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """The device manager: list, add, import, export."""
    try:
        query = from_params(DeviceQuery, request.query_params.multi_items(), limit=PAGE_SIZE)
    except Invalid as exc:
        return _list_page(request, session, errors=[str(exc)])
    return _list_page(request, session, query)


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
        device = service.create_device(
            session=session, settings=settings, actor=principal.actor, data=data
        )
    except ValidationError as exc:
        return _list_page(request, session, form=values, errors=_errors(exc))
    except DomainError as exc:
        return _list_page(request, session, form=values, errors=[str(exc)])
    return _list_page(request, session, message=f"Device '{device.name}' added.")


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
        result = service.import_devices_xlsx(
            session=session,
            settings=settings,
            actor=principal.actor,
            content=await file.read(),
            filename=file.filename or "",
        )
    except DomainError as exc:
        return _list_page(request, session, errors=[str(exc)])
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
        service.update_device(
            session=session,
            settings=settings,
            actor=principal.actor,
            device_id=device_id,
            data=data,
        )
    except ValidationError as exc:
        session.rollback()
        device = service.get_device(session=session, device_id=device_id)
        ctx = {"device": device, "errors": _errors(exc), "message": ""}
        return render(request, "devices/edit.html", ctx)
    except DomainError as exc:
        session.rollback()
        device = service.get_device(session=session, device_id=device_id)
        return render(request, "devices/edit.html", {"device": device, "errors": [str(exc)]})
    ctx = {"device": device, "errors": [], "message": "Saved."}
    return render(request, "devices/edit.html", ctx)


@router.post("/devices/{device_id}/delete")
def device_delete(device_id: DbId, session: SessionDep, principal: Admin) -> RedirectResponse:
    """Delete a device and go back to the list."""
    service.delete_device(session=session, actor=principal.actor, device_id=device_id)
    return RedirectResponse("/devices", status_code=303)


@router.post("/devices/{device_id}/extract", response_class=HTMLResponse)
async def device_extract(
    request: Request,
    device_id: DbId,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> HTMLResponse:
    """Extract the device's personnel into the platform and show the results."""
    form = await request.form()
    show = str(form.get("show", "all"))
    device = service.get_device(session=session, device_id=device_id)
    try:
        _, results = await extract.extract_personnel(
            session=session, settings=settings, actor=principal.actor, device_id=device_id
        )
    except DomainError as exc:
        ctx = {"device": device, "errors": [f"extraction failed: {exc}"], "message": ""}
        return render(request, "devices/edit.html", ctx)
    done = sum(r.success for r in results)
    which: extract.Show = (
        "success" if show == "success" else "failure" if show == "failure" else "all"
    )
    shown = extract.shown(results, which)
    ctx = {
        "device": device,
        "errors": [],
        "message": f"Extracted {len(results)} user(s): {done} imported, "
        f"{len(results) - done} failed.",
        "results": shown,
        "show": show,
    }
    return render(request, "devices/edit.html", ctx)
