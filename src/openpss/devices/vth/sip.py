"""SIP for the indoor monitor: the model's ``VthLink`` on our SIP user agent.

- Registers as its room number (``101#0``) to the configured server (a door station as SIP
  server on 5060 realm ``VDP``, the platform on 5080, or any server such as Kamailio) and
  re-registers at half the expiry the server granted; a 423 answer's ``Min-Expires`` is
  obeyed; a room or server change registers again at once.
- An incoming INVITE rings (the model decides: ring, auto-answer, busy, do-not-disturb); the
  answer's SDP takes the door station's PCMU audio and H.264 video (``media.CallMedia``).
- Unlock during a call sends DTMF ``#`` as SIP INFO ``application/dtmf-relay``, which is what
  our door station (``devices/vto/sip.py``) and Dahua units take as the unlock key; unlock of
  a monitored door uses the door station's ``accessControl.cgi?action=openDoor``.
- A SIP MESSAGE outside a call carries an unlock password or an information release from the
  platform (``parse_platform_message``: JSON or plain text); it is stored by the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from typing import TYPE_CHECKING, Any

import httpx

from openpss.devices.common.runtime import cannot_listen
from openpss.devices.vth.entities import VthError, parse_start_time
from openpss.devices.vth.media import TONE_HZ, AudioSource, CallMedia, RtspMonitor
from openpss.devices.vth.model import IndoorMonitor
from openpss.devices.vth.settings import Door
from openpss.protocols.aio import within
from openpss.protocols.sip.digest import DigestClient
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import SipRequest, SipResponse
from openpss.protocols.sip.sdp import SessionDescription, build_answer
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import (
    ANSWERED_ELSEWHERE,
    CANCELLED,
    CallFailed,
    OutgoingCall,
    RegistrationError,
    UaCall,
    UserAgent,
)
from openpss.protocols.sip.uri import SipUri

if TYPE_CHECKING:
    from openpss.devices.vth.runtime import VthRuntime

logger = logging.getLogger(__name__)

REGISTER_EXPIRES_S = 60  # what we ask for
MIN_REREGISTER_S = 1.0
RETRY_S = 5.0  # after a failed registration
WATCH_S = 0.2  # how often the registration loop looks for a changed room or server
SUPPORTED = ("PCMU", "telephone-event", "H264")
DECLINED = (486, 600, 603)
MAX_MESSAGE_BYTES = 8192  # ours: a platform message body larger than this is refused (413)
BIND_ATTEMPTS = 5  # ours: free-port binds of UDP+TCP on one number
_EXPIRES = re.compile(r";\s*expires\s*=\s*(\d+)", re.IGNORECASE)


def _from_server(host: str, server: str) -> bool:
    """True when ``host`` is the server's address (a server named by DNS name is trusted)."""
    try:
        expected = ipaddress.ip_address(server)
    except ValueError:
        return True
    try:
        return ipaddress.ip_address(host) == expected
    except ValueError:
        return False


def granted_expiry(response: SipResponse, asked: int) -> int:
    """The expiry in the 200 answer: Contact ;expires=, else Expires, else what we asked."""
    for contact in response.headers.get_all("Contact"):
        found = _EXPIRES.search(contact)
        if found:
            return int(found.group(1))
    header = response.headers.get("Expires")
    return int(header) if header and header.strip().isdigit() else asked


def parse_platform_message(body: bytes, content_type: str) -> dict[str, str]:
    """A MESSAGE body -> {"type": "unlock_password"|"information", ...}; VthError if bad.

    JSON: ``{"type": "unlock_password", "room": "101", "password": "888888"}`` or
    ``{"type": "information", "subject": "...", "text": "..."}``; text/plain is an
    information release whose first line is the subject.
    """
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type.lower() or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise VthError(f"message body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("type") not in ("unlock_password", "information"):
            raise VthError('message JSON needs "type": "unlock_password" or "information"')
        return {str(k): str(v) for k, v in data.items()}
    subject, _, rest = text.partition("\n")
    return {"type": "information", "subject": subject.strip(), "text": rest.strip()}


def deliver(unit: IndoorMonitor, message: dict[str, str], source: str) -> None:
    """Store a platform message in the model (VthError when refused)."""
    if message["type"] == "unlock_password":
        unit.receive_unlock_password(message.get("room", ""), message.get("password", ""), source)
    else:
        start = parse_start_time(message.get("start_time", ""))
        unit.receive_information(message.get("subject", ""), message.get("text", ""), source, start)


class VthSip:
    """The model's link: SIP calls, RTP media, RTSP monitor, door station HTTP unlock."""

    def __init__(self, unit: IndoorMonitor, ua: UserAgent, audio: AudioSource) -> None:
        self.unit, self.ua, self.audio = unit, ua, audio
        self.calls: dict[str, UaCall] = {}
        self.outgoing: dict[str, OutgoingCall] = {}
        self.media: dict[str, CallMedia] = {}
        self.monitor_view: RtspMonitor | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.register_count = 0
        self.granted = 0
        ua.on_message = self._message  # MESSAGE outside a call: platform -> VTH

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @property
    def last_media(self) -> CallMedia | None:
        """Media of the current or last call."""
        return next(reversed(self.media.values()), None) if self.media else None

    # --- incoming ------------------------------------------------------------------------

    async def serve_incoming(self) -> None:
        """Hand each INVITE to the model."""
        while True:
            call = await self.ua.incoming.get()
            assert call.invite is not None
            call_id = call.invite.call_id
            self.calls[call_id] = call
            self._spawn(self._watch_end(call_id, call))
            self.unit.incoming_call(call_id, call.caller)

    async def _watch_end(self, call_id: str, call: UaCall) -> None:
        await call.ended.wait()
        why = call.end_reason if call.end_reason in (CANCELLED, ANSWERED_ELSEWHERE) else "hangup"
        if self.unit.call_id == call_id:
            self.unit.remote_ended(call_id, why)
        self._forget(call_id)

    def _forget(self, call_id: str) -> None:
        self.calls.pop(call_id, None)
        media = self.media.get(call_id)
        if media is not None:
            media.close()
        while len(self.media) > 1:  # keep the last call's counters and picture only
            self.media.pop(next(iter(self.media)))

    def answer(self, call_id: str) -> None:
        """Answer with our media ports."""
        call = self.calls.get(call_id)
        if call is not None:
            self._spawn(self._answer(call_id, call))

    async def _answer(self, call_id: str, call: UaCall) -> None:
        media = CallMedia(self.unit, self.ua.endpoint.host, self.audio)
        self.media[call_id] = media
        await media.open()
        try:
            offer = SessionDescription.parse(call.remote_sdp)
            answer = build_answer(offer, address=media.host, ports=media.ports, supported=SUPPORTED)
        except SipParseError as exc:
            logger.warning("incoming call with an unreadable SDP refused: %s", exc)
            call.reject(488)
            return
        await call.answer(bytes(answer))
        media.start(call.remote_sdp)

    def reject(self, call_id: str, status: int) -> None:
        """Refuse (486 busy, 480 not answered in time)."""
        call = self.calls.get(call_id)
        if call is not None:
            call.reject(status)

    def hangup(self, call_id: str) -> None:
        """BYE the call, or CANCEL our ringing call."""
        pending = self.outgoing.get(call_id)
        if pending is not None:
            pending.cancel()
        call = self.calls.get(call_id)
        if call is not None:
            self._spawn(call.hangup())

    def unlock(self, call_id: str) -> None:
        """DTMF # as SIP INFO: the door station's unlock key."""
        call = self.calls.get(call_id)
        if call is not None:
            self._spawn(call.send_dtmf("#"))

    # --- outgoing ------------------------------------------------------------------------

    def dial(self, call_id: str, number: str) -> None:
        """Call a number through the server."""
        self._spawn(self._dial(call_id, number))

    async def _dial(self, call_id: str, number: str) -> None:
        media = CallMedia(self.unit, self.ua.endpoint.host, self.audio)
        self.media[call_id] = media
        outgoing = OutgoingCall(self.ua)
        self.outgoing[call_id] = outgoing
        try:
            await media.open()
            call = await outgoing.dial(number, media.offer())
        except CallFailed as exc:
            why = "busy" if exc.status in DECLINED else "cancelled" if exc.status == 487 else ""
            self.unit.remote_ended(call_id, why or f"failed {exc.status}")
            self._forget(call_id)
            return
        except (OSError, TimeoutError, SipParseError) as exc:
            self.unit.remote_ended(call_id, f"failed: {exc}")
            self._forget(call_id)
            return
        finally:
            self.outgoing.pop(call_id, None)
        self.calls[call_id] = call
        media.start(call.remote_sdp)
        self.unit.remote_answered(call_id)
        await self._watch_end(call_id, call)

    # --- monitor and door station HTTP ---------------------------------------------------

    def monitor(self, door: Door) -> None:
        """Watch the door station's RTSP stream."""
        self.stop_monitor()
        self.monitor_view = RtspMonitor(self.unit, door, asyncio.get_running_loop())
        self.monitor_view.start()

    def stop_monitor(self) -> None:
        """Stop watching."""
        if self.monitor_view is not None:
            self.monitor_view.stop()

    def open_door(self, door: Door) -> None:
        """accessControl.cgi?action=openDoor at the door station."""
        self._spawn(open_door(door, self.unit.settings.room_number.room))

    # --- messages ------------------------------------------------------------------------

    def _message(self, request: SipRequest) -> int:
        if len(request.body) > MAX_MESSAGE_BYTES:
            return 413
        source = request.from_.sip_uri.number or ""
        try:
            message = parse_platform_message(
                request.body, request.headers.get("Content-Type") or ""
            )
            deliver(self.unit, message, f"SIP {source}")
        except VthError as exc:
            logger.info("MESSAGE from %s refused: %s", source, exc)
            return 400
        return 200

    async def close(self) -> None:
        """Stop every task and socket."""
        self.stop_monitor()
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for media in self.media.values():
            media.close()


async def open_door(door: Door, room: str) -> bool:
    """Ask a door station to open its door over its HTTP API; True when it said OK."""
    url = f"http://{door.host}:{door.http_port}/cgi-bin/accessControl.cgi"
    params = {"action": "openDoor", "channel": "1", "UserID": room, "Type": "Remote"}
    try:
        async with httpx.AsyncClient(
            auth=httpx.DigestAuth(door.username, door.password), timeout=10
        ) as client:
            response = await client.get(url, params=params)
    except httpx.HTTPError as exc:
        logger.warning("unlock of %s failed: %s", door.name, exc)
        return False
    if response.status_code != 200:
        logger.warning("door %s refused the unlock: %s", door.name, response.text.strip())
    return response.status_code == 200


def _identity(unit: IndoorMonitor) -> tuple[str, Peer, str, str]:
    s = unit.settings
    return s.room, Peer("UDP", s.sip_host, s.sip_port), s.sip_domain, s.sip_password


async def keep_registered(link: VthSip) -> None:
    """Register, re-register at half the granted expiry, follow room and server changes."""
    unit, ua = link.unit, link.ua
    while True:
        identity = _identity(unit)
        if not unit.settings.sip_host:
            unit.set_registered(False, "no SIP server configured")
            await _wait_change(unit, identity, 3600)
            continue
        ua.username, ua.server, ua.domain, password = identity
        ua.credentials = DigestClient(ua.username, password)
        try:
            response = await ua.register(REGISTER_EXPIRES_S)  # a 423 is obeyed by the UA
            granted = granted_expiry(response, ua.asked_expires)
        except (RegistrationError, OSError, TimeoutError, SipParseError) as exc:
            logger.warning("VTH %s: registration at %s failed: %s", ua.username, ua.server, exc)
            unit.set_registered(False, str(exc))
            await _wait_change(unit, identity, RETRY_S)
            continue
        link.register_count += 1
        link.granted = granted
        unit.set_registered(granted > 0, "" if granted > 0 else "server granted 0 s")
        await _wait_change(unit, identity, max(MIN_REREGISTER_S, granted / 2))


async def _wait_change(unit: IndoorMonitor, identity: tuple[str, Peer, str, str], s: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + s
    while loop.time() < deadline and _identity(unit) == identity:
        await asyncio.sleep(min(WATCH_S, max(0.0, deadline - loop.time())))


async def _bind(ua: UserAgent, host: str, port: int) -> None:
    """Bind UDP and TCP; with port 0 the UDP port's number may be taken for TCP: try again."""
    for attempt in range(BIND_ATTEMPTS):
        try:
            await ua.start(host, port)
            return
        except OSError as exc:
            await ua.close()
            if port or attempt == BIND_ATTEMPTS - 1:
                raise cannot_listen("SIP", host, port, exc) from exc


async def attach_sip(runtime: VthRuntime) -> None:
    """Run SIP for the unit until cancelled."""
    unit = runtime.unit
    s = unit.settings
    ua = UserAgent(
        username=s.room,
        password=s.sip_password,
        server=Peer("UDP", s.sip_host or "127.0.0.1", s.sip_port),
        domain=s.sip_domain or "127.0.0.1",
        user_agent="openpss-vth",
        timers=runtime.sip_timers,
    )
    await _bind(ua, runtime.ports.host, runtime.ports.sip)
    # requests outside a dialog are taken only from the SIP server's address (others: 403)
    ua.screen = lambda request, peer: _from_server(peer.host, unit.settings.sip_host)
    link = VthSip(unit, ua, AudioSource(runtime.audio_file, tone_hz=TONE_HZ))
    unit.link = link
    runtime.sip = link
    incoming = asyncio.get_running_loop().create_task(link.serve_incoming())
    try:
        await keep_registered(link)
    finally:
        incoming.cancel()
        with contextlib.suppress(Exception):
            await within(ua.unregister(), 2)
        await link.close()
        await ua.close()


def aor(unit: IndoorMonitor) -> str:
    """The unit's SIP address of record."""
    return str(SipUri.for_number(unit.settings.room, unit.settings.sip_domain))
