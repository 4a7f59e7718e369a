"""Unlock-password test seeding: a room, a device with its encrypted password, a registration."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, registrations, rooms
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import Actor
from openpss.platform.settings import Settings

ACTOR = Actor("tester")


def seed_device(
    session: Session, settings: Settings, name: str, kind: str, url: str, pw: str
) -> Device:
    device = Device(
        name=name,
        host="127.0.0.1",
        port=int(url.rsplit(":", 1)[1]),
        username="admin",
        password_encrypted=encrypt_secret(settings, pw),
        kind=kind,
    )
    session.add(device)
    session.flush()
    return device


def seed_room(session: Session) -> tuple[int, int]:
    community = buildings.get_community(session=session)
    b = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
    )
    u = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=b.id, number="1")
    )
    room = rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=u.id, number="11"))
    return u.id, room.id


def seed_registration(session: Session, settings: Settings, **fields: object) -> None:
    registrations.add_registration(
        session=session,
        actor=ACTOR,
        secret_key=settings.secret_key,
        data=RegistrationCreate.model_validate(fields),
    )
