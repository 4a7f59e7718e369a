"""Pydantic schemas of time templates, permission groups and authorization tasks."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from openpss.platform.fields import DbId
from openpss.platform.listing import ListQuery
from openpss.platform.permissions.models import TaskAction, TaskStatus
from openpss.platform.permissions.timespec import MAX_SEGMENTS_PER_DAY, check_day

VerificationMethod = Literal["card", "fingerprint", "password", "face"]
VERIFICATION_METHODS: tuple[str, ...] = ("card", "fingerprint", "password", "face")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Segment = tuple[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class HolidayIn(_Strict):
    """A date with its own segments; no segments means closed all that day."""

    day: dt.date
    name: str = Field("", max_length=64)
    segments: list[Segment] = Field(default_factory=list, max_length=MAX_SEGMENTS_PER_DAY)

    @model_validator(mode="after")
    def _check(self) -> HolidayIn:
        self.segments = check_day(self.segments, f"holiday {self.day.isoformat()}")
        return self


def _check_weekly(weekly: list[list[Segment]]) -> list[list[Segment]]:
    if len(weekly) != 7:
        raise ValueError(f"weekly needs 7 days (Monday first), got {len(weekly)}")
    return [check_day(day, DAY_NAMES[i]) for i, day in enumerate(weekly)]


def _check_holidays(holidays: list[HolidayIn]) -> list[HolidayIn]:
    days = [h.day for h in holidays]
    repeated = sorted({d.isoformat() for d in days if days.count(d) > 1})
    if repeated:
        raise ValueError("holiday date(s) given twice: " + ", ".join(repeated))
    return holidays


class TimeTemplateCreate(_Strict):
    """A weekly time template: up to 4 segments per day, plus holiday exceptions."""

    name: str = Field(min_length=1, max_length=64)
    remark: str = Field("", max_length=255)
    weekly: list[list[Segment]] = Field(description="7 days, Monday first; [start, end] HH:MM")
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=366)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: list[list[Segment]]) -> list[list[Segment]]:
        return _check_weekly(value)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[HolidayIn]) -> list[HolidayIn]:
        return _check_holidays(value)


class TimeTemplateUpdate(_Strict):
    """Fields to change on a time template."""

    name: str | None = Field(None, min_length=1, max_length=64)
    remark: str | None = Field(None, max_length=255)
    weekly: list[list[Segment]] | None = None
    holidays: list[HolidayIn] | None = Field(None, max_length=366)

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: list[list[Segment]] | None) -> list[list[Segment]] | None:
        return None if value is None else _check_weekly(value)

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: list[HolidayIn] | None) -> list[HolidayIn] | None:
        return None if value is None else _check_holidays(value)


class HolidayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    name: str
    segments: list[Segment]


class TimeTemplateRead(BaseModel):
    """A time template as stored."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    remark: str
    weekly: list[list[Segment]]
    holidays: list[HolidayRead]


class DoorRef(_Strict):
    """A door of a device (doors are numbered from 1)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    device_id: DbId
    door: int = Field(1, ge=1, le=8)


def _unique_methods(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError(
            "select at least one verification method (card, fingerprint, password, face)"
        )
    return [m for m in VERIFICATION_METHODS if m in value]


class PermissionGroupCreate(_Strict):
    """A permission group (platform manual 1.10.1); the "All day" template when none is given."""

    name: str = Field(min_length=1, max_length=64)
    remark: str = Field("", max_length=255)
    time_template_id: DbId | None = None
    verification_methods: list[VerificationMethod] = Field(min_length=1)
    doors: list[DoorRef] = Field(default_factory=list)
    person_ids: list[DbId] = Field(default_factory=list)
    department_ids: list[DbId] = Field(default_factory=list)

    @field_validator("verification_methods")
    @classmethod
    def _methods(cls, value: list[str] | None) -> list[str] | None:
        return _unique_methods(value)


class PermissionGroupUpdate(_Strict):
    """Fields to change; lists replace the stored ones."""

    name: str | None = Field(None, min_length=1, max_length=64)
    remark: str | None = Field(None, max_length=255)
    time_template_id: DbId | None = None
    verification_methods: list[VerificationMethod] | None = None
    doors: list[DoorRef] | None = None
    person_ids: list[DbId] | None = None
    department_ids: list[DbId] | None = None

    @field_validator("verification_methods")
    @classmethod
    def _methods(cls, value: list[str] | None) -> list[str] | None:
        return _unique_methods(value)


class MembershipChange(_Strict):
    """Persons or departments to add to and remove from a group."""

    add: list[int] = Field(default_factory=list)
    remove: list[int] = Field(default_factory=list)


class PermissionGroupRead(BaseModel):
    """A permission group with its doors and assignments."""

    id: int
    name: str
    remark: str
    time_template_id: DbId
    time_template_name: str
    verification_methods: list[str]
    doors: list[DoorRef]
    department_ids: list[DbId]
    person_count: int


class PersonGroups(_Strict):
    """The permission groups a person is directly assigned to."""

    group_ids: list[DbId]


class TaskRead(BaseModel):
    """One authorization task."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: DbId | None
    device_id: DbId
    user_id: str
    action: str
    status: str
    failure_reason: str
    attempts: int
    next_attempt_at: dt.datetime | None
    updated_at: dt.datetime


class ProgressCounts(BaseModel):
    """Task counts of one device or one person."""

    key: int
    label: str
    pending: int = 0
    success: int = 0
    failed: int = 0
    revoked: int = 0  # removals the device applied (counted in success too)


class TaskQuery(ListQuery):
    """The authorization task list: by status, device or person; newest change first."""

    status: TaskStatus | None = Field(None, description="pending, success or failed")
    device_id: DbId | None = None
    person_id: DbId | None = None
    action: TaskAction | None = Field(None, description="push or remove")
    user_id: str | None = Field(None, max_length=32, description="also a deleted person's")


class ProgressQuery(ListQuery):
    """Task counts per person: user ID search and paging, by user ID."""

    search: str = Field("", max_length=32, description="part of the user ID")


class GroupQuery(BaseModel):
    """The permission-group list (not paged: a site has a handful of groups), by name."""

    model_config = ConfigDict(str_strip_whitespace=True)

    search: str = Field("", max_length=64, description="part of the group name")


class TaskPage(BaseModel):
    total: int
    items: list[TaskRead]
