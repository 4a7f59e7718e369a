"""REST routes of the intercom configuration under /api/v1/intercom (platform-video-intercom 2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.intercom import buildings, rooms
from openpss.platform.intercom.http import domain_errors
from openpss.platform.intercom.schemas import (
    LevelsRead,
    LevelsUpdate,
    NodeCreate,
    NodeRead,
    NodeUpdate,
    RoomCreate,
    RoomPage,
    RoomRead,
    RoomUpdate,
)

router = APIRouter(prefix="/intercom", tags=["intercom"])
MAX_PAGE = 500


def _node_read(node: object) -> NodeRead:
    return NodeRead.model_validate(node, from_attributes=True)


# --- building manager: levels and organization ------------------------------------------


@router.get("/levels", response_model=LevelsRead)
def get_levels(session: SessionDep, principal: Viewer) -> LevelsRead:
    """The level setting (whether buildings and units exist)."""
    return LevelsRead.model_validate(buildings.get_levels(session=session), from_attributes=True)


@router.put("/levels", response_model=LevelsRead)
def put_levels(data: LevelsUpdate, session: SessionDep, principal: Operator) -> LevelsRead:
    """Change the level setting (refused while nodes or rooms depend on the current one)."""
    with domain_errors():
        levels = buildings.set_levels(session=session, actor=principal.actor, data=data)
    return LevelsRead.model_validate(levels, from_attributes=True)


@router.get("/organization", response_model=NodeRead)
def get_organization(session: SessionDep, principal: Viewer) -> NodeRead:
    """The organization tree from the community."""
    return buildings.node_tree(session=session)


@router.post("/organization", response_model=NodeRead, status_code=201)
def post_node(data: NodeCreate, session: SessionDep, principal: Operator) -> NodeRead:
    """Add a building under the community or a unit under a building."""
    with domain_errors():
        node = buildings.add_node(session=session, actor=principal.actor, data=data)
    return _node_read(node)


@router.patch("/organization/{node_id}", response_model=NodeRead)
def patch_node(
    node_id: int, data: NodeUpdate, session: SessionDep, principal: Operator
) -> NodeRead:
    """Rename the community, a building or a unit."""
    with domain_errors():
        node = buildings.rename_node(
            session=session, actor=principal.actor, node_id=node_id, name=data.name
        )
    return _node_read(node)


@router.delete("/organization/{node_id}", status_code=204)
def delete_node(node_id: int, session: SessionDep, principal: Operator) -> Response:
    """Delete a building or unit (refused while something depends on it)."""
    with domain_errors():
        buildings.delete_node(session=session, actor=principal.actor, node_id=node_id)
    return Response(status_code=204)


# --- rooms -------------------------------------------------------------------------------


@router.get("/rooms", response_model=RoomPage)
def get_rooms(
    session: SessionDep,
    principal: Viewer,
    node_id: Annotated[int | None, Query(ge=1, description="rooms under this node")] = None,
    q: Annotated[str, Query(max_length=64, description="text in number or name")] = "",
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> RoomPage:
    """Rooms with their organization codes (02#01#302)."""
    with domain_errors():
        total, items = rooms.list_rooms(
            session=session, node_id=node_id, q=q, offset=offset, limit=limit
        )
    return RoomPage(total=total, items=items)


@router.post("/rooms", response_model=RoomRead, status_code=201)
def post_room(data: RoomCreate, session: SessionDep, principal: Operator) -> RoomRead:
    """Add a room (number + name) under a unit."""
    with domain_errors():
        room = rooms.add_room(session=session, actor=principal.actor, data=data)
    return rooms.room_read(session, room)


@router.patch("/rooms/{room_id}", response_model=RoomRead)
def patch_room(
    room_id: int, data: RoomUpdate, session: SessionDep, principal: Operator
) -> RoomRead:
    """Change a room's number or name."""
    with domain_errors():
        room = rooms.update_room(session=session, actor=principal.actor, room_id=room_id, data=data)
    return rooms.room_read(session, room)


@router.delete("/rooms/{room_id}", status_code=204)
def delete_room(room_id: int, session: SessionDep, principal: Operator) -> Response:
    """Delete a room (refused while registrations or passwords depend on it)."""
    with domain_errors():
        rooms.delete_room(session=session, actor=principal.actor, room_id=room_id)
    return Response(status_code=204)
