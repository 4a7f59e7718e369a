"""Unlock, door sensor, exit button, alarms and the keypad of the door station (no I/O).

Unlock ways (manual 1.2, 2.5; platform 2.3): card, fingerprint, public password ``#PWD#``,
room + unlock password (``000011888888#`` = room 11 + 888888), remote (HTTP/DHIP/SIP during
a call), exit button. A duress card, duress finger or the duress password opens the door and
raises a duress alarm. Always open / always closed / restore set the door mode. Every
attempt, refused ones included, becomes an unlock record (``AccessControlCardRec``).

Alarms (manual 1.2, 2.1, 3.2): tamper (alarm sound for 15 s, event to the centre), door
forced open, door left open past ``close_timeout_s``, duress. Each becomes an alarm record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from openpss.devices.vto.entities import (
    LIGHT_UNLOCK,
    LIGHT_UNLOCK_FAILED,
    ROOM_PASSWORD_PREFIX_DIGITS,
    TAMPER_ALARM_S,
    AccessUser,
    DoorMode,
    Record,
    UnlockResult,
    VtoError,
)
from openpss.devices.vto.settings import VtoSettings
from openpss.protocols.dahua_http.records import (
    ERROR_DOOR_CLOSED,
    ERROR_NONE,
    ERROR_UNAUTHORIZED,
    METHOD_CODES,
    STATUS_FAILURE,
    STATUS_SUCCESS,
)

FINGERPRINT_MATCH_RATIO = 0.9  # same rule as the attendance terminal's sensor
MAX_KEYPAD_BUFFER = 32
KEYPAD_IDLE_S = 10.0  # ours: typed keys are forgotten after this long without a key
KEYS = set("0123456789#*") | {"call", "centre"}


def fingerprint_matches(a: bytes, b: bytes) -> bool:
    """Templates of equal length with at least 90 % equal bytes are the same finger."""
    if len(a) != len(b) or not a:
        return False
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) >= FINGERPRINT_MATCH_RATIO


class AccessMixin:
    """Unlock, door and alarm rules; mixed into ``DoorStation``."""

    settings: VtoSettings
    users: dict[str, AccessUser]
    clock: Callable[[], dt.datetime]
    lock_open_until: dt.datetime | None
    door_open: bool
    door_open_since: dt.datetime | None
    door_alarmed: bool
    tamper_detached: bool
    alarm_sound_until: dt.datetime | None
    keypad_buffer: str
    keypad_last: dt.datetime | None

    if TYPE_CHECKING:  # provided by DoorStation, which mixes this class in

        def emit(self, code: str, data: dict[str, Any], *, action: str = "Pulse") -> None: ...
        def add_record(self, kind: str, data: dict[str, Any]) -> Record: ...
        def light(self, state: int) -> None: ...
        def call(self, number: str, *, emergency: bool = False) -> str: ...
        def save_settings(self) -> None: ...

    # --- the lock ----------------------------------------------------------------------------

    @property
    def unlocked(self) -> bool:
        """True while the lock is released (hold time running, or always open)."""
        if self.settings.access.mode is DoorMode.always_open:
            return True
        return self.lock_open_until is not None and self.clock() < self.lock_open_until

    def set_door_mode(self, mode: DoorMode) -> None:
        """Always open / always closed / restore (Normal)."""
        self.settings.access.mode = mode
        self.save_settings()
        self.emit("DoorControl", {"State": mode.value})

    def unlock(
        self,
        method: str,
        *,
        user_id: str = "",
        card_no: str = "",
        duress: bool = False,
        allowed: bool = True,
        refusal: str = "not authorized",
        door_type: str = "Entry",
    ) -> UnlockResult:
        """Record one unlock attempt and release the lock when it is allowed (else the record
        says why not: ``refusal``, or that the door is set always closed)."""
        if allowed and self.settings.access.mode is DoorMode.always_closed:
            return self._refuse(method, user_id, card_no, "the door is set always closed", 1)
        if not allowed:
            return self._refuse(method, user_id, card_no, refusal, 0)
        hold = dt.timedelta(milliseconds=self.settings.access.unlock_hold_ms)
        self.lock_open_until = self.clock() + hold
        record = self.add_record(
            "unlock", self._access_data(method, user_id, card_no, True, ERROR_NONE, door_type)
        )
        self.emit("AccessControl", record.data)
        self.light(LIGHT_UNLOCK)
        if duress and self.settings.access.duress_alarm:
            self.raise_alarm("Duress", {"UserID": user_id, "CardNo": card_no, "Method": method})
        message = "door opened" + (" (duress alarm sent)" if duress else "")
        return UnlockResult(True, message, record.rec_no, duress)

    def _refuse(
        self, method: str, user_id: str, card_no: str, reason: str, closed: int
    ) -> UnlockResult:
        code = ERROR_DOOR_CLOSED if closed else ERROR_UNAUTHORIZED
        data = self._access_data(method, user_id, card_no, False, code, "Entry")
        data["Reason"] = reason  # as openpss terminals do: the platform shows why
        record = self.add_record("unlock", data)
        self.emit("AccessControl", record.data)
        self.light(LIGHT_UNLOCK_FAILED)
        return UnlockResult(False, f"unlock refused: {reason}", record.rec_no)

    def _access_data(
        self, method: str, user_id: str, card_no: str, ok: bool, error: int, door_type: str
    ) -> dict[str, Any]:
        user = self.users.get(user_id)
        return {
            "CardName": user.name if user else "",
            "CardNo": card_no,
            "CardType": 0,
            "Door": 0,
            "ErrorCode": error,
            "Method": METHOD_CODES[method],
            "ReaderID": "1",
            "Status": STATUS_SUCCESS if ok else STATUS_FAILURE,
            "Type": door_type,
            "UserID": user_id,
        }

    # --- credentials ---------------------------------------------------------------------

    def swipe(self, card_no: str) -> UnlockResult:
        """A card at the card swiping module."""
        card = card_no.strip().upper()
        for user in self.users.values():
            if card in user.cards:
                return self.unlock(
                    "card", user_id=user.user_id, card_no=card, duress=user.cards[card]
                )
        return self.unlock("card", card_no=card, allowed=False, refusal="card not registered")

    def present_finger(self, template: bytes) -> UnlockResult:
        """A finger on the fingerprint module."""
        for user in self.users.values():
            for index, stored in enumerate(user.fingerprints):
                if fingerprint_matches(stored, template):
                    duress = user.duress_fingerprint == index
                    return self.unlock("fingerprint", user_id=user.user_id, duress=duress)
        return self.unlock("fingerprint", allowed=False, refusal="fingerprint not registered")

    def enter_public_password(self, password: str) -> UnlockResult:
        """``#PWD#`` on the keypad: the public or the duress password."""
        access = self.settings.access
        if access.duress_password and password == access.duress_password:
            return self.unlock("password", duress=True)
        allowed = bool(access.public_password) and password == access.public_password
        refusal = "wrong public password" if access.public_password else "no public password set"
        return self.unlock("password", allowed=allowed, refusal=refusal)

    def enter_room_password(self, digits: str) -> UnlockResult:
        """Room (6 digits, zero padded) + that room's unlock password (platform 2.3)."""
        room = digits[:ROOM_PASSWORD_PREFIX_DIGITS].lstrip("0")
        password = digits[ROOM_PASSWORD_PREFIX_DIGITS:]
        user = self.users.get(room)
        allowed = user is not None and bool(user.password) and user.password == password
        refusal = "wrong room unlock password" if user and user.password else "room has no password"
        return self.unlock("password", user_id=room, allowed=allowed, refusal=refusal)

    def remote_unlock(self, user_id: str = "") -> UnlockResult:
        """Remote unlock (HTTP/DHIP openDoor, SIP INFO/DTMF from the VTH during a call)."""
        return self.unlock("remote", user_id=user_id)

    def press_exit_button(self) -> UnlockResult:
        """The exit button on the user port opens from inside."""
        return self.unlock("button", door_type="Exit")

    # --- keypad --------------------------------------------------------------------------

    def press_key(self, key: str) -> dict[str, Any]:
        """One key of the keyboard module: digits, ``#``, ``*`` (clear), ``call``, ``centre``."""
        if key not in KEYS:
            raise VtoError(f"unknown key {key!r}; keys are 0-9, #, *, call, centre")
        self.keypad_last = self.clock()
        if key == "*":
            self.keypad_buffer = ""
            return {"buffer": ""}
        if key in ("call", "centre"):
            number = "888888" if key == "centre" else self.keypad_buffer
            self.keypad_buffer = ""
            if not number:
                raise VtoError("dial a room number before pressing call")
            return {"call": self.call(number)}
        return self._type_key(key)

    def _type_key(self, key: str) -> dict[str, Any]:
        buffer = self.keypad_buffer + key
        if len(buffer) > MAX_KEYPAD_BUFFER:
            self.keypad_buffer = ""
            raise VtoError(f"more than {MAX_KEYPAD_BUFFER} keys without # or call: cleared")
        if key != "#" or buffer == "#":
            self.keypad_buffer = buffer
            return {"buffer": buffer}
        self.keypad_buffer = ""
        if buffer.startswith("#"):
            result = self.enter_public_password(buffer[1:-1])
        elif len(buffer) > ROOM_PASSWORD_PREFIX_DIGITS + 1:
            result = self.enter_room_password(buffer[:-1])
        else:
            result = self.unlock("password", allowed=False, refusal="not a password")
        return {"unlock": result}

    def type_keys(self, keys: str) -> list[dict[str, Any]]:
        """Several keys at once, e.g. ``#123456#``."""
        return [self.press_key(key) for key in keys]

    # --- door sensor, tamper, alarms -----------------------------------------------------

    def set_door(self, *, open_: bool) -> None:
        """The door sensor reports the door open or closed."""
        if open_ == self.door_open:
            return
        self.door_open = open_
        self.emit("DoorStatus", {"Status": "Open" if open_ else "Close"})
        if not open_:
            self.door_open_since = None
            self.door_alarmed = False
            return
        self.door_open_since = self.clock()
        access = self.settings.access
        if access.sensor_enabled and access.break_in_alarm and not self.unlocked:
            self.raise_alarm("BreakIn", {"Door": 0})

    def set_tamper(self, *, detached: bool) -> None:
        """The tamper switch: detached from the wall sounds the alarm for 15 s (manual 3.2)."""
        if detached == self.tamper_detached:
            return
        self.tamper_detached = detached
        if detached:
            self.alarm_sound_until = self.clock() + dt.timedelta(seconds=TAMPER_ALARM_S)
            self.raise_alarm("ChassisIntruded", {"Sound": True}, action="Start")

    def raise_alarm(self, kind: str, data: dict[str, Any], *, action: str = "Pulse") -> None:
        """Record an alarm and send it to the centre (``AlarmLocal`` plus its own code)."""
        record = self.add_record("alarm", {"AlarmType": kind, **data})
        self.emit(kind, record.data, action=action)
        self.emit("AlarmLocal", {"AlarmType": kind, "RecNo": record.rec_no}, action=action)

    def check_access_timers(self, now: dt.datetime) -> None:
        """Lock relock, door-left-open alarm, end of the tamper alarm sound, keypad idle."""
        idle = dt.timedelta(seconds=KEYPAD_IDLE_S)
        if self.keypad_buffer and self.keypad_last and now - self.keypad_last >= idle:
            self.keypad_buffer = ""
        if self.lock_open_until is not None and now >= self.lock_open_until:
            self.lock_open_until = None
        if self.alarm_sound_until is not None and now >= self.alarm_sound_until:
            self.alarm_sound_until = None
            self.emit("ChassisIntruded", {"Sound": False}, action="Stop")
        access = self.settings.access
        if (
            self.door_open_since is not None
            and not self.door_alarmed
            and access.sensor_enabled
            and access.not_closed_alarm
            and access.mode is not DoorMode.always_open
            and now - self.door_open_since >= dt.timedelta(seconds=access.close_timeout_s)
        ):
            self.door_alarmed = True
            self.raise_alarm("DoorNotClosed", {"Door": 0})

    @property
    def alarm_sounding(self) -> bool:
        """True while the tamper alarm sounds."""
        return self.alarm_sound_until is not None
