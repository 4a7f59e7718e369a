"""REST routes for batch operations, xlsx import and export of persons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response, StreamingResponse

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.errors import Invalid
from openpss.platform.fields import parse_db_id
from openpss.platform.people import batch, service, xlsx
from openpss.platform.people.cards import get_card_mode
from openpss.platform.people.http import XLSX
from openpss.platform.people.schemas import (
    BatchAdd,
    BatchDelete,
    BatchEdit,
    BatchIssueCards,
    CardRead,
    ImportResult,
    PersonSummary,
)
from openpss.platform.uploads import run_import, upload_errors
from openpss.platform.web.openapi import UPLOAD_ERRORS, file_answer

router = APIRouter()


@router.post("/batch/add", response_model=list[PersonSummary], status_code=201)
def post_batch_add(data: BatchAdd, session: SessionDep, principal: Operator) -> list[PersonSummary]:
    """Add persons with consecutive user IDs from a start ID."""
    persons = batch.batch_add(session=session, data=data, actor=principal.actor)
    page = service.persons_by_ids(session=session, person_ids=[p.id for p in persons])
    return service.summaries(session, sorted(page, key=lambda p: p.user_id))


@router.post("/batch/cards", response_model=list[CardRead], status_code=201)
def post_batch_cards(
    data: BatchIssueCards, session: SessionDep, principal: Operator
) -> list[CardRead]:
    """Issue one card to each selected person; all or nothing."""
    cards = batch.batch_issue_cards(
        session=session,
        person_ids=data.person_ids,
        card_numbers=data.card_numbers,
        actor=principal.actor,
    )
    mode = get_card_mode(session)
    return [service.card_read(c, mode) for c in cards]


@router.post("/batch/edit", status_code=204)
def post_batch_edit(data: BatchEdit, session: SessionDep, principal: Operator) -> Response:
    """Change department and/or validity of the selected persons; all or nothing."""
    batch.batch_edit(session=session, data=data, actor=principal.actor)
    return Response(status_code=204)


@router.post("/batch/delete", status_code=204)
def post_batch_delete(data: BatchDelete, session: SessionDep, principal: Operator) -> Response:
    """Delete the selected persons."""
    batch.batch_delete(session=session, person_ids=data.person_ids, actor=principal.actor)
    return Response(status_code=204)


@router.get("/import/template", response_class=Response, responses=file_answer(XLSX))
def get_template(session: SessionDep, principal: Viewer) -> Response:
    """The xlsx import template."""
    data = xlsx.template_xlsx(get_card_mode(session))
    headers = {"Content-Disposition": 'attachment; filename="persons-template.xlsx"'}
    return Response(data, media_type=XLSX, headers=headers)


@router.post("/import", response_model=ImportResult, responses=UPLOAD_ERRORS)
async def post_import(
    session: SessionDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
    update_existing: Annotated[
        bool, Query(description="a row whose user ID exists updates that person")
    ] = False,
) -> ImportResult:
    """Import persons from xlsx: all rows valid or nothing written (422, `errors` has each bad
    row as `{"loc": ["row", <number>], "msg": <reason>}`)."""
    with upload_errors():
        imported, errors = await run_import(
            file,
            lambda data: xlsx.import_persons(
                session=session, data=data, update_existing=update_existing,
                actor=principal.actor, filename=file.filename or "",
            ),
        )  # fmt: skip
    if errors:
        raise Invalid(
            f"{len(errors)} row(s) are invalid; nothing was imported",
            items=[(("row", e.row), e.reason) for e in errors],
        )
    return ImportResult(imported=imported, errors=[])


@router.get("/export", response_class=Response, responses=file_answer(XLSX))
def get_export(
    session: SessionDep,
    principal: Viewer,
    ids: Annotated[str, Query(description="comma-separated person ids; empty: all")] = "",
) -> StreamingResponse:
    """Export the selected (or all) persons as xlsx."""
    person_ids = _parse_ids(ids)
    output = xlsx.export_persons(session=session, person_ids=person_ids, actor=principal.actor)
    headers = {"Content-Disposition": 'attachment; filename="persons.xlsx"'}
    return StreamingResponse(output, media_type=XLSX, headers=headers)


def _parse_ids(text: str) -> list[int] | None:
    if not text.strip():
        return None
    ids = [parse_db_id(part.strip(), "ids") for part in text.split(",") if part.strip()]
    return [i for i in ids if i is not None]
