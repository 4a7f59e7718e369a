"""Unlock passwords per room (platform-video-intercom 2.3) and their sending status (2.1).

Setting, changing or re-sending a password queues one delivery per device of the room: the
room's VTH(s) (registration room) and the VTO(s) of the room's unit. ``delivery.py`` sends them
and retries failures with the authorization tasks' backoff.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform import crypto
from openpss.platform.db import utcnow
from openpss.platform.devices.models import Device
from openpss.platform.intercom.errors import IntercomError, NotFound
from openpss.platform.intercom.models import (
    EndpointKind,
    Registration,
    Room,
    SendStatus,
    UnlockPassword,
    UnlockPasswordSend,
)
from openpss.platform.intercom.rooms import get_room
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)

PURPOSE = "room unlock password"
# Typed after the 6-digit room on the VTO keypad (000011 + 888888, manual 2.3); digits only.
MIN_DIGITS, MAX_DIGITS = 4, 8


def check_password(password: str, confirm: str) -> None:
    """The manual's "enter and confirm password", with the keypad's digits-only rule."""
    if not password.isdigit() or not MIN_DIGITS <= len(password) <= MAX_DIGITS:
        raise IntercomError(
            f"the unlock password must be {MIN_DIGITS}-{MAX_DIGITS} digits "
            "(it is typed on the VTO keypad)"
        )
    if password != confirm:
        raise IntercomError("the password and its confirmation differ: enter the same twice")


def room_devices(session: Session, room: Room) -> list[int]:
    """The VTH(s) registered to the room and the VTO(s) of its unit."""
    query = select(Registration.device_id).where(
        Registration.device_id.is_not(None),
        ((Registration.kind == EndpointKind.vth) & (Registration.room_id == room.id))
        | ((Registration.kind == EndpointKind.vto) & (Registration.node_id == room.node_id)),
    )
    return sorted(d for d in session.scalars(query) if d is not None)


def queue_sends(session: Session, room: Room) -> int:
    """(Re)queue a delivery to every device of the room; returns how many."""
    devices = room_devices(session, room)
    existing = {
        s.device_id: s
        for s in session.scalars(
            select(UnlockPasswordSend).where(UnlockPasswordSend.room_id == room.id)
        )
    }
    now = utcnow()
    for device_id in devices:
        send = existing.pop(device_id, None) or UnlockPasswordSend(
            room_id=room.id, device_id=device_id
        )
        send.status, send.reason, send.attempts = SendStatus.pending, "", 0
        send.remove = False
        send.next_attempt_at, send.sent_at = now, None
        session.add(send)
    for stale in existing.values():  # the device left the room
        session.delete(stale)
    session.flush()
    return len(devices)


def set_password(
    *, session: Session, actor: Actor, secret_key: str, room_id: int, password: str, confirm: str
) -> UnlockPassword:
    """Add or change a room's unlock password and queue it to the room's devices."""
    room = get_room(session=session, room_id=room_id)
    check_password(password, confirm)
    row = session.scalars(select(UnlockPassword).where(UnlockPassword.room_id == room.id)).first()
    action = "change" if row is not None else "create"
    row = row or UnlockPassword(room_id=room.id)
    row.password_encrypted = crypto.encrypt_secret(secret_key, password, purpose=PURPOSE)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    queued = queue_sends(session, room)
    record_audit(
        session=session,
        actor=actor,
        action=f"intercom.unlock_password.{action}",
        target=f"intercom_room:{room.id}",
        detail={"devices": queued},
    )
    return row


def send_again(*, session: Session, actor: Actor, room_id: int) -> int:
    """The manual "send again": requeue the room's password to all its devices."""
    room = get_room(session=session, room_id=room_id)
    if (
        session.scalars(select(UnlockPassword).where(UnlockPassword.room_id == room.id)).first()
        is None
    ):
        raise NotFound(f"room {room.number} has no unlock password: add one first")
    queued = queue_sends(session, room)
    record_audit(
        session=session,
        actor=actor,
        action="intercom.unlock_password.send",
        target=f"intercom_room:{room.id}",
        detail={"devices": queued},
    )
    return queued


def delete_password(*, session: Session, actor: Actor, room_id: int) -> None:
    """Delete a room's unlock password (and its sending status)."""
    room = get_room(session=session, room_id=room_id)
    row = session.scalars(select(UnlockPassword).where(UnlockPassword.room_id == room.id)).first()
    if row is None:
        raise NotFound(f"room {room.number} has no unlock password")
    session.delete(row)
    _queue_removal(session, room)
    record_audit(
        session=session,
        actor=actor,
        action="intercom.unlock_password.delete",
        target=f"intercom_room:{room.id}",
    )


def _queue_removal(session: Session, room: Room) -> None:
    """The VTOs that got the password must forget it; a VTH has no removal to send."""
    vtos = set(
        session.scalars(
            select(Device.id).where(
                Device.id.in_(room_devices(session, room)), Device.kind == "vto"
            )
        )
    )
    now = utcnow()
    for send in session.scalars(
        select(UnlockPasswordSend).where(UnlockPasswordSend.room_id == room.id)
    ).all():
        if send.device_id not in vtos:
            session.delete(send)
            continue
        send.remove, send.status, send.reason, send.attempts = True, SendStatus.pending, "", 0
        send.next_attempt_at, send.sent_at = now, None
    session.flush()


def pending_removals(session: Session, room: Room) -> int:
    """How many VTOs still have to forget the room's deleted password."""
    query = select(UnlockPasswordSend.id).where(
        UnlockPasswordSend.room_id == room.id,
        UnlockPasswordSend.remove.is_(True),
        UnlockPasswordSend.status != SendStatus.sent,
    )
    return len(session.scalars(query).all())


def sending_status(*, session: Session, room_id: int) -> list[dict[str, object]]:
    """Per device: name, status, reason, attempts (the room's "Sending Status")."""
    query = (
        select(UnlockPasswordSend, Device.name)
        .join(Device, Device.id == UnlockPasswordSend.device_id)
        .where(UnlockPasswordSend.room_id == room_id)
        .order_by(Device.name)
    )
    return [
        {
            "device_id": send.device_id,
            "device_name": name,
            "status": send.status.value,
            "reason": send.reason,
            "attempts": send.attempts,
        }
        for send, name in session.execute(query)
    ]


def room_password(*, session: Session, secret_key: str, room_id: int) -> str:
    """The room's password in clear (for delivery only)."""
    row = session.scalars(select(UnlockPassword).where(UnlockPassword.room_id == room_id)).one()
    return crypto.decrypt_secret(secret_key, row.password_encrypted, purpose=PURPOSE)


def rooms_status(*, session: Session, room_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """For the building manager's room list: each room with a password and its sends."""
    if not room_ids:
        return {}
    with_password = session.scalars(
        select(UnlockPassword.room_id).where(UnlockPassword.room_id.in_(room_ids))
    )
    status: dict[int, list[dict[str, str]]] = {room_id: [] for room_id in with_password}
    query = (
        select(UnlockPasswordSend, Device.name)
        .join(Device, Device.id == UnlockPasswordSend.device_id)
        .where(UnlockPasswordSend.room_id.in_(room_ids))
        .order_by(Device.name)
    )
    for send, name in session.execute(query):
        status.setdefault(send.room_id, []).append(
            {"device": name, "status": send.status.value, "reason": send.reason}
        )
    return status
