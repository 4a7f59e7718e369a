"""Information release (platform-video-intercom 2.5): topics sent to VTOs/VTHs bound to the
platform at their start time or on "send"; delivery status per device; edit, delete, details.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openpss.platform.db import utcnow
from openpss.platform.devices.models import Device
from openpss.platform.intercom.errors import IntercomError, NotFound
from openpss.platform.intercom.models import (
    InformationDelivery,
    InformationRelease,
    Registration,
    SendStatus,
)
from openpss.platform.intercom.schemas import InformationCreate, InformationRead, SendingStatus
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)


def get_information(*, session: Session, information_id: int) -> InformationRelease:
    """One release, or NotFound."""
    row = session.get(InformationRelease, information_id)
    if row is None:
        raise NotFound(f"information release {information_id} does not exist")
    return row


def _check_devices(session: Session, device_ids: list[int]) -> list[int]:
    """Only VTOs/VTHs whose numbers are bound to the platform (2.5, Background)."""
    wanted = sorted(set(device_ids))
    bound = set(
        session.scalars(select(Registration.device_id).where(Registration.device_id.in_(wanted)))
    )
    missing = [d for d in wanted if d not in bound]
    if missing:
        query = select(Device.id, Device.name).where(Device.id.in_(missing))
        names = {row.id: row.name for row in session.execute(query)}
        shown = ", ".join(repr(names.get(d, f"#{d}")) for d in missing)
        raise IntercomError(
            f"device(s) {shown} have no registration number: only VTOs and VTHs bound to the "
            "platform (dial management) receive information releases"
        )
    return wanted


def _queue(
    session: Session, row: InformationRelease, device_ids: list[int], at: dt.datetime
) -> None:
    session.execute(delete(InformationDelivery).where(InformationDelivery.information_id == row.id))
    for device_id in device_ids:
        session.add(
            InformationDelivery(
                information_id=row.id,
                device_id=device_id,
                status=SendStatus.pending,
                next_attempt_at=at,
            )
        )
    session.flush()


def save_information(
    *, session: Session, actor: Actor, data: InformationCreate, information_id: int | None = None
) -> InformationRelease:
    """Add a release, or edit one (its deliveries start over); sent at the start time."""
    devices = _check_devices(session, data.device_ids)
    if data.start_time.tzinfo is None:
        raise IntercomError("give the start time with its zone (e.g. 2026-01-05T08:00:00+01:00)")
    if information_id is None:
        row = InformationRelease()
        session.add(row)
    else:
        row = get_information(session=session, information_id=information_id)
    row.subject, row.content, row.start_time = data.subject, data.content, data.start_time
    session.flush()
    _queue(session, row, devices, data.start_time)
    record_audit(
        session=session,
        actor=actor,
        action="intercom.information." + ("create" if information_id is None else "update"),
        target=f"intercom_information:{row.id}",
        detail={"subject": row.subject, "devices": devices},
    )
    return row


def send_now(*, session: Session, actor: Actor, information_id: int) -> int:
    """Send a release to all its devices now instead of at the start time."""
    row = get_information(session=session, information_id=information_id)
    deliveries = session.scalars(
        select(InformationDelivery).where(InformationDelivery.information_id == row.id)
    ).all()
    now = utcnow()
    for d in deliveries:
        d.status, d.reason, d.attempts, d.next_attempt_at = SendStatus.pending, "", 0, now
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.information.send",
        target=f"intercom_information:{row.id}",
    )
    return len(deliveries)


def delete_information(*, session: Session, actor: Actor, information_id: int) -> None:
    """Delete a release (pending deliveries are dropped)."""
    row = get_information(session=session, information_id=information_id)
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="intercom.information.delete",
        target=f"intercom_information:{information_id}",
        detail={"subject": row.subject},
    )


def information_read(session: Session, row: InformationRelease) -> InformationRead:
    """A release with its delivery status per device (the details)."""
    query = (
        select(InformationDelivery, Device.name)
        .join(Device, Device.id == InformationDelivery.device_id)
        .where(InformationDelivery.information_id == row.id)
        .order_by(Device.name)
    )
    deliveries = [
        SendingStatus(
            device_id=d.device_id,
            device_name=name,
            status=d.status.value,
            reason=d.reason,
            attempts=d.attempts,
        )
        for d, name in session.execute(query)
    ]
    return InformationRead(
        id=row.id,
        subject=row.subject,
        content=row.content,
        start_time=row.start_time,
        deliveries=deliveries,
    )


def list_information(*, session: Session) -> list[InformationRead]:
    """Every release, newest start time first."""
    rows = session.scalars(
        select(InformationRelease).order_by(InformationRelease.start_time.desc())
    )
    return [information_read(session, row) for row in rows]
