"""Console pages of the people domain: personnel page, department tree, company, card type."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from openpss.platform.deps import Admin, Operator, SessionDep, Viewer
from openpss.platform.errors import DomainError
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.people import org, service, views_bulk, views_collect, views_person
from openpss.platform.people.cards import get_card_mode, set_card_mode
from openpss.platform.people.forms import messages
from openpss.platform.people.http import read_upload
from openpss.platform.people.schemas import CompanyUpdate, PersonQuery
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


# The console's URL names for the person-list query fields.
CONSOLE_NAMES = {"dept": "department_id", "size": "limit"}


def list_query(request: Request) -> PersonQuery:
    """The person list's query from the console URL (a page size it does not offer: the first)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "display"]
    params = [(k, v) for k, v in params if not (k == "dept" and not v.isdigit())]
    query = from_params(PersonQuery, params, renames=CONSOLE_NAMES)
    if query.limit not in PAGE_SIZES:
        query = query.model_copy(update={"limit": PAGE_SIZES[0], "offset": 0})
    return query


def list_context(session: SessionDep, query: PersonQuery, display: str) -> dict[str, Any]:
    """What the person list fragment shows (a fixed number of queries for any page)."""
    page = service.search_persons(session=session, query=query)
    dept = query.department_id
    return {
        "persons": service.summaries(session, page.items),
        "total": page.total,
        "page": query.page_number,
        "size": query.limit,
        "pages": page.pages,
        "dept": dept or "",
        "q": query.q,
        "field": query.field,
        "display": "card" if display == "card" else "list",
        "page_sizes": PAGE_SIZES,
        "self_query": urlencode(
            {"dept": dept or "", "q": query.q, "field": query.field}
            | {"page": query.page_number, "size": query.limit, "display": display}
        ),
    }


@router.get("/people", response_class=HTMLResponse)
def personnel_page(
    request: Request, session: SessionDep, principal: Viewer, display: str = "list"
) -> HTMLResponse:
    """Department tree beside the person list."""
    query = list_query(request)
    ctx = list_context(session, query, display)
    ctx.update(tree_context(session, query.department_id))
    ctx["card_mode"] = get_card_mode(session).value
    ctx["can_edit"] = principal.has(Role.operator)
    return render(request, "people/index.html", ctx)


@router.get("/people/list", response_class=HTMLResponse)
def person_list(
    request: Request, session: SessionDep, principal: Viewer, display: str = "list"
) -> HTMLResponse:
    """The person list fragment (search, department filter, paging, list/card display)."""
    ctx = list_context(session, list_query(request), display)
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
        dept = org.add_department(
            session=session, name=clean, parent_id=parent_id, actor=principal.actor
        )
    except ValidationError as exc:
        return _tree_response(request, session, parent_id, "; ".join(messages(exc)))
    except DomainError as exc:
        return _tree_response(request, session, parent_id, str(exc))
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
        org.rename_department(
            session=session, department_id=department_id, name=clean, actor=principal.actor
        )
    except ValidationError as exc:
        return _tree_response(request, session, department_id, "; ".join(messages(exc)))
    except DomainError as exc:
        return _tree_response(request, session, department_id, str(exc))
    return _tree_response(
        request, session, department_id, saved=f"Department renamed to '{clean}'."
    )


@router.post("/people/departments/{department_id}/delete", response_class=HTMLResponse)
def delete_department(
    department_id: DbId, request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Delete an empty department."""
    try:
        name = org.delete_department(
            session=session, department_id=department_id, actor=principal.actor
        )
    except DomainError as exc:
        return _tree_response(request, session, department_id, str(exc))
    return _tree_response(request, session, None, saved=f"Department '{name}' deleted.")


@router.post("/people/card-mode")
def switch_card_mode(
    session: SessionDep, principal: Admin, mode: Annotated[str, Form()] = "hex"
) -> Response:
    """Switch the card issuing type (hex / decimal)."""
    chosen = set_card_mode(session, mode, actor=principal.actor)
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
        org.update_company(session=session, data=data, actor=principal.actor)
        if logo_bytes:
            org.set_logo(session=session, data=logo_bytes, actor=principal.actor)
    except ValidationError as exc:
        errors = messages(exc)
    except DomainError as exc:
        errors = [str(exc)]
    if errors:
        session.rollback()
        company = org.get_company(session=session)
        ctx = {"company": fields | {"id": company.id}, "errors": errors, "saved": False}
        return render(request, "people/company.html", ctx, status_code=422)
    return flash.redirect("/people/company?saved=true", "Company information saved.")


router.include_router(views_person.router)
router.include_router(views_collect.router)
router.include_router(views_bulk.router)
