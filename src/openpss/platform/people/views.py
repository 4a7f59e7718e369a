"""Console pages of the people domain: personnel page, department tree, company, card type."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from openpss.platform.deps import Admin, Operator, SessionDep, Viewer
from openpss.platform.errors import DomainError
from openpss.platform.fields import DbId, PageNumber
from openpss.platform.people import org, service, views_bulk, views_collect, views_person
from openpss.platform.people.cards import get_card_mode, set_card_mode
from openpss.platform.people.forms import messages
from openpss.platform.people.http import read_upload
from openpss.platform.people.schemas import CompanyUpdate
from openpss.platform.security.audit import record_audit
from openpss.platform.security.models import Role
from openpss.platform.web import flash
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)
router = APIRouter()
PAGE_SIZES = (20, 50, 100)


def tree_context(session: SessionDep, selected: int | None = None) -> dict[str, Any]:
    """What the department panel shows."""
    tree = org.department_tree(session=session)
    paths = sorted(org.department_paths(session=session).items(), key=lambda item: item[1])
    return {"tree": tree, "selected": selected or tree.id, "paths": paths}


def list_context(
    session: SessionDep,
    *,
    dept: int | None,
    q: str,
    field: service.SearchField,
    page: PageNumber,
    size: int,
    display: str,
) -> dict[str, Any]:
    """What the person list fragment shows (three queries for any page)."""
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    page = max(page, 1)
    total, persons = service.search_persons(
        session=session,
        q=q,
        field=field,
        department_id=dept,
        limit=size,
        offset=(page - 1) * size,
    )
    return {
        "persons": service.summaries(session, persons),
        "total": total,
        "page": page,
        "size": size,
        "pages": max(1, -(-total // size)),
        "dept": dept or "",
        "q": q,
        "field": field,
        "display": "card" if display == "card" else "list",
        "page_sizes": PAGE_SIZES,
        "self_query": urlencode(
            {"dept": dept or "", "q": q, "field": field, "page": page, "size": size}
            | {"display": display}
        ),
    }


@router.get("/people", response_class=HTMLResponse)
def personnel_page(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    dept: int | None = None,
    q: str = "",
    field: service.SearchField = "any",
    page: PageNumber = 1,
    size: int = 20,
    display: str = "list",
) -> HTMLResponse:
    """Department tree beside the person list."""
    ctx = list_context(session, dept=dept, q=q, field=field, page=page, size=size, display=display)
    ctx.update(tree_context(session, dept))
    ctx["card_mode"] = get_card_mode(session).value
    ctx["can_edit"] = principal.has(Role.operator)
    return render(request, "people/index.html", ctx)


@router.get("/people/list", response_class=HTMLResponse)
def person_list(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    dept: Annotated[str, Query()] = "",
    q: str = "",
    field: service.SearchField = "any",
    page: PageNumber = 1,
    size: int = 20,
    display: str = "list",
) -> HTMLResponse:
    """The person list fragment (search, department filter, paging, list/card display)."""
    dept_id = int(dept) if dept.isdigit() else None
    ctx = list_context(
        session, dept=dept_id, q=q, field=field, page=page, size=size, display=display
    )
    ctx["can_edit"] = principal.has(Role.operator)
    return render(request, "people/_list.html", ctx)


def _tree_response(
    request: Request, session: SessionDep, selected: int | None, error: str = "", saved: str = ""
) -> HTMLResponse:
    ctx = tree_context(session, selected)
    ctx["error"] = error
    headers = {} if error else flash.hx_trigger(saved or "Saved.", "departments-changed")
    return render(request, "people/_tree.html", ctx, headers=headers)


@router.post("/people/departments", response_class=HTMLResponse)
def add_department(
    request: Request,
    session: SessionDep,
    principal: Operator,
    name: Annotated[str, Form()] = "",
    parent_id: Annotated[int, Form()] = 0,
) -> HTMLResponse:
    """Add a sub-department under the selected superior department."""
    try:
        clean = CompanyUpdate(name=name).name  # same rule: required, at most 64 characters
        dept = org.add_department(session=session, name=clean, parent_id=parent_id)
    except ValidationError as exc:
        return _tree_response(request, session, parent_id, "; ".join(messages(exc)))
    except DomainError as exc:
        return _tree_response(request, session, parent_id, str(exc))
    record_audit(
        session=session,
        actor=principal.actor,
        action="department.create",
        target=f"department:{dept.id}",
        detail={"name": dept.name, "parent_id": parent_id},
    )
    return _tree_response(request, session, dept.id, saved=f"Department '{dept.name}' added.")


@router.post("/people/departments/{department_id}/rename", response_class=HTMLResponse)
def rename_department(
    department_id: DbId,
    request: Request,
    session: SessionDep,
    principal: Operator,
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Rename a department."""
    try:
        clean = CompanyUpdate(name=name).name
        org.rename_department(session=session, department_id=department_id, name=clean)
    except ValidationError as exc:
        return _tree_response(request, session, department_id, "; ".join(messages(exc)))
    except DomainError as exc:
        return _tree_response(request, session, department_id, str(exc))
    record_audit(
        session=session,
        actor=principal.actor,
        action="department.rename",
        target=f"department:{department_id}",
        detail={"name": clean},
    )
    return _tree_response(
        request, session, department_id, saved=f"Department renamed to '{clean}'."
    )


@router.post("/people/departments/{department_id}/delete", response_class=HTMLResponse)
def delete_department(
    department_id: DbId, request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Delete an empty department."""
    try:
        name = org.delete_department(session=session, department_id=department_id)
    except DomainError as exc:
        return _tree_response(request, session, department_id, str(exc))
    record_audit(
        session=session,
        actor=principal.actor,
        action="department.delete",
        target=f"department:{department_id}",
        detail={"name": name},
    )
    return _tree_response(request, session, None, saved=f"Department '{name}' deleted.")


@router.post("/people/card-mode")
def switch_card_mode(
    session: SessionDep, principal: Admin, mode: Annotated[str, Form()] = "hex"
) -> Response:
    """Switch the card issuing type (hex / decimal)."""
    chosen = set_card_mode(session, mode)
    record_audit(session=session, actor=principal.actor, action="card_mode.set", target=chosen)
    return flash.redirect("/people", f"Card issuing type set to {chosen}.")


@router.get("/people/company", response_class=HTMLResponse)
def company_page(
    request: Request, session: SessionDep, principal: Viewer, saved: bool = False
) -> HTMLResponse:
    """The company info form."""
    company = org.get_company(session=session)
    return render(
        request, "people/company.html", {"company": company, "errors": [], "saved": saved}
    )


@router.post("/people/company", response_class=HTMLResponse, response_model=None)
async def save_company(
    request: Request,
    session: SessionDep,
    principal: Operator,
    logo: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | Response:
    """Save the company info and, when one is chosen, the logo."""
    form = await request.form()
    fields = {k: str(form.get(k, "")) for k in CompanyUpdate.model_fields}
    logo_bytes = await read_upload(logo) if logo is not None and logo.filename else b""
    errors: list[str] = []
    try:
        data = CompanyUpdate.model_validate(fields)
        org.update_company(session=session, data=data)
        if logo_bytes:
            org.set_logo(session=session, data=logo_bytes)
    except ValidationError as exc:
        errors = messages(exc)
    except DomainError as exc:
        errors = [str(exc)]
    if errors:
        session.rollback()
        company = org.get_company(session=session)
        ctx = {"company": fields | {"id": company.id}, "errors": errors, "saved": False}
        return render(request, "people/company.html", ctx, status_code=422)
    record_audit(session=session, actor=principal.actor, action="company.update", detail=fields)
    return flash.redirect("/people/company?saved=true", "Company information saved.")


router.include_router(views_person.router)
router.include_router(views_collect.router)
router.include_router(views_bulk.router)
