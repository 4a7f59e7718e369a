"""The device registry (device manager)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openpss.platform.db import Base, UTCDateTime, utcnow

DEFAULT_PORT = 37777  # attendance manual 3.4: "the port number is 37777 by default"


class Device(Base):
    """A managed device; its password is stored encrypted because the platform logs in with it."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(255))  # IP or domain
    port: Mapped[int] = mapped_column(Integer, default=DEFAULT_PORT)
    username: Mapped[str] = mapped_column(String(64))
    # Fernet token (devices/crypto.py); "" while the password is not set (e.g. after an import).
    password_encrypted: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), default="access")
    door_count: Mapped[int] = mapped_column(Integer, default=1)
    remark: Mapped[str] = mapped_column(String(255), default="")
    device_type: Mapped[str] = mapped_column(String(64), default="")
    serial: Mapped[str] = mapped_column(String(64), default="")
    firmware: Mapped[str] = mapped_column(String(128), default="")
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_checked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(String(255), default="")
    # Highest access-record number already pulled (recordFinder is queried from here on).
    last_record_no: Mapped[int] = mapped_column(Integer, default=0)
    # Highest alarm-log number already pulled (a door station's recordFinder AlarmRecord).
    last_alarm_no: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def password_set(self) -> bool:
        """True when a password is stored."""
        return bool(self.password_encrypted)
