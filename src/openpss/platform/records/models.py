"""Access (punch), call and alarm records received from devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openpss.platform.db import Base, UTCDateTime, utcnow


class AccessRecord(Base):
    """One access or attendance punch; (device, record number) identifies it, so re-pulls dedupe."""

    __tablename__ = "access_record"
    __table_args__ = (
        UniqueConstraint("device_id", "record_no"),
        # Search by device, newest first (benchmarks/records.py; migration 0013).
        Index("ix_access_record_device_time", "device_id", "event_time", "id"),
        # Search by result (granted / refused), newest first (migration 0016).
        Index("ix_access_record_success_time", "success", "event_time", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="SET NULL"), nullable=True, index=True
    )
    record_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[str] = mapped_column(String(32), default="", index=True)
    card_no: Mapped[str] = mapped_column(String(32), default="")
    method: Mapped[str] = mapped_column(String(32), default="")
    attendance_state: Mapped[str] = mapped_column(String(32), default="")
    success: Mapped[bool] = mapped_column(default=True)
    # Why a refused attempt failed (unknown card, outside validity, method not allowed, ...).
    reason: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="device")  # device / manual
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallRecord(Base):
    """One intercom call (door station to indoor monitor, monitor to centre, ...)."""

    __tablename__ = "call_record"
    __table_args__ = (
        # Search by device, newest first (benchmarks/records.py; migration 0013).
        Index("ix_call_record_device_time", "device_id", "start_time", "id"),
        # Search by status, newest first (migration 0016).
        Index("ix_call_record_status_time", "status", "start_time", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="SET NULL"), nullable=True, index=True
    )
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    end_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    caller: Mapped[str] = mapped_column(String(64), default="")
    callee: Mapped[str] = mapped_column(String(64), default="")
    # answered / missed / rejected / busy / failed (protocols/sip/accounts.py EndState)
    status: Mapped[str] = mapped_column(String(16), default="")
    # Who took the call: a console user name, or the number of the device that answered
    # (a VTH extension of a room call, a VTS of a call group); None when nobody answered.
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    duration_seconds: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlarmRecord(Base):
    """One alarm event from a device (tamper, door held open, alarm input, duress card, ...).

    An alarm raised by an access record (a terminal's duress card) carries that record's number
    (`record_no`); an alarm of a door station's own alarm log carries that log's number
    (`alarm_no`: the two logs number independently). Either key is unique per device, so the
    record pulls and the event stream delivering the same alarm make one row.
    """

    __tablename__ = "alarm_record"
    __table_args__ = (
        UniqueConstraint("device_id", "record_no"),
        UniqueConstraint("device_id", "alarm_no", name="uq_alarm_record_device_alarm_no"),
        # Search by device, newest first (benchmarks/records.py; migration 0013).
        Index("ix_alarm_record_device_time", "device_id", "event_time", "id"),
        # Search by alarm type, newest first (migration 0016).
        Index("ix_alarm_record_type_time", "alarm_type", "event_time", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="SET NULL"), nullable=True, index=True
    )
    record_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # RecNo in the device's alarm log (recordFinder AlarmRecord of a door station).
    alarm_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    alarm_type: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(String(255), default="")
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
