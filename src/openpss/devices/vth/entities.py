"""Values of the indoor monitor (VTH), with no I/O: room numbers, call states, records, messages.

Room numbers (door station manual 4.2.6, platform manual 2.2):

- ``101`` is the only VTH of room 101; ``101#0`` the master VTH of a room with several and
  ``101#1`` ... ``101#99`` its extensions (a master has at most 10 extensions: the SIP server
  counts those, a single VTH cannot);
- the room part is 1-6 letters or digits;
- with a SIP server that knows buildings and units (the platform), the registration number is
  ``BUILDING#UNIT#ROOM#EXTENSION``, e.g. ``11#01#11#5`` = building 11, unit 01, room 11,
  extension 5. A door station acting as SIP server (realm ``VDP``) has no building or unit
  numbers (manual Table 4-2), so those numbers are refused there.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

MAX_ROOM_LENGTH = 6  # door station manual 4.2.6: at most 6 numbers or letters
MAX_EXTENSION = 99  # manual 4.2.6: extensions "room number#1" ... "room number#99"
MAX_BUILDING_LENGTH = 2  # ours, as the platform's registration numbers (11#01#...)
VTO_REALM = "VDP"  # a door station acting as SIP server (manual 4.2.4)
DEVICE_TYPE = "VTH5421H"  # a Dahua indoor monitor model
CENTRE_NUMBER = "888888"  # door station manual 4.2.7.2: the Centre Call No.
RING_TIME_S = 30  # ours: how long an incoming call rings before it counts as missed
MAX_RING_TIME_S = 120  # ours
MAX_RECORDS = 1000  # ours: oldest records are dropped past this many per kind
MAX_MESSAGES = 200  # ours: stored unlock passwords and information releases
MAX_MESSAGE_LENGTH = 2000  # ours: characters of one information release
PASSWORD_DIGITS = (6, 8)  # platform: unlock passwords are 6-8 digits (as person passwords)

_ROOM = re.compile(r"[0-9A-Za-z]{1,6}")
_DIGITS = re.compile(r"[0-9]{1,2}")


class VthError(ValueError):
    """A refused action or setting; the message says what to fix."""


class CallState(enum.StrEnum):
    """Where the unit's one call is."""

    idle = "idle"
    ringing = "ringing"  # an incoming call rings here
    calling = "calling"  # our outgoing call rings elsewhere
    talking = "talking"
    monitoring = "monitoring"  # watching a door station without a call


@dataclass(frozen=True)
class RoomNumber:
    """A VTH's number: room, optional extension, optional building and unit."""

    room: str
    extension: int | None = None
    building: str = ""
    unit: str = ""

    @classmethod
    def parse(cls, text: str, *, buildings: bool = True) -> RoomNumber:
        """``101``, ``101#0``, ``101#3`` or ``11#01#11#5``; VthError says what is wrong."""
        parts = text.strip().split("#")
        if len(parts) == 4:
            if not buildings:
                raise VthError(
                    f"{text!r} has building and unit numbers, which a door station acting as "
                    "SIP server does not support (manual Table 4-2): use ROOM#EXTENSION"
                )
            building, unit, room, extension = parts
            for name, value in (("building", building), ("unit", unit)):
                if not _DIGITS.fullmatch(value):
                    raise VthError(f"{name} number must be 1-2 digits, not {value!r}")
            return cls(_room(room), _extension(extension), building, unit)
        if len(parts) == 2:
            return cls(_room(parts[0]), _extension(parts[1]))
        if len(parts) == 1:
            return cls(_room(parts[0]))
        raise VthError(
            f"room number {text!r} must be ROOM, ROOM#EXTENSION (101#0 master, 101#1..#99 "
            "extensions) or BUILDING#UNIT#ROOM#EXTENSION (11#01#11#5)"
        )

    def __str__(self) -> str:
        head = f"{self.building}#{self.unit}#" if self.building else ""
        tail = "" if self.extension is None else f"#{self.extension}"
        return f"{head}{self.room}{tail}"

    @property
    def is_master(self) -> bool:
        """The master VTH of its room (or the room's only VTH)."""
        return not self.extension


def _room(text: str) -> str:
    if not _ROOM.fullmatch(text):
        raise VthError(
            f"room number {text!r} must be 1-{MAX_ROOM_LENGTH} letters or digits (manual 4.2.6)"
        )
    return text


def _extension(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= MAX_EXTENSION:
        raise VthError(
            f"extension {text!r} must be 0 (master VTH) or 1-{MAX_EXTENSION} (extension VTH), "
            "manual 4.2.6"
        )
    return int(text)


def check_unlock_password(password: str) -> str:
    """An unlock password is 6-8 digits."""
    low, high = PASSWORD_DIGITS
    if not (password.isdigit() and low <= len(password) <= high):
        raise VthError(f"unlock password must be {low}-{high} digits")
    return password


def parse_start_time(text: str) -> dt.datetime | None:
    """ISO 8601 with a zone, or ``YYYY-MM-DD HH:MM:SS`` taken as UTC; empty = now."""
    if not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise VthError(
            f"start time {text!r} must be YYYY-MM-DD HH:MM:SS (UTC) or ISO 8601 with a zone"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Record:
    """One call, unlock or message record."""

    kind: str  # "call", "unlock" or "message"
    rec_no: int
    at: dt.datetime  # UTC, aware
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """JSON form for the control endpoint and the CGI."""
        return {"kind": self.kind, "rec_no": self.rec_no, "at": self.at.isoformat(), **self.data}


RECORD_KINDS = ("call", "unlock", "message")
