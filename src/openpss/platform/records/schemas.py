"""Pydantic schemas of the records domain."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openpss.platform.fields import DbId, IsoDateTime
from openpss.platform.listing import KeysetQuery

RecordKind = Literal["access", "calls", "alarms"]


class RecordQuery(KeysetQuery):
    """Filters every record kind shares: time range and device; times naive means UTC."""

    start: IsoDateTime | None = Field(None, description="from this time (inclusive)")
    end: IsoDateTime | None = Field(None, description="up to this time (inclusive)")
    device_id: DbId | None = Field(None, description="records of this device only")

    @model_validator(mode="after")
    def _order(self) -> RecordQuery:
        if self.start is not None and self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=dt.UTC)
        if self.end is not None and self.end.tzinfo is None:
            self.end = self.end.replace(tzinfo=dt.UTC)
        if self.start and self.end and self.start > self.end:
            raise ValueError("the start time must not be after the end time")
        return self


class AccessQuery(RecordQuery):
    """Access-record search: the shared filters plus user, card, method and result."""

    user_id: str = Field("", max_length=32)
    card: str = Field("", max_length=32, description="card number in the card issuing type")
    method: str = Field("", max_length=32)
    success: bool | None = None
    reason: str = Field("", max_length=64, description="part of a refused attempt's reason")


class AlarmQuery(RecordQuery):
    """Alarm-record search: the shared filters plus the alarm type (e.g. "duress")."""

    alarm_type: str = Field("", max_length=64, description="alarms of this type only")


class AccessRecordRead(BaseModel):
    """An access record with the device name and the card shown in the card issuing type."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: DbId | None
    device_name: str = ""
    record_no: int | None
    event_time: dt.datetime
    user_id: str
    person_name: str = ""
    card_no: str
    method: str
    attendance_state: str
    success: bool
    reason: str = ""
    source: str


class AccessPage(BaseModel):
    total: int
    items: list[AccessRecordRead]
    next_cursor: str = Field("", description="pass as `after` for the next page")


class CallRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: DbId | None
    start_time: dt.datetime
    end_time: dt.datetime | None
    caller: str
    callee: str
    status: str
    answered_by: str | None = None
    duration_seconds: int


class AlarmRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: DbId | None
    record_no: int | None = None
    event_time: dt.datetime
    alarm_type: str
    channel: int
    detail: str
    acknowledged: bool


class CallPage(BaseModel):
    total: int
    items: list[CallRecordRead]
    next_cursor: str = Field("", description="pass as `after` for the next page")


class AlarmPage(BaseModel):
    total: int
    items: list[AlarmRecordRead]
    next_cursor: str = Field("", description="pass as `after` for the next page")
