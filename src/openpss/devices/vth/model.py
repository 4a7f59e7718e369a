"""The indoor monitor (VTH) model, with no I/O: settings, registration, the call state machine,
monitor, unlock, stored unlock passwords and information releases, records.

Calls (door station manual 4.3, platform manual 3): an incoming call rings (every VTH of the
room rings together: the SIP server forks); answer, reject (busy), hang up; with
auto-answer on it is answered at once, with do-not-disturb it is refused busy and recorded as
missed; nobody answering within the ring time makes it a missed call; a call another unit of
the room answered (CANCEL with Reason cause=200, RFC 3326) is recorded as answered elsewhere
(``AnsweredElsewhere``), not missed. While talking, unlock opens the calling door station's
door. Monitor watches a door station without a call.

The model never does I/O: it tells its ``VthLink`` (the SIP/RTSP front-end) what to do and
the front-end reports back (``incoming_call``, ``remote_answered``, ``remote_ended`` ...).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from openpss.devices.common.passwords import admin_password_problem
from openpss.devices.common.store import keep_record
from openpss.devices.vth.entities import (
    MAX_MESSAGE_LENGTH,
    MAX_MESSAGES,
    MAX_RECORDS,
    RECORD_KINDS,
    CallState,
    Record,
    RoomNumber,
    VthError,
    check_unlock_password,
)
from openpss.devices.vth.settings import Door, VthSettings
from openpss.protocols.dahua_http.digest import ha1_of, realm_for

logger = logging.getLogger(__name__)

ADMIN_USER = "admin"
BUSY = 486  # RFC 3261 §21.4.24 Busy Here
UNAVAILABLE = 480  # RFC 3261 §21.4.18: nobody answered within the ring time


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class VthLink(Protocol):
    """What the model needs from its front-end (SIP user agent, RTSP monitor, HTTP client)."""

    def answer(self, call_id: str) -> None: ...
    def reject(self, call_id: str, status: int) -> None: ...
    def hangup(self, call_id: str) -> None: ...
    def unlock(self, call_id: str) -> None: ...
    def dial(self, call_id: str, number: str) -> None: ...
    def monitor(self, door: Door) -> None: ...
    def stop_monitor(self) -> None: ...
    def open_door(self, door: Door) -> None: ...


class NoLink:
    """No front-end attached (unit tests): actions only change the model."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    def answer(self, call_id: str) -> None:
        """Remember."""
        self.sent.append(("answer", call_id))

    def reject(self, call_id: str, status: int) -> None:
        """Remember."""
        self.sent.append(("reject", call_id, str(status)))

    def hangup(self, call_id: str) -> None:
        """Remember."""
        self.sent.append(("hangup", call_id))

    def unlock(self, call_id: str) -> None:
        """Remember."""
        self.sent.append(("unlock", call_id))

    def dial(self, call_id: str, number: str) -> None:
        """Remember."""
        self.sent.append(("dial", call_id, number))

    def monitor(self, door: Door) -> None:
        """Remember."""
        self.sent.append(("monitor", door.name))

    def stop_monitor(self) -> None:
        """Remember."""
        self.sent.append(("stop-monitor",))

    def open_door(self, door: Door) -> None:
        """Remember."""
        self.sent.append(("open-door", door.name))


class Persistence(Protocol):
    """Where the unit writes its state (the device's flash)."""

    def save_settings(self, key: str, value: Any) -> None: ...
    def append_record(self, record: Record) -> None: ...
    def drop_records_before(self, kind: str, rec_no: int) -> None: ...


@dataclass(frozen=True)
class Message:
    """An unlock password or an information release received from the platform."""

    kind: str  # "unlock_password" or "information"
    at: dt.datetime
    subject: str
    text: str
    source: str
    start: dt.datetime | None = None  # platform manual 2.5: shown from its Start Time on

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "subject": self.subject,
            "text": self.text,
            "source": self.source,
            "start": self.start.isoformat() if self.start else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """Read the stored form."""
        start = data.get("start")
        return cls(
            data["kind"],
            dt.datetime.fromisoformat(data["at"]),
            data["subject"],
            data["text"],
            data["source"],
            dt.datetime.fromisoformat(start) if start else None,
        )

    def shown_at(self, now: dt.datetime) -> bool:
        """True once its start time has come."""
        return self.start is None or self.start <= now


class IndoorMonitor:
    """One VTH."""

    def __init__(
        self,
        *,
        serial: str,
        store: Persistence | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.serial = serial
        self.store = store
        self.clock = clock
        self.settings = VthSettings()
        self.admin_ha1: str | None = None
        self.link: VthLink = NoLink()
        self.on_event: Callable[[str, str, dict[str, Any]], None] | None = None
        self.registered = False
        self.register_error = ""
        self.call_state = CallState.idle
        self.call_id = ""
        self.call_peer = ""
        self.call_incoming = False
        self.call_started: dt.datetime | None = None
        self.answered_at: dt.datetime | None = None
        self.monitor_door = ""
        self.monitor_error = ""
        self.muted = False
        self.rtp = {"audio_in": 0, "audio_out": 0, "video_in": 0, "video_frames": 0}
        self.records: dict[str, list[Record]] = {kind: [] for kind in RECORD_KINDS}
        self.next_rec_no = dict.fromkeys(RECORD_KINDS, 1)
        self.messages: list[Message] = []
        self.unlock_passwords: dict[str, str] = {}  # room -> password (platform 2.3)
        self._ids = itertools.count(1)

    # --- flash ---------------------------------------------------------------------------

    def load(self, blocks: dict[str, Any], records: Iterable[Record]) -> None:
        """Restore what the store holds."""
        if "settings" in blocks:
            self.settings = VthSettings.from_json(blocks["settings"])
        self.admin_ha1 = blocks.get("admin_ha1")
        self.unlock_passwords = dict(blocks.get("unlock_passwords", {}))
        self.messages = [Message.from_json(m) for m in blocks.get("messages", [])]
        for record in sorted(records, key=lambda r: r.rec_no):
            self.records[record.kind].append(record)
            self.next_rec_no[record.kind] = record.rec_no + 1

    def _save(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.save_settings(key, value)

    def update_settings(self, change: Callable[[VthSettings], object]) -> None:
        """Apply a change to a copy, validate it, then keep and store it."""
        candidate = VthSettings.from_json(self.settings.to_json())
        change(candidate)
        self.settings = candidate.check()
        self._save("settings", self.settings.to_json())

    # --- admin ---------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        """True once the admin password is set."""
        return self.admin_ha1 is not None

    def set_admin_password(self, password: str) -> None:
        """Set the password of user admin (8-32 characters, two kinds)."""
        problem = admin_password_problem(password)
        if problem is not None:
            raise VthError(problem)
        self.admin_ha1 = ha1_of(ADMIN_USER, realm_for(self.serial), password)
        self._save("admin_ha1", self.admin_ha1)

    # --- settings ------------------------------------------------------------------------

    def set_room(self, text: str) -> RoomNumber:
        """Change the room number (re-registers)."""
        number = RoomNumber.parse(text, buildings=self.settings.supports_buildings)
        self.update_settings(lambda s: setattr(s, "room", str(number)))
        self.set_registered(False, "room number changed")
        return number

    def set_sip_server(self, host: str, port: int, *, realm: str, password: str) -> None:
        """Where and with which password the VTH registers."""

        def change(s: VthSettings) -> None:
            s.sip_host, s.sip_port, s.realm, s.sip_password = host, port, realm, password

        self.update_settings(change)

    def set_option(self, name: str, value: Any) -> None:
        """auto_answer, dnd or ring_time_s."""
        if name not in ("auto_answer", "dnd", "ring_time_s"):
            raise VthError(f"unknown option {name!r}; one of auto_answer, dnd, ring_time_s")
        self.update_settings(lambda s: setattr(s, name, type(getattr(s, name))(value)))

    def put_door(self, door: Door) -> Door:
        """Add or replace a door station of Monitor > Door."""
        self.update_settings(lambda s: s.doors.__setitem__(door.name, door))
        return door

    def door(self, name: str) -> Door:
        """A door station by name (the only one when name is empty)."""
        doors = self.settings.doors
        if not name and len(doors) == 1:
            return next(iter(doors.values()))
        known = ", ".join(doors) or "none configured: add one with --door NAME=HOST:HTTP:RTSP"
        if not name:
            raise VthError(f"name the door station (doors: {known})")
        if name not in doors:
            raise VthError(f"no door station named {name!r} (doors: {known})")
        return doors[name]

    # --- registration --------------------------------------------------------------------

    def set_registered(self, ok: bool, reason: str = "") -> None:
        """The SIP front-end reports the registration result."""
        if ok != self.registered:
            logger.info("VTH %s %s %s", self.settings.room, "online" if ok else "offline", reason)
            self.emit("SIPRegisterResult", {"Success": ok, "Reason": reason})
        self.registered, self.register_error = ok, "" if ok else reason

    # --- calls ---------------------------------------------------------------------------

    def _set_call(self, state: CallState, reason: str = "") -> None:
        logger.info("VTH %s call %s -> %s %s", self.settings.room, self.call_state, state, reason)
        self.call_state = state

    def _begin(self, call_id: str, peer: str, *, incoming: bool, state: CallState) -> None:
        self.call_id, self.call_peer, self.call_incoming = call_id, peer, incoming
        self.call_started, self.answered_at = self.clock(), None
        self.muted = False
        self.rtp.update(audio_in=0, audio_out=0, video_in=0, video_frames=0)
        self._set_call(state, f"{'from' if incoming else 'to'} {peer}")

    def incoming_call(self, call_id: str, caller: str) -> str:
        """An INVITE arrived: "ringing", "answered" (auto-answer), "busy" or "dnd".

        A call interrupts monitoring (the resident sees who calls); during a call or while
        another call rings the new one is refused busy."""
        if self.call_state is CallState.monitoring and not self.settings.dnd:
            self.hang_up()
        if self.call_state is not CallState.idle:
            self._record_call(caller, "Busy", incoming=True)
            self.link.reject(call_id, BUSY)
            return "busy"
        if self.settings.dnd:
            self._record_call(caller, "Missed", incoming=True, reason="do not disturb")
            self.link.reject(call_id, BUSY)
            return "dnd"
        self._begin(call_id, caller, incoming=True, state=CallState.ringing)
        self.emit("Invite", {"CallID": call_id, "Caller": caller}, action="Start")
        if self.settings.auto_answer:
            self.answer()
            return "answered"
        return "ringing"

    def answer(self) -> None:
        """Answer the ringing call."""
        if self.call_state is not CallState.ringing or not self.call_incoming:
            raise VthError(f"no incoming call to answer (call is {self.call_state})")
        self.link.answer(self.call_id)
        self.answered_at = self.clock()
        self._set_call(CallState.talking, "answered")

    def reject(self) -> None:
        """Refuse the ringing call (the caller hears busy)."""
        if self.call_state is not CallState.ringing or not self.call_incoming:
            raise VthError(f"no incoming call to reject (call is {self.call_state})")
        self.link.reject(self.call_id, BUSY)
        self._end("Rejected")

    def hang_up(self) -> None:
        """End the call (or stop monitoring, or stop our outgoing call ringing)."""
        state = self.call_state
        if state is CallState.idle:
            raise VthError("no call to hang up")
        if state is CallState.monitoring:
            self.link.stop_monitor()
            self.monitor_door = ""
            self._set_call(CallState.idle, "monitor stopped")
            return
        if state is CallState.ringing:
            self.reject()
            return
        self.link.hangup(self.call_id)
        self._end("Received" if self.answered_at else "Cancelled")

    def call(self, number: str) -> str:
        """Call the centre, a room or a door station by number."""
        number = number.strip()
        if not number or len(number) > 32 or any(c.isspace() for c in number):
            raise VthError("dial a number: the centre (888888), a room (102, 101#1) or a VTO No.")
        if self.call_state is not CallState.idle:
            raise VthError(f"hang up first (call is {self.call_state})")
        if not self.registered:
            raise VthError("not registered to the SIP server: cannot call")
        call_id = f"vth-{next(self._ids)}"
        self._begin(call_id, number, incoming=False, state=CallState.calling)
        self.link.dial(call_id, number)
        return call_id

    def remote_answered(self, call_id: str) -> None:
        """Our outgoing call was answered."""
        if call_id == self.call_id and self.call_state is CallState.calling:
            self.answered_at = self.clock()
            self._set_call(CallState.talking, "far end answered")

    def remote_ended(self, call_id: str, why: str = "hangup") -> None:
        """The far end hung up, cancelled (ringing; ``answered elsewhere`` when another unit
        took the call) or refused our call (``why``)."""
        if call_id != self.call_id or self.call_state in (CallState.idle, CallState.monitoring):
            return
        if self.answered_at is not None:
            self._end("Received")
        elif self.call_incoming and why == "answered elsewhere":
            self._end("AnsweredElsewhere", "another unit of the room answered")
        elif self.call_incoming:
            self._end("Missed")
        else:
            self._end({"busy": "Busy", "cancelled": "Cancelled"}.get(why, "Failed"), why)

    def set_mute(self, muted: bool) -> None:
        """Mute our microphone during a call."""
        if self.call_state is not CallState.talking:
            raise VthError("mute works during a call")
        self.muted = muted

    def _end(self, end_state: str, reason: str = "") -> None:
        self._record_call(self.call_peer, end_state, incoming=self.call_incoming, reason=reason)
        if end_state == "Missed":
            self.emit("CallNoAnswered", {"CallID": self.call_id, "Caller": self.call_peer})
        self.emit("Invite", {"CallID": self.call_id, "EndState": end_state}, action="Stop")
        self._set_call(CallState.idle, end_state)

    def _record_call(self, peer: str, end_state: str, *, incoming: bool, reason: str = "") -> None:
        talk = 0
        if self.answered_at is not None and end_state == "Received":
            talk = int((self.clock() - self.answered_at).total_seconds())
        data: dict[str, Any] = {"Type": "Incoming" if incoming else "Outgoing", "PeerNumber": peer}
        data |= {"EndState": end_state, "TalkTime": talk, "Reason": reason}
        self.add_record("call", data)

    def tick(self) -> None:
        """Timers: an incoming call not answered within the ring time is missed."""
        if self.call_state is CallState.ringing and self.call_started is not None:
            elapsed = (self.clock() - self.call_started).total_seconds()
            if elapsed >= self.settings.ring_time_s:
                self.link.reject(self.call_id, UNAVAILABLE)
                self._end("Missed", f"not answered within {self.settings.ring_time_s} s")

    # --- unlock and monitor --------------------------------------------------------------

    def unlock(self, door_name: str = "") -> str:
        """Open the door: of the calling VTO during a call, of the watched or named VTO."""
        if self.call_state is CallState.talking and not door_name:
            self.link.unlock(self.call_id)
            target, method = self.call_peer, "SIP"
        else:
            door = self.door(door_name or self.monitor_door)
            self.link.open_door(door)
            target, method = door.name, "HTTP"
        self.add_record("unlock", {"Door": target, "Method": method})
        return target

    def monitor(self, door_name: str = "") -> Door:
        """Watch a door station's stream without a call (Monitor > Door, manual 4.3.2)."""
        if self.call_state is not CallState.idle:
            raise VthError(f"hang up first (call is {self.call_state})")
        door = self.door(door_name)
        self.monitor_door, self.monitor_error = door.name, ""
        self.rtp.update(audio_in=0, audio_out=0, video_in=0, video_frames=0)
        self._set_call(CallState.monitoring, door.name)
        self.link.monitor(door)
        return door

    def monitor_ended(self, door_name: str, reason: str) -> None:
        """The stream of the watched door station ended or could not be opened."""
        if self.call_state is CallState.monitoring and self.monitor_door == door_name:
            self.monitor_door, self.monitor_error = "", reason
            self._set_call(CallState.idle, f"monitor of {door_name} ended: {reason}")

    # --- messages from the platform ------------------------------------------------------

    def receive_unlock_password(self, room: str, password: str, source: str = "") -> Message:
        """The platform sent the room's unlock password (platform manual 2.3)."""
        check_unlock_password(password)
        own = self.settings.room_number
        if room and room not in (own.room, str(own)):
            raise VthError(f"unlock password for room {room}, but this VTH is {own}")
        self.unlock_passwords[own.room] = password
        self._save("unlock_passwords", self.unlock_passwords)
        return self._message("unlock_password", "Unlock password", password, source)

    def receive_information(
        self, subject: str, text: str, source: str = "", start: dt.datetime | None = None
    ) -> Message:
        """An information release from the platform, shown from ``start`` on (manual 2.5)."""
        if not subject.strip() and not text.strip():
            raise VthError("an information release needs a subject or a text")
        if len(subject) + len(text) > MAX_MESSAGE_LENGTH:
            raise VthError(f"an information release holds at most {MAX_MESSAGE_LENGTH} characters")
        if start is not None and start.tzinfo is None:
            raise VthError("the start time of an information release needs a time zone")
        return self._message("information", subject.strip(), text, source, start)

    def _message(
        self, kind: str, subject: str, text: str, source: str, start: dt.datetime | None = None
    ) -> Message:
        message = Message(kind, self.clock(), subject, text, source, start)
        self.messages.append(message)
        del self.messages[:-MAX_MESSAGES]
        self._save("messages", [m.to_json() for m in self.messages])
        shown = "******" if kind == "unlock_password" else subject
        self.add_record("message", {"Type": kind, "Subject": shown, "Source": source})
        self.emit("InformationRelease", {"Type": kind, "Subject": shown})
        return message

    # --- records and events --------------------------------------------------------------

    def shown_messages(self) -> list[Message]:
        """The messages whose start time has come, oldest first."""
        now = self.clock()
        return [m for m in self.messages if m.shown_at(now)]

    def add_record(self, kind: str, data: dict[str, Any]) -> Record:
        """Append a record (numbered per kind); the oldest are dropped past the cap."""
        rec_no = self.next_rec_no[kind]
        self.next_rec_no[kind] = rec_no + 1
        record = Record(kind, rec_no, self.clock(), {**data, "RecNo": rec_no})
        keep_record(self.records[kind], record, self.store, MAX_RECORDS)
        return record

    def find_records(self, kind: str) -> list[Record]:
        """Records of one kind, oldest first."""
        if kind not in self.records:
            raise VthError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
        return list(self.records[kind])

    def emit(self, code: str, data: dict[str, Any], *, action: str = "Pulse") -> None:
        """Send an event to the front-ends."""
        if self.on_event is not None:
            self.on_event(code, action, data)

    def status(self) -> dict[str, Any]:
        """What ``status --json`` prints."""
        s = self.settings
        return {
            "room": s.room,
            "serial": self.serial,
            "registered": self.registered,
            "register_error": self.register_error,
            "sip_server": f"{s.sip_host}:{s.sip_port}" if s.sip_host else "",
            "call": {
                "state": self.call_state.value,
                "peer": self.call_peer,
                "incoming": self.call_incoming,
                "muted": self.muted,
            },
            "monitor": self.monitor_door,
            "monitor_error": self.monitor_error,
            "rtp": dict(self.rtp),
            "dnd": s.dnd,
            "auto_answer": s.auto_answer,
            "messages": len(self.messages),
        }
