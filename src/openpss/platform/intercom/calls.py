"""Calls answered and placed in the console (platform-video-intercom chapter 3).

The platform registers its own user agent as the management centre (``888888``) on its SIP
server, so the server's B2BUA routes a door station's centre call to it like to any phone.
Each such call becomes a ``ConsoleCall``. A centre call of a building without a call group
rings in every console subscribed over the WebSocket (role operator and up); a call group's
leg for one manager client (``888888/<user>``, callgroups.py) rings only that user's consoles,
and is refused at once (480) when the user has none open, so the group goes on to its next
member. The first ``accept`` answers the SIP leg (the device's RTP goes to ``DeviceMedia``)
and the others stop ringing; ``reject`` answers 603. The accepting user's browser then
connects its WebRTC leg (``BrowserLeg``). Open door is DTMF ``#`` as SIP INFO (the door
station's remote unlock during a call). The end of a call, from either side, writes a call
record (``answered_by``: the console user who answered, or for a call the console placed the
device number that answered) with the snapshot and recording kept under
``<data_dir>/calls/<record id>/``. A call group's leg that no console answered is not
stored here: the group went on ringing, and the SIP server stores the whole call (sip.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import json
import logging
import secrets
import shutil
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.intercom import webrtc
from openpss.platform.intercom.callgroups import CENTRE_NUMBER, console_user
from openpss.platform.intercom.webrtc import BrowserLeg, DeviceMedia, Recorder
from openpss.platform.records.models import CallRecord
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import CallFailed, UaCall, UaCallState, UserAgent

logger = logging.getLogger(__name__)

REJECT_STATUS = 603  # Decline (RFC 3261 §21.6.2): the console user refused the call
# Temporarily Unavailable (RFC 3261 §21.4.18): a call group's manager client has no console
# open, so the group rings its next member now rather than after the ring time
NOBODY_THERE_STATUS = 480
MAX_DIAL_LENGTH = 32
SNAPSHOT_NAME, RECORDING_NAME = "snapshot.jpg", "recording.mp4"

Send = Callable[[dict[str, Any]], Awaitable[None]]


class CallError(Exception):
    """A console action that cannot be done; the message says why."""


class ConsoleCallState(enum.Enum):
    """Where a console call is."""

    ringing = "ringing"
    talking = "talking"
    ended = "ended"


@dataclass
class Switches:
    """A user's call switches; they persist for the next call (platform-video-intercom 3)."""

    auto_snapshot: bool = True
    auto_record: bool = True
    mic_muted: bool = False
    device_muted: bool = False


@dataclass
class ConsoleCall:
    """One call between a device and the console."""

    id: str
    direction: str  # incoming / outgoing
    caller: str
    callee: str
    media: DeviceMedia
    workdir: Path
    sip: UaCall | None = None
    state: ConsoleCallState = ConsoleCallState.ringing
    answered_by: str | None = None  # the console user who answered (or dialled)
    ring_users: frozenset[str] | None = None  # a call group's manager client; None: everyone
    answered_device: str | None = None  # of a call the console placed: who took it
    start: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    answer: dt.datetime | None = None
    browser: BrowserLeg | None = None
    end_state: str = "missed"

    def _set_state(self, state: ConsoleCallState, reason: str = "") -> None:
        logger.info("console call %s %s -> %s %s", self.id, self.state.value, state.value, reason)
        self.state = state

    def rings_for(self, username: str) -> bool:
        """Whether ``username``'s consoles ring for this call (and may answer it)."""
        return self.ring_users is None or username in self.ring_users

    @property
    def record_answered_by(self) -> str | None:
        """Who took the call, for its record: the console user, or the device that answered
        the console's own call."""
        if self.end_state != "answered":
            return None
        return self.answered_device if self.direction == "outgoing" else self.answered_by

    @property
    def device(self) -> str:
        """The device's number."""
        return self.caller if self.direction == "incoming" else self.callee

    def summary(self) -> dict[str, Any]:
        """What the console shows."""
        return {
            "id": self.id,
            "direction": self.direction,
            "device": self.device,
            "caller": self.caller,
            "callee": self.callee,
            "state": self.state.value,
            "answered_by": self.answered_by,
        }


@dataclass(eq=False)  # one per socket, compared by identity
class Subscriber:
    """One console WebSocket."""

    username: str
    send: Send


class ConsoleCalls:
    """The management centre: its user agent, the calls and the consoles listening."""

    def __init__(
        self,
        *,
        data_dir: Path,
        session_factory: sessionmaker[Session],
        host: str = "127.0.0.1",
        ice_addresses: list[str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.ice_addresses = ice_addresses
        self.session_factory = session_factory
        self.host = host
        self.calls: dict[str, ConsoleCall] = {}
        self.subscribers: set[Subscriber] = set()
        self.ua: UserAgent | None = None
        self.server: SipServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._switches_file = data_dir / "intercom" / "console_switches.json"

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self, server: SipServer) -> None:
        """Register the centre number on ``server`` and start taking its calls."""
        webrtc.ice_addresses = self.ice_addresses
        self.server = server
        password = secrets.token_urlsafe(18)
        add_account(server, CENTRE_NUMBER, password)
        self.ua = UserAgent(
            username=CENTRE_NUMBER,
            password=password,
            server=Peer("UDP", server_address(server), server.port),
            user_agent="openpss-console",
        )
        await self.ua.start(self.host, 0)
        await self.ua.register(3600)
        self._spawn(self.ua.keep_registered(3600))
        self._spawn(self._serve_incoming())

    async def close(self) -> None:
        """End every call and stop."""
        for call in list(self.calls.values()):
            await self.hangup(call.id)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ua is not None:
            await self.ua.close()

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- consoles --------------------------------------------------------------------------

    def subscribe(self, username: str, send: Send) -> Subscriber:
        """A console connected; it gets the calls ringing now."""
        subscriber = Subscriber(username, send)
        self.subscribers.add(subscriber)
        for call in self.calls.values():
            if self._rings(call) and call.rings_for(username):
                self._spawn(send({"type": "ringing", "call": call.summary()}))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """A console went away."""
        self.subscribers.discard(subscriber)

    def _broadcast(self, message: dict[str, Any], call: ConsoleCall | None = None) -> None:
        """Send to every console, or given ``call`` to those it rings for."""
        for subscriber in list(self.subscribers):
            if call is None or call.rings_for(subscriber.username):
                self._spawn(_safe_send(subscriber.send, message))

    @staticmethod
    def _rings(call: ConsoleCall) -> bool:
        return call.state is ConsoleCallState.ringing and call.direction == "incoming"

    # ---- switches --------------------------------------------------------------------------

    def switches(self, username: str) -> Switches:
        """The user's switches (defaults until changed)."""
        stored = self._read_switches().get(username, {})
        known = {k: bool(v) for k, v in stored.items() if k in Switches.__dataclass_fields__}
        return Switches(**known)

    def set_switches(self, username: str, **values: bool) -> Switches:
        """Change some switches; they stay for the next call."""
        unknown = set(values) - set(Switches.__dataclass_fields__)
        if unknown:
            raise CallError(f"unknown switch {sorted(unknown)[0]!r}")
        current = self.switches(username).__dict__ | {k: bool(v) for k, v in values.items()}
        table = self._read_switches()
        table[username] = current
        self._switches_file.parent.mkdir(parents=True, exist_ok=True)
        self._switches_file.write_text(json.dumps(table, indent=1), encoding="utf-8")
        for call in self.calls.values():
            if call.answered_by == username:
                apply_mutes(call, Switches(**current))
        return Switches(**current)

    def _read_switches(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self._switches_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # ---- incoming --------------------------------------------------------------------------

    async def _serve_incoming(self) -> None:
        assert self.ua is not None
        while True:
            sip_call = await self.ua.incoming.get()
            await self._ring(sip_call)

    async def _ring(self, sip_call: UaCall) -> None:
        member = console_user(sip_call.invite.to.sip_uri.number if sip_call.invite else None)
        if member is not None and not any(s.username == member for s in self.subscribers):
            logger.info("call group member %s has no console open: next member", member)
            sip_call.reject(NOBODY_THERE_STATUS)
            return
        call = await self._new_call("incoming", sip_call.caller, CENTRE_NUMBER)
        call.sip = sip_call
        call.ring_users = None if member is None else frozenset({member})
        self._spawn(self._watch(call))
        self._broadcast({"type": "ringing", "call": call.summary()}, call)

    async def _new_call(self, direction: str, caller: str, callee: str) -> ConsoleCall:
        call_id = secrets.token_hex(8)
        media = DeviceMedia(self.host)
        await media.open()
        workdir = self.data_dir / "calls" / f"pending-{call_id}"
        call = ConsoleCall(call_id, direction, caller, callee, media, workdir)
        self.calls[call_id] = call
        return call

    def get(self, call_id: str) -> ConsoleCall:
        """A live call by id."""
        call = self.calls.get(call_id)
        if call is None:
            raise CallError("this call has ended")
        return call

    async def accept(self, call_id: str, username: str) -> ConsoleCall:
        """The first console to accept takes the call; the device leg is answered."""
        call = self._ringing_for(call_id, username)
        if call.state is not ConsoleCallState.ringing or call.sip is None:
            raise CallError(f"the call was already taken by {call.answered_by or 'someone'}")
        try:
            answer = call.media.answer(call.sip.remote_sdp)
        except SipParseError as exc:
            call.sip.reject(488)
            raise CallError(f"the device's call offer is unreadable: {exc}") from exc
        self._start_talking(call, username)
        await call.sip.answer(answer)
        self._broadcast({"type": "taken", "call": call.id, "by": username}, call)
        return call

    def _ringing_for(self, call_id: str, username: str) -> ConsoleCall:
        call = self.get(call_id)
        if not call.rings_for(username):
            raise CallError("this call rings another member of the building's call group")
        return call

    def _start_talking(self, call: ConsoleCall, username: str) -> None:
        call.answered_by = username
        call.answer = dt.datetime.now(dt.UTC)
        call.end_state = "answered"
        switches = self.switches(username)
        if switches.auto_snapshot:
            call.media.snapshot_path = call.workdir / SNAPSHOT_NAME
        if switches.auto_record:
            call.media.recorder = Recorder(call.workdir / RECORDING_NAME)
        apply_mutes(call, switches)
        call._set_state(ConsoleCallState.talking, f"answered by {username}")

    def reject(self, call_id: str, username: str) -> None:
        """Decline a ringing call (603 to the device)."""
        call = self._ringing_for(call_id, username)
        if call.state is not ConsoleCallState.ringing or call.sip is None:
            raise CallError("only a ringing call can be rejected")
        call.end_state = "rejected"
        call.answered_by = username
        call.sip.reject(REJECT_STATUS)

    # ---- outgoing --------------------------------------------------------------------------

    async def dial(self, number: str, username: str) -> ConsoleCall:
        """Call a device from the console; returns once it answers (CallError otherwise)."""
        number = number.strip()
        if not number or len(number) > MAX_DIAL_LENGTH or not set(number) <= set("0123456789#*"):
            raise CallError(f"dial a number of 1-{MAX_DIAL_LENGTH} digits, # and *")
        assert self.ua is not None
        call = await self._new_call("outgoing", CENTRE_NUMBER, number)
        self._broadcast({"type": "dialling", "call": call.summary()})
        try:
            call.sip = await self.ua.call(number, call.media.offer())
        except (CallFailed, OSError, TimeoutError, SipParseError) as exc:
            call.end_state = "failed" if not isinstance(exc, CallFailed) else _failed(exc.status)
            await self._finish(call)
            raise CallError(f"{number} did not answer: {exc}") from exc
        call.media.learn_answer(call.sip.remote_sdp)
        call.answered_device = self._answered_device(call)
        self._start_talking(call, username)
        self._spawn(self._watch(call))
        return call

    def _answered_device(self, call: ConsoleCall) -> str:
        """The number that took the console's call (a room number rings all its VTHs): the
        SIP server's record of the call knows which leg answered."""
        assert call.sip is not None and call.sip.dialog is not None
        routed = self.server.calls.get(call.sip.dialog.call_id) if self.server else None
        return (routed.record.answered_by if routed else None) or call.callee

    def dial_soon(self, number: str, username: str, send: Send) -> None:
        """Dial without holding up the console's socket; ``send`` learns how it went."""

        async def run() -> None:
            try:
                call = await self.dial(number, username)
            except CallError as exc:
                await _safe_send(send, {"type": "error", "message": str(exc)})
                return
            await _safe_send(send, {"type": "accepted", "call": call.id})

        self._spawn(run())

    # ---- in a call -------------------------------------------------------------------------

    async def connect_browser(self, call_id: str, username: str, offer: str) -> str:
        """The answering user's browser offers WebRTC; returns our answer."""
        call = self._own(call_id, username)
        if call.browser is not None:
            await call.browser.close()
        call.browser = BrowserLeg(call.media)
        return await call.browser.answer(offer)

    async def open_door(self, call_id: str, username: str) -> None:
        """Unlock the calling door: DTMF # as SIP INFO (the VTO's remote unlock in a call)."""
        call = self._own(call_id, username)
        assert call.sip is not None
        response = await call.sip.send_dtmf("#")
        if response.status >= 300:
            raise CallError(f"the device refused the unlock: {response.status} {response.reason}")
        logger.info("console %s opened the door of %s", username, call.device)

    async def hangup(self, call_id: str, username: str | None = None) -> None:
        """End a call from the console (BYE, or CANCEL while it rings)."""
        call = self.get(call_id) if username is None else self._own(call_id, username)
        if call.sip is not None and call.sip.state is UaCallState.answered:
            with contextlib.suppress(OSError, TimeoutError, SipParseError):
                await call.sip.hangup()
        elif call.sip is not None and call.sip.state is UaCallState.ringing:
            call.sip.reject(REJECT_STATUS)
        await self._finish(call)

    def _own(self, call_id: str, username: str) -> ConsoleCall:
        call = self.get(call_id)
        if call.answered_by != username or call.state is not ConsoleCallState.talking:
            raise CallError("this call is not yours: it was answered in another console")
        return call

    async def _watch(self, call: ConsoleCall) -> None:
        assert call.sip is not None
        await call.sip.ended.wait()
        if call.state is ConsoleCallState.ringing and call.end_state == "missed":
            call.end_state = "missed"  # the device gave up (CANCEL)
        await self._finish(call)

    async def _finish(self, call: ConsoleCall) -> None:
        if call.state is ConsoleCallState.ended:
            return
        call._set_state(ConsoleCallState.ended, call.end_state)
        self.calls.pop(call.id, None)
        end = dt.datetime.now(dt.UTC)
        if call.browser is not None:
            self._spawn(call.browser.close())
        await call.media.aclose()  # the recording is complete before the record points at it
        record_id = self._store(call, end)
        self._broadcast({"type": "ended", "call": call.id, "state": call.end_state}, call)
        logger.info("call record %s: %s %s", record_id, call.device, call.end_state)

    def _store(self, call: ConsoleCall, end: dt.datetime) -> int | None:
        if call.ring_users is not None and call.answer is None:
            shutil.rmtree(call.workdir, ignore_errors=True)
            return None  # a call group's unanswered leg: the SIP server stores the call
        duration = int((end - call.answer).total_seconds()) if call.answer else 0
        with self.session_factory() as session:
            row = CallRecord(
                start_time=call.start,
                end_time=end,
                caller=call.caller,
                callee=call.callee,
                status=call.end_state,
                answered_by=call.record_answered_by,
                duration_seconds=duration,
            )
            session.add(row)
            session.commit()
            record_id = row.id
        if call.workdir.exists():
            target = call_media_dir(self.data_dir, record_id)
            shutil.rmtree(target, ignore_errors=True)
            call.workdir.rename(target)
        return record_id


def apply_mutes(call: ConsoleCall, switches: Switches) -> None:
    """Mute my microphone (nothing goes to the device) and mute the device (silence to me)."""
    call.media.mic_muted = switches.mic_muted
    call.media.audio_track.muted = switches.device_muted


def call_media_dir(data_dir: Path, record_id: int) -> Path:
    """Where a call record's snapshot and recording are kept."""
    return data_dir / "calls" / str(record_id)


def media_of(data_dir: Path, record_id: int) -> dict[str, bool]:
    """Which media files a call record has."""
    folder = call_media_dir(data_dir, record_id)
    return {
        "snapshot": (folder / SNAPSHOT_NAME).is_file(),
        "recording": (folder / RECORDING_NAME).is_file(),
    }


def _failed(status: int) -> str:
    if status in (486, 600):
        return "busy"
    if status in (603,):
        return "rejected"
    if status in (408, 480, 487):
        return "missed"
    return "failed"


async def _safe_send(send: Send, message: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):  # a console that went away misses the message
        await send(message)


class _WithAccount:
    """An accounts provider plus one account of the platform's own."""

    def __init__(self, inner: Any, username: str, password: str) -> None:
        self.inner, self.username, self.password = inner, username, password

    def password_of(self, username: str) -> str | None:
        """Ours, else the inner provider's."""
        return self.password if username == self.username else self.inner.password_of(username)

    def usernames(self) -> Iterable[str]:
        """The inner usernames and ours."""
        return [*self.inner.usernames(), self.username]

    def invalidate(self) -> None:
        """Forget the inner provider's cache (new registration numbers register at once)."""
        invalidate = getattr(self.inner, "invalidate", None)
        if invalidate is not None:
            invalidate()


def add_account(server: SipServer, username: str, password: str) -> None:
    """Give the platform's own user agent an account on its server."""
    provider = _WithAccount(server.accounts, username, password)
    server.accounts = provider
    server.digest.password_of = provider.password_of


def server_address(server: SipServer) -> str:
    """The address to reach ``server`` from this host."""
    host = server.host
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
