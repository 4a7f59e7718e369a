"""Dial management (platform-video-intercom 2.2): registration numbers = SIP accounts.

VTH: building#unit#room[#extension] (``11#01#11#5``); VTO: building#unit#VTO number
(``11#01#8055``, the 2-digit number typed must equal the VTO number's last two digits); VTS: its
number (the same 2-digit rule). Each registration is an account of the platform's SIP server.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from openpss.platform import crypto
from openpss.platform.devices.models import Device
from openpss.platform.intercom.buildings import CODE_SEPARATOR, describe, get_node, lowest_level
from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.models import EndpointKind, OrgNode, Registration, Room
from openpss.platform.intercom.rooms import (
    get_room,
    node_code,
    node_numbers,
    nodes_below,
    organization_code,
)
from openpss.platform.intercom.schemas import (
    RegistrationCreate,
    RegistrationQuery,
    RegistrationRead,
)
from openpss.platform.listing import Page, paginate
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)

PURPOSE = "intercom SIP password"
SIP_PASSWORD_BYTES = 12  # 16 URL-safe characters


def get_registration(*, session: Session, registration_id: int) -> Registration:
    """One registration, or NotFound."""
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(f"registration {registration_id} does not exist")
    return registration


def _device(session: Session, device_id: int | None, kind: EndpointKind) -> Device:
    if device_id is None:
        raise IntercomError(f"select the {kind.value.upper()} from the device list (device_id)")
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} does not exist")
    if device.kind != kind.value:
        raise IntercomError(f"device {device.name!r} is a {device.kind} device, not a {kind.value}")
    taken = session.scalars(select(Registration).where(Registration.device_id == device.id)).first()
    if taken is not None:
        raise Conflict(f"device {device.name!r} already has registration number {taken.number}")
    return device


def _vth_number(session: Session, data: RegistrationCreate) -> tuple[str, Room]:
    if data.room_id is None:
        raise IntercomError("select the VTH's room (room_id)")
    room = get_room(session=session, room_id=data.room_id)
    siblings = session.scalars(select(Registration).where(Registration.room_id == room.id)).all()
    if siblings and (data.extension is None or any(s.extension is None for s in siblings)):
        raise Conflict(
            f"room {room.number} already has a VTH ({siblings[0].number}): with several VTHs "
            "in a room give each an extension number (0 for the master VTH)"
        )
    code = organization_code(node_numbers(session), room)
    if data.extension is not None:
        code += f"{CODE_SEPARATOR}{data.extension}"
    return code, room


def _check_suffix(kind: EndpointKind, suffix: str | None, device_number: str | None) -> str:
    if not device_number:
        raise IntercomError(f"the {kind.value.upper()} number is needed (device_number)")
    if suffix is None:
        raise IntercomError("enter the 2-digit number (suffix)")
    if device_number[-2:] != suffix:
        raise IntercomError(
            f"the 2-digit number must be the last two digits of the {kind.value.upper()} "
            f"number {device_number}: {device_number[-2:]}, not {suffix}"
        )
    return device_number


def _vto_number(session: Session, data: RegistrationCreate) -> tuple[str, OrgNode]:
    if data.node_id is None:
        raise IntercomError("select the VTO's unit (node_id)")
    node = get_node(session=session, node_id=data.node_id)
    if node.level is not lowest_level(session=session):
        raise IntercomError(f"a VTO is registered under a unit; {describe(node)} is not one")
    number = _check_suffix(EndpointKind.vto, data.suffix, data.device_number)
    parts = node_code(node_numbers(session), node.id)
    return CODE_SEPARATOR.join([*parts, number]), node


def add_registration(
    *, session: Session, actor: Actor, secret_key: str, data: RegistrationCreate
) -> Registration:
    """Give a VTH, VTO or VTS its registration number (a new SIP account)."""
    row = Registration(kind=data.kind, extension=None, device_number=data.device_number or "")
    if data.kind is EndpointKind.vth:
        row.device_id = _device(session, data.device_id, data.kind).id
        row.number, room = _vth_number(session, data)
        row.room_id, row.node_id, row.extension = room.id, room.node_id, data.extension
    elif data.kind is EndpointKind.vto:
        row.device_id = _device(session, data.device_id, data.kind).id
        row.number, node = _vto_number(session, data)
        row.node_id = node.id
    else:
        row.number = _check_suffix(data.kind, data.suffix, data.device_number)
        row.name = data.name or f"VTS {row.number}"
    clash = session.scalars(select(Registration).where(Registration.number == row.number)).first()
    if clash is not None:
        raise Conflict(f"registration number {row.number} is already in use")
    password = secrets.token_urlsafe(SIP_PASSWORD_BYTES)
    row.sip_password_encrypted = crypto.encrypt_secret(secret_key, password, purpose=PURPOSE)
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.registration.{row.kind.value}.create",
        target=f"intercom_registration:{row.id}",
        detail={"number": row.number, "device_id": row.device_id},
    )
    return row


def delete_registration(*, session: Session, actor: Actor, registration_id: int) -> None:
    """Remove a registration number (its SIP account goes with it)."""
    row = get_registration(session=session, registration_id=registration_id)
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.registration.{row.kind.value}.delete",
        target=f"intercom_registration:{registration_id}",
        detail={"number": row.number},
    )


def sip_password(*, secret_key: str, registration: Registration) -> str:
    """The registration's SIP password in clear (to configure the device)."""
    return crypto.decrypt_secret(secret_key, registration.sip_password_encrypted, purpose=PURPOSE)


def sip_accounts(*, session: Session, secret_key: str) -> dict[str, str]:
    """Every registration number with its SIP password (the SIP server's accounts)."""
    accounts: dict[str, str] = {}
    for number, token in session.execute(
        select(Registration.number, Registration.sip_password_encrypted)
    ):
        try:
            accounts[number] = crypto.decrypt_secret(secret_key, token, purpose=PURPOSE)
        except crypto.SecretDecryptError as exc:
            logger.warning("SIP account %s left out: %s", number, exc)
    return accounts


def list_registrations(
    *, session: Session, query: RegistrationQuery, online: set[str] | None = None
) -> Page[RegistrationRead]:
    """Registrations (of one kind), by number, with device names and online state."""
    statement = select(Registration, Device.name).outerjoin(
        Device, Device.id == Registration.device_id
    )
    if query.kind is not None:
        statement = statement.where(Registration.kind == query.kind)
    order = (Registration.number, Registration.id)
    rows = cast("Select[Any]", statement)  # two columns: paged as rows
    page = paginate(session, rows, query, order=order, scalars=False)
    items = [_read(row, name or row.name, online or set()) for row, name in page.items]
    return Page(page.total, items, query)


def registration_read(
    session: Session, row: Registration, online: set[str] | None = None
) -> RegistrationRead:
    """One registration for the API."""
    device = session.get(Device, row.device_id) if row.device_id else None
    return _read(row, device.name if device else row.name, online or set())


def _read(row: Registration, device_name: str, online: set[str]) -> RegistrationRead:
    return RegistrationRead(
        id=row.id,
        kind=row.kind,
        number=row.number,
        device_id=row.device_id,
        device_name=device_name,
        room_id=row.room_id,
        node_id=row.node_id,
        extension=row.extension,
        device_number=row.device_number,
        online=row.number in online,
    )


def devices_under(
    *, session: Session, node_id: int | None = None, room_id: int | None = None
) -> set[int]:
    """The registry devices registered on an organization node or below it, and/or in a room.

    A VTO is registered on its building or unit, a VTH in its room (dial management): a node
    selects the door stations of its subtree and the monitors of the rooms under it (intercom
    records "select the device in the organization tree", platform-video-intercom 4).
    """
    found: set[int] | None = None
    if node_id is not None:
        numbers = node_numbers(session)
        if node_id not in numbers:
            raise NotFound(f"organization node {node_id} does not exist")
        nodes = nodes_below(numbers, node_id)
        rooms = select(Room.id).where(Room.node_id.in_(nodes))
        query = select(Registration.device_id).where(
            Registration.device_id.is_not(None),
            (Registration.node_id.in_(nodes)) | (Registration.room_id.in_(rooms)),
        )
        found = {d for d in session.scalars(query) if d is not None}
    if room_id is not None:
        get_room(session=session, room_id=room_id)
        query = select(Registration.device_id).where(
            Registration.device_id.is_not(None), Registration.room_id == room_id
        )
        in_room = {d for d in session.scalars(query) if d is not None}
        found = in_room if found is None else found & in_room
    return found if found is not None else set()
