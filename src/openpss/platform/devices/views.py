"""Console pages of the devices domain: the device manager."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from openpss.platform.deps import Admin, Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import extract, service
from openpss.platform.devices.schemas import DeviceCreate, DeviceQuery, DeviceUpdate
from openpss.platform.errors import DomainError, Invalid
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.uploads import run_import
from openpss.platform.web import flash
from openpss.platform.web.openapi import XLSX
from openpss.platform.web.templating import render
from openpss.spreadsheets import SpreadsheetError

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
        result = await run_import(
            file,
            lambda data: service.import_devices_xlsx(
                session=session, settings=settings, actor=principal.actor, content=data,
                filename=file.filename or "",
            ),
        )  # fmt: skip
    except (DomainError, SpreadsheetError) as exc:
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
    device = service.delete_device(session=session, actor=principal.actor, device_id=device_id)
    return flash.redirect("/devices", f"Device '{device.name}' deleted.")


async def _read_users(
    session: SessionDep, settings: SettingsDep, device: Any
) -> tuple[list[dict[str, Any]] | None, str]:
    """The device's users with cards, or None and the reason it could not be read."""
    try:
        _, users = await extract.read_device_users(
            session=session, settings=settings, device_id=device.id
        )
    except DomainError as exc:
        return None, f"extraction failed: {exc}"
    return users, ""


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
    try:
        name, body = await extract.preview_export(
            session=session, settings=settings, device_id=device_id
        )
    except DomainError as exc:
        errors = [f"extraction failed: {exc}"]
        return render(request, "devices/edit.html", {"device": device, "errors": errors})
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
    try:
        _, results = await extract.extract_personnel(
            session=session, settings=settings, actor=principal.actor, device_id=device_id,
            user_ids=picked,
        )  # fmt: skip
    except DomainError as exc:
        ctx = {"device": device, "errors": [f"extraction failed: {exc}"], "message": ""}
        return render(request, "devices/edit.html", ctx)
    done = sum(r.success for r in results)
    present = sum(r.present for r in results)
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
