"""Call groups (platform-video-intercom 2.4): per building, manager clients and VTSs rung in
priority order when a device of the building calls the management centre (888888).

With no group the platform answers every call of the building: the centre number rings every
console user allowed to answer. A manager client of a group is rung as ``888888/<user name>``:
the SIP server sends that leg to the console's user agent (the centre number's binding), and the
console rings only that user's windows (``calls.py``). Several groups of one building ring one
after another in the order they were made. A caller outside any building (a VTS, an account of
the accounts file) always reaches the platform.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.intercom.buildings import describe, get_node
from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.models import (
    CallGroup,
    CallGroupMember,
    EndpointKind,
    Level,
    MemberKind,
    OrgNode,
    Registration,
    Room,
)
from openpss.platform.intercom.schemas import CallGroupRead
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.security.models import Account

logger = logging.getLogger(__name__)

CENTRE_NUMBER = "888888"  # door-station manual 4.2.7: "888888" is the Centre Call No.
CONSOLE_PREFIX = CENTRE_NUMBER + "/"  # a SIP user part may hold '/' (RFC 3261 §25.1)
MAX_AGE_SECONDS = 5.0


def console_target(username: str) -> str:
    """The SIP username that rings one console user (a manager client of a call group)."""
    return CONSOLE_PREFIX + quote(username, safe="-_.")


def console_user(target: str | None) -> str | None:
    """The console user a SIP username rings (``888888/guard`` -> ``guard``), else None."""
    if not target or not target.startswith(CONSOLE_PREFIX):
        return None
    return unquote(target[len(CONSOLE_PREFIX) :]) or None


def get_group(*, session: Session, group_id: int) -> CallGroup:
    """One call group, or NotFound."""
    group = session.get(CallGroup, group_id)
    if group is None:
        raise NotFound(f"call group {group_id} does not exist")
    return group


def create_group(*, session: Session, actor: Actor, name: str, building_id: int) -> CallGroup:
    """A new call group for a building."""
    building = get_node(session=session, node_id=building_id)
    if building.level is not Level.building:
        raise IntercomError(f"a call group belongs to a building; {describe(building)} is not one")
    if session.scalar(select(CallGroup.id).where(CallGroup.name == name)) is not None:
        raise Conflict(f"a call group named {name!r} exists already")
    group = CallGroup(name=name, building_id=building.id)
    session.add(group)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.call_group.create",
        target=f"intercom_call_group:{group.id}",
        detail={"name": name, "building_id": building.id},
    )
    return group


def delete_group(*, session: Session, actor: Actor, group_id: int) -> None:
    """Delete a call group and its member list."""
    group = get_group(session=session, group_id=group_id)
    session.delete(group)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.call_group.delete",
        target=f"intercom_call_group:{group_id}",
        detail={"name": group.name},
    )


def _members(session: Session, group_id: int) -> list[CallGroupMember]:
    query = select(CallGroupMember).where(CallGroupMember.group_id == group_id)
    return list(session.scalars(query.order_by(CallGroupMember.priority, CallGroupMember.id)))


def add_member(
    *,
    session: Session,
    actor: Actor,
    group_id: int,
    account_id: int | None = None,
    registration_id: int | None = None,
) -> CallGroupMember:
    """Append a manager client (a console account) or a VTS at the lowest priority."""
    group = get_group(session=session, group_id=group_id)
    if (account_id is None) == (registration_id is None):
        raise IntercomError("add either a manager client (account_id) or a VTS (registration_id)")
    member = CallGroupMember(group_id=group.id, account_id=account_id)
    if account_id is not None:
        if session.get(Account, account_id) is None:
            raise NotFound(f"account {account_id} does not exist")
        member.kind = MemberKind.client
    else:
        registration = session.get(Registration, registration_id)
        if registration is None or registration.kind is not EndpointKind.vts:
            raise IntercomError(f"registration {registration_id} is not a VTS")
        member.kind, member.registration_id = MemberKind.vts, registration.id
    existing = _members(session, group.id)
    if any((m.account_id, m.registration_id) == (account_id, registration_id) for m in existing):
        raise Conflict(f"that member is already in call group {group.name!r}")
    member.priority = len(existing) + 1
    session.add(member)
    session.flush()
    _audit_members(session, actor, group)
    return member


def move_member(
    *, session: Session, actor: Actor, member_id: int, direction: Literal["up", "down"]
) -> None:
    """Raise or lower a member's priority by one place."""
    member = session.get(CallGroupMember, member_id)
    if member is None:
        raise NotFound(f"call group member {member_id} does not exist")
    members = _members(session, member.group_id)
    index = members.index(member)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(members):
        members[index], members[other] = members[other], members[index]
    for priority, m in enumerate(members, start=1):
        m.priority = priority
    session.flush()
    _audit_members(session, actor, get_group(session=session, group_id=member.group_id))


def remove_member(*, session: Session, actor: Actor, member_id: int) -> None:
    """Take a member out of its group (the rest keep their order)."""
    member = session.get(CallGroupMember, member_id)
    if member is None:
        raise NotFound(f"call group member {member_id} does not exist")
    group_id = member.group_id
    session.delete(member)
    session.flush()
    for priority, m in enumerate(_members(session, group_id), start=1):
        m.priority = priority
    session.flush()
    _audit_members(session, actor, get_group(session=session, group_id=group_id))


def member_usernames(session: Session, group_id: int) -> list[str]:
    """The SIP usernames of a group in priority order (VTS number, client account name)."""
    query = (
        select(CallGroupMember, Registration.number, Account.username)
        .outerjoin(Registration, Registration.id == CallGroupMember.registration_id)
        .outerjoin(Account, Account.id == CallGroupMember.account_id)
        .where(CallGroupMember.group_id == group_id)
        .order_by(CallGroupMember.priority, CallGroupMember.id)
    )
    return [number or username for _, number, username in session.execute(query)]


def member_targets(session: Session, group_id: int) -> list[str]:
    """What a centre call rings for a group, in priority order: a VTS's number, or
    ``console_target`` of a manager client."""
    query = (
        select(Registration.number, Account.username)
        .select_from(CallGroupMember)
        .outerjoin(Registration, Registration.id == CallGroupMember.registration_id)
        .outerjoin(Account, Account.id == CallGroupMember.account_id)
        .where(CallGroupMember.group_id == group_id)
        .order_by(CallGroupMember.priority, CallGroupMember.id)
    )
    return [number or console_target(username) for number, username in session.execute(query)]


def _audit_members(session: Session, actor: Actor, group: CallGroup) -> None:
    record_audit(
        session=session,
        actor=actor,
        action="intercom.call_group.members",
        target=f"intercom_call_group:{group.id}",
        detail={"members": member_usernames(session, group.id)},
    )


def group_read(session: Session, group: CallGroup) -> CallGroupRead:
    """One group with its members in priority order."""
    return CallGroupRead(
        id=group.id,
        name=group.name,
        building_id=group.building_id,
        members=member_usernames(session, group.id),
        member_ids=[m.id for m in _members(session, group.id)],
    )


def list_groups(*, session: Session) -> list[CallGroupRead]:
    """Every group with its building and members in priority order."""
    groups = session.scalars(select(CallGroup).order_by(CallGroup.id))
    return [group_read(session, g) for g in groups]


def _building_of(nodes: dict[int, tuple[int | None, Level]], node_id: int | None) -> int | None:
    while node_id is not None and node_id in nodes:
        parent, level = nodes[node_id]
        if level is Level.building:
            return node_id
        node_id = parent
    return None


def centre_routes(session: Session) -> dict[str, list[str]]:
    """For each registration number with call groups: the targets 888888 rings, in order
    (``member_targets``)."""
    nodes = {
        n.id: (n.parent_id, n.level)
        for n in session.execute(select(OrgNode.id, OrgNode.parent_id, OrgNode.level))
    }
    room_nodes: dict[int, int] = {
        row.id: row.node_id for row in session.execute(select(Room.id, Room.node_id))
    }
    by_building: dict[int, list[str]] = {}
    for group in session.scalars(select(CallGroup).order_by(CallGroup.id)):
        by_building.setdefault(group.building_id, []).extend(member_targets(session, group.id))
    routes: dict[str, list[str]] = {}
    for row in session.scalars(select(Registration)):
        node = room_nodes.get(row.room_id) if row.room_id is not None else row.node_id
        building = _building_of(nodes, node)
        if building is not None and by_building.get(building):
            routes[row.number] = by_building[building]
    return routes


class CallGroupRouting:
    """Snapshot of ``centre_routes`` for the SIP server, re-read when older than max_age."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._max_age = max_age
        self._clock = clock
        self._routes: dict[str, list[str]] = {}
        self._loaded_at: float | None = None

    def invalidate(self) -> None:
        """Re-read on the next call (after a group changed)."""
        self._loaded_at = None

    def members_for(self, caller: str) -> list[str]:
        """Targets a centre call from ``caller`` rings, in priority order ([] = no group)."""
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._max_age:
            try:
                with self._session_factory() as session:
                    self._routes = centre_routes(session)
            except SQLAlchemyError as exc:
                logger.warning("call groups not re-read: %s", exc)
            self._loaded_at = now
        return self._routes.get(caller, [])
