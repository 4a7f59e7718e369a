"""SIP for the door station: the model's ``CallLink`` on our SIP stack, and the media of a call.

Two ways to run (manual 4.2.4):

- **as SIP server** (``SipServer`` on ``--sip-port``, realm ``VDP``): the room list and the VTO
  list are the accounts (register password of each entry); the unit's own user agent
  registers to it as its VTO number and calls through it, so dialling ``101`` rings every
  VTH of room 101 in parallel (group call);
- **as user agent** of another server (platform on 5080, another VTO on 5060 with domain
  ``VDP``, or Kamailio): register every 45 s, report the result to the model.

A call's media: we offer PCMU (+ telephone-event) audio and H.264 video; what we send is the
sub stream's packets (the same encoder the RTSP viewers share), what the far end sends is
received and counted (``status.rtp``). A SIP INFO during the call carrying DTMF ``#`` (or
the word ``unlock``) opens the door, as a VTH's unlock key does. Calls *to* the unit (a VTH's
Monitor > Door, manual 4.3.2) are answered with the same media, at most six at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from openpss.devices.common.runtime import listening
from openpss.devices.vto.calls import NoCallLink
from openpss.devices.vto.entities import MAX_MONITOR_STREAMS, SIP_REALM, CallState
from openpss.devices.vto.model import DoorStation
from openpss.protocols.rtp.endpoint import RtpPort, open_rtp_ports
from openpss.protocols.sip.accounts import ServerEvents
from openpss.protocols.sip.digest import DigestClient
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.sdp import SessionDescription, build_answer, build_offer
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import (
    CallFailed,
    OutgoingCall,
    RegistrationError,
    UaCall,
    UserAgent,
)

if TYPE_CHECKING:
    from openpss.devices.vto.media import LiveStream
    from openpss.devices.vto.runtime import VtoRuntime

logger = logging.getLogger(__name__)

REGISTER_EXPIRES_S = 60
REREGISTER_S = 45.0
RETRY_S = 5.0
STATUS_CANCELLED = 487  # RFC 3261 §21.4.25
DECLINED = (486, 600, 603)  # busy here, busy everywhere, decline
SUPPORTED = ("PCMU", "telephone-event", "H264")  # what the unit sends and receives


class VtoAccounts:
    """The SIP accounts of a unit acting as SIP server: room list + VTO list."""

    def __init__(self, station: DoorStation) -> None:
        self.station = station

    def password_of(self, username: str) -> str | None:
        """The register password of a room entry or a VTO entry."""
        directory = self.station.directory
        room = directory.rooms.get(username)
        if room is not None:
            return room.register_password
        vto = directory.vtos.get(username)
        return vto.register_password if vto is not None else None

    def usernames(self) -> Iterable[str]:
        """Every room entry and VTO number."""
        directory = self.station.directory
        return [*directory.rooms, *directory.vtos]


class VtoServerEvents(ServerEvents):
    """Registration status for Room No. Management's Refresh."""

    def __init__(self, station: DoorStation) -> None:
        self.station = station

    def registration_changed(self, username: str, online: bool) -> None:
        """Remember who is registered."""
        if online:
            self.station.online.add(username)
        else:
            self.station.online.discard(username)


class CallMedia:
    """RTP of one call: our sub stream out, the far end's audio and video in (counted)."""

    def __init__(self, station: DoorStation, stream: LiveStream, host: str) -> None:
        self.station, self.stream, self.host = station, stream, host
        self.receivers: dict[str, RtpPort] = {}
        self.remote: dict[int, tuple[str, int]] = {}  # track -> (address, RTP port)
        self.payload_types: dict[int, int] = {}  # track -> payload type the far end expects
        self.video_in = 0
        self.started = False

    async def open(self) -> None:
        """Bind the local RTP ports."""
        handlers = {kind: partial(self.received, kind) for kind in ("audio", "video")}
        self.receivers = await open_rtp_ports(self.host, handlers)

    def port(self, kind: str) -> int:
        """Our RTP port for ``kind``."""
        return self.receivers[kind].port

    def offer(self) -> bytes:
        """SDP offer: PCMU + telephone-event audio, H.264 video, send and receive."""
        offer = build_offer(
            address=self.host,
            audio_port=self.port("audio"),
            video_port=self.port("video"),
            origin="openpss-vto",
            session_name="VTO call",
            audio_codecs=("PCMU",),
            h264_fmtp=self.stream.tracks[0].fmtp,
        )
        return bytes(offer)

    def start(self, answer: bytes) -> None:
        """Send to where the answer says, from the shared sub stream."""
        try:
            sdp = SessionDescription.parse(answer)
        except SipParseError as exc:
            logger.warning("call answer has an unreadable SDP: %s", exc)
            return
        for track, kind, codec in ((0, "video", "H264"), (1, "audio", "PCMU")):
            media = sdp.first(kind)
            address = sdp.media_address(media) if media is not None else None
            chosen = [c for c in media.codecs if c.name.upper() == codec] if media else []
            if media is not None and media.port and address and chosen:
                self.remote[track] = (address, media.port)
                self.payload_types[track] = chosen[0].payload_type
        self.started = True
        self.stream.add_sink(self.sink)

    def sink(self, track: int, data: bytes, rtcp: bool) -> None:
        """Forward one of the stream's packets to the far end."""
        remote = self.remote.get(track)
        kind = "video" if track == 0 else "audio"
        transport = self.receivers[kind].transport
        if remote is None or transport is None:
            return
        address, port = remote
        if not rtcp and (data[1] & 0x7F) != self.payload_types[track]:
            data = data[:1] + bytes([(data[1] & 0x80) | self.payload_types[track]]) + data[2:]
        transport.sendto(data, (address, port + 1 if rtcp else port))
        if not rtcp:
            self.station.rtp["video_out" if track == 0 else "audio_out"] += 1

    def received(self, kind: str, packet: bytes) -> None:
        """Count an RTP packet from the far end."""
        if kind == "audio":
            self.station.rtp["audio_in"] += 1
        else:
            self.video_in += 1

    def close(self) -> None:
        """Stop sending, close the ports."""
        if self.started:
            self.stream.remove_sink(self.sink)
        for receiver in self.receivers.values():
            receiver.close()


class SipLink:
    """The model's ``CallLink``: calls go out through the user agent."""

    def __init__(self, station: DoorStation, ua: UserAgent, stream: LiveStream) -> None:
        self.station, self.ua, self.stream = station, ua, stream
        self.pending: dict[str, OutgoingCall] = {}
        self.calls: dict[str, UaCall] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.register_failures = 0
        self.registered_at = ""
        self.monitors: set[UaCall] = set()
        self.last_register_error = ""

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def invite(self, call_id: str, targets: list[str]) -> None:
        """Dial the number the unit calls (the server rings every VTH of a room)."""
        self._spawn(self._outgoing(call_id, self.station.call_peer))

    def cancel(self, call_id: str) -> None:
        """Stop ringing."""
        pending = self.pending.get(call_id)
        if pending is not None:
            pending.cancel()

    def bye(self, call_id: str) -> None:
        """Hang up an answered call."""
        call = self.calls.pop(call_id, None)
        if call is not None:
            self._spawn(call.hangup())

    async def _outgoing(self, call_id: str, number: str) -> None:
        station = self.station
        self.station.rtp.update(audio_in=0, audio_out=0, video_out=0)
        media = CallMedia(station, self.stream, self.ua.endpoint.host)
        outgoing = OutgoingCall(self.ua, lambda: station.far_end_ringing(call_id))
        self.pending[call_id] = outgoing
        try:
            await media.open()
            call = await outgoing.dial(number, media.offer())
        except CallFailed as exc:
            if station.call_id == call_id and station.call_state is CallState.ringing:
                if exc.status in DECLINED:
                    station.call_rejected()
                elif exc.status != STATUS_CANCELLED:
                    station.call_failed(f"{exc.status}")
            media.close()
            return
        except (OSError, TimeoutError, SipParseError) as exc:
            logger.warning("call to %s failed: %s", number, exc)
            if station.call_id == call_id:
                station.call_failed(str(exc))
            media.close()
            return
        finally:
            self.pending.pop(call_id, None)
        await self._talk(call_id, call, media)

    async def _talk(self, call_id: str, call: UaCall, media: CallMedia) -> None:
        station = self.station
        if outgoing_gave_up(station, call_id):
            media.close()
            return
        self.calls[call_id] = call
        media.start(call.remote_sdp)
        station.call_answered(station.call_peer)
        watcher = asyncio.get_running_loop().create_task(self._watch_info(call))
        try:
            await call.ended.wait()
        finally:
            watcher.cancel()
            media.close()
            self.calls.pop(call_id, None)
        if call.end_reason == "remote hangup" and station.call_id == call_id:
            station.remote_hangup()

    async def _watch_info(self, call: UaCall) -> None:
        while True:
            request = await call.received.get()
            body = request.body.decode("utf-8", errors="replace").lower()
            if "signal=#" in body.replace(" ", "") or "unlock" in body:
                self.station.remote_unlock(call.ua.username)

    async def serve_incoming(self) -> None:
        """Calls to the unit (a VTH's Monitor > Door, the centre): answered with the door's
        picture and sound while fewer than six streams run (manual 1.2), else busy."""
        while True:
            call = await self.ua.incoming.get()
            if len(self.monitors) >= MAX_MONITOR_STREAMS:
                call.reject(486)
                continue
            self._spawn(self._monitor(call))

    async def _monitor(self, call: UaCall) -> None:
        media = CallMedia(self.station, self.stream, self.ua.endpoint.host)
        self.monitors.add(call)
        try:
            await media.open()
            offer = SessionDescription.parse(call.remote_sdp)
            ports = {"audio": media.port("audio"), "video": media.port("video")}
            answer = build_answer(offer, address=media.host, ports=ports, supported=SUPPORTED)
            await call.answer(bytes(answer))
            media.start(call.remote_sdp)
            watcher = asyncio.get_running_loop().create_task(self._watch_info(call))
            try:
                await call.ended.wait()
            finally:
                watcher.cancel()
        except SipParseError as exc:
            logger.warning("monitor call from %s refused: %s", call.caller, exc)
            call.reject(488)
        finally:
            media.close()
            self.monitors.discard(call)

    async def close(self) -> None:
        """Cancel what is running."""
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def outgoing_gave_up(station: DoorStation, call_id: str) -> bool:
    """True when the unit ended this call while the INVITE was out."""
    return station.call_id != call_id or station.call_state is CallState.idle


async def attach_sip(runtime: VtoRuntime) -> None:
    """Run SIP for the unit until cancelled; restart it whenever the SIP settings change."""
    station = runtime.station
    changed = asyncio.Event()
    station.sip_listeners.append(changed.set)
    try:
        while True:
            changed.clear()
            running = asyncio.get_running_loop().create_task(_run_sip(runtime))
            waiting = asyncio.get_running_loop().create_task(changed.wait())
            try:
                done, _ = await asyncio.wait(
                    {running, waiting}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (running, waiting):
                    task.cancel()
                await asyncio.gather(running, waiting, return_exceptions=True)
            if running in done:
                running.result()  # SIP ended on its own: raise its error
            logger.info("SIP settings changed: restarting SIP (server: %s)", station.is_sip_server)
    finally:
        station.sip_listeners.remove(changed.set)


async def _run_sip(runtime: VtoRuntime) -> None:
    """Server (if the unit is one), user agent and registration, until cancelled."""
    station, ports = runtime.station, runtime.ports
    server: SipServer | None = None
    if station.is_sip_server:
        server = SipServer(
            realm=SIP_REALM,
            accounts=VtoAccounts(station),
            events=VtoServerEvents(station),
            ring_seconds=float(station.settings.access.ring_timeout_s),
        )
        with listening("SIP (server)", ports.host, ports.sip):
            await server.start(ports.host, ports.sip)
        station.ensure_self_listed()
        own = station.directory.vtos[station.settings.vto_number]
        ua = UserAgent(
            username=station.settings.vto_number,
            password=own.register_password,
            server=Peer("UDP", ports.host, server.port),
            domain=SIP_REALM,
        )
        await ua.start(ports.host, 0)
    else:
        main = registrars(station)[0]
        ua = UserAgent(
            username=main.user,
            password=main.password,
            server=main.peer,
            domain=main.domain,
            timers=runtime.sip_timers,
        )
        with listening("SIP", ports.host, ports.sip):
            await ua.start(ports.host, ports.sip)
    runtime.sip_server = server
    link = SipLink(station, ua, runtime.monitor.streams[1])
    station.link = link
    runtime.sip_link = link
    incoming = asyncio.get_running_loop().create_task(link.serve_incoming())
    try:
        await _keep_registered(link, own_server=server is not None)
    finally:
        incoming.cancel()
        await link.close()
        await ua.close()
        if server is not None:
            await server.close()
        station.link = NoCallLink()
        runtime.sip_server = runtime.sip_link = None


@dataclass(frozen=True)
class Registrar:
    """Where and as whom the unit registers (main or alternate server, manual Table 4-1)."""

    peer: Peer
    domain: str
    user: str
    password: str


def registrars(station: DoorStation) -> list[Registrar]:
    """The main SIP server, then the alternate one when it is enabled."""
    sip, number = station.settings.sip, station.settings.vto_number
    user = sip.login_user or number
    found = [
        Registrar(
            Peer("UDP", sip.address, sip.port), sip.domain or sip.address, user, sip.login_password
        )
    ]
    if sip.alternate_enabled and sip.alternate_address:
        host, _, port = sip.alternate_address.partition(":")
        domain = sip.domain if sip.domain and sip.domain != sip.address else host
        found.append(
            Registrar(
                Peer("UDP", host, int(port) if port.isdigit() else sip.port),
                domain,
                sip.alternate_user or user,
                sip.alternate_password,
            )
        )
    return found


def use_registrar(ua: UserAgent, registrar: Registrar) -> None:
    """Point the user agent at another server."""
    ua.server, ua.domain, ua.username = registrar.peer, registrar.domain, registrar.user
    ua.credentials = DigestClient(registrar.user, registrar.password)


async def _keep_registered(link: SipLink, *, own_server: bool) -> None:
    station, ua = link.station, link.ua
    choices = [] if own_server else registrars(station)
    current = 0
    while True:
        try:
            await ua.register(expires=REGISTER_EXPIRES_S)
        except (RegistrationError, OSError, TimeoutError, SipParseError) as exc:
            logger.warning("SIP registration of %s at %s failed: %s", ua.username, ua.server, exc)
            link.register_failures += 1
            link.last_register_error = str(exc)
            if not own_server:
                station.set_registered(False)
            if len(choices) > 1:  # try the other server next (alternate server, Table 4-1)
                current = (current + 1) % len(choices)
                use_registrar(ua, choices[current])
                logger.info("SIP: trying %s next", ua.server)
                continue
            await asyncio.sleep(RETRY_S)
            continue
        link.registered_at = str(ua.server)
        station.set_registered(True)
        await asyncio.sleep(REREGISTER_S)
