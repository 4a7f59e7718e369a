"""The modular door station's state and rules (manual chapter 4), with no I/O.

``DoorStation`` holds the settings, facade, room and VTO lists, access users, records and the
call. Every limit is enforced with a ``VtoError`` naming what to fix. Front-ends (HTTP, DHIP,
the control endpoint, the Textual facade) call it; it reports through ``on_event(code,
action, data)`` and places calls through a ``CallLink`` (the SIP user agent or server).
Timers (ring timeout, lock hold, door left open, tamper sound) advance when a front-end
calls ``tick()``; the clock is injected so tests control time. Calls live in ``calls.py``,
unlock, door and alarms in ``access.py`` (mixins of ``DoorStation``).

SIP seam: the link calls ``set_registered``, ``call_answered``, ``call_rejected`` and
``remote_hangup``; the unit calls ``CallLink.invite/cancel/bye``. A call button raises its
events only while registered (as the real unit does); when the unit is the SIP server it
counts as registered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from openpss.devices.common.passwords import admin_password_problem
from openpss.devices.common.store import keep_record
from openpss.devices.vto.access import AccessMixin
from openpss.devices.vto.calls import CallLink, CallMixin, NoCallLink
from openpss.devices.vto.directory import Directory, batch_numbers
from openpss.devices.vto.entities import (
    LIGHT_IDLE,
    MAX_RECORDS,
    AccessUser,
    CallState,
    NotFoundError,
    Record,
    Room,
    SystemType,
    VtoEntry,
    VtoError,
    check_vto_number,
)
from openpss.devices.vto.facade import Facade, build_facade, default_facade
from openpss.devices.vto.settings import VtoSettings
from openpss.devices.vto.users import check_user
from openpss.protocols.dahua_http.digest import ha1_of, realm_for

logger = logging.getLogger(__name__)

ADMIN_USER = "admin"
RECORD_KINDS = ("call", "unlock", "alarm")
DEFAULT_MODEL = "VTO4202F-MB5"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_admin_password(password: str) -> str:
    """8-32 characters without blanks, at least two kinds (manual Appendix 1)."""
    problem = admin_password_problem(password)
    if problem is not None:
        raise VtoError(problem)
    return password


class Persistence(Protocol):
    """Where the unit writes its state (the device's flash)."""

    def save_settings(self, key: str, value: Any) -> None: ...
    def append_record(self, record: Record) -> None: ...
    def drop_records_before(self, kind: str, rec_no: int) -> None: ...


class DoorStation(CallMixin, AccessMixin):
    """The modular VTO."""

    def __init__(
        self,
        *,
        serial: str,
        model: str = DEFAULT_MODEL,
        store: Persistence | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        on_event: Callable[[str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.serial = serial
        self.store = store
        self.clock = clock
        self.on_event = on_event
        self.link: CallLink = NoCallLink()
        self.settings = VtoSettings()
        self.facade: Facade = default_facade(model)
        self.directory = Directory()
        self.users: dict[str, AccessUser] = {}
        self.records: dict[str, list[Record]] = {kind: [] for kind in RECORD_KINDS}
        self.next_rec_no = dict.fromkeys(RECORD_KINDS, 1)
        self.admin_ha1: str | None = None
        self.registered_to_server = False
        self.sip_listeners: list[Callable[[], None]] = []  # the SIP runtime restarts on change
        self.call_state = CallState.idle
        self.call_peer = ""
        self.call_id = ""
        self.call_targets: list[str] = []
        self.call_started: dt.datetime | None = None
        self.talk_started: dt.datetime | None = None
        self.call_kind = "Outgoing"
        self.backlight = LIGHT_IDLE
        self.rtp = {"audio_in": 0, "audio_out": 0, "video_out": 0}
        self._call_numbers = itertools.count(1)
        self.lock_open_until: dt.datetime | None = None
        self.door_open = False
        self.door_open_since: dt.datetime | None = None
        self.door_alarmed = False
        self.tamper_detached = False
        self.alarm_sound_until: dt.datetime | None = None
        self.keypad_buffer = ""
        self.keypad_last: dt.datetime | None = None
        self.online: set[str] = set()  # SIP accounts registered here (Refresh in Room No. Mgmt)
        if store is None:  # with a store, ``load`` lists the unit once its flash is read
            self.ensure_self_listed()

    # --- loading and saving --------------------------------------------------------------

    def load(self, blocks: dict[str, Any], records: Iterable[Record]) -> None:
        """Restore state read back from persistence."""
        if "settings" in blocks:
            self.settings = VtoSettings.from_json(blocks["settings"])
        if "facade" in blocks:
            data = blocks["facade"]
            self.facade = build_facade(data["model"], data["modules"])
        if "directory" in blocks:
            self.directory = Directory.from_json(blocks["directory"])
        for data in blocks.get("users", []):
            user = AccessUser(**{**data, "fingerprints": []})
            user.fingerprints = [bytes.fromhex(fp) for fp in data.get("fingerprints", [])]
            self.users[user.user_id] = user
        self.admin_ha1 = blocks.get("admin_ha1")
        for record in sorted(records, key=lambda r: r.rec_no):
            self.records[record.kind].append(record)
            self.next_rec_no[record.kind] = record.rec_no + 1
        self.ensure_self_listed()

    def save_settings(self) -> None:
        """Write the settings block."""
        self._save("settings", self.settings.to_json())

    def _save(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.save_settings(key, value)

    def save_users(self) -> None:
        """Write the access users."""
        self._save(
            "users",
            [
                {
                    "user_id": u.user_id,
                    "name": u.name,
                    "password": u.password,
                    "cards": u.cards,
                    "fingerprints": [fp.hex() for fp in u.fingerprints],
                    "duress_fingerprint": u.duress_fingerprint,
                }
                for u in self.users.values()
            ],
        )

    def update_settings(self, change: Callable[[VtoSettings], object]) -> None:
        """Apply ``change`` to a copy, validate, keep it (all or nothing)."""
        candidate = VtoSettings.from_json(self.settings.to_json())
        change(candidate)
        candidate.validate()
        if candidate.vto_number != self.settings.vto_number:
            self._check_new_vto_number(candidate)
        self.settings = candidate
        self.save_settings()

    # --- initialization (manual 4.2.1) ---------------------------------------------------

    @property
    def initialized(self) -> bool:
        """True once Device Init set the admin password."""
        return self.admin_ha1 is not None

    def initialize(self, password: str, email: str = "") -> None:
        """Device Init: password (entered twice by the web page) and optional e-mail."""
        if self.initialized:
            raise VtoError("the device is already initialized")
        check_admin_password(password)
        self.update_settings(lambda s: setattr(s, "email", email.strip()))
        self.set_admin_password(password)

    def set_admin_password(self, password: str) -> None:
        """Set the ``admin`` password, kept as its digest HA1 (HTTP digest and DHIP login)."""
        check_admin_password(password)
        self.admin_ha1 = ha1_of(ADMIN_USER, realm_for(self.serial), password)
        self._save("admin_ha1", self.admin_ha1)

    # --- VTO number, system type, SIP mode (manual 4.2.2-4.2.4) --------------------------

    @property
    def is_sip_server(self) -> bool:
        """True when this unit is the SIP server (Server Type VTO, SIP Server enabled)."""
        return self.settings.sip.server_enabled

    def set_vto_number(self, number: str) -> None:
        """Change the VTO No. (only while the unit is not the SIP server)."""
        old = self.settings.vto_number
        self.update_settings(lambda s: setattr(s, "vto_number", check_vto_number(number)))
        own = self.directory.vtos.pop(old, None)
        if own is not None and number != old:  # the unit's own entry follows its number
            own.rec_no = number
            self.directory.vtos[number] = own
            self.save_directory()

    def _check_new_vto_number(self, candidate: VtoSettings) -> None:
        number = candidate.vto_number
        if self.is_sip_server and candidate.sip.server_enabled:
            raise VtoError(
                "the VTO number can be changed only when this VTO is not the SIP server "
                "(manual 4.2.2): disable SIP Server first"
            )
        if number in self.directory.room_bases():
            raise VtoError(f"VTO number {number} is a room number (manual 4.2.2)")

    def set_system_type(self, system_type: SystemType) -> None:
        """TCP/IP or analogue (takes effect at the restart the manual asks for)."""
        self.update_settings(lambda s: setattr(s, "system_type", system_type))

    def set_sip_server(self, *, enabled: bool, **fields: Any) -> None:
        """Select the SIP server: this VTO (``enabled``) or another server."""

        def change(s: VtoSettings) -> None:
            s.sip.server_enabled = enabled
            for key, value in fields.items():
                if not hasattr(s.sip, key):
                    raise VtoError(f"unknown SIP setting {key!r}")
                setattr(s.sip, key, value)
            if enabled:
                s.sip.server_type = "VTO"
                s.building_no = s.unit_no = ""

        self.update_settings(change)
        self.sip_settings_changed()

    def sip_settings_changed(self) -> None:
        """The SIP server settings changed: drop the registration, restart SIP at once."""
        self.registered_to_server = False
        if self.is_sip_server:
            self.ensure_self_listed()
        self.emit("SIPRegisterResult", {"Success": self.registered})
        for listener in list(self.sip_listeners):
            listener()

    def ensure_self_listed(self) -> None:
        """The SIP server itself is part of VTO No. Management (manual 4.2.5 step 3)."""
        own = self.settings.vto_number
        if self.is_sip_server and own not in self.directory.vtos:
            entry = VtoEntry(own, ip_address=self.settings.ip_address)
            self.directory.put_vto(entry, server_is_self=True)
            self.save_directory()

    def save_directory(self) -> None:
        """Write the room and VTO lists."""
        self._save("directory", self.directory.to_json())

    @property
    def registered(self) -> bool:
        """Registered to a SIP server, or is the SIP server itself."""
        return self.is_sip_server or self.registered_to_server

    def set_registered(self, ok: bool) -> None:
        """The SIP user agent reports a registration result."""
        changed = ok != self.registered_to_server
        self.registered_to_server = ok
        if changed:
            self.emit("SIPRegisterResult", {"Success": ok})

    # --- facade (manual 4.2.7) -----------------------------------------------------------

    def set_facade(self, modules: Iterable[dict[str, Any] | str], model: str | None = None) -> None:
        """Replace the layout (camera module first, then top to bottom, left to right)."""
        rooms = self._known_rooms()
        self.facade = build_facade(model or self.facade.model, modules, rooms)
        self._save("facade", self.facade.to_json())

    def _known_rooms(self) -> set[str] | None:
        if not self.is_sip_server:
            return None
        return set(self.directory.rooms) | self.directory.room_bases()

    # --- records -------------------------------------------------------------------------

    def add_record(self, kind: str, data: dict[str, Any]) -> Record:
        """Append a record (numbered per kind); the oldest are dropped past the cap."""
        now = self.clock()
        rec_no = self.next_rec_no[kind]
        self.next_rec_no[kind] = rec_no + 1
        record = Record(kind, rec_no, now, {**data, "RecNo": rec_no, "CreateTime": _epoch(now)})
        keep_record(self.records[kind], record, self.store, MAX_RECORDS)
        return record

    def find_records(
        self,
        kind: str,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        after_rec_no: int = 0,
    ) -> list[Record]:
        """Records of one kind with start <= time < end and RecNo > after_rec_no."""
        if kind not in self.records:
            raise NotFoundError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
        return [
            r
            for r in self.records[kind]
            if r.rec_no > after_rec_no
            and (start is None or r.at >= start)
            and (end is None or r.at < end)
        ]

    # --- events --------------------------------------------------------------------------

    def emit(self, code: str, data: dict[str, Any], *, action: str = "Pulse") -> None:
        """Send an event to the front-ends."""
        if self.on_event is not None:
            self.on_event(code, action, data)

    def light(self, state: int) -> None:
        """The BackKeyLight (call/talk/unlock indicators) changes state."""
        self.backlight = state
        self.emit("BackKeyLight", {"State": state})

    # --- Room No. / VTO No. Management (manual 4.2.5, 4.2.6) ------------------------------

    def _require_server(self, what: str) -> None:
        if not self.is_sip_server:
            raise VtoError(
                f"{what} is kept by the SIP server; this VTO is not the SIP server (manual 4.2.5)"
            )

    def _check_not_own_number(self, number: str) -> None:
        if number.split("#", 1)[0] == self.settings.vto_number:
            raise VtoError(f"room number {number} is this VTO's number (manual 4.2.6)")

    def add_room(self, room: Room) -> Room:
        """Room No. Management > Add."""
        self._require_server("Room No. Management")
        self._check_not_own_number(room.number)
        self.directory.add_room(room)
        self.save_directory()
        return room

    def update_room(self, number: str, room: Room) -> Room:
        """Room No. Management > modify."""
        self._require_server("Room No. Management")
        self._check_not_own_number(room.number)
        self.directory.update_room(number, room)
        self.save_directory()
        return room

    def remove_room(self, number: str) -> None:
        """Room No. Management > delete."""
        self._require_server("Room No. Management")
        self.directory.remove_room(number)
        self.save_directory()

    def clear_rooms(self) -> int:
        """Room No. Management > Clear."""
        self._require_server("Room No. Management")
        count = self.directory.clear_rooms()
        self.save_directory()
        return count

    def batch_add_rooms(self, **layout: int) -> list[Room]:
        """Room No. Management > Add in batch (layers, rooms_per_layer, first/second floor)."""
        self._require_server("Room No. Management")
        numbers = batch_numbers(**layout)
        for number in numbers:
            self._check_not_own_number(number)
        added = self.directory.batch_add(**layout)
        self.save_directory()
        return added

    def room_list(self) -> dict[str, Any]:
        """Room No. and VTO No. Management with registration status (the Refresh button)."""
        rooms = [
            {
                "number": r.number,
                "first_name": r.first_name,
                "last_name": r.last_name,
                "nick_name": r.nick_name,
                "online": r.number in self.online,
            }
            for r in self.directory.rooms.values()
        ]
        vtos = [
            {"rec_no": v.rec_no, "ip_address": v.ip_address, "online": v.rec_no in self.online}
            for v in self.directory.vtos.values()
        ]
        return {"rooms": rooms, "vtos": vtos}

    def put_vto(self, entry: VtoEntry) -> VtoEntry:
        """VTO No. Management > Add / modify."""
        self._require_server("VTO No. Management")
        self.directory.put_vto(entry, server_is_self=True)
        self.save_directory()
        return entry

    def remove_vto(self, rec_no: str) -> None:
        """VTO No. Management > delete (not the server itself)."""
        self._require_server("VTO No. Management")
        self.directory.remove_vto(rec_no, own_number=self.settings.vto_number)
        self.save_directory()

    # --- access users (pushed by the platform) -------------------------------------------

    def put_user(self, user: AccessUser) -> AccessUser:
        """Add or replace an access user (room unlock password, cards, fingerprints)."""
        check_user(user, self.users)
        self.users[user.user_id] = user
        self.save_users()
        return user

    def remove_user(self, user_id: str) -> None:
        """Delete an access user."""
        if self.users.pop(user_id, None) is None:
            raise NotFoundError(f"user {user_id} does not exist")
        self.save_users()

    def status(self) -> dict[str, Any]:
        """What ``openpss device vto status --json`` prints."""
        return {
            "registered": self.registered,
            "sip_server": self.is_sip_server,
            "vto_number": self.settings.vto_number,
            "call": {"state": self.call_state.value, "peer": self.call_peer},
            "rtp": dict(self.rtp),
            "door": "open" if self.door_open else "closed",
            "lock": "open" if self.unlocked else "locked",
            "door_mode": self.settings.access.mode.value,
            "indicator": self.backlight,
            "alarm_sounding": self.alarm_sounding,
            "tamper": "detached" if self.tamper_detached else "mounted",
            "keypad": self.keypad_buffer,
        }


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())
