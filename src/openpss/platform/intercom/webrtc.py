"""The media of a console call: the device's RTP leg bridged to the browser's WebRTC leg.

Device side (``DeviceMedia``): two UDP ports on the SIP host; H.264 video (RFC 6184) and
PCMU audio (RFC 3551) in, PCMU audio out. When the browser accepts H.264 (we prefer it in
the answer), the device's access units pass through untouched (aiortc only re-packetizes
``av.Packet``s); otherwise they are decoded with PyAV and aiortc encodes the frames in the
negotiated codec (VP8). The PCMU samples become 8 kHz audio frames (aiortc encodes Opus or
PCMU). The browser's audio is
resampled to 8 kHz mono and sent to the device as PCMU.

Snapshot (the first decoded picture as JPEG) and recording (one MP4 per call, H.264 through
libx264) are taken from the decoded frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import RtpError, RtpPacket
from openpss.protocols.rtp.endpoint import RtpPort, open_rtp_ports
from openpss.protocols.rtp.h264 import Depacketizer, H264PayloadError
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.sdp import SessionDescription, build_answer, build_offer

logger = logging.getLogger(__name__)

SUPPORTED = ("PCMU", "telephone-event", "H264")  # what the device leg receives and sends
VIDEO_CLOCK = 90_000  # RFC 6184 §8.2.1
FRAME_QUEUE = 4  # decoded frames waiting for the browser; older ones are dropped (latency)
AUDIO_QUEUE = 25  # 0.5 s of 20 ms packets
DECODE_BACKLOG = 25  # access units waiting for the decoder (1 s at 25 fps); more are dropped
RECORD_TIME_BASE = Fraction(1, 1000)


_host_addresses = aioice.ice.get_host_addresses
# OPENPSS_WEBRTC_ADDRESSES, set by ConsoleCalls.start (one platform per process)
ice_addresses: list[str] | None = None


def _host_candidates(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """The configured addresses, else every host address with 127.0.0.1 first: aioice leaves
    loopback out, but a console on the platform's own machine needs it."""
    if ice_addresses is not None:
        return [a for a in ice_addresses if (use_ipv6 if ":" in a else use_ipv4)]
    addresses = _host_addresses(use_ipv4, use_ipv6)
    return ["127.0.0.1", *addresses] if use_ipv4 else addresses


aioice.ice.get_host_addresses = _host_candidates  # aioice has no option for host candidates


class DeviceVideoTrack(MediaStreamTrack):
    """Decoded device pictures for aiortc, paced by their arrival."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[av.VideoFrame | av.Packet] = asyncio.Queue(FRAME_QUEUE)
        self.passthrough = False  # True: H.264 access units (av.Packet) instead of pictures
        self._start = time.monotonic()

    def push(self, item: av.VideoFrame | av.Packet) -> None:
        """Queue a picture or access unit, dropping the oldest when the browser lags."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(item)

    async def recv(self) -> av.VideoFrame | av.Packet:
        """The next picture or access unit with a 90 kHz wall-clock timestamp."""
        if self.readyState != "live":
            raise MediaStreamError
        item = await self.queue.get()
        item.pts = int((time.monotonic() - self._start) * VIDEO_CLOCK)
        item.time_base = Fraction(1, VIDEO_CLOCK)
        return item


class DeviceAudioTrack(MediaStreamTrack):
    """The device's PCMU as 8 kHz mono frames for aiortc; silence while the device is muted."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[np.ndarray] = asyncio.Queue(AUDIO_QUEUE)
        self.muted = False
        self._pts = 0

    def push(self, samples: np.ndarray) -> None:
        """Queue 20 ms of samples."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(samples)

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms."""
        if self.readyState != "live":
            raise MediaStreamError
        samples = await self.queue.get()
        if self.muted:
            samples = np.zeros_like(samples)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = g711.CLOCK_RATE
        frame.pts = self._pts
        frame.time_base = Fraction(1, g711.CLOCK_RATE)
        self._pts += samples.shape[-1]
        return frame


class Recorder:
    """One MP4 per call: the pictures re-encoded with libx264, the device's sound as AAC.

    Only the call's worker thread touches it (PyAV containers are not thread-safe). Sound
    before the first picture is not kept: the file opens with the picture size.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container: Any = None
        self.stream: Any = None
        self.audio: Any = None
        self._start = 0.0
        self._last_pts = -1
        self._audio_pts = 0
        self.frames = 0

    def add_audio(self, samples: np.ndarray) -> None:
        """Encode 20 ms of the device's sound (8 kHz mono)."""
        if self.container is None:
            return
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = g711.CLOCK_RATE
        frame.pts, frame.time_base = self._audio_pts, Fraction(1, g711.CLOCK_RATE)
        self._audio_pts += samples.shape[-1]
        for packet in self.audio.encode(frame):
            self.container.mux(packet)

    def add(self, frame: av.VideoFrame) -> None:
        """Encode one picture (the first one opens the file with its size)."""
        if self.container is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.container = av.open(str(self.path), "w", format="mp4")
            self.stream = self.container.add_stream("libx264", rate=25)
            self.stream.width, self.stream.height = frame.width, frame.height
            self.stream.pix_fmt = "yuv420p"
            self.stream.time_base = RECORD_TIME_BASE
            self.stream.codec_context.time_base = RECORD_TIME_BASE
            self.stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
            self.audio = self.container.add_stream("aac", rate=g711.CLOCK_RATE, layout="mono")
            self._start = time.monotonic()
        pts = int((time.monotonic() - self._start) * 1000)
        if pts <= self._last_pts:
            pts = self._last_pts + 1
        self._last_pts = pts
        out = frame.reformat(format="yuv420p", width=self.stream.width, height=self.stream.height)
        out.pts, out.time_base = pts, RECORD_TIME_BASE
        for packet in self.stream.encode(out):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush and close the file."""
        if self.container is None:
            return
        try:
            for stream in (self.stream, self.audio):
                for packet in stream.encode(None):
                    self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None


class DeviceMedia:
    """RTP facing the device: video and audio in, the browser's audio out."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.video_track = DeviceVideoTrack()
        self.audio_track = DeviceAudioTrack()
        self.sockets: dict[str, RtpPort] = {}
        self.remote_audio: tuple[str, int] | None = None
        self.audio_pt = g711.PAYLOAD_TYPE_PCMU
        self.counters = dict.fromkeys(("video_in", "video_dropped", "audio_in", "audio_out"), 0)
        self.counters["frames"] = 0
        self.mic_muted = False
        self.snapshot_path: Path | None = None
        self.snapshot_taken = False
        self.recorder: Recorder | None = None
        self._depacketizer = Depacketizer()
        self._unit: list[bytes] = []
        self._decoder = av.CodecContext.create("h264", "r")
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="call-video")
        self._backlog = 0
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._pending = np.zeros(0, dtype=np.int16)
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=g711.CLOCK_RATE)

    async def open(self) -> None:
        """Bind the two RTP ports."""
        handlers = {"audio": self._on_audio, "video": self._on_video}
        self.sockets = await open_rtp_ports(self.host, handlers)

    def port(self, kind: str) -> int:
        """Our RTP port of ``kind``."""
        return self.sockets[kind].port

    def fresh_tracks(self) -> None:
        """New tracks for a new browser leg; the device mute carries over."""
        muted = self.audio_track.muted
        self.video_track.stop()
        self.audio_track.stop()
        self.video_track, self.audio_track = DeviceVideoTrack(), DeviceAudioTrack()
        self.audio_track.muted = muted

    def answer(self, offer: bytes) -> bytes:
        """The SDP answer to the device's offer; remembers where its audio goes."""
        parsed = SessionDescription.parse(offer)
        self._learn_remote(parsed)
        ports = {"audio": self.port("audio"), "video": self.port("video")}
        return bytes(build_answer(parsed, address=self.host, ports=ports, supported=SUPPORTED))

    def offer(self) -> bytes:
        """An SDP offer for a call placed from the console: PCMU audio, H.264 video."""
        offer = build_offer(
            address=self.host,
            audio_port=self.port("audio"),
            video_port=self.port("video"),
            session_name="openpss console",
            audio_codecs=("PCMU",),
            h264_fmtp="packetization-mode=1",
            video_direction="recvonly",
        )
        return bytes(offer)

    def learn_answer(self, answer: bytes) -> None:
        """Where the device's audio goes, from its SDP answer."""
        try:
            self._learn_remote(SessionDescription.parse(answer))
        except SipParseError as exc:
            logger.warning("device answer has an unreadable SDP: %s", exc)

    def _learn_remote(self, sdp: SessionDescription) -> None:
        media = sdp.first("audio")
        address = sdp.media_address(media) if media is not None else None
        if media is None or not media.port or not address:
            return
        pcmu = [c for c in media.codecs if c.name.upper() == "PCMU"]
        self.remote_audio = (address, media.port)
        if pcmu:
            self.audio_pt = pcmu[0].payload_type

    # ---- device -> browser -----------------------------------------------------------------

    def _on_audio(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
        except RtpError:
            return
        if packet.payload_type != self.audio_pt or not packet.payload:
            return  # telephone-event and anything else we did not negotiate
        self.counters["audio_in"] += 1
        samples = g711.decode(packet.payload)
        self.audio_track.push(samples)
        if self.recorder is not None:
            self._worker.submit(self._record_audio, samples)

    def _on_video(self, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
            self._unit.extend(self._depacketizer.feed(packet.payload))
        except (RtpError, H264PayloadError):
            return
        self.counters["video_in"] += 1
        if packet.marker and self._unit:
            unit = b"".join(b"\x00\x00\x00\x01" + nal for nal in self._unit)
            self._unit = []
            if self.video_track.passthrough:
                self.video_track.push(av.Packet(unit))
            if self._wants_pictures():
                self._decode_soon(unit)

    def _wants_pictures(self) -> bool:
        snapshot_due = self.snapshot_path is not None and not self.snapshot_taken
        return not self.video_track.passthrough or snapshot_due or self.recorder is not None

    def _decode_soon(self, unit: bytes) -> None:
        """Decode in the call's worker thread (the event loop keeps serving the console)."""
        if self._backlog >= DECODE_BACKLOG:
            self.counters["video_dropped"] += 1
            return
        self._backlog += 1
        future = asyncio.get_running_loop().run_in_executor(self._worker, self._decode, unit)
        future.add_done_callback(self._decoded)

    def _decoded(self, future: asyncio.Future[list[av.VideoFrame]]) -> None:
        self._backlog -= 1
        if future.cancelled() or future.exception() is not None:
            return
        if not self.video_track.passthrough:
            for frame in future.result():
                self.video_track.push(frame)

    def _decode(self, unit: bytes) -> list[av.VideoFrame]:
        """Worker thread: pictures of one access unit, kept as snapshot and recording."""
        try:
            frames = [f for p in self._decoder.parse(unit) for f in self._decoder.decode(p)]
        except av.FFmpegError as exc:
            logger.debug("H.264 decode error: %s", exc)
            return []
        for frame in frames:
            self.counters["frames"] += 1
            self._keep(frame)
        return frames

    def _keep(self, frame: av.VideoFrame) -> None:
        if self.snapshot_path is not None and not self.snapshot_taken:
            self.snapshot_path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_image().save(self.snapshot_path, "JPEG", quality=85)
            self.snapshot_taken = True
        if self.recorder is not None:
            try:
                self.recorder.add(frame)
            except (av.FFmpegError, OSError) as exc:
                logger.warning("recording %s stopped: %s", self.recorder.path, exc)
                self.recorder = None

    # ---- browser -> device -----------------------------------------------------------------

    async def pump_browser_audio(self, track: MediaStreamTrack) -> None:
        """Send the browser's microphone to the device as PCMU until the track ends."""
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in self._resampler.resample(frame):
                    self._pending = np.concatenate([self._pending, out.to_ndarray().reshape(-1)])
                while len(self._pending) >= g711.SAMPLES_PER_PACKET:
                    chunk = self._pending[: g711.SAMPLES_PER_PACKET]
                    self._pending = self._pending[g711.SAMPLES_PER_PACKET :]
                    self._send_audio(chunk)

    def _send_audio(self, samples: np.ndarray) -> None:
        self._timestamp = (self._timestamp + g711.SAMPLES_PER_PACKET) & 0xFFFFFFFF
        transport = self.sockets["audio"].transport
        if self.mic_muted or self.remote_audio is None or transport is None:
            return
        payload = g711.encode(samples.astype(np.int16))
        packet = RtpPacket(self.audio_pt, self._sequence, self._timestamp, self._ssrc, payload)
        self._sequence = (self._sequence + 1) & 0xFFFF
        transport.sendto(bytes(packet), self.remote_audio)
        self.counters["audio_out"] += 1

    async def aclose(self) -> None:
        """Close the ports and the tracks; finish the recording after the pending pictures."""
        for protocol in self.sockets.values():
            protocol.close()
        self.video_track.stop()
        self.audio_track.stop()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._worker, self._close_recorder)
        finally:
            self._worker.shutdown(wait=False)

    def _record_audio(self, samples: np.ndarray) -> None:
        """Worker thread: the device's sound into the recording."""
        if self.recorder is None:
            return
        try:
            self.recorder.add_audio(samples)
        except (av.FFmpegError, OSError, ValueError) as exc:
            logger.warning("recording %s lost sound: %s", self.recorder.path, exc)

    def _close_recorder(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return
        try:
            recorder.close()
        except (av.FFmpegError, OSError) as exc:
            logger.warning("recording %s could not be closed: %s", recorder.path, exc)


def _h264_first() -> list[RTCRtpCodecCapability]:
    """aiortc's video codecs with H.264 (and its retransmission) before VP8."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    return sorted(codecs, key=lambda c: 0 if c.mimeType == "video/H264" else 1)


def _first_video_codec(sdp: str) -> str:
    """The codec name of the first payload type of the answer's video section."""
    lines = sdp.splitlines()
    video = next((line for line in lines if line.startswith("m=video ")), "")
    formats = video.split()[3:]
    if not formats:
        return ""
    prefix = f"a=rtpmap:{formats[0]} "
    rtpmap = next((line for line in lines if line.startswith(prefix)), "")
    return rtpmap[len(prefix) :].split("/")[0]


class BrowserLeg:
    """The aiortc peer connection of one console user for one call."""

    def __init__(self, media: DeviceMedia) -> None:
        self.media = media
        media.fresh_tracks()  # a closed peer connection ends its tracks (a reloaded call page)
        self.pc = RTCPeerConnection()
        self.video_codec = ""
        self._tasks: set[asyncio.Task[None]] = set()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                task = asyncio.get_running_loop().create_task(media.pump_browser_audio(track))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def answer(self, offer_sdp: str) -> str:
        """Apply the browser's offer; returns our answer (ICE candidates gathered)."""
        # the codecs are chosen while the offer is applied: prefer H.264 before that
        video = self.pc.addTransceiver(self.media.video_track, direction="sendonly")
        video.setCodecPreferences(_h264_first())
        await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        self.pc.addTrack(self.media.audio_track)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        answer = str(self.pc.localDescription.sdp)
        self.video_codec = _first_video_codec(answer)
        self.media.video_track.passthrough = self.video_codec == "H264"
        logger.info(
            "browser video: %s",
            "H.264 passed through"
            if self.media.video_track.passthrough
            else f"transcoded to {self.video_codec}",
        )
        return answer

    async def close(self) -> None:
        """Close the peer connection and stop the microphone pump."""
        for task in list(self._tasks):
            task.cancel()
        await self.pc.close()
