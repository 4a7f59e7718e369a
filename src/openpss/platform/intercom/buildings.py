"""Building manager (platform-video-intercom 2.1): levels, community/building/unit tree, rooms.

Services own the audit entry of each change and raise the intercom domain errors; the routes
stay thin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.models import (
    Level,
    OrganizationLevels,
    OrgNode,
    Registration,
    Room,
    SendStatus,
    UnlockPassword,
    UnlockPasswordSend,
)
from openpss.platform.intercom.schemas import (
    LevelsUpdate,
    NodeCreate,
    NodeRead,
)
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)

DEFAULT_COMMUNITY = "Community"
CODE_SEPARATOR = "#"  # "02#01#302" (platform-video-intercom 2.1, Results)
LEVEL_LABEL = {Level.community: "community", Level.building: "Building", Level.unit: "Unit"}

# Checks that say why a room cannot be deleted or renumbered (registrations, passwords ...);
# each returns a reason or "". Other intercom modules append theirs.
RoomDependent = Callable[[Session, Room], str]
NodeDependent = Callable[[Session, OrgNode], str]


def _room_registrations(session: Session, room: Room) -> str:
    found = list(
        session.scalars(select(Registration.number).where(Registration.room_id == room.id))
    )
    return f"registration number(s) {', '.join(found)} use it" if found else ""


def _node_registrations(session: Session, node: OrgNode) -> str:
    found = list(
        session.scalars(select(Registration.number).where(Registration.node_id == node.id))
    )
    return f"registration number(s) {', '.join(found)} use it" if found else ""


def _room_password(session: Session, room: Room) -> str:
    query = select(UnlockPassword.id).where(UnlockPassword.room_id == room.id)
    if session.scalar(query):
        return "it has an unlock password: delete it first"
    removing = select(UnlockPasswordSend.id).where(
        UnlockPasswordSend.room_id == room.id,
        UnlockPasswordSend.remove.is_(True),
        UnlockPasswordSend.status != SendStatus.sent,
    )
    if session.scalars(removing).first() is not None:
        return "its deleted unlock password is still being removed from the VTO(s)"
    return ""


ROOM_DEPENDENTS: list[RoomDependent] = [_room_password, _room_registrations]
NODE_DEPENDENTS: list[NodeDependent] = [_node_registrations]


# --- level setting ----------------------------------------------------------------------


def get_levels(*, session: Session) -> OrganizationLevels:
    """The level setting, created (buildings and units on) on first use."""
    levels = session.scalars(select(OrganizationLevels).limit(1)).first()
    if levels is None:
        levels = OrganizationLevels(use_building=True, use_unit=True)
        session.add(levels)
        session.flush()
    return levels


def levels_in_use(levels: OrganizationLevels) -> list[Level]:
    """The levels that exist, from the community down."""
    used = [Level.community]
    if levels.use_building:
        used.append(Level.building)
        if levels.use_unit:
            used.append(Level.unit)
    return used


def set_levels(*, session: Session, actor: Actor, data: LevelsUpdate) -> OrganizationLevels:
    """Change which levels exist; refused while nodes or rooms depend on the current ones."""
    if data.use_unit and not data.use_building:
        raise IntercomError("the unit level needs the building level: turn buildings on too")
    levels = get_levels(session=session)
    before = levels_in_use(levels)
    after = [Level.community]
    if data.use_building:
        after += [Level.building] + ([Level.unit] if data.use_unit else [])
    if before != after:
        _check_levels_change(session, before, after)
    levels.use_building, levels.use_unit = data.use_building, data.use_unit
    session.flush()
    record_audit(session=session, actor=actor, action="intercom.levels", detail=data.model_dump())
    return levels


def _check_levels_change(session: Session, before: list[Level], after: list[Level]) -> None:
    for level in set(before) - set(after):
        count = _count(session, select(OrgNode).where(OrgNode.level == level))
        if count:
            raise Conflict(
                f"{count} {level.value}(s) exist: delete them before turning the "
                f"{level.value} level off"
            )
    rooms = _count(session, select(Room))
    if rooms:
        raise Conflict(
            f"{rooms} room(s) exist under the {before[-1].value} level: delete them before "
            "changing the levels"
        )


# --- organization nodes -----------------------------------------------------------------


def get_community(*, session: Session) -> OrgNode:
    """The community (the root node), created on first use."""
    root = session.scalars(
        select(OrgNode).where(OrgNode.parent_id.is_(None)).order_by(OrgNode.id).limit(1)
    ).first()
    if root is None:
        root = OrgNode(parent_id=None, level=Level.community, number="", name=DEFAULT_COMMUNITY)
        session.add(root)
        session.flush()
    return root


def get_node(*, session: Session, node_id: int) -> OrgNode:
    """One node, or NotFound."""
    node = session.get(OrgNode, node_id)
    if node is None:
        raise NotFound(f"organization node {node_id} does not exist")
    return node


def describe(node: OrgNode) -> str:
    """'Building 02', 'Unit 01' or the community's name, for messages."""
    if node.level is Level.community:
        return f"community {node.name!r}"
    return f"{LEVEL_LABEL[node.level]} {node.number}"


def lowest_level(*, session: Session) -> Level:
    """The level rooms are added under."""
    return levels_in_use(get_levels(session=session))[-1]


def add_node(*, session: Session, actor: Actor, data: NodeCreate) -> OrgNode:
    """Add a building under the community or a unit under a building."""
    parent = get_node(session=session, node_id=data.parent_id)
    used = levels_in_use(get_levels(session=session))
    index = used.index(parent.level) if parent.level in used else len(used)
    if index + 1 >= len(used):
        raise IntercomError(
            f"nothing but rooms can be added under {describe(parent)}: it is the lowest level"
        )
    level = used[index + 1]
    number = f"{int(data.number):02d}"
    if int(number) == 0:
        raise IntercomError(f"the {level.value} number must be 1-99, not {data.number!r}")
    clash = select(OrgNode.id).where(OrgNode.parent_id == parent.id, OrgNode.number == number)
    if session.scalars(clash).first() is not None:
        raise Conflict(f"{describe(parent)} already has {LEVEL_LABEL[level]} {number}")
    name = data.name or f"{LEVEL_LABEL[level]} {number}"
    node = OrgNode(parent_id=parent.id, level=level, number=number, name=name)
    session.add(node)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.{level.value}.create",
        target=f"intercom_node:{node.id}",
        detail={"parent_id": parent.id, "number": number, "name": name},
    )
    return node


def rename_node(*, session: Session, actor: Actor, node_id: int, name: str) -> OrgNode:
    """Rename the community, a building or a unit."""
    node = get_node(session=session, node_id=node_id)
    node.name = name
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.{node.level.value}.rename",
        target=f"intercom_node:{node.id}",
        detail={"name": name},
    )
    return node


def delete_node(*, session: Session, actor: Actor, node_id: int) -> None:
    """Delete a building or unit; refused while units, rooms or devices depend on it."""
    node = get_node(session=session, node_id=node_id)
    if node.level is Level.community:
        raise IntercomError("the community cannot be deleted; rename it instead")
    children = _count(session, select(OrgNode).where(OrgNode.parent_id == node.id))
    if children:
        raise Conflict(f"{describe(node)} still has {children} unit(s): delete them first")
    rooms = _count(session, select(Room).where(Room.node_id == node.id))
    if rooms:
        raise Conflict(f"{describe(node)} still has {rooms} room(s): delete them first")
    for check in NODE_DEPENDENTS:
        reason = check(session, node)
        if reason:
            raise Conflict(f"{describe(node)} cannot be deleted: {reason}")
    session.delete(node)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.{node.level.value}.delete",
        target=f"intercom_node:{node_id}",
        detail={"number": node.number, "name": node.name},
    )


def node_tree(*, session: Session) -> NodeRead:
    """The organization tree from the community (one query)."""
    root = get_community(session=session)
    nodes = session.scalars(select(OrgNode).order_by(OrgNode.number, OrgNode.id)).all()
    reads = {
        n.id: NodeRead(id=n.id, parent_id=n.parent_id, level=n.level, number=n.number, name=n.name)
        for n in nodes
    }
    for n in nodes:
        if n.parent_id is not None and n.parent_id in reads:
            reads[n.parent_id].children.append(reads[n.id])
    return reads[root.id]


def _count(session: Session, query: object) -> int:
    subquery = query.subquery()  # type: ignore[attr-defined]
    return int(session.scalar(select(func.count()).select_from(subquery)) or 0)
