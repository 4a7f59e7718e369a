"""An intercom site in the database: buildings, units, a room, VTO/VTH devices, registrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy.orm import Session

from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, configure, registrations, rooms
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import Actor
from openpss.platform.settings import Settings
from openpss.protocols.sip.server import SipServer
from tests.support.ports import free_port

ACTOR = Actor("tester")
KEY = "test-secret-key-0123456789"


@dataclass
class Site:
    """Building 11 unit 01 (VTO gate, VTHs of room 11 at extensions 0 and 5), building 12 unit
    01 (VTO gate12), an unregistered VTO and an access controller (not an intercom device)."""

    community: int
    building11: int
    unit11: int
    unit12: int
    gate: int
    flat_a: int
    flat_b: int
    gate12: int
    spare: int
    turnstile: int


def seed_device(
    session: Session, name: str, kind: str, *, online: bool = False, doors: int = 1
) -> int:
    device = Device(
        name=name,
        host="127.0.0.1",
        port=free_port(),  # nothing listens: a command to it fails as "offline"
        username="admin",
        password_encrypted="",
        kind=kind,
        online=online,
        door_count=doors,
    )
    session.add(device)
    session.flush()
    return device.id


def seed_registration(session: Session, **fields: object) -> str:
    data = RegistrationCreate.model_validate(fields)
    row = registrations.add_registration(session=session, actor=ACTOR, secret_key=KEY, data=data)
    return row.number


def add_node(session: Session, parent: int, number: str) -> int:
    """A building (under the community) or unit (under a building); its id."""
    data = NodeCreate(parent_id=parent, number=number)
    return buildings.add_node(session=session, actor=ACTOR, data=data).id


def build_site(session: Session) -> Site:
    community = buildings.get_community(session=session).id

    b11, b12 = add_node(session, community, "11"), add_node(session, community, "12")
    u11, u12 = add_node(session, b11, "1"), add_node(session, b12, "1")
    room = rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=u11, number="11"))
    site = Site(
        community=community, building11=b11, unit11=u11, unit12=u12,
        gate=seed_device(session, "gate", "vto", online=True, doors=2),
        flat_a=seed_device(session, "flat-a", "vth"),
        flat_b=seed_device(session, "flat-b", "vth"),
        gate12=seed_device(session, "gate12", "vto"),
        spare=seed_device(session, "spare", "vto"),
        turnstile=seed_device(session, "turnstile", "access", online=True),
    )  # fmt: skip
    seed_registration(session, kind="vto", device_id=site.gate, node_id=u11, suffix="55",
              device_number="8055")  # fmt: skip
    seed_registration(session, kind="vth", device_id=site.flat_a, room_id=room.id, extension=0)
    seed_registration(session, kind="vth", device_id=site.flat_b, room_id=room.id, extension=5)
    seed_registration(session, kind="vto", device_id=site.gate12, node_id=u12, suffix="01",
              device_number="8001")  # fmt: skip
    session.flush()
    return site


class _Invalidating(Protocol):
    def invalidate(self) -> None: ...


async def configure_live_unit(
    session: Session,
    settings: Settings,
    server: SipServer,
    *,
    name: str,
    kind: str,
    port: int,
    password: str,
    **registration: object,
) -> tuple[int, str]:
    """A running virtual unit (HTTP on ``port``) registered in building 11 unit 1 (a VTH in its
    room 11) and configured by the platform to register with ``server``, as the console's
    "configure device" does. ``registration`` holds the rest of RegistrationCreate (suffix,
    device_number, extension). Returns (device id, registration number)."""
    community = buildings.get_community(session=session).id
    unit = add_node(session, add_node(session, community, "11"), "1")
    if kind == "vth":
        data = RoomCreate(node_id=unit, number="11")
        registration["room_id"] = rooms.add_room(session=session, actor=ACTOR, data=data).id
    else:
        registration["node_id"] = unit
    device = Device(
        name=name,
        host="127.0.0.1",
        port=port,
        username="admin",
        password_encrypted=encrypt_secret(settings, password),
        kind=kind,
    )
    session.add(device)
    session.flush()
    fields = {"kind": kind, "device_id": device.id, **registration}
    row = registrations.add_registration(
        session=session,
        actor=ACTOR,
        secret_key=settings.secret_key,
        data=RegistrationCreate.model_validate(fields),
    )
    session.commit()
    cast(_Invalidating, server.accounts).invalidate()  # the platform's caching accounts
    await configure.configure_device(
        session=session,
        settings=settings,
        actor=ACTOR,
        registration_id=row.id,
        server=("127.0.0.1", server.port),
    )
    session.commit()
    return device.id, row.number
