"""Console: xlsx import (with the bad-row table), export, and batch operations."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.devices import collect
from openpss.platform.errors import DomainError, Invalid
from openpss.platform.fields import DbId
from openpss.platform.people import batch, org, service, xlsx
from openpss.platform.people.cards import get_card_mode
from openpss.platform.people.forms import int_list, messages
from openpss.platform.people.http import XLSX
from openpss.platform.people.schemas import BatchAdd, BatchEdit
from openpss.platform.security.audit import Actor
from openpss.platform.uploads import run_import
from openpss.platform.web.templating import render
from openpss.spreadsheets import SpreadsheetError

logger = logging.getLogger(__name__)
router = APIRouter()


@router.get("/people/import", response_class=HTMLResponse)
def import_page(request: Request, principal: Operator) -> HTMLResponse:
    """Upload form and template download."""
    return render(request, "people/import.html", {"errors": [], "message": "", "imported": None})


@router.get("/people/import/template")
def import_template(session: SessionDep, principal: Viewer) -> Response:
    """The xlsx template to fill in."""
    headers = {"Content-Disposition": 'attachment; filename="persons-template.xlsx"'}
    return Response(xlsx.template_xlsx(get_card_mode(session)), media_type=XLSX, headers=headers)


@router.post("/people/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    session: SessionDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
    update_existing: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Validate the whole file; import all rows or none and show each bad row (optionally
    updating the persons whose user ID exists)."""
    ctx: dict[str, Any] = {"errors": [], "message": "", "imported": None}
    try:
        imported, errors = await run_import(
            file,
            lambda data: xlsx.import_persons(
                session=session, data=data, update_existing=update_existing,
                actor=principal.actor, filename=file.filename or "",
            ),
        )  # fmt: skip
    except (DomainError, SpreadsheetError) as exc:
        ctx["message"] = str(exc)
        status = exc.status if isinstance(exc, SpreadsheetError) else 422
        return render(request, "people/import.html", ctx, status_code=status)
    if errors:
        ctx["errors"] = errors
        return render(request, "people/import.html", ctx, status_code=422)
    ctx["imported"] = imported
    return render(request, "people/import.html", ctx)


@router.get("/people/export")
def export(
    session: SessionDep,
    principal: Viewer,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006  (FastAPI query list)
) -> StreamingResponse:
    """Download the selected persons (all when none is selected) as xlsx."""
    person_ids = int_list(ids) or None
    output = xlsx.export_persons(session=session, person_ids=person_ids, actor=principal.actor)
    headers = {"Content-Disposition": 'attachment; filename="persons.xlsx"'}
    return StreamingResponse(output, media_type=XLSX, headers=headers)


def _batch_page(
    request: Request,
    session: SessionDep,
    ids: list[DbId],
    *,
    errors: list[str] | None = None,
    message: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    persons = service.persons_by_ids(session=session, person_ids=ids) if ids else []
    ctx = {
        "selected": service.summaries(session, sorted(persons, key=lambda p: p.user_id)),
        "departments": sorted(org.department_paths(session=session).items(), key=lambda i: i[1]),
        "errors": errors or [],
        "message": message,
        "card_mode": get_card_mode(session).value,
        "collectors": collect.collectors(session),
    }
    return render(request, "people/batch.html", ctx, status_code=status_code)


@router.get("/people/batch", response_class=HTMLResponse)
def batch_page(
    request: Request,
    session: SessionDep,
    principal: Operator,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006
) -> HTMLResponse:
    """Batch add, batch issue cards and batch edit for the selected persons."""
    try:
        return _batch_page(request, session, int_list(ids))
    except DomainError as exc:
        return _batch_page(request, session, [], errors=[str(exc)], status_code=404)


def _blank_none(form: Any, keys: list[str]) -> dict[str, Any]:
    return {
        k: (str(form.get(k)).strip() or None) if form.get(k) is not None else None for k in keys
    }


@router.post("/people/batch/{operation}", response_class=HTMLResponse)
async def batch_post(
    operation: str, request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Run batch add, issue cards or edit; all or nothing."""
    form = await request.form()
    ids = int_list(form.getlist("ids"))
    try:
        message = _run_batch(operation, session, principal.actor, form, ids)
    except ValidationError as exc:
        session.rollback()
        return _batch_page(request, session, ids, errors=messages(exc), status_code=422)
    except DomainError as exc:
        session.rollback()
        return _batch_page(request, session, ids, errors=[str(exc)], status_code=422)
    if operation == "delete":  # the persons are gone (the service audited the delete)
        return _batch_page(request, session, [], message=message)
    return _batch_page(request, session, ids, message=message)


def _run_batch(
    operation: str, session: SessionDep, actor: Actor, form: Any, ids: list[DbId]
) -> str:
    if operation == "add":
        values = _blank_none(
            form, ["start_user_id", "quantity", "department_id", "valid_from", "valid_to"]
        )
        data = BatchAdd.model_validate(values)
        persons = batch.batch_add(session=session, data=data, actor=actor)
        added = f"added {len(persons)} person(s): {persons[0].user_id} to {persons[-1].user_id}"
        numbers = str(form.get("card_numbers", "")).split()
        if not numbers:
            return added
        person_ids = [p.id for p in persons]  # cards in user ID order, all or nothing
        cards = batch.batch_issue_cards(
            session=session, person_ids=person_ids, card_numbers=numbers, actor=actor
        )
        return f"{added}, with {len(cards)} card(s)"
    if operation == "cards":
        numbers = str(form.get("card_numbers", "")).split()
        cards = batch.batch_issue_cards(
            session=session, person_ids=ids, card_numbers=numbers, actor=actor
        )
        return f"issued {len(cards)} card(s)"
    if operation == "edit":
        values = _blank_none(form, ["department_id", "valid_from", "valid_to"])
        edit = BatchEdit.model_validate(values | {"person_ids": ids})
        return f"changed {len(batch.batch_edit(session=session, data=edit, actor=actor))} person(s)"
    if operation == "delete":
        deleted = batch.batch_delete(session=session, person_ids=ids, actor=actor)
        return f"deleted {deleted} person(s)"
    raise Invalid(f"unknown batch operation {operation!r}")
