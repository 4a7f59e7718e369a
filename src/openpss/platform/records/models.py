"""Access (punch), call and alarm records received from devices."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openpss.platform.db import Base, UTCDateTime, utcnow


class AccessRecord(Base):
    """One access or attendance punch; (device, record number) identifies it, so re-pulls dedupe."""

    __tablename__ = "access_record"
    __table_args__ = (UniqueConstraint("device_id", "record_no"),)

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
    source: Mapped[str] = mapped_column(String(16), default="device")  # device / manual
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
