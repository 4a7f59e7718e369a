"""The camera module's live streams: synthetic H.264 video (PyAV + libx264) and G.711 audio.

``LiveStream`` renders the test scene (``scene.py``: VTO number, running clock), encodes it
once with libx264 (baseline, zerolatency, one IDR per second with SPS/PPS in band) and the
tone (or an audio file) as PCMU, packetizes (RFC 6184, RFC 3551) and hands the same RTP
packets to every sink: N viewers cost one encoder. It runs only while somebody watches.
Encoding happens in a worker thread so the event loop keeps serving events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from openpss.devices.common.audio import AudioSource as AudioSource
from openpss.devices.vto.scene import render_array
from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import RtpPacket, SenderReport, SourceDescription, ntp_time
from openpss.protocols.rtp.h264 import NAL_PPS, NAL_SPS, nal_type, packetize, split_annexb
from openpss.protocols.rtsp.codec import RtspError, SdpTrack
from openpss.protocols.rtsp.server import Sink

logger = logging.getLogger(__name__)

VIDEO_PT, VIDEO_CLOCK = 96, 90_000  # dynamic payload type; RFC 6184 §8.2.1 clock rate
AUDIO_PACKET_S = g711.SAMPLES_PER_PACKET / g711.CLOCK_RATE
SR_INTERVAL_S = 2.0  # RTCP sender reports (RFC 3550 §6.2 minimum interval is 5 s at low rates)
SUBTYPES = {0: (1280, 720), 1: (640, 360)}  # main and sub stream


@dataclass
class RtpTrack:
    """Sequence numbers, timestamps and counters of one outgoing RTP stream."""

    payload_type: int
    clock_rate: int
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    sequence: int = field(default_factory=lambda: secrets.randbits(16))
    base_timestamp: int = field(default_factory=lambda: secrets.randbits(32))
    packets: int = 0
    octets: int = 0
    last_timestamp: int = 0

    def packet(self, payload: bytes, timestamp: int, *, marker: bool) -> bytes:
        """The next RTP packet of this stream."""
        ts = (self.base_timestamp + timestamp) & 0xFFFFFFFF
        data = bytes(RtpPacket(self.payload_type, self.sequence, ts, self.ssrc, payload, marker))
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)
        self.last_timestamp = ts
        return data

    def report(self, cname: str) -> bytes:
        """SR + SDES compound packet."""
        sr = SenderReport(
            self.ssrc, ntp_time(time.time()), self.last_timestamp, self.packets, self.octets
        )
        return bytes(sr) + bytes(SourceDescription(((self.ssrc, cname),)))


class H264Encoder:
    """libx264 through PyAV: RGB frames in, Annex-B access units out."""

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.codec = av.CodecContext.create("libx264", "w")
        self.codec.width, self.codec.height = width, height
        self.codec.pix_fmt = "yuv420p"
        self.codec.time_base = Fraction(1, fps)
        self.codec.framerate = Fraction(fps, 1)
        self.codec.gop_size = fps
        self.codec.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "profile": "baseline",
            "crf": "28",
            "threads": "1",
            "bframes": "0",
        }
        self.pts = 0

    def encode(self, rgb: np.ndarray) -> list[bytes]:
        """One frame -> the access units it completes (zerolatency: one)."""
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = self.pts
        self.pts += 1
        return [bytes(packet) for packet in self.codec.encode(frame)]


def sprop_parameter_sets(width: int, height: int, fps: int) -> tuple[str, str]:
    """(sprop-parameter-sets, profile-level-id) of the encoder's SPS/PPS, for the SDP."""
    encoder = H264Encoder(width, height, fps)
    units = encoder.encode(np.zeros((height, width, 3), dtype=np.uint8))
    nals = [nal for unit in units for nal in split_annexb(unit)]
    sps = next(n for n in nals if nal_type(n) == NAL_SPS)
    pps = next(n for n in nals if nal_type(n) == NAL_PPS)
    sets = ",".join(base64.b64encode(n).decode() for n in (sps, pps))
    return sets, sps[1:4].hex()


class LiveStream:
    """One RTSP path (main or sub stream): shared encoder, RTP for every sink."""

    def __init__(
        self,
        *,
        name: str,
        width: int,
        height: int,
        fps: int,
        label: Callable[[], str],
        clock: Callable[[], dt.datetime],
        audio: AudioSource | None = None,
    ) -> None:
        self.name = name
        self.width, self.height, self.fps = width, height, fps
        self.label, self.clock = label, clock
        self.audio = audio or AudioSource()
        self.video = RtpTrack(VIDEO_PT, VIDEO_CLOCK)
        self.sound = RtpTrack(g711.PAYLOAD_TYPE_PCMU, g711.CLOCK_RATE)
        sprop, profile = sprop_parameter_sets(width, height, fps)
        fmtp = f"packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={sprop}"
        self.tracks = [
            SdpTrack("video", VIDEO_PT, "H264", VIDEO_CLOCK, fmtp, "trackID=0"),
            SdpTrack("audio", g711.PAYLOAD_TYPE_PCMU, "PCMU", g711.CLOCK_RATE, "", "trackID=1"),
        ]
        self.sinks: list[Sink] = []
        self.frames_encoded = 0
        self.frames_late = 0
        self.encode_seconds = 0.0
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"encode-{name}")

    def rtp_info(self, track: int) -> tuple[int, int]:
        """(next sequence, current timestamp)."""
        rtp = self.video if track == 0 else self.sound
        return rtp.sequence, rtp.last_timestamp or rtp.base_timestamp

    def add_sink(self, sink: Sink) -> None:
        """A viewer starts; the encoder starts with the first one."""
        self.sinks.append(sink)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove_sink(self, sink: Sink) -> None:
        """A viewer stops; the encoder stops with the last one."""
        with contextlib.suppress(ValueError):
            self.sinks.remove(sink)
        if not self.sinks and self._task is not None:
            self._task.cancel()
            self._task = None

    def close(self) -> None:
        """Stop encoding and release the worker thread."""
        self.sinks.clear()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _send(self, track: int, data: bytes, rtcp: bool = False) -> None:
        for sink in list(self.sinks):
            sink(track, data, rtcp)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        encoder = H264Encoder(self.width, self.height, self.fps)
        start = time.monotonic()
        frame_index, next_report = 0, start
        audio_task = loop.create_task(self._audio_loop(start))
        try:
            while self.sinks:
                due = start + frame_index / self.fps
                now = time.monotonic()
                if due > now:
                    await asyncio.sleep(due - now)
                elif now - due > 1 / self.fps:
                    self.frames_late += 1
                at, label = self.clock(), self.label()
                began = time.perf_counter()
                units = await loop.run_in_executor(
                    self._executor, self._encode, encoder, label, at, frame_index
                )
                self.encode_seconds += time.perf_counter() - began
                timestamp = frame_index * VIDEO_CLOCK // self.fps
                for unit in units:
                    payloads = packetize(unit)
                    for index, payload in enumerate(payloads):
                        last = index == len(payloads) - 1
                        self._send(0, self.video.packet(payload, timestamp, marker=last))
                self.frames_encoded += 1
                frame_index += 1
                if time.monotonic() >= next_report:
                    next_report += SR_INTERVAL_S
                    self._send(0, self.video.report(self.name), True)
                    self._send(1, self.sound.report(self.name), True)
        finally:
            audio_task.cancel()

    def _encode(self, encoder: H264Encoder, label: str, at: dt.datetime, index: int) -> list[bytes]:
        rgb = render_array(self.width, self.height, label, at, index)
        return encoder.encode(rgb)

    async def _audio_loop(self, start: float) -> None:
        index = 0
        while True:
            due = start + index * AUDIO_PACKET_S
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            payload = g711.encode(self.audio.next_packet())
            timestamp = index * g711.SAMPLES_PER_PACKET
            self._send(1, self.sound.packet(payload, timestamp, marker=index == 0))
            index += 1


class MonitorStreams:
    """The RTSP backend of the VTO: ``/cam/realmonitor?channel=1&subtype=0|1``."""

    def __init__(
        self,
        *,
        realm: str,
        ha1_for: Callable[[str], str | None],
        label: Callable[[], str],
        clock: Callable[[], dt.datetime],
        fps: int = 25,
        audio_file: Path | None = None,
        sizes: dict[int, tuple[int, int]] | None = None,
    ) -> None:
        self.realm = realm
        self._ha1_for = ha1_for
        self.streams = {
            subtype: LiveStream(
                name="VTO main stream" if subtype == 0 else "VTO sub stream",
                width=w,
                height=h,
                fps=fps,
                label=label,
                clock=clock,
                audio=AudioSource(audio_file),
            )
            for subtype, (w, h) in (sizes or SUBTYPES).items()
        }

    def ha1_for(self, user: str) -> str | None:
        """The admin's HA1."""
        return self._ha1_for(user)

    def close(self) -> None:
        """Stop every stream."""
        for stream in self.streams.values():
            stream.close()

    def stream(self, path: str, query: dict[str, str]) -> LiveStream:
        """The stream of a realmonitor URL."""
        if path != "/cam/realmonitor":
            raise RtspError(f"no stream at {path[:60]}: use /cam/realmonitor", 404)
        if query.get("channel", "1") != "1":
            raise RtspError("channel must be 1 (one camera module)", 404)
        subtype = query.get("subtype", "0")
        if not subtype.isdigit() or int(subtype) not in self.streams:
            raise RtspError("subtype must be 0 (main) or 1 (sub)", 404)
        return self.streams[int(subtype)]
