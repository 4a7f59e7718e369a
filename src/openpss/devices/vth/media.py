"""Media of the indoor monitor: RTP of a call and the RTSP monitor of a door station.

A call: the door station's H.264 video and G.711 audio arrive over RTP; packets are counted
(``rtp.audio_in``/``video_in``), H.264 is depacketized (RFC 6184) and decoded with PyAV
(``rtp.video_frames``), the last picture can be saved as a snapshot. Our microphone sends
PCMU every 20 ms: a tone, or a sound file decoded and resampled by PyAV (``rtp.audio_out``);
nothing while muted.

Monitor (manual 4.3.2): PyAV (FFmpeg) opens the door station's
``rtsp://HOST:PORT/cam/realmonitor?channel=1&subtype=0`` with digest auth over TCP in a
background thread; decoded frames and packets are counted on the unit's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import av

from openpss.devices.common.audio import AudioSource as AudioSource
from openpss.devices.vth.model import IndoorMonitor
from openpss.devices.vth.settings import Door
from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import RtpError, RtpPacket
from openpss.protocols.rtp.endpoint import RtpPort, open_rtp_ports
from openpss.protocols.rtp.h264 import Depacketizer, H264PayloadError
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.sdp import SessionDescription, build_offer

logger = logging.getLogger(__name__)

TONE_HZ = 425.0  # ours: the microphone stand-in's tone
PACKET_S = g711.SAMPLES_PER_PACKET / g711.CLOCK_RATE  # 20 ms
ANNEX_B = b"\x00\x00\x00\x01"
MONITOR_TIMEOUT_US = 5_000_000  # FFmpeg socket time-out of the RTSP monitor (5 s)
MAX_ACCESS_UNIT = 2_000_000  # ours: an access unit larger than this is dropped (bad sender)


class VideoDecoder:
    """H.264 RTP payloads -> decoded frames (PyAV)."""

    def __init__(self) -> None:
        self.depacketizer = Depacketizer()
        self.codec = av.CodecContext.create("h264", "r")
        self.unit = bytearray()
        self.last_frame: av.VideoFrame | None = None
        self.errors = 0

    def feed(self, packet: RtpPacket) -> int:
        """One RTP packet; returns how many frames it completed."""
        try:
            for nal in self.depacketizer.feed(packet.payload):
                self.unit += ANNEX_B + nal
        except H264PayloadError:
            self.errors += 1
            return 0
        if len(self.unit) > MAX_ACCESS_UNIT:
            self.unit.clear()
        if not packet.marker or not self.unit:
            return 0
        data, self.unit = bytes(self.unit), bytearray()
        try:
            frames = self.codec.decode(av.Packet(data))
        except av.FFmpegError:
            self.errors += 1
            return 0
        if frames:
            self.last_frame = frames[-1]
        return len(frames)


def save_snapshot(frame: av.VideoFrame | None, path: Path) -> Path:
    """Save a decoded picture as JPEG (or PNG, by suffix)."""
    if frame is None:
        raise ValueError("no picture yet: no video frame has been decoded")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_image().save(path)
    return path


class CallMedia:
    """RTP of one call: the far end's audio and video in, our microphone out."""

    def __init__(self, unit: IndoorMonitor, host: str, audio: AudioSource) -> None:
        self.unit, self.host, self.audio = unit, host, audio
        self.sockets: dict[str, RtpPort] = {}
        self.decoder = VideoDecoder()
        self.remote_audio: tuple[str, int] | None = None
        self.audio_pt = g711.PAYLOAD_TYPE_PCMU
        self.sender: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Bind the local RTP ports."""
        handlers = {"audio": self._audio_in, "video": self._video_in}
        self.sockets = await open_rtp_ports(self.host, handlers)

    @property
    def ports(self) -> dict[str, int]:
        """Our RTP port per kind."""
        return {kind: sock.port for kind, sock in self.sockets.items()}

    def offer(self) -> bytes:
        """SDP offer of an outgoing call: PCMU + telephone-event audio, H.264 video."""
        ports = self.ports
        offer = build_offer(
            address=self.host,
            audio_port=ports["audio"],
            video_port=ports["video"],
            origin="openpss-vth",
            session_name="VTH call",
            audio_codecs=("PCMU",),
            video_direction="recvonly",
        )
        return bytes(offer)

    def start(self, remote_sdp: bytes) -> None:
        """Send our audio where the far end's SDP says (PCMU)."""
        try:
            sdp = SessionDescription.parse(remote_sdp)
        except SipParseError as exc:
            logger.warning("the far end's SDP is unreadable, no audio sent: %s", exc)
            return
        media = sdp.first("audio")
        address = sdp.media_address(media) if media is not None else None
        pcmu = [c for c in media.codecs if c.name.upper() == "PCMU"] if media else []
        if media is None or not media.port or not address or not pcmu:
            logger.info("the far end takes no PCMU audio: sending none")
            return
        self.remote_audio = (address, media.port)
        self.audio_pt = pcmu[0].payload_type
        self.sender = asyncio.get_running_loop().create_task(self._send_audio())

    async def _send_audio(self) -> None:
        sock = self.sockets["audio"]
        ssrc, loop = secrets.randbits(32), asyncio.get_running_loop()
        start = loop.time()
        for seq in itertools.count():
            samples = self.audio.next_packet()
            if not self.unit.muted and sock.transport is not None and self.remote_audio:
                payload = g711.encode(samples)
                packet = RtpPacket(self.audio_pt, seq, seq * len(samples), ssrc, payload)
                packet.marker = seq == 0
                sock.transport.sendto(bytes(packet), self.remote_audio)
                self.unit.rtp["audio_out"] += 1
            await asyncio.sleep(max(0.0, start + (seq + 1) * PACKET_S - loop.time()))

    def _audio_in(self, data: bytes) -> None:
        with contextlib.suppress(RtpError):
            if RtpPacket.parse(data).payload_type in (0, 8):  # PCMU, PCMA; not DTMF events
                self.unit.rtp["audio_in"] += 1

    def _video_in(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            return
        self.unit.rtp["video_in"] += 1
        self.unit.rtp["video_frames"] += self.decoder.feed(packet)

    def close(self) -> None:
        """Stop sending, close the ports."""
        if self.sender is not None:
            self.sender.cancel()
        for sock in self.sockets.values():
            sock.close()


def monitor_url(door: Door, *, with_credentials: bool = True) -> str:
    """The door station's main stream (digest credentials in the URL for FFmpeg)."""
    auth = ""
    if with_credentials and door.password:
        auth = f"{quote(door.username, safe='')}:{quote(door.password, safe='')}@"
    return f"rtsp://{auth}{door.host}:{door.rtsp_port}/cam/realmonitor?channel=1&subtype=0"


def redact(text: str, door: Door) -> str:
    """``text`` without the door station's password (plain or URL-quoted)."""
    for secret in {door.password, quote(door.password, safe="")} - {""}:
        text = text.replace(secret, "***")
    return text


class RtspMonitor:
    """Watches a door station's RTSP stream with PyAV in a background thread."""

    def __init__(self, unit: IndoorMonitor, door: Door, loop: asyncio.AbstractEventLoop) -> None:
        self.unit, self.door, self.loop = unit, door, loop
        self.stopping = threading.Event()
        self.last_frame: av.VideoFrame | None = None
        self.error = ""
        self.thread = threading.Thread(target=self._run, daemon=True, name="vth-monitor")

    def start(self) -> None:
        """Open the stream."""
        self.thread.start()

    def stop(self) -> None:
        """Stop watching (the thread ends at the next packet or time-out)."""
        self.stopping.set()

    def _count(self, video: int, audio: int, frames: int) -> None:
        if self.unit.monitor_door == self.door.name:
            rtp = self.unit.rtp
            rtp["video_in"] += video
            rtp["audio_in"] += audio
            rtp["video_frames"] += frames

    def _run(self) -> None:
        options = {"rtsp_transport": "tcp", "timeout": str(MONITOR_TIMEOUT_US)}
        try:
            with av.open(monitor_url(self.door), options=options) as container:
                self._read(container)
        except (av.FFmpegError, OSError) as exc:
            self.error = redact(str(exc), self.door)  # FFmpeg errors quote the URL
            logger.warning("monitor of %s failed: %s", self.door.name, self.error)
        if not self.stopping.is_set():
            self.loop.call_soon_threadsafe(
                self.unit.monitor_ended, self.door.name, self.error or "the stream ended"
            )

    def _read(self, container: Any) -> None:
        for packet in container.demux():
            if self.stopping.is_set():
                return
            kind = packet.stream.type
            decoded = packet.decode() if kind == "video" else []
            if decoded:
                self.last_frame = decoded[-1]
            self.loop.call_soon_threadsafe(
                self._count, int(kind == "video"), int(kind == "audio"), len(decoded)
            )
