"""Calls of the door station (manual 4.3.1, platform 3), with no I/O: call keys, dialling,
the centre and emergency calls, the ring timeout (missed call), the talk limit, and what the
SIP link reports (answered, rejected, failed, far-end hang-up). Mixed into ``DoorStation``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from openpss.devices.vto.directory import Directory
from openpss.devices.vto.entities import (
    CENTRE_NUMBER,
    LIGHT_ANSWERED,
    LIGHT_IDLE,
    LIGHT_NOT_ANSWERED,
    LIGHT_RINGING,
    LIGHT_RINGING_2,
    CallState,
    Record,
    SystemType,
    VtoError,
)
from openpss.devices.vto.facade import Facade
from openpss.devices.vto.settings import VtoSettings

logger = logging.getLogger(__name__)


class CallLink(Protocol):
    """What the unit needs from SIP: ring targets, stop ringing, hang up."""

    def invite(self, call_id: str, targets: list[str]) -> None: ...
    def cancel(self, call_id: str) -> None: ...
    def bye(self, call_id: str) -> None: ...


class NoCallLink:
    """No SIP attached: calls ring until answered by a test or they time out."""

    def invite(self, call_id: str, targets: list[str]) -> None:
        """Nothing rings."""

    def cancel(self, call_id: str) -> None:
        """Nothing to stop."""

    def bye(self, call_id: str) -> None:
        """Nothing to hang up."""


class CallMixin:
    """The call state machine; mixed into ``DoorStation``."""

    serial: str
    settings: VtoSettings
    facade: Facade
    directory: Directory
    clock: Callable[[], dt.datetime]
    link: CallLink
    call_state: CallState
    call_peer: str
    call_id: str
    call_targets: list[str]
    call_started: dt.datetime | None
    talk_started: dt.datetime | None
    call_kind: str
    backlight: int
    _call_numbers: itertools.count[int]

    if TYPE_CHECKING:  # provided by DoorStation

        @property
        def registered(self) -> bool: ...
        @property
        def is_sip_server(self) -> bool: ...
        def emit(self, code: str, data: dict[str, Any], *, action: str = "Pulse") -> None: ...
        def add_record(self, kind: str, data: dict[str, Any]) -> Record: ...
        def light(self, state: int) -> None: ...
        def check_access_timers(self, now: dt.datetime) -> None: ...

    def _set_call_state(self, state: CallState, reason: str = "") -> None:
        """The one place the call state changes (logged)."""
        logger.info(
            "VTO call %s %s -> %s %s", self.call_id, self.call_state.value, state.value, reason
        )
        self.call_state = state

    def press_button(self, index: int) -> str:
        """Call key N (1-based, top to bottom, left to right); pressing during a call ends it."""
        keys = self.facade.keys()
        if not 1 <= index <= len(keys):
            raise VtoError(f"call key must be 1-{len(keys)} on this facade, not {index}")
        if self.call_state is not CallState.idle:
            self.hang_up()
            return self.call_id
        room = keys[index - 1]
        if not room:
            raise VtoError(f"call key {index} has no room number; set it in Facade Layout")
        return self.call(room)

    def call(self, number: str, *, emergency: bool = False) -> str:
        """Call a room (every VTH of it) or the centre; returns the call id."""
        number = number.strip()
        if self.settings.system_type is not SystemType.tcpip:
            raise VtoError(
                "calls fail while System Type is analogue: select TCP/IP in Local Setting > "
                "Basic (manual 4.2.4)"
            )
        if not self.registered:
            raise VtoError("not registered to a SIP server: the call is not placed")
        if self.call_state is not CallState.idle:
            raise VtoError(f"the unit is busy in a call with {self.call_peer}")
        targets = self._targets(number)
        self.call_id = f"{self.serial}-{next(self._call_numbers)}"
        self.call_peer, self.call_targets = number, targets
        self.call_kind = "Emergency" if emergency else "Outgoing"
        self.call_started, self.talk_started = self.clock(), None
        self._set_call_state(CallState.ringing)
        self.light(LIGHT_RINGING)
        self.emit("Invite", {"CallID": self.call_id, "UserID": number, "LockNum": 1})
        self.link.invite(self.call_id, targets)
        return self.call_id

    def _targets(self, number: str) -> list[str]:
        if number == CENTRE_NUMBER or not self.is_sip_server:
            return [number]
        if number in self.directory.vtos:
            return [number]
        accounts = self.directory.accounts_of(number)
        if not accounts:
            raise VtoError(f"room {number} is not in the room list (Room No. Management)")
        return [room.number for room in accounts]

    def far_end_ringing(self, call_id: str) -> None:
        """A VTH rings (180 Ringing): the call indicator's second ringing state."""
        ringing = self.call_state is CallState.ringing and call_id == self.call_id
        if ringing and self.backlight != LIGHT_RINGING_2:
            self.light(LIGHT_RINGING_2)

    def call_answered(self, peer: str = "") -> None:
        """The far end answered: talk."""
        if self.call_state is not CallState.ringing:
            return
        self._set_call_state(CallState.talking)
        self.call_peer = peer or self.call_peer
        self.talk_started = self.clock()
        self.light(LIGHT_ANSWERED)

    def call_rejected(self) -> None:
        """The far end declined the call."""
        if self.call_state is CallState.ringing:
            self.emit("IgnoreInvite", {"CallID": self.call_id})
            self._end_call("Rejected")

    def call_failed(self, reason: str) -> None:
        """The call could not be placed (unknown number, nobody registered, network)."""
        if self.call_state is not CallState.idle:
            logger.info("call %s to %s failed: %s", self.call_id, self.call_peer, reason)
            self._end_call("Failed")

    def remote_hangup(self) -> None:
        """The far end hung up."""
        if self.call_state is CallState.idle:
            return
        self.emit("PassiveHungup", {"CallID": self.call_id})
        self._end_call("Received" if self.talk_started else "Cancelled")

    def hang_up(self) -> None:
        """This unit ends the call (call key again, ``hc``, talk time over)."""
        if self.call_state is CallState.idle:
            raise VtoError("there is no call to hang up")
        if self.call_state is CallState.ringing:
            self.link.cancel(self.call_id)
            self._end_call("Cancelled")
        else:
            self.link.bye(self.call_id)
            self._end_call("Received")

    def _end_call(self, end_state: str) -> None:
        now = self.clock()
        talk = int((now - self.talk_started).total_seconds()) if self.talk_started else 0
        data = {
            "CallType": self.call_kind,
            "EndState": end_state,
            "LocalNumber": self.settings.vto_number,
            "PeerNumber": self.call_peer,
            "PeerType": "Centre" if self.call_peer == CENTRE_NUMBER else "VTH",
            "TalkTime": talk,
        }
        record = self.add_record("call", data)
        self.emit("VideoTalkLog", record.data)
        self._set_call_state(CallState.idle, end_state)
        self.talk_started = None
        self.light(LIGHT_IDLE)

    def tick(self) -> None:
        """Advance timers: ring timeout (missed call), talk limit, lock, alarms."""
        now = self.clock()
        access = self.settings.access
        started = self.call_started
        if self.call_state is CallState.ringing and started is not None:
            if now - started >= dt.timedelta(seconds=access.ring_timeout_s):
                self.link.cancel(self.call_id)
                self.emit("CallNoAnswered", {"CallID": self.call_id, "UserID": self.call_peer})
                self.light(LIGHT_NOT_ANSWERED)
                self._end_call("Missed")
        elif (
            self.call_state is CallState.talking
            and self.talk_started is not None
            and now - self.talk_started >= dt.timedelta(seconds=access.max_talk_s)
        ):
            self.hang_up()
        self.check_access_timers(now)
