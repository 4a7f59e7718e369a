"""Pydantic schemas of the attendance domain; times of day travel as "HH:MM"."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openpss.platform.fields import DbId, IanaZone, Keep, PatchModel
from openpss.platform.listing import ListQuery

HHMM = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="time of day HH:MM")
Kind = Literal["fixed", "flexible", "rest"]


class RestBreakSchema(BaseModel):
    """A rest period of a fixed period (up to 7)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    start: str = HHMM
    end: str = HHMM
    minutes: int = Field(ge=1, le=1440)
    validity_start: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    validity_end: str | None = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    auto_deduction: bool = True
    must_check: bool = False
    transfer_unused: bool = False
    remark: str = Field("", max_length=100)


class PeriodBase(BaseModel):
    """Fields shared by create and read."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    kind: Kind = "fixed"
    color: str = Field("blue", max_length=16)
    work_start: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_end: str = Field("18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    record_as_minutes: int | None = Field(None, ge=0, le=1440)
    checkin_start: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    checkout_end: str = Field("20:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    first_last_only: bool = True
    late_permitted_minutes: int = Field(0, ge=0, le=1440)
    late_absence_minutes: int | None = Field(None, ge=0, le=1440)
    early_permitted_minutes: int = Field(0, ge=0, le=1440)
    required_minutes: int = Field(0, ge=0, le=1440, description="flexible: required work")
    day_change: str = Field("00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    overtime_beyond_required: bool = False
    rests: list[RestBreakSchema] = Field(default_factory=list, max_length=7)


class PeriodCreate(PeriodBase):
    """A new attendance period."""


class PeriodUpdate(PatchModel):
    """Changes to a period; omitted fields stay (null is refused: every field has a value)."""

    model_config = ConfigDict(extra="forbid")

    name: str | Keep = Field(None, min_length=1, max_length=64)
    kind: Kind | Keep = None
    color: str | Keep = Field(None, max_length=16)
    work_start: str | Keep = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_end: str | Keep = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    record_as_minutes: int | None = Field(None, ge=0, le=1440)
    checkin_start: str | Keep = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    checkout_end: str | Keep = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    first_last_only: bool | Keep = None
    late_permitted_minutes: int | Keep = Field(None, ge=0, le=1440)
    late_absence_minutes: int | None = Field(None, ge=0, le=1440)
    early_permitted_minutes: int | Keep = Field(None, ge=0, le=1440)
    required_minutes: int | Keep = Field(None, ge=0, le=1440)
    day_change: str | Keep = Field(None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    overtime_beyond_required: bool | Keep = None
    rests: list[RestBreakSchema] | Keep = Field(None, max_length=7)


class PeriodRead(PeriodBase):
    """A stored period."""

    id: int


class ShiftCreate(BaseModel):
    """A shift: name, start date, cycle by day or week, number of cycles, arrangement."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    start_date: dt.date
    cycle_mode: Literal["day", "week"] = "week"
    cycles: int = Field(1, ge=1, le=31)
    arrangement: dict[int, list[int]] = Field(
        default_factory=dict, description="cycle day index (0-based) -> period ids in order"
    )


class ShiftUpdate(PatchModel):
    """Changes to a shift; omitted fields stay (null is refused: every field has a value)."""

    model_config = ConfigDict(extra="forbid")

    name: str | Keep = Field(None, min_length=1, max_length=64)
    start_date: dt.date | Keep = None
    cycle_mode: Literal["day", "week"] | Keep = None
    cycles: int | Keep = Field(None, ge=1, le=31)
    arrangement: dict[int, list[int]] | Keep = None


class ShiftRead(ShiftCreate):
    """A stored shift."""

    model_config = ConfigDict(extra="ignore")

    id: int


class AssignmentCreate(BaseModel):
    """A shift for one person or one department over a date range."""

    model_config = ConfigDict(extra="forbid")

    shift_id: DbId
    person_id: DbId | None = None
    department_id: DbId | None = None
    start_date: dt.date
    end_date: dt.date


class AssignmentRead(AssignmentCreate):
    """A stored assignment."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: int


class ExceptionCreate(BaseModel):
    """Leave or business trip of a person."""

    model_config = ConfigDict(extra="forbid")

    person_id: DbId
    kind: Literal["leave", "business_trip"]
    start_date: dt.date
    end_date: dt.date
    reason: str = Field("", max_length=200)


class ExceptionRead(ExceptionCreate):
    """A stored leave or trip."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: int


class HolidayCreate(BaseModel):
    """A custom holiday."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date
    name: str = Field(min_length=1, max_length=64)


class HolidayRead(HolidayCreate):
    """A holiday: custom (with id) or public (id None)."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: int | None = None


class SettingsUpdate(BaseModel):
    """Attendance settings: IANA time zone of punches, country of public holidays."""

    model_config = ConfigDict(extra="forbid")

    timezone: IanaZone | None = Field(None, description="null resets to UTC")
    holiday_country: str | None = Field(None, max_length=8)
    holiday_subdivision: str | None = Field(None, max_length=16)


class SettingsRead(BaseModel):
    """Current attendance settings."""

    model_config = ConfigDict(from_attributes=True)

    timezone: str
    holiday_country: str
    holiday_subdivision: str


class ManualPunchCreate(BaseModel):
    """A punch entered by an operator; local wall time unless a zone is given."""

    model_config = ConfigDict(extra="forbid")

    person_id: DbId
    time: dt.datetime
    reason: str = Field(min_length=1, max_length=200)


class ResultRead(BaseModel):
    """One person-day result."""

    model_config = ConfigDict(from_attributes=True)

    person_id: DbId
    day: dt.date
    status: str
    due_minutes: int
    work_minutes: int
    overtime_minutes: int
    late_count: int
    late_minutes: int
    early_count: int
    early_minutes: int
    absence_days: float
    punches: list[str]
    detail: list[dict[str, object]]


MAX_COMPUTE_DAYS = 366


class ComputeRequest(BaseModel):
    """Compute results for a date range (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date
    end: dt.date
    person_ids: list[DbId] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ComputeRequest:
        # One request computes at most a year: a longer range holds every person-day in memory.
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days >= MAX_COMPUTE_DAYS:
            raise ValueError(f"compute at most {MAX_COMPUTE_DAYS} days at a time; split the range")
        return self


class ExportRequest(BaseModel):
    """A monthly report or record to write in the background."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["report", "record"] = "report"
    year: int = Field(ge=1970, le=9999)
    month: int = Field(ge=1, le=12)
    format: Literal["csv", "xlsx"] = "xlsx"
    department_id: DbId | None = None


class JobRead(BaseModel):
    """Progress of a background computation or export."""

    id: str
    label: str
    state: str
    done: int
    total: int
    percent: int
    message: str
    download_url: str | None = None


# --- declared list queries (API routes and console pages share them) ----------------------


class PeriodQuery(ListQuery):
    """The period list: name search and kind."""

    search: str = Field("", max_length=64, description="part of the name")
    kind: Kind | None = Field(None, description="fixed, flexible or rest")


class ShiftQuery(ListQuery):
    """The shift list: name search and cycle mode."""

    search: str = Field("", max_length=64, description="part of the name")
    cycle_mode: Literal["day", "week"] | None = Field(None, description="cycle unit")


class AssignmentQuery(ListQuery):
    """Shift assignments: of a shift, person or department, in force on a day."""

    shift_id: DbId | None = None
    person_id: DbId | None = None
    department_id: DbId | None = None
    on: dt.date | None = Field(None, description="assignments in force on this day")


class ExceptionQuery(ListQuery):
    """Leave and business trips: of a person, of a kind, in force on a day."""

    person_id: DbId | None = None
    kind: Literal["leave", "business_trip"] | None = None
    on: dt.date | None = Field(None, description="leave or trips in force on this day")


class HolidayQuery(ListQuery):
    """Public and custom holidays of a year (custom only: `custom=true`)."""

    year: int = Field(ge=1970, le=9999)
    custom: bool = Field(False, description="only the custom holidays")


class ResultQuery(ListQuery):
    """Stored person-day results of a date range (stale or missing days recomputed first)."""

    start: dt.date
    end: dt.date
    person_id: DbId | None = None
    department_id: DbId | None = Field(None, description="persons of this department")
    status: str = Field("", max_length=16, description="day status (normal, late, absent ...)")

    @model_validator(mode="after")
    def _range(self) -> ResultQuery:
        if self.end < self.start:
            raise ValueError("the end date is before the start date")
        return self


class PeriodPage(BaseModel):
    """One page of periods."""

    total: int
    items: list[PeriodRead]


class ShiftPage(BaseModel):
    """One page of shifts."""

    total: int
    items: list[ShiftRead]


class AssignmentPage(BaseModel):
    """One page of shift assignments."""

    total: int
    items: list[AssignmentRead]


class ExceptionPage(BaseModel):
    """One page of leave and business trips."""

    total: int
    items: list[ExceptionRead]


class HolidayPage(BaseModel):
    """One page of holidays."""

    total: int
    items: list[HolidayRead]


class ResultPage(BaseModel):
    """One page of person-day results."""

    total: int
    items: list[ResultRead]
