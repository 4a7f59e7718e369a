"""Tables of the vision domain: the cameras the viewer knows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openpss.platform.db import Base, UTCDateTime, utcnow

GVCP_PORT = 3956  # GigE Vision 2.0: GVCP listens on UDP 3956


class Camera(Base):
    """A GigE Vision camera added by discovery or by IP address."""

    __tablename__ = "vision_camera"
    __table_args__ = (UniqueConstraint("address", "port"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(45))  # IPv4 address of the GVCP endpoint
    port: Mapped[int] = mapped_column(Integer, default=GVCP_PORT)
    manufacturer: Mapped[str] = mapped_column(String(32), default="")
    model_name: Mapped[str] = mapped_column(String(32), default="")
    serial: Mapped[str] = mapped_column(String(16), default="")
    user_name: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
