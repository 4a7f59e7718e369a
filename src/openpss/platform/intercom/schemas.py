"""Request and response models of the intercom configuration (platform-video-intercom 2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from openpss.platform.intercom.models import Level

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

    parent_id: int = Field(ge=1, description="the community (for a building) or a building")
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

    node_id: int = Field(ge=1, description="the unit (or building/community) the room is in")
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
