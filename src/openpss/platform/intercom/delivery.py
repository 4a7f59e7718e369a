"""Sends rooms' unlock passwords (platform-video-intercom 2.1, 2.3) and information releases
(2.5, messageManager releaseInformation at the start time) to VTOs and VTHs.

A VTO holds the room as an access user (user ID = the room number without leading zeros, as
its keypad reads ``000011`` + password) with the password; a VTH gets it through
messageManager ``addUnlockPassword``. Failures are retried with the authorization tasks'
backoff (permissions/tasks.py: 30 s doubling up to one hour).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import FastAPI
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.crypto import SecretDecryptError
from openpss.platform.db import utcnow
from openpss.platform.devices.adapter import DahuaAdapter, UserPush, failure_reason
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password
from openpss.platform.errors import DomainError as DeviceError
from openpss.platform.intercom.models import (
    InformationDelivery,
    InformationRelease,
    Room,
    SendStatus,
    UnlockPasswordSend,
)
from openpss.platform.intercom.passwords import room_password
from openpss.platform.permissions.tasks import backoff
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

logger = logging.getLogger(__name__)

BATCH = 50  # deliveries per round
POLL_SECONDS = 2.0


def vto_user_id(room_number: str) -> str:
    """The VTO keypad strips the zero padding of the 6-digit room prefix (000011 -> 11)."""
    return room_number.lstrip("0") or "0"


async def _send(device: Device, login: str, room: str, password: str) -> str | None:
    """None when the device took the password, else the reason."""
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            if device.kind == "vto" and not password:
                user_id = vto_user_id(room)
                return (await adapter.remove_users([user_id]))[user_id]
            if device.kind == "vto":
                user = UserPush(
                    user_id=vto_user_id(room), name=f"Room {room}", password=password, replace=True
                )
                return (await adapter.push_users([user]))[user.user_id]
            await adapter.send_unlock_password(room=room, password=password)
    except DahuaError as exc:
        return failure_reason(exc)
    return None


def _due(session: Session, now: dt.datetime) -> list[UnlockPasswordSend]:
    query = (
        select(UnlockPasswordSend)
        .where(
            UnlockPasswordSend.status.in_((SendStatus.pending, SendStatus.failed)),
            or_(
                UnlockPasswordSend.next_attempt_at.is_(None),
                UnlockPasswordSend.next_attempt_at <= now,
            ),
        )
        .order_by(UnlockPasswordSend.id)
        .limit(BATCH)
    )
    return list(session.scalars(query))


async def deliver_due(
    *, session: Session, settings: Settings, now: dt.datetime | None = None
) -> int:
    """Send every due delivery once; returns how many were tried."""
    now = now or utcnow()
    sends = _due(session, now)
    for send in sends:
        device = session.get(Device, send.device_id)
        room = session.get(Room, send.room_id)
        assert device is not None and room is not None  # both cascade-delete the row
        try:
            password = ""  # a deleted password: the VTO removes the room's access user
            if not send.remove:
                key = settings.secret_key
                password = room_password(session=session, secret_key=key, room_id=room.id)
            login = device_password(settings=settings, device=device)
        except (DeviceError, SecretDecryptError) as exc:
            reason: str | None = str(exc)
        else:
            reason = await _send(device, login, room.number, password)
        _mark(send, reason, now)
        session.commit()
    return len(sends)


async def deliver_information_due(
    *, session: Session, settings: Settings, now: dt.datetime | None = None
) -> int:
    """Send every due information release delivery once; returns how many were tried."""
    now = now or utcnow()
    query = (
        select(InformationDelivery)
        .where(
            InformationDelivery.status.in_((SendStatus.pending, SendStatus.failed)),
            InformationDelivery.next_attempt_at <= now,
        )
        .order_by(InformationDelivery.id)
        .limit(BATCH)
    )
    deliveries = list(session.scalars(query))
    for delivery in deliveries:
        device = session.get(Device, delivery.device_id)
        info = session.get(InformationRelease, delivery.information_id)
        assert device is not None and info is not None  # both cascade-delete the row
        reason: str | None
        try:
            login = device_password(settings=settings, device=device)
        except (DeviceError, SecretDecryptError) as exc:
            reason = str(exc)
        else:
            reason = await _release(device, login, info)
        _mark(delivery, reason, now)
        session.commit()
    return len(deliveries)


async def _release(device: Device, login: str, info: InformationRelease) -> str | None:
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            await adapter.release_information(
                subject=info.subject, content=info.content, start_time=info.start_time
            )
    except DahuaError as exc:
        return failure_reason(exc)
    return None


def _mark(
    send: UnlockPasswordSend | InformationDelivery, reason: str | None, now: dt.datetime
) -> None:
    send.attempts += 1
    if reason is None:
        send.status, send.reason, send.sent_at, send.next_attempt_at = (
            SendStatus.sent,
            "",
            now,
            None,
        )
        return
    send.status, send.reason = SendStatus.failed, reason[:255]
    send.next_attempt_at = now + backoff(send.attempts)
    logger.info("delivery to device %s failed: %s", send.device_id, reason)


async def run(app: FastAPI) -> None:
    """Background service: deliver due unlock passwords and releases every few seconds."""
    factory: sessionmaker[Session] = app.state.session_factory
    settings: Settings = app.state.settings
    while True:
        try:
            with factory() as session:
                await deliver_due(session=session, settings=settings)
                await deliver_information_due(session=session, settings=settings)
        except Exception:  # a database hiccup must not stop deliveries for good
            logger.exception("delivery round failed")
        await asyncio.sleep(POLL_SECONDS)
