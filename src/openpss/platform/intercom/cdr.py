"""Call records (platform-video-intercom 4.1) from the platform SIP server's call detail records.

Each record is written when the call ends, with the device of the caller (or, when the caller
is not a device, of the device that answered, else of the callee) found through its
registration number. ``callee`` is the number dialled (a room number rings all its VTHs);
``answered_by`` the number that took the call (``9901#1``, a call group's VTS).
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.intercom.models import Registration
from openpss.platform.records.models import CallRecord as CallRecordRow
from openpss.protocols.sip.accounts import CallRecord

logger = logging.getLogger(__name__)


def store_call(session: Session, record: CallRecord) -> CallRecordRow:
    """Add one call detail record as a call record row (not committed)."""
    numbers = [n for n in (record.caller, record.answered_by, record.callee) if n]
    devices = dict(
        session.execute(
            select(Registration.number, Registration.device_id).where(
                Registration.number.in_(numbers)
            )
        ).all()
    )
    device_id = next((devices[n] for n in numbers if devices.get(n)), None)
    row = CallRecordRow(
        device_id=device_id,
        start_time=record.start,
        end_time=record.end,
        caller=record.caller[:64],
        callee=record.callee[:64],
        answered_by=record.answered_by[:64] if record.answered_by else None,
        status=record.end_state.value,
        duration_seconds=round(record.duration),
    )
    session.add(row)
    session.flush()
    return row


def save_call(session_factory: sessionmaker[Session], record: CallRecord) -> None:
    """Write a call record in its own transaction; a database error is logged, not raised."""
    try:
        with session_factory() as session:
            store_call(session, record)
            session.commit()
    except SQLAlchemyError as exc:
        logger.error("call record %s not stored: %s", record.call_id, exc)
