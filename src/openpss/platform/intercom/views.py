"""Console pages of the intercom configuration: the building manager (2.1)."""

from __future__ import annotations

import logging
from collections.abc import Callable
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


@router.post("/intercom/buildings/levels", response_model=None)
async def save_levels(request: Request, session: SessionDep, principal: Operator) -> Response:
    """Save the level setting."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        data = LevelsUpdate(use_building="use_building" in form, use_unit="use_unit" in form)
        buildings.set_levels(session=session, actor=principal.actor, data=data)
        return "Organization levels saved."

    return await _act(request, session, action)


@router.post("/intercom/buildings/nodes", response_model=None)
async def add_node(request: Request, session: SessionDep, principal: Operator) -> Response:
    """Add a building or unit."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        node = buildings.add_node(
            session=session, actor=principal.actor, data=NodeCreate.model_validate(form)
        )
        return f"{buildings.describe(node)} added."

    return await _act(request, session, action)


@router.post("/intercom/buildings/nodes/{node_id}/rename", response_model=None)
async def rename_node(
    node_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Rename the community, a building or a unit."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        data = NodeUpdate.model_validate(form)
        node = buildings.rename_node(
            session=session, actor=principal.actor, node_id=node_id, name=data.name
        )
        return f"{buildings.describe(node)} renamed to {node.name}."

    return await _act(request, session, action)


@router.post("/intercom/buildings/nodes/{node_id}/delete", response_model=None)
async def delete_node(
    node_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Delete a building or unit."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        buildings.delete_node(session=session, actor=principal.actor, node_id=node_id)
        return "Deleted."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms", response_model=None)
async def add_room(request: Request, session: SessionDep, principal: Operator) -> Response:
    """Add a room under a unit."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        room = rooms.add_room(
            session=session, actor=principal.actor, data=RoomCreate.model_validate(form)
        )
        return f"Room {rooms.room_read(session, room).organization} added."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms/{room_id}/edit", response_model=None)
async def edit_room(
    room_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Change a room's number or name."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        data = RoomUpdate.model_validate({k: v for k, v in form.items() if v})
        room = rooms.update_room(session=session, actor=principal.actor, room_id=room_id, data=data)
        return f"Room {rooms.room_read(session, room).organization} saved."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms/{room_id}/delete", response_model=None)
async def delete_room(
    room_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Delete a room."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        rooms.delete_room(session=session, actor=principal.actor, room_id=room_id)
        return "Room deleted."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms/{room_id}/password", response_model=None)
async def set_password(
    room_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> Response:
    """Add or change a room's unlock password (sent to its devices automatically)."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        passwords.set_password(
            session=session,
            actor=principal.actor,
            secret_key=settings.secret_key,
            room_id=room_id,
            password=form.get("password", ""),
            confirm=form.get("confirm", ""),
        )
        return "Unlock password saved; sending it to the room's devices."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms/{room_id}/password/send", response_model=None)
async def send_password(
    room_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Send the room's unlock password again."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        count = passwords.send_again(session=session, actor=principal.actor, room_id=room_id)
        return f"Sending the unlock password to {count} device(s) again."

    return await _act(request, session, action)


@router.post("/intercom/buildings/rooms/{room_id}/password/delete", response_model=None)
async def delete_password(
    room_id: int, request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Delete the room's unlock password."""
    request.state.principal = principal

    def action(form: dict[str, str]) -> str:
        passwords.delete_password(session=session, actor=principal.actor, room_id=room_id)
        return "Unlock password deleted."

    return await _act(request, session, action)
