"""Time templates, permission groups and authorization tasks."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openpss.platform.db import Base, UTCDateTime, utcnow

ALL_DAY_TEMPLATE = "All day"


class TimeTemplate(Base):
    """Weekly time segments (index 0 = Monday; each day a list of ["HH:MM", "HH:MM"])."""

    __tablename__ = "time_template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    remark: Mapped[str] = mapped_column(String(255), default="")
    weekly: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    holidays: Mapped[list[TimeTemplateHoliday]] = relationship(
        back_populates="template",
        cascade="all, delete-orphan",
        order_by="TimeTemplateHoliday.day",
    )


class TimeTemplateHoliday(Base):
    """A holiday exception: its own segments on that date, or closed when there are none."""

    __tablename__ = "time_template_holiday"
    __table_args__ = (UniqueConstraint("template_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("time_template.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(64), default="")
    segments: Mapped[list[Any]] = mapped_column(JSON)

    template: Mapped[TimeTemplate] = relationship(back_populates="holidays")


class PermissionGroup(Base):
    """Who may pass which doors, when, and how they verify (platform manual 1.10)."""

    __tablename__ = "permission_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    remark: Mapped[str] = mapped_column(String(255), default="")
    time_template_id: Mapped[int] = mapped_column(
        ForeignKey("time_template.id", ondelete="RESTRICT"), index=True
    )
    verification_methods: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    time_template: Mapped[TimeTemplate] = relationship()
    doors: Mapped[list[PermissionGroupDoor]] = relationship(
        cascade="all, delete-orphan",
        order_by="[PermissionGroupDoor.device_id, PermissionGroupDoor.door]",
    )


class PermissionGroupDoor(Base):
    """A door (device + 1-based door number) covered by a permission group."""

    __tablename__ = "permission_group_door"
    __table_args__ = (UniqueConstraint("group_id", "device_id", "door"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("permission_group.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    door: Mapped[int] = mapped_column(Integer, default=1)


class PermissionGroupPerson(Base):
    """A person assigned to a permission group directly."""

    __tablename__ = "permission_group_person"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("permission_group.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)


class PermissionGroupDepartment(Base):
    """A department assigned to a group: covers its persons and those of its sub-departments."""

    __tablename__ = "permission_group_department"
    __table_args__ = (UniqueConstraint("group_id", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("permission_group.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), index=True
    )


class TaskStatus(enum.StrEnum):
    """Authorization progress of one (person, device) pair."""

    pending = "pending"
    success = "success"
    failed = "failed"


class TaskAction(enum.StrEnum):
    """What the device must do: hold the person (push) or drop them (remove)."""

    push = "push"
    remove = "remove"


class AuthorizationTask(Base):
    """The state of one (person, device) authorization; user_id survives the person's deletion."""

    __tablename__ = "authorization_task"
    __table_args__ = (UniqueConstraint("device_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), nullable=True, index=True
    )
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    action: Mapped[TaskAction] = mapped_column(
        Enum(TaskAction, native_enum=False, length=16), default=TaskAction.push
    )
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=16), default=TaskStatus.pending, index=True
    )
    failure_reason: Mapped[str] = mapped_column(String(255), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The device has held this person at least once (a re-push replaces their credentials).
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
