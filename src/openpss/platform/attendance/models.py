"""Tables of the attendance domain: periods, shifts, assignments, exceptions, holidays, results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openpss.platform.db import Base, UTCDateTime, utcnow


class AttendancePeriod(Base):
    """An attendance period (manual 3.8): fixed, flexible or rest type."""

    __tablename__ = "attendance_period"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # fixed / flexible / rest
    color: Mapped[str] = mapped_column(String(16), default="blue")
    work_start: Mapped[int] = mapped_column(Integer, default=0)  # minutes after midnight
    work_end: Mapped[int] = mapped_column(Integer, default=0)
    record_as_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    checkin_start: Mapped[int] = mapped_column(Integer, default=0)
    checkout_end: Mapped[int] = mapped_column(Integer, default=0)
    first_last_only: Mapped[bool] = mapped_column(Boolean, default=True)
    late_permitted_minutes: Mapped[int] = mapped_column(Integer, default=0)
    late_absence_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    early_permitted_minutes: Mapped[int] = mapped_column(Integer, default=0)
    required_minutes: Mapped[int] = mapped_column(Integer, default=0)
    day_change_minute: Mapped[int] = mapped_column(Integer, default=0)
    overtime_beyond_required: Mapped[bool] = mapped_column(Boolean, default=False)
    rests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class AttendanceShift(Base):
    """A shift (manual 3.9): periods arranged on a cycle of days or weeks from a start date."""

    __tablename__ = "attendance_shift"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    cycle_mode: Mapped[str] = mapped_column(String(8), default="week")
    cycles: Mapped[int] = mapped_column(Integer, default=1)
    # {"0": [period id, ...], ...}: cycle day index -> periods in order
    arrangement: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)


class ShiftAssignment(Base):
    """A shift applied to one person or one department for a date range."""

    __tablename__ = "attendance_assignment"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (department_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_id: Mapped[int] = mapped_column(
        ForeignKey("attendance_shift.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True
    )
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), nullable=True, index=True
    )
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)

    shift: Mapped[AttendanceShift] = relationship()


class AttendanceException(Base):
    """Leave or business trip of a person: overrides the scheduled days it covers."""

    __tablename__ = "attendance_exception"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # leave / business_trip
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Holiday(Base):
    """A custom holiday (public holidays come from the `holidays` package by country)."""

    __tablename__ = "attendance_holiday"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(64))


class AttendanceSettings(Base):
    """Attendance-wide settings: local time zone and the country of public holidays."""

    __tablename__ = "attendance_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    holiday_country: Mapped[str] = mapped_column(String(8), default="")
    holiday_subdivision: Mapped[str] = mapped_column(String(16), default="")


class AttendanceResult(Base):
    """The computed attendance of one person on one day."""

    __tablename__ = "attendance_result"
    # The unique (person_id, day) index serves lookups by person: no index of person_id alone
    # (each index is written for every row of a month's computation, migration 0017).
    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    due_minutes: Mapped[int] = mapped_column(Integer, default=0)
    work_minutes: Mapped[int] = mapped_column(Integer, default=0)
    overtime_minutes: Mapped[int] = mapped_column(Integer, default=0)
    late_count: Mapped[int] = mapped_column(Integer, default=0)
    late_minutes: Mapped[int] = mapped_column(Integer, default=0)
    early_count: Mapped[int] = mapped_column(Integer, default=0)
    early_minutes: Mapped[int] = mapped_column(Integer, default=0)
    absence_days: Mapped[float] = mapped_column(Float, default=0.0)
    punches: Mapped[list[str]] = mapped_column(JSON, default=list)  # local "HH:MM:SS"
    detail: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
