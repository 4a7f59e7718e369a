"""The indoor monitor's settings blocks (kept in its flash) and their rules, with no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from openpss.devices.vth.entities import (
    MAX_RING_TIME_S,
    RING_TIME_S,
    VTO_REALM,
    RoomNumber,
    VthError,
)

DEFAULT_ROOM = "9901#0"  # a VTH out of the box
DEFAULT_SIP_PASSWORD = "123456"  # manual 4.2.6: "Register Password: keep the default value"


@dataclass
class Door:
    """A door station the VTH can monitor and unlock (Monitor > Door, manual 4.3.2)."""

    name: str
    host: str
    http_port: int = 80
    rtsp_port: int = 554
    username: str = "admin"
    password: str = ""
    sip_number: str = ""  # the VTO number, for a call to the door

    def check(self) -> Door:
        """Refuse an entry that cannot be reached."""
        if not self.name.strip():
            raise VthError("a door needs a name")
        if not self.host.strip():
            raise VthError(f"door {self.name}: address is empty")
        for label, port in (("HTTP", self.http_port), ("RTSP", self.rtsp_port)):
            if not 1 <= int(port) <= 65535:
                raise VthError(f"door {self.name}: {label} port must be 1-65535, not {port}")
        return self

    def public(self) -> dict[str, Any]:
        """The entry without its password."""
        data = asdict(self)
        data.pop("password")
        return data


@dataclass
class VthSettings:
    """Room number, SIP server and call options."""

    room: str = DEFAULT_ROOM
    sip_host: str = ""
    sip_port: int = 5060
    realm: str = ""  # SIP domain; empty = the server's address (VDP for a door station)
    sip_password: str = DEFAULT_SIP_PASSWORD
    auto_answer: bool = False
    dnd: bool = False
    ring_time_s: int = RING_TIME_S
    doors: dict[str, Door] = field(default_factory=dict)

    @property
    def room_number(self) -> RoomNumber:
        """The parsed room number."""
        return RoomNumber.parse(self.room, buildings=self.supports_buildings)

    @property
    def supports_buildings(self) -> bool:
        """A door station as SIP server (realm VDP) has no building or unit numbers."""
        return self.realm.upper() != VTO_REALM

    @property
    def sip_domain(self) -> str:
        """The domain of our address of record."""
        return self.realm or self.sip_host

    def check(self) -> VthSettings:
        """Validate every field (VthError names the one to fix)."""
        RoomNumber.parse(self.room, buildings=self.supports_buildings)
        if not 1 <= self.sip_port <= 65535:
            raise VthError(f"SIP server port must be 1-65535, not {self.sip_port}")
        if not 1 <= self.ring_time_s <= MAX_RING_TIME_S:
            raise VthError(f"ring time must be 1-{MAX_RING_TIME_S} s, not {self.ring_time_s}")
        for door in self.doors.values():
            door.check()
        return self

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VthSettings:
        """Read the stored form (unknown keys from a newer version are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        doors = {name: Door(**door) for name, door in known.pop("doors", {}).items()}
        return cls(**known, doors=doors)
