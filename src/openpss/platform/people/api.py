"""REST routes of the people domain under /api/v1 (company, departments, persons, credentials)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from openpss.platform.deps import Admin, Operator, SessionDep, Viewer
from openpss.platform.errors import NotFound
from openpss.platform.fields import DbId
from openpss.platform.people import api_batch, api_credentials, org, service
from openpss.platform.people.cards import get_card_mode, set_card_mode
from openpss.platform.people.http import read_upload
from openpss.platform.people.schemas import (
    CardModeRead,
    CompanyRead,
    CompanyUpdate,
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    PersonCreate,
    PersonPage,
    PersonQuery,
    PersonRead,
    PersonUpdate,
)
from openpss.platform.web.openapi import UPLOAD_ERRORS, file_answer

router = APIRouter(prefix="/people", tags=["people"])


# --- company and card issuing type -------------------------------------------------------


def _company_read(session: SessionDep) -> CompanyRead:
    company = org.get_company(session=session)
    read = CompanyRead.model_validate(company)
    read.has_logo = bool(company.logo_content_type)
    return read


@router.get("/company", response_model=CompanyRead)
def get_company(session: SessionDep, principal: Viewer) -> CompanyRead:
    """The company info."""
    return _company_read(session)


@router.put("/company", response_model=CompanyRead)
def put_company(data: CompanyUpdate, session: SessionDep, principal: Operator) -> CompanyRead:
    """Save the company info (its name is the root department's name)."""
    org.update_company(session=session, data=data, actor=principal.actor)
    return _company_read(session)


@router.put("/company/logo", response_model=CompanyRead, responses=UPLOAD_ERRORS)
async def put_logo(
    session: SessionDep, principal: Operator, file: Annotated[UploadFile, File()]
) -> CompanyRead:
    """Upload the company logo (JPEG or PNG)."""
    data = await read_upload(file)
    org.set_logo(session=session, data=data, actor=principal.actor)
    return _company_read(session)


@router.get(
    "/company/logo", response_class=Response, responses=file_answer("image/jpeg", "image/png")
)
def get_logo(session: SessionDep, principal: Viewer) -> Response:
    """The company logo image."""
    company = org.get_company(session=session)
    if not company.logo_content_type or company.logo is None:
        raise NotFound("no company logo uploaded")
    return Response(company.logo, media_type=company.logo_content_type)


@router.get("/card-mode", response_model=CardModeRead)
def get_mode(session: SessionDep, principal: Viewer) -> CardModeRead:
    """The card issuing type: hex (default) or decimal."""
    return CardModeRead(mode=get_card_mode(session).value)


@router.put("/card-mode", response_model=CardModeRead)
def put_mode(data: CardModeRead, session: SessionDep, principal: Admin) -> CardModeRead:
    """Switch the card issuing type; every screen, export and record follows."""
    mode = set_card_mode(session, data.mode, actor=principal.actor)
    return CardModeRead(mode=mode.value)


# --- departments -----------------------------------------------------------------------


@router.get("/departments", response_model=DepartmentRead)
def get_departments(session: SessionDep, principal: Viewer) -> DepartmentRead:
    """The department tree from the root (the company)."""
    return org.department_tree(session=session)


@router.post("/departments", response_model=DepartmentRead, status_code=201)
def post_department(
    data: DepartmentCreate, session: SessionDep, principal: Operator
) -> DepartmentRead:
    """Add a sub-department under a superior department."""
    dept = org.add_department(
        session=session, name=data.name, parent_id=data.parent_id, actor=principal.actor
    )
    return DepartmentRead(id=dept.id, name=dept.name, parent_id=dept.parent_id)


@router.patch("/departments/{department_id}", response_model=DepartmentRead)
def patch_department(
    department_id: DbId, data: DepartmentUpdate, session: SessionDep, principal: Operator
) -> DepartmentRead:
    """Rename a department."""
    dept = org.rename_department(
        session=session, department_id=department_id, name=data.name, actor=principal.actor
    )
    return DepartmentRead(id=dept.id, name=dept.name, parent_id=dept.parent_id)


@router.delete("/departments/{department_id}", status_code=204)
def delete_department(department_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete an empty department."""
    org.delete_department(session=session, department_id=department_id, actor=principal.actor)
    return Response(status_code=204)


# --- persons ---------------------------------------------------------------------------


@router.get("/persons", response_model=PersonPage)
def list_persons(
    session: SessionDep, principal: Viewer, query: Annotated[PersonQuery, Query()]
) -> PersonPage:
    """Search by user ID prefix, name part or card number prefix, with paging and total."""
    page = service.search_persons(session=session, query=query)
    items = service.summaries(session, page.items)
    return PersonPage(total=page.total, limit=query.limit, offset=query.offset, items=items)


def _person_read(session: SessionDep, person_id: DbId) -> PersonRead:
    person = service.get_person(session=session, person_id=person_id)
    return service.read(person, get_card_mode(session))


@router.post("/persons", response_model=PersonRead, status_code=201)
def post_person(data: PersonCreate, session: SessionDep, principal: Operator) -> PersonRead:
    """Add a person."""
    person = service.create_person(session=session, data=data, actor=principal.actor)
    return _person_read(session, person.id)


@router.get("/persons/{person_id}", response_model=PersonRead)
def get_person(person_id: DbId, session: SessionDep, principal: Viewer) -> PersonRead:
    """One person with every field and credential summary."""
    return _person_read(session, person_id)


@router.patch("/persons/{person_id}", response_model=PersonRead)
def patch_person(
    person_id: DbId, data: PersonUpdate, session: SessionDep, principal: Operator
) -> PersonRead:
    """Change the fields sent."""
    service.update_person(session=session, person_id=person_id, data=data, actor=principal.actor)
    return _person_read(session, person_id)


@router.delete("/persons/{person_id}", status_code=204)
def delete_person(person_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a person with all credentials."""
    service.delete_person(session=session, person_id=person_id, actor=principal.actor)
    return Response(status_code=204)


router.include_router(api_credentials.router)
router.include_router(api_batch.router)
