"""Intercom demo data for `openpss demo`: building 01 / unit 01 / rooms 101-102, the demo door
station and the two indoor monitors of room 101 in the device list with their registration
numbers (their SIP accounts on the platform's server), and a call group of building 01 whose
manager client is the platform's administrator (``admin``, the name the first start suggests):
the door station's centre call rings that user's consoles. The administrator exists once the
console's first start has been done, so a demo started before it gets the member on its next
start. VTHs are not members: a call group holds VTSs and manager clients (platform-video-intercom
2.4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.devices.schemas import DeviceCreate
from openpss.platform.devices.service import create_device
from openpss.platform.intercom import buildings, callgroups, registrations, rooms
from openpss.platform.intercom.models import CallGroup, OrgNode, Registration, Room
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import SYSTEM
from openpss.platform.security.models import Account, Role
from openpss.platform.settings import Settings

logger = logging.getLogger(__name__)

VTO_NUMBER = "8001"  # the virtual door station's factory VTO number (devices/vto/settings.py)
VTH_EXTENSIONS = (0, 1)  # master and extension VTH of room 101
ROOMS = ("101", "102")
GROUP_NAME = "Building 01 reception"
ADMIN_USERNAME = "admin"  # the administrator's name the console's first start suggests


@dataclass(frozen=True)
class Endpoint:
    """A demo device and its SIP account on the platform."""

    name: str
    port: int
    number: str
    password: str


def seed_demo_intercom(
    *, session: Session, settings: Settings, vto_port: int, vth_port: int, password: str
) -> list[Endpoint]:
    """Idempotent; returns the VTO then the two VTHs with their registration numbers."""
    unit = _unit(session)
    room = next(r for r in _rooms(session, unit) if r.number == ROOMS[0])
    wanted: list[tuple[str, int, str, int | None]] = [("Demo door station", vto_port, "vto", None)]
    wanted += [
        (f"Demo indoor monitor 101#{ext}", vth_port + i, "vth", ext)
        for i, ext in enumerate(VTH_EXTENSIONS)
    ]
    found = []
    for name, port, kind, extension in wanted:
        device = session.scalar(select(Device).where(Device.name == name))
        if device is None:
            data = DeviceCreate(
                name=name, host="127.0.0.1", port=port, username="admin", password=password,
                kind=kind,
            )  # fmt: skip
            device = create_device(session=session, settings=settings, actor=SYSTEM, data=data)
        row = session.scalar(select(Registration).where(Registration.device_id == device.id))
        if row is None:
            if kind == "vto":
                create = RegistrationCreate(
                    kind="vto", device_id=device.id, node_id=unit.id,
                    suffix=VTO_NUMBER[-2:], device_number=VTO_NUMBER,
                )  # fmt: skip
            else:
                create = RegistrationCreate(
                    kind="vth", device_id=device.id, room_id=room.id, extension=extension
                )
            row = registrations.add_registration(
                session=session, actor=SYSTEM, secret_key=settings.secret_key, data=create
            )
        secret = registrations.sip_password(secret_key=settings.secret_key, registration=row)
        found.append(Endpoint(name, port, row.number, secret))
    _seed_group(session, unit)
    return found


def _seed_group(session: Session, unit: OrgNode) -> None:
    """The building's call group, with the administrator as its manager client once there is
    one (a group left empty by a start before the console's first start gets it now)."""
    group = session.scalar(select(CallGroup).where(CallGroup.name == GROUP_NAME))
    if group is None:
        assert unit.parent_id is not None
        group = callgroups.create_group(
            session=session, actor=SYSTEM, name=GROUP_NAME, building_id=unit.parent_id
        )
    admin = session.scalar(
        select(Account)
        .where(Account.role == Role.administrator)
        .order_by(Account.username != ADMIN_USERNAME, Account.id)
    )
    if admin is not None and not callgroups.member_usernames(session, group.id):
        callgroups.add_member(session=session, actor=SYSTEM, group_id=group.id, account_id=admin.id)


def _unit(session: Session) -> OrgNode:
    community = buildings.get_community(session=session)
    building = _child(session, community.id, "1")
    return _child(session, building.id, "1")


def _child(session: Session, parent_id: int, number: str) -> OrgNode:
    query = select(OrgNode).where(OrgNode.parent_id == parent_id)
    for node in session.scalars(query):
        if node.number.lstrip("0") == number:
            return node
    data = NodeCreate(parent_id=parent_id, number=number)
    return buildings.add_node(session=session, actor=SYSTEM, data=data)


def _rooms(session: Session, unit: OrgNode) -> list[Room]:
    existing = session.scalars(select(Room).where(Room.node_id == unit.id)).all()
    numbers = {r.number for r in existing}
    for number in ROOMS:
        if number not in numbers:
            data = RoomCreate(node_id=unit.id, number=number)
            rooms.add_room(session=session, actor=SYSTEM, data=data)
    return list(session.scalars(select(Room).where(Room.node_id == unit.id)))
