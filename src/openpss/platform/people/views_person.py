"""Console: the add/edit person dialog (Basic Info, Extended information, Permission tabs),
cards, password and face images of a person."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.devices import collect
from openpss.platform.errors import DomainError, NotFound
from openpss.platform.fields import DbId
from openpss.platform.people import credentials, org, service
from openpss.platform.people.cards import format_card, get_card_mode, qr_allowed
from openpss.platform.people.forms import messages, person_values
from openpss.platform.people.http import read_upload
from openpss.platform.people.schemas import (
    GENDERS,
    ID_TYPES,
    TITLES,
    USER_TYPES,
    PersonCreate,
    PersonUpdate,
)
from openpss.platform.web import flash
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)
router = APIRouter()
REFRESH_EVENT = "people-changed"  # the person list reloads itself on this event


def _choices(session: SessionDep) -> dict[str, Any]:
    return {
        "departments": sorted(org.department_paths(session=session).items(), key=lambda i: i[1]),
        "user_types": USER_TYPES,
        "genders": GENDERS,
        "titles": TITLES,
        "id_types": ID_TYPES,
    }


def _dialog(
    request: Request,
    session: SessionDep,
    person: Any,
    values: dict[str, Any],
    errors: list[str],
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The dialog; errors come back with status 200 so that HTMX swaps them in."""
    ctx = _choices(session) | {"person": person, "v": values, "errors": errors}
    ctx["collectors"] = collect.collectors(session)
    if person is not None:
        ctx |= _credential_context(session, person.id)
    return render(request, "people/_dialog.html", ctx, headers=headers)


def _form_values(person: Any) -> dict[str, Any]:
    values = {key: getattr(person, key) for key in PersonCreate.model_fields}
    for key in ("valid_from", "valid_to", "employment_date", "termination_date"):
        if values.get(key) is not None:
            values[key] = values[key].strftime("%Y-%m-%dT%H:%M")
    return values


@router.get("/people/persons/new", response_class=HTMLResponse)
def new_person(
    request: Request, session: SessionDep, principal: Operator, dept: str = ""
) -> HTMLResponse:
    """The empty add-person dialog."""
    start, end = service.default_validity()
    values = {
        "department_id": int(dept) if dept.isdigit() else org.get_root(session=session).id,
        "user_type": "general",
        "valid_from": start.strftime("%Y-%m-%dT%H:%M"),
        "valid_to": end.strftime("%Y-%m-%dT%H:%M"),
    }
    return _dialog(request, session, None, values, [])


@router.get("/people/persons/{person_id}/edit", response_class=HTMLResponse)
def edit_person(
    person_id: DbId, request: Request, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The edit dialog of a person."""
    person = service.get_person(session=session, person_id=person_id)
    return _dialog(request, session, person, _form_values(person), [])


@router.post("/people/persons", response_class=HTMLResponse)
async def create_person(request: Request, session: SessionDep, principal: Operator) -> HTMLResponse:
    """Save a new person; on success the dialog switches to edit mode (cards, faces...)."""
    form = await request.form()
    values = person_values(form)
    card_number = str(form.get("card_number", "")).strip()  # optional first card (manual 1.4.1)
    try:
        data = PersonCreate.model_validate(values)
        person = service.create_person(session=session, data=data, actor=principal.actor)
        if card_number:
            credentials.add_card(
                session=session, person_id=person.id, number=card_number, actor=principal.actor
            )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = messages(exc) if isinstance(exc, ValidationError) else [str(exc)]
        return _dialog(request, session, None, values | {"card_number": card_number}, errors)
    person = service.get_person(session=session, person_id=person.id)
    saved = flash.hx_trigger(f"Person {person.user_id} ({person.name}) added.", REFRESH_EVENT)
    return _dialog(request, session, person, _form_values(person), [], headers=saved)


@router.post("/people/persons/{person_id}", response_class=HTMLResponse)
async def update_person(
    person_id: DbId, request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Save the edited person."""
    values = person_values(await request.form())
    try:
        data = PersonUpdate.model_validate(values)
        service.update_person(
            session=session, person_id=person_id, data=data, actor=principal.actor
        )
    except (ValidationError, DomainError) as exc:
        session.rollback()
        errors = messages(exc) if isinstance(exc, ValidationError) else [str(exc)]
        person = service.get_person(session=session, person_id=person_id)
        return _dialog(request, session, person, values, errors)
    person = service.get_person(session=session, person_id=person_id)
    saved = flash.hx_trigger(f"Person {person.user_id} ({person.name}) saved.", REFRESH_EVENT)
    return _dialog(request, session, person, _form_values(person), [], headers=saved)


@router.post("/people/persons/{person_id}/delete")
def delete_person(person_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a person; the list refreshes."""
    person = service.delete_person(session=session, person_id=person_id, actor=principal.actor)
    deleted = f"Person {person.user_id} ({person.name}) deleted."
    return Response(status_code=200, headers=flash.hx_trigger(deleted, REFRESH_EVENT))


# --- credentials -----------------------------------------------------------------------


def _credential_context(session: SessionDep, person_id: DbId) -> dict[str, Any]:
    person = service.get_person(session=session, person_id=person_id)
    mode = get_card_mode(session)
    cards = [
        {
            "card": card,
            "shown": format_card(card.number, mode),
            "qr": qr_allowed(card.number, mode),
        }
        for card in person.cards
    ]
    return {
        "person": person,
        "cards": cards,
        "card_mode": mode.value,
        "cred_error": "",
        "collectors": collect.collectors(session),  # devices that can read cards / fingers
    }


def _credentials(
    request: Request, session: SessionDep, person_id: DbId, error: str = "", saved: str = ""
) -> HTMLResponse:
    ctx = _credential_context(session, person_id)
    ctx["cred_error"] = error
    headers = {} if error else flash.hx_trigger(saved or "Saved.", REFRESH_EVENT)
    return render(request, "people/_credentials.html", ctx, headers=headers)


@router.post("/people/persons/{person_id}/cards", response_class=HTMLResponse)
def add_card(
    person_id: DbId,
    request: Request,
    session: SessionDep,
    principal: Operator,
    number: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "main",
) -> HTMLResponse:
    """Issue a card (typed in the card issuing type)."""
    try:
        credentials.add_card(
            session=session, person_id=person_id, number=number, kind=kind, actor=principal.actor
        )
    except DomainError as exc:
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved="Card added.")


CARD_ACTIONS: dict[str, dict[str, Any]] = {
    "freeze": {"frozen": True},
    "unfreeze": {"frozen": False},
    "main": {"kind": "main"},
    "duress": {"kind": "duress"},
}


@router.post("/people/persons/{person_id}/cards/{card_id}/{action}", response_class=HTMLResponse)
def change_card(
    person_id: DbId,
    card_id: DbId,
    action: str,
    request: Request,
    session: SessionDep,
    principal: Operator,
    number: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Freeze, unfreeze, make main/duress, replace or delete a card."""
    try:
        where: dict[str, Any] = {"session": session, "person_id": person_id, "card_id": card_id}
        if action == "delete":
            credentials.delete_card(**where, actor=principal.actor)
        elif action == "replace":
            credentials.update_card(**where, number=number, actor=principal.actor)
        elif action in CARD_ACTIONS:
            credentials.update_card(**where, **CARD_ACTIONS[action], actor=principal.actor)
        else:
            raise NotFound(f"unknown card action {action!r}")
    except DomainError as exc:
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved="Card saved.")


@router.post("/people/persons/{person_id}/password", response_class=HTMLResponse)
def set_password(
    person_id: DbId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    password: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Set (or, when blank, remove) the 6-8 digit password."""
    try:
        if password:
            credentials.set_password(
                session=session,
                person_id=person_id,
                password=password,
                secret_key=settings.secret_key,
                actor=principal.actor,
            )
        else:
            credentials.clear_password(session=session, person_id=person_id, actor=principal.actor)
    except DomainError as exc:
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved="Password saved.")


@router.post("/people/persons/{person_id}/faces", response_class=HTMLResponse)
async def add_face(
    person_id: DbId,
    request: Request,
    session: SessionDep,
    principal: Operator,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Upload a face image."""
    data = await read_upload(file)
    try:
        credentials.add_face(session=session, person_id=person_id, data=data, actor=principal.actor)
    except DomainError as exc:
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved="Face image added.")


@router.post("/people/persons/{person_id}/faces/{face_id}/delete", response_class=HTMLResponse)
def delete_face(
    person_id: DbId, face_id: DbId, request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Delete a face image."""
    try:
        credentials.delete_face(
            session=session, person_id=person_id, face_id=face_id, actor=principal.actor
        )
    except DomainError as exc:
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved="Face image deleted.")
