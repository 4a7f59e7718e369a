"""The call-group site: building 11 / unit 01 / room 11 with a VTO, two VTHs and a VTS."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, registrations, rooms
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import Actor

ACTOR = Actor("tester")
VTO, VTS, VTH_MASTER, VTH_EXTENSION = "11#01#8055", "101", "11#01#11#0", "11#01#11#1"
ROOM = "11"


def seed_site(session: Session, key: str) -> int:
    """Building 11 / unit 01 / room 11 with its VTO 8055 and two VTHs, and a VTS 101."""
    community = buildings.get_community(session=session)
    building = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
    )
    unit = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=building.id, number="1")
    )
    room = rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number=ROOM)
    )
    devices = {}
    for name, kind in (("gate", "vto"), ("hall", "vth"), ("kitchen", "vth")):
        device = Device(
            name=name, host="127.0.0.1", username="admin", password_encrypted="", kind=kind
        )
        session.add(device)
        session.flush()
        devices[name] = device.id
    for data in (
        RegistrationCreate(
            kind="vto",
            device_id=devices["gate"],
            node_id=unit.id,
            suffix="55",
            device_number="8055",
        ),
        RegistrationCreate(kind="vts", suffix="01", device_number=VTS),
        RegistrationCreate(kind="vth", device_id=devices["hall"], room_id=room.id, extension=0),
        RegistrationCreate(kind="vth", device_id=devices["kitchen"], room_id=room.id, extension=1),
    ):
        registrations.add_registration(session=session, actor=ACTOR, secret_key=key, data=data)
    return building.id
