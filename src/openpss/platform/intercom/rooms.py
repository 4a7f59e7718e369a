"""Rooms of the building manager (platform-video-intercom 2.1 step 5) and their codes."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text
from openpss.platform.intercom.buildings import (
    CODE_SEPARATOR,
    ROOM_DEPENDENTS,
    describe,
    get_node,
    lowest_level,
)
from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.models import Level, OrgNode, Room
from openpss.platform.intercom.schemas import RoomCreate, RoomQuery, RoomRead, RoomUpdate
from openpss.platform.listing import Page, paginate
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)


def node_numbers(session: Session) -> dict[int, tuple[int | None, str]]:
    """Every node's (parent, number), to build codes without a query per room."""
    rows = session.execute(select(OrgNode.id, OrgNode.parent_id, OrgNode.number)).all()
    return {row.id: (row.parent_id, row.number) for row in rows}


def node_code(numbers: dict[int, tuple[int | None, str]], node_id: int) -> list[str]:
    """The numbers from the building down to this node (the community has none)."""
    parts: list[str] = []
    current: int | None = node_id
    while current is not None and current in numbers:
        parent, number = numbers[current]
        if number:
            parts.append(number)
        current = parent
    return parts[::-1]


def organization_code(numbers: dict[int, tuple[int | None, str]], room: Room) -> str:
    """'02#01#302': building, unit and room numbers (platform-video-intercom 2.1)."""
    return CODE_SEPARATOR.join([*node_code(numbers, room.node_id), room.number])


def room_read(session: Session, room: Room) -> RoomRead:
    """One room with its organization code."""
    return _read(node_numbers(session), room)


def _read(numbers: dict[int, tuple[int | None, str]], room: Room) -> RoomRead:
    return RoomRead(
        id=room.id,
        node_id=room.node_id,
        number=room.number,
        name=room.name,
        organization=organization_code(numbers, room),
    )


def get_room(*, session: Session, room_id: int) -> Room:
    """One room, or NotFound."""
    room = session.get(Room, room_id)
    if room is None:
        raise NotFound(f"room {room_id} does not exist")
    return room


def _check_node(session: Session, node: OrgNode) -> None:
    lowest = lowest_level(session=session)
    if node.level is not lowest:
        what = "a unit" if lowest is Level.unit else f"the {lowest.value} level"
        raise IntercomError(f"rooms are added under {what}; {describe(node)} is not one")


def _check_number_free(session: Session, node: OrgNode, number: str, own_id: int | None) -> None:
    clash = session.scalars(
        select(Room.id).where(Room.node_id == node.id, Room.number == number)
    ).first()
    if clash is not None and clash != own_id:
        raise Conflict(f"{describe(node)} already has room {number}")


def add_room(*, session: Session, actor: Actor, data: RoomCreate) -> Room:
    """Add a room (number + name) under a unit (or the lowest level in use)."""
    node = get_node(session=session, node_id=data.node_id)
    _check_node(session, node)
    _check_number_free(session, node, data.number, None)
    room = Room(node_id=node.id, number=data.number, name=data.name or data.number)
    session.add(room)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.room.create",
        target=f"intercom_room:{room.id}",
        detail={"node_id": node.id, "number": room.number, "name": room.name},
    )
    return room


def update_room(*, session: Session, actor: Actor, room_id: int, data: RoomUpdate) -> Room:
    """Change a room's name, or its number while nothing depends on the room."""
    room = get_room(session=session, room_id=room_id)
    if data.number is not None and data.number != room.number:
        node = get_node(session=session, node_id=room.node_id)
        _check_number_free(session, node, data.number, room.id)
        _check_dependents(session, room, "renumbered")
        room.number = data.number
    if data.name is not None:
        room.name = data.name or room.number
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.room.update",
        target=f"intercom_room:{room.id}",
        detail=data.model_dump(exclude_none=True),
    )
    return room


def delete_room(*, session: Session, actor: Actor, room_id: int) -> None:
    """Delete a room; refused while registrations or passwords depend on it."""
    room = get_room(session=session, room_id=room_id)
    _check_dependents(session, room, "deleted")
    session.delete(room)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.room.delete",
        target=f"intercom_room:{room_id}",
        detail={"number": room.number},
    )


def _check_dependents(session: Session, room: Room, what: str) -> None:
    for check in ROOM_DEPENDENTS:
        reason = check(session, room)
        if reason:
            raise Conflict(f"room {room.number} cannot be {what}: {reason}")


def nodes_below(numbers: dict[int, tuple[int | None, str]], node_id: int) -> set[int]:
    """The node and every node under it (`numbers` from node_numbers)."""
    return _subtree(numbers, node_id)


def _subtree(numbers: dict[int, tuple[int | None, str]], node_id: int) -> set[int]:
    ids = {node_id}
    changed = True
    while changed:
        more = {nid for nid, (parent, _) in numbers.items() if parent in ids} - ids
        changed = bool(more)
        ids |= more
    return ids


def list_rooms(*, session: Session, query: RoomQuery) -> Page[RoomRead]:
    """Rooms under a node (all levels below it), matching `q` in number or name, one page."""
    numbers = node_numbers(session)
    statement = select(Room)
    if query.node_id is not None:
        if query.node_id not in numbers:
            raise NotFound(f"organization node {query.node_id} does not exist")
        statement = statement.where(Room.node_id.in_(_subtree(numbers, query.node_id)))
    if query.q:
        statement = statement.where(contains_text(Room.number + " " + Room.name, query.q))
    page = paginate(session, statement, query, order=(Room.node_id, Room.number, Room.id))
    return Page(page.total, [_read(numbers, room) for room in page.items], query)


def organization_outline(*, session: Session, max_rooms: int) -> list[tuple[str, int, int, str]]:
    """("node" or "room", id, depth, label) of each node, depth first, then the first rooms.

    Reads the nodes as they are: looking at the organization creates nothing.
    """
    nodes = session.execute(
        select(OrgNode.id, OrgNode.parent_id, OrgNode.level, OrgNode.number, OrgNode.name).order_by(
            OrgNode.number, OrgNode.id
        )
    ).all()
    children: dict[int | None, list[Any]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    outline: list[tuple[str, int, int, str]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            label = f"{node.level.value} {node.number} {node.name}" if node.number else node.name
            outline.append(("node", node.id, depth, label))
            walk(node.id, depth + 1)

    walk(None, 0)
    room_rows = list_rooms(session=session, query=RoomQuery(limit=max_rooms)).items
    outline += [("room", r.id, 0, f"room {r.organization} {r.name}".rstrip()) for r in room_rows]
    return outline
