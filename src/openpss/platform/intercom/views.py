"""Console pages of the intercom configuration: the building manager (2.1)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.intercom import (
    buildings,
    passwords,
    rooms,
    views_dial,
    views_manage,
    views_more,
)
from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.schemas import (
    LevelsUpdate,
    NodeCreate,
    NodeUpdate,
    RoomCreate,
    RoomUpdate,
)
from openpss.platform.security.audit import Actor
from openpss.platform.web import flash
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)
router = APIRouter()
router.include_router(views_dial.router)
router.include_router(views_more.router)
router.include_router(views_manage.router)
PAGE_SIZES = (20, 50, 100)
BUILDINGS = "/intercom/buildings"


def _status(exc: IntercomError) -> int:
    if isinstance(exc, NotFound):
        return 404
    return 409 if isinstance(exc, Conflict) else 422


def _messages(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


def page_context(
    session: Session, *, node: int | None, q: str, page: int, size: int
) -> dict[str, Any]:
    """What the building manager shows: levels, tree, the selected node's rooms."""
    tree = buildings.node_tree(session=session)
    selected = node or tree.id
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    page = max(page, 1)
    total, items = rooms.list_rooms(
        session=session, node_id=selected, q=q, offset=(page - 1) * size, limit=size
    )
    return {
        "levels": buildings.get_levels(session=session),
        "lowest": buildings.lowest_level(session=session).value,
        "tree": tree,
        "selected": selected,
        "rooms": items,
        "passwords": passwords.rooms_status(session=session, room_ids=[r.id for r in items]),
        "total": total,
        "q": q,
        "page": page,
        "size": size,
        "pages": max((total + size - 1) // size, 1),
        "errors": [],
    }


@router.get("/intercom/buildings", response_class=HTMLResponse)
def buildings_page(
    request: Request,
    session: SessionDep,
    principal: Viewer,
    node: Annotated[int | None, Query(ge=1)] = None,
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> HTMLResponse:
    """The building manager: organization tree and rooms."""
    request.state.principal = principal
    try:
        context = page_context(session, node=node, q=q, page=page, size=size)
    except NotFound:
        context = page_context(session, node=None, q=q, page=1, size=size)
    return render(request, "intercom/buildings.html", context)


async def _act(
    request: Request,
    session: Session,
    action: Callable[[dict[str, str]], str],
) -> Response:
    """Run one change from a posted form; redirect with a notice or re-show with the error."""
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    back = form.pop("back_node", "")
    try:
        notice = action(form)
    except ValidationError as exc:
        errors, status = _messages(exc), 422
    except IntercomError as exc:
        errors, status = [str(exc)], _status(exc)
    else:
        target = f"{BUILDINGS}?node={back}" if back.isdigit() else BUILDINGS
        return flash.redirect(target, notice)
    session.rollback()
    context = page_context(
        session, node=int(back) if back.isdigit() else None, q="", page=1, size=20
    )
    context["errors"] = errors
    return render(request, "intercom/buildings.html", context, status_code=status)


@dataclass(frozen=True)
class FormCall:
    """Who posted a building-manager form, the session, and the ids in the form's path."""

    session: Session
    actor: Actor
    secret_key: str
    ids: dict[str, int]


FormAction = Callable[[FormCall, dict[str, str]], str]


def form_post(path: str) -> Callable[[FormAction], FormAction]:
    """Register ``action(call, form) -> notice`` as the console's ``POST path`` (see ``_act``)."""

    def register(action: FormAction) -> FormAction:
        async def post(
            request: Request, session: SessionDep, settings: SettingsDep, principal: Operator
        ) -> Response:
            request.state.principal = principal
            ids = {k: int(v) for k, v in request.path_params.items()}
            call = FormCall(session, principal.actor, settings.secret_key, ids)
            return await _act(request, session, lambda form: action(call, form))

        post.__doc__ = action.__doc__
        router.add_api_route(
            path, post, methods=["POST"], response_model=None, name=action.__name__
        )
        return action

    return register


@form_post("/intercom/buildings/levels")
def save_levels(call: FormCall, form: dict[str, str]) -> str:
    """Save the level setting."""
    data = LevelsUpdate(use_building="use_building" in form, use_unit="use_unit" in form)
    buildings.set_levels(session=call.session, actor=call.actor, data=data)
    return "Organization levels saved."


@form_post("/intercom/buildings/nodes")
def add_node(call: FormCall, form: dict[str, str]) -> str:
    """Add a building or unit."""
    data = NodeCreate.model_validate(form)
    node = buildings.add_node(session=call.session, actor=call.actor, data=data)
    return f"{buildings.describe(node)} added."


@form_post("/intercom/buildings/nodes/{node_id:int}/rename")
def rename_node(call: FormCall, form: dict[str, str]) -> str:
    """Rename the community, a building or a unit."""
    name = NodeUpdate.model_validate(form).name
    node = buildings.rename_node(
        session=call.session, actor=call.actor, node_id=call.ids["node_id"], name=name
    )
    return f"{buildings.describe(node)} renamed to {node.name}."


@form_post("/intercom/buildings/nodes/{node_id:int}/delete")
def delete_node(call: FormCall, form: dict[str, str]) -> str:
    """Delete a building or unit."""
    buildings.delete_node(session=call.session, actor=call.actor, node_id=call.ids["node_id"])
    return "Deleted."


@form_post("/intercom/buildings/rooms")
def add_room(call: FormCall, form: dict[str, str]) -> str:
    """Add a room under a unit."""
    data = RoomCreate.model_validate(form)
    room = rooms.add_room(session=call.session, actor=call.actor, data=data)
    return f"Room {rooms.room_read(call.session, room).organization} added."


@form_post("/intercom/buildings/rooms/{room_id:int}/edit")
def edit_room(call: FormCall, form: dict[str, str]) -> str:
    """Change a room's number or name."""
    data = RoomUpdate.model_validate({k: v for k, v in form.items() if v})
    room = rooms.update_room(
        session=call.session, actor=call.actor, room_id=call.ids["room_id"], data=data
    )
    return f"Room {rooms.room_read(call.session, room).organization} saved."


@form_post("/intercom/buildings/rooms/{room_id:int}/delete")
def delete_room(call: FormCall, form: dict[str, str]) -> str:
    """Delete a room."""
    rooms.delete_room(session=call.session, actor=call.actor, room_id=call.ids["room_id"])
    return "Room deleted."


@form_post("/intercom/buildings/rooms/{room_id:int}/password")
def set_password(call: FormCall, form: dict[str, str]) -> str:
    """Add or change a room's unlock password (sent to its devices automatically)."""
    passwords.set_password(
        session=call.session,
        actor=call.actor,
        secret_key=call.secret_key,
        room_id=call.ids["room_id"],
        password=form.get("password", ""),
        confirm=form.get("confirm", ""),
    )
    return "Unlock password saved; sending it to the room's devices."


@form_post("/intercom/buildings/rooms/{room_id:int}/password/send")
def send_password(call: FormCall, form: dict[str, str]) -> str:
    """Send the room's unlock password again."""
    count = passwords.send_again(
        session=call.session, actor=call.actor, room_id=call.ids["room_id"]
    )
    return f"Sending the unlock password to {count} device(s) again."


@form_post("/intercom/buildings/rooms/{room_id:int}/password/delete")
def delete_password(call: FormCall, form: dict[str, str]) -> str:
    """Delete the room's unlock password."""
    passwords.delete_password(session=call.session, actor=call.actor, room_id=call.ids["room_id"])
    return "Unlock password deleted."
