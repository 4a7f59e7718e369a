"""Device events as platform events (platform/events.py) for the bus.

Access records become ``access`` events (plus ``punch`` from attendance terminals) with the
person's name; a door station's live codes (Dahua event stream) become doorbell, call, door and
alarm events. Built inside the transaction that stores the records, published after it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.adapter import ALARM_NAMES
from openpss.platform.events import Event, EventKind
from openpss.platform.people.models import Person
from openpss.protocols.dahua_http.events import EventPart

# BackKeyLight State of the door station (devices/vto/entities.py LIGHT_*): call states.
# The light also goes idle after an unlock, so idle means "ended" only during a call (CallTracker).
CALL_STATES = {5: "answered", 6: "missed"}
LIGHT_IDLE = 0


class CallTracker:
    """Whether a door station is in a call, to tell a call's end from any return to idle."""

    def __init__(self) -> None:
        self.in_call = False

    def events(self, device_id: int, part: EventPart) -> list[Event]:
        """station_events plus "ended" when the light goes idle during a call."""
        events = station_events(device_id, part)
        data = part.data if isinstance(part.data, dict) else {}
        idle = part.code == "BackKeyLight" and _int(data.get("State")) == LIGHT_IDLE
        if idle and self.in_call:
            events.append(Event(EventKind.call, device_id, {"state": "ended"}))
        for event in events:
            if event.kind is EventKind.call:
                self.in_call = event.data["state"] in ("ringing", "answered")
        return events


def record_events(
    session: Session, device_id: int, device_kind: str, records: Sequence[dict[str, Any]]
) -> list[Event]:
    """An access event (and a punch for attendance terminals) per newly stored record."""
    user_ids = {r["user_id"] for r in records if r.get("user_id")}
    names = dict(
        session.execute(
            select(Person.user_id, Person.name).where(Person.user_id.in_(user_ids))
        ).all()
    )
    events = []
    for record in records:
        data = {
            "record_no": record.get("record_no"),
            "person": names.get(record.get("user_id", ""), ""),
            "user_id": record.get("user_id", ""),
            "card": record.get("card_no", ""),
            "method": record.get("method", ""),
            "granted": bool(record.get("success")),
            "reason": record.get("reason", ""),
        }
        at = record["event_time"]
        events.append(Event(EventKind.access, device_id, data, at))
        if device_kind == "attendance" and record.get("success"):
            state = {"attendance_state": record.get("attendance_state", "")}
            events.append(Event(EventKind.punch, device_id, data | state, at))
    return events


def duress_event(device_id: int, alarm: dict[str, Any]) -> Event:
    """The alarm event of a duress card or password."""
    data = {"type": "duress", "active": True, "user_id": alarm.get("user_id", "")}
    return Event(EventKind.alarm, device_id, data | {"card": alarm.get("card_no", "")})


def station_events(device_id: int, part: EventPart) -> list[Event]:
    """What a door station's event means: ring, call state, door status, alarm."""
    data = part.data if isinstance(part.data, dict) else {}
    if part.code == "Invite":
        ring = {"event_type": "ring", "room": str(data.get("UserID", ""))}
        call = {"state": "ringing", "room": ring["room"], "call_id": str(data.get("CallID", ""))}
        return [Event(EventKind.doorbell, device_id, ring), Event(EventKind.call, device_id, call)]
    if part.code == "BackKeyLight":
        state = CALL_STATES.get(_int(data.get("State")))
        return [Event(EventKind.call, device_id, {"state": state})] if state else []
    if part.code in ("PassiveHungup", "IgnoreInvite"):
        return [Event(EventKind.call, device_id, {"state": "ended"})]
    if part.code == "CallNoAnswered":
        return [Event(EventKind.call, device_id, {"state": "missed"})]
    if part.code == "DoorStatus":
        is_open = str(data.get("Status", "")).lower() == "open"
        return [Event(EventKind.door, device_id, {"door": part.index + 1, "open": is_open})]
    if part.code in ALARM_NAMES:
        active = part.action != "Stop"
        alarm = {"type": ALARM_NAMES[part.code], "active": active, "code": part.code}
        return [Event(EventKind.alarm, device_id, alarm)]
    return []


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
