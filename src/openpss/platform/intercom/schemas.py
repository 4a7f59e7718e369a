"""Request and response models of the intercom configuration (platform-video-intercom 2)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from openpss.platform.fields import DbId
from openpss.platform.intercom.models import EndpointKind, Level
from openpss.platform.listing import ListQuery

# Building and unit numbers have two digits ("02#01#302", platform-video-intercom 2.1).
NODE_NUMBER_PATTERN = r"^[0-9]{1,2}$"
# "The room number contains at most 6 numbers" (door-station manual 4.2.6); digits only, since
# it is typed on the door station's keypad (room + password, platform-video-intercom 2.3).
ROOM_NUMBER_PATTERN = r"^[0-9]{1,6}$"
NAME_MAX = 64


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LevelsRead(BaseModel):
    """The level setting: which organization levels exist."""

    use_building: bool = Field(description="buildings exist under the community")
    use_unit: bool = Field(description="units exist under buildings (needs buildings)")


class LevelsUpdate(_Strict):
    """Change the level setting (refused while nodes of a dropped level exist)."""

    use_building: bool = Field(description="buildings exist under the community")
    use_unit: bool = Field(description="units exist under buildings (needs buildings)")


class NodeCreate(_Strict):
    """A building under the community or a unit under a building."""

    parent_id: DbId = Field(description="the community (for a building) or a building")
    number: str = Field(
        pattern=NODE_NUMBER_PATTERN, description="building or unit number, 1-99 (shown as 02)"
    )
    name: str = Field("", max_length=NAME_MAX, description="name; empty means 'Building 02'")


class NodeUpdate(_Strict):
    """Rename a node (the community, a building or a unit)."""

    name: str = Field(min_length=1, max_length=NAME_MAX, description="new name")


class NodeRead(BaseModel):
    """One organization node and its children (a tree from the community)."""

    id: int
    parent_id: int | None
    level: Level
    number: str
    name: str
    children: list[NodeRead] = []


class RoomCreate(_Strict):
    """A room (number + name) under the lowest organization level."""

    node_id: DbId = Field(description="the unit (or building/community) the room is in")
    number: str = Field(pattern=ROOM_NUMBER_PATTERN, description="room number, 1-6 digits")
    name: str = Field("", max_length=NAME_MAX, description="room name")


class RoomUpdate(_Strict):
    """Change a room's number or name."""

    number: str | None = Field(None, pattern=ROOM_NUMBER_PATTERN, description="room number")
    name: str | None = Field(None, max_length=NAME_MAX, description="room name")


class RoomRead(BaseModel):
    """A room with its organization code (building#unit#room, e.g. 02#01#302)."""

    id: int
    node_id: int
    number: str
    name: str
    organization: str


class RoomPage(BaseModel):
    """One page of rooms."""

    total: int
    items: list[RoomRead]


# Extensions: "room number#1" ... "room number#99" (door-station manual 4.2.6, Room No.).
MAX_EXTENSION = 99
SUFFIX_PATTERN = r"^[0-9]{2}$"  # "Enter a 2-digit number" (platform-video-intercom 2.2)
DEVICE_NUMBER_PATTERN = r"^[0-9]{2,6}$"


class RegistrationCreate(_Strict):
    """A registration number for a VTH (room + extension), a VTO or a VTS (2-digit suffix)."""

    kind: EndpointKind = Field(description="vth, vto or vts")
    device_id: DbId | None = Field(None, description="the VTH or VTO in the device list")
    node_id: DbId | None = Field(None, description="the unit of a VTO")
    room_id: DbId | None = Field(None, description="the room of a VTH")
    extension: int | None = Field(
        None, ge=0, le=MAX_EXTENSION, description="VTH extension when a room has several"
    )
    suffix: str | None = Field(
        None, pattern=SUFFIX_PATTERN, description="VTO/VTS: last two digits of its number"
    )
    device_number: str | None = Field(
        None,
        pattern=DEVICE_NUMBER_PATTERN,
        description="VTO/VTS number (8055, 101); read from a VTO when not given",
    )
    name: str = Field("", max_length=NAME_MAX, description="name of a VTS")


class RegistrationRead(BaseModel):
    """A registration number and what it belongs to."""

    id: int
    kind: EndpointKind
    number: str
    device_id: int | None
    device_name: str
    room_id: int | None
    node_id: int | None
    extension: int | None
    device_number: str
    online: bool = False


class RegistrationPage(BaseModel):
    """One page of registrations."""

    total: int
    items: list[RegistrationRead]


class UnlockPasswordSet(_Strict):
    """Add or change a room's unlock password (entered twice)."""

    password: str = Field(min_length=1, max_length=16, description="4-8 digits")
    confirm: str = Field(min_length=1, max_length=16, description="the same again")


class SendingStatus(BaseModel):
    """Delivery of a room's unlock password to one device."""

    device_id: int
    device_name: str
    status: str = Field(description="pending, sent or failed")
    reason: str = Field(description="why the last attempt failed")
    attempts: int


class CallGroupCreate(_Strict):
    """A call group of a building."""

    name: str = Field(min_length=1, max_length=NAME_MAX, description="group name")
    building_id: DbId = Field(description="the building whose calls the group answers")


class CallGroupMemberCreate(_Strict):
    """A manager client (console account) or a VTS (its registration)."""

    account_id: DbId | None = Field(None, description="a console account")
    registration_id: DbId | None = Field(None, description="a VTS registration")


class CallGroupRead(BaseModel):
    """A call group with its members' SIP usernames in priority order."""

    id: int
    name: str
    building_id: int
    members: list[str]
    member_ids: list[int]


# The VTH shows at most 2000 characters per release (devices/vth MAX_MESSAGE_LENGTH).
MAX_INFORMATION_LENGTH = 2000


class InformationCreate(_Strict):
    """Topic text, start time and target devices (platform-video-intercom 2.5)."""

    subject: str = Field(min_length=1, max_length=NAME_MAX, description="the topic")
    content: str = Field("", max_length=MAX_INFORMATION_LENGTH, description="the text")
    start_time: dt.datetime = Field(description="when it is sent and shown (with a zone)")
    device_ids: list[DbId] = Field(min_length=1, max_length=500, description="VTOs/VTHs")


class InformationRead(BaseModel):
    """A release with its delivery status per device (the details)."""

    id: int
    subject: str
    content: str
    start_time: dt.datetime
    deliveries: list[SendingStatus]


class IntercomDeviceQuery(ListQuery):
    """The device list of the intercom management page (platform-video-intercom 3): the
    organization node selected in the tree, device status and device type, and a name search."""

    node_id: DbId | None = Field(None, description="devices registered under this node")
    status: Literal["online", "offline"] | None = Field(None, description="online or offline")
    kind: Literal["vto", "vth"] | None = Field(None, description="device type")
    search: str = Field("", max_length=64, description="part of the name, IP or number")


class IntercomDeviceRead(BaseModel):
    """A VTO or VTH on the intercom management page."""

    id: int
    name: str
    kind: str
    host: str
    number: str = Field("", description="registration number, empty when not registered")
    node_id: int | None = None
    online: bool = Field(description="reachable over its CGI API or registered over SIP")
    door_count: int = Field(description="doors it opens (0 for a VTH)")


class IntercomDevicePage(BaseModel):
    total: int
    items: list[IntercomDeviceRead]


class DoorModeSet(_Strict):
    """Always open, or restore (normal), every door of the devices the list shows."""

    mode: Literal["always_open", "normal"] = Field(description="always_open or normal (restore)")


class DoorModeResultRead(BaseModel):
    device_id: int
    name: str
    doors: list[int] = Field(description="the doors the command addressed")
    reason: str = Field("", description="why the device did not take it; empty when it did")


class LiveRecordRead(BaseModel):
    """One line of the live record list: a call, access or alarm record."""

    kind: Literal["calls", "access", "alarms"]
    id: int
    time: dt.datetime
    device: str
    summary: str
    status: str
