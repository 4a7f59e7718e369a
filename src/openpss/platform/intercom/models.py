"""Intercom configuration: the organization (community > building > unit > room)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openpss.platform.db import Base, UTCDateTime, utcnow


class Level(enum.StrEnum):
    """Organization levels (platform-video-intercom 2.1); rooms hang under the lowest one."""

    community = "community"
    building = "building"
    unit = "unit"


class OrganizationLevels(Base):
    """The level setting: whether buildings and units exist (SmartPSS Lite basic settings).

    One row. A unit level needs the building level, as on the door station ("Support Building"
    before "Support Unit", door-station manual 5.x).
    """

    __tablename__ = "intercom_levels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    use_building: Mapped[bool] = mapped_column(Boolean, default=True)
    use_unit: Mapped[bool] = mapped_column(Boolean, default=True)


class OrgNode(Base):
    """The community (the root), a building under it, or a unit under a building."""

    __tablename__ = "intercom_node"
    __table_args__ = (UniqueConstraint("parent_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("intercom_node.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    level: Mapped[Level] = mapped_column(Enum(Level, native_enum=False, length=16))
    number: Mapped[str] = mapped_column(String(8), default="")
    name: Mapped[str] = mapped_column(String(64))


class Room(Base):
    """A room (number + name) under the lowest organization level."""

    __tablename__ = "intercom_room"
    __table_args__ = (UniqueConstraint("node_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_node.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64), default="")


class EndpointKind(enum.StrEnum):
    """What a registration number is for (platform-video-intercom 2.2)."""

    vth = "vth"
    vto = "vto"
    vts = "vts"


class Registration(Base):
    """A registration number of a VTH, VTO or VTS: its SIP account on the platform's server.

    The SIP password is stored encrypted (platform/crypto.py): the platform gives it to the
    device when configuring it, so it cannot be a hash.
    """

    __tablename__ = "intercom_registration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[EndpointKind] = mapped_column(Enum(EndpointKind, native_enum=False, length=8))
    # The device in the registry (VTO/VTH); None for a VTS, which the registry does not hold.
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    node_id: Mapped[int | None] = mapped_column(
        ForeignKey("intercom_node.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("intercom_room.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    extension: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_number: Mapped[str] = mapped_column(String(16), default="")  # VTO/VTS number
    name: Mapped[str] = mapped_column(String(64), default="")
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 11#01#11#5, 11#01#8055
    sip_password_encrypted: Mapped[str] = mapped_column(String(255))


class SendStatus(enum.StrEnum):
    """Sending status of a room's unlock password to one device (platform-video-intercom 2.1)."""

    pending = "pending"
    sent = "sent"
    failed = "failed"


class Delivery:
    """How far the delivery of something to one device got; retried with backoff."""

    status: Mapped[SendStatus] = mapped_column(
        Enum(SendStatus, native_enum=False, length=16), default=SendStatus.pending, index=True
    )
    reason: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UnlockPassword(Base):
    """A room's unlock password (2.3), encrypted: the platform sends it to the devices in clear."""

    __tablename__ = "intercom_unlock_password"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_room.id", ondelete="RESTRICT"), unique=True
    )
    password_encrypted: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnlockPasswordSend(Delivery, Base):
    """Delivery of a room's unlock password to one VTO or VTH, retried with backoff."""

    __tablename__ = "intercom_unlock_send"
    __table_args__ = (UniqueConstraint("room_id", "device_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_room.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    # True once the password was deleted: the VTO must forget it (the room's access user).
    remove: Mapped[bool] = mapped_column(Boolean, default=False)


class MemberKind(enum.StrEnum):
    """Who a call group rings (platform-video-intercom 2.4)."""

    client = "client"  # a manager client: a console account answering in the browser
    vts = "vts"


class CallGroup(Base):
    """A call group of a building: calls from its devices to the centre ring its members."""

    __tablename__ = "intercom_call_group"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    building_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_node.id", ondelete="RESTRICT"), index=True
    )


class CallGroupMember(Base):
    """A manager client or VTS in a call group; lower priority numbers ring first."""

    __tablename__ = "intercom_call_group_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_call_group.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[MemberKind] = mapped_column(Enum(MemberKind, native_enum=False, length=8))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), nullable=True
    )
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("intercom_registration.id", ondelete="CASCADE"), nullable=True
    )
    priority: Mapped[int] = mapped_column(Integer)


class InformationRelease(Base):
    """A topic released to VTOs/VTHs (platform-video-intercom 2.5), sent at its start time."""

    __tablename__ = "intercom_information"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(String(2000), default="")
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class InformationDelivery(Delivery, Base):
    """Delivery of a release to one device, retried with backoff like unlock passwords."""

    __tablename__ = "intercom_information_delivery"
    __table_args__ = (UniqueConstraint("information_id", "device_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    information_id: Mapped[int] = mapped_column(
        ForeignKey("intercom_information.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
