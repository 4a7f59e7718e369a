"""Entities of the modular door station (VTO) and the checks on their fields.

Every limit carries its source: ``manual`` is the modular VTO quick start guide
(VTO4202F-P, V1.0.1); ``platform`` is the platform video intercom manual. Where neither
states a limit and the unit needs one (table sizes), the constant says it is ours.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from typing import Any

MAX_VTO_NUMBER_DIGITS = 5  # manual 4.2.2: "The VTO number can contain 5 numbers at most"
MAX_ROOM_NUMBER_LENGTH = 6  # manual 4.2.6: "at most 6 numbers or letters"
MAX_EXTENSIONS = 10  # manual 4.2.6: "10 extension VTH devices at most for one master VTH"
MAX_EXTENSION_SUFFIX = 99  # manual 4.2.6: "room number#1" ... "room number#99"
CENTRE_NUMBER = "888888"  # manual 4.2.7.2: "888888" is the Centre Call No.
ROOM_PASSWORD_PREFIX_DIGITS = 6  # platform 2.3: room 11 + password 888888 -> 000011888888
TAMPER_ALARM_S = 15.0  # manual 3.2.1: "The alarm will keep ringing for 15 seconds."
MAX_MONITOR_STREAMS = 6  # manual 1.2: "support maximum 6-channel video stream"
MAX_ROOMS = 2000  # ours: the manual sets no size for the room list
MAX_VTOS = 200  # ours: the manual sets no size for VTO No. Management
MAX_RECORDS = 100_000  # ours: the oldest records of each kind are dropped beyond this
MAX_NAME_LENGTH = 63  # ours: first/last/nick names
DEFAULT_REGISTER_PASSWORD = "123456"  # manual 4.2.5/4.2.6: "Keep default value"
SIP_REALM = "VDP"  # manual 4.2.4: SIP domain "VDP" when a VTO is the SIP server
SIP_PORT_VTO, SIP_PORT_PLATFORM = 5060, 5080  # manual Table 4-1


class VtoError(ValueError):
    """A request the door station refuses; the message says what to fix."""


class NotFoundError(VtoError):
    """The room, VTO, user or record asked for does not exist."""


class SystemType(enum.StrEnum):
    """Local Setting > Basic > System Type (manual 4.2.4: the default is analogue)."""

    analogue = "Analog"
    tcpip = "TCP/IP"


class CallState(enum.StrEnum):
    """The state of the door station's one call."""

    idle = "idle"
    ringing = "ringing"
    talking = "talking"


class DoorMode(enum.StrEnum):
    """AccessControl State: normal, always open or always closed (platform 3: Always Open,
    Restore)."""

    normal = "Normal"
    always_open = "OpenAlways"
    always_closed = "CloseAlways"


# BackKeyLight Data.State values real VTOs send (integrations of VTO2000/VTO4202 units).
LIGHT_IDLE, LIGHT_RINGING, LIGHT_RINGING_2, LIGHT_ANSWERED = 0, 1, 2, 5
LIGHT_NOT_ANSWERED, LIGHT_UNLOCK, LIGHT_UNLOCK_FAILED = 6, 8, 9

ROOM_BASE = re.compile(r"[0-9A-Za-z]{1,6}")
ROOM_ENTRY = re.compile(r"(?P<base>[0-9A-Za-z]{1,6})(?:#(?P<suffix>\d{1,2}))?")


def check_vto_number(text: str) -> str:
    """1-5 digits (manual 4.2.2)."""
    value = str(text).strip()
    if not (value.isdigit() and 1 <= len(value) <= MAX_VTO_NUMBER_DIGITS):
        raise VtoError(
            f"VTO number must be 1-{MAX_VTO_NUMBER_DIGITS} digits, not {value!r} (manual 4.2.2)"
        )
    return value


def split_room_entry(text: str) -> tuple[str, int | None]:
    """``101#2`` -> ("101", 2); ``101`` -> ("101", None); refuses anything else."""
    value = str(text).strip()
    match = ROOM_ENTRY.fullmatch(value)
    if match is None:
        raise VtoError(
            f"room number must be 1-{MAX_ROOM_NUMBER_LENGTH} letters or digits, optionally "
            f"followed by #0 (master) or #1-#{MAX_EXTENSION_SUFFIX} (extension), not {value!r} "
            "(manual 4.2.6)"
        )
    suffix = match["suffix"]
    return match["base"], None if suffix is None else int(suffix)


@dataclass
class Room:
    """One Room No. Management entry (manual Table 4-3): one VTH account."""

    number: str  # "101", "101#0" (master) or "101#1".. (extension)
    first_name: str = ""
    last_name: str = ""
    nick_name: str = ""
    register_type: str = "public"
    register_password: str = DEFAULT_REGISTER_PASSWORD

    @property
    def base(self) -> str:
        """The room the VTH belongs to (``101#2`` -> ``101``)."""
        return split_room_entry(self.number)[0]


@dataclass
class VtoEntry:
    """One VTO No. Management entry (manual Table 4-2)."""

    rec_no: str  # the VTO number
    register_password: str = DEFAULT_REGISTER_PASSWORD
    build_no: str = ""
    unit_no: str = ""
    ip_address: str = ""
    username: str = "admin"
    password: str = ""


@dataclass
class AccessUser:
    """Who may unlock: a room's unlock password, cards and fingerprints (pushed by the
    platform through AccessUser/AccessCard/AccessFingerprint)."""

    user_id: str  # the room number for residents (platform 2.3)
    name: str = ""
    password: str = ""  # the room's unlock password
    cards: dict[str, bool] = field(default_factory=dict)  # card number -> duress card
    fingerprints: list[bytes] = field(default_factory=list)
    duress_fingerprint: int | None = None  # index of the duress finger, if any


@dataclass(frozen=True)
class Record:
    """One call, unlock or alarm record (searchable by time)."""

    kind: str  # "call", "unlock" or "alarm"
    rec_no: int
    at: dt.datetime  # UTC, aware
    data: dict[str, Any]


@dataclass(frozen=True)
class UnlockResult:
    """The outcome of one unlock attempt."""

    opened: bool
    message: str
    rec_no: int
    duress: bool = False
