"""Pydantic schemas of the records domain."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from openpss.platform.fields import DbId, IsoDateTime
from openpss.platform.listing import COUNT_CAP, SeekQuery

RecordKind = Literal["access", "calls", "alarms"]
RECORD_KINDS: tuple[RecordKind, ...] = ("access", "calls", "alarms")
# How a call ended (protocols/sip/accounts.py EndState; platform-video-intercom 4.1 "status").
CallStatus = Literal["answered", "missed", "rejected", "busy", "failed"]
CALL_STATUSES: tuple[CallStatus, ...] = ("answered", "missed", "rejected", "busy", "failed")
ExportFormat = Literal["xlsx", "csv"]


class RecordQuery(SeekQuery):
    """Filters every record kind shares: time range, device and organization; naive times UTC.

    `node_id` (a community, building or unit) and `room_id` select the devices registered there
    or below (intercom dial management: a VTO on its building or unit, a VTH in its room).
    """

    start: IsoDateTime | None = Field(None, description="from this time (inclusive)")
    end: IsoDateTime | None = Field(None, description="up to this time (inclusive)")
    device_id: DbId | None = Field(None, description="records of this device only")
    node_id: DbId | None = Field(
        None, description="records of the devices registered on this organization node or below"
    )
    room_id: DbId | None = Field(None, description="records of the devices of this room")

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


class CallQuery(RecordQuery):
    """Call-record search: the shared filters plus how the call ended."""

    status: CallStatus | None = Field(None, description="calls that ended so only")


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


class RecordPage(BaseModel):
    """Paging fields of every record page."""

    total: int = Field(
        description=f"matching records; counted up to {COUNT_CAP} (see `total_exact`)"
    )
    total_exact: bool = Field(
        True, description=f"false: the count stopped at {COUNT_CAP}; at least `total` match"
    )
    next_cursor: str = Field("", description="pass as `after` for the next page")
    prev_cursor: str = Field("", description="pass as `before` for the previous page")


class AccessPage(RecordPage):
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


class CallPage(RecordPage):
    items: list[CallRecordRead]


class AlarmPage(RecordPage):
    items: list[AlarmRecordRead]


class ExportJobRead(BaseModel):
    """Progress of a records export running in the background."""

    id: str
    kind: RecordKind
    filename: str
    state: Literal["running", "finished", "failed"]
    done: int = Field(description="records written")
    total: int = Field(description="records to write (0 until counted)")
    percent: int
    message: str
    download_url: str | None = Field(None, description="the file, once finished")
