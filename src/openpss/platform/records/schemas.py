"""Pydantic schemas of the records domain."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openpss.platform.fields import DbId, IsoDateTime


class AccessFilter(BaseModel):
    """Search filters of access records; times are timezone-aware (naive means UTC)."""

    # Not extra="forbid": as a query-parameter model it shares the query with offset/limit.
    model_config = ConfigDict(str_strip_whitespace=True)

    start: IsoDateTime | None = None
    end: IsoDateTime | None = None
    device_id: DbId | None = None
    user_id: str = Field("", max_length=32)
    card: str = Field("", max_length=32, description="card number in the card issuing type")
    method: str = Field("", max_length=32)
    success: bool | None = None
    reason: str = Field("", max_length=64, description="part of a refused attempt's reason")

    @model_validator(mode="after")
    def _order(self) -> AccessFilter:
        if self.start is not None and self.start.tzinfo is None:
            self.start = self.start.replace(tzinfo=dt.UTC)
        if self.end is not None and self.end.tzinfo is None:
            self.end = self.end.replace(tzinfo=dt.UTC)
        if self.start and self.end and self.start > self.end:
            raise ValueError("the start time must not be after the end time")
        return self


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


class CallRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: DbId | None
    start_time: dt.datetime
    end_time: dt.datetime | None
    caller: str
    callee: str
    status: str
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


class AlarmPage(BaseModel):
    total: int
    items: list[AlarmRecordRead]
