"""Connected cameras of the viewer: control, acquisition thread, latest frame, events.

Blocking code on purpose (the GVCP client and the GenICam node map are synchronous); FastAPI
runs the sync routes that call it in its thread pool. One LiveCamera per connected camera,
kept in a CameraSessions registry on the app.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from openpss.imaging import ImagingError, payload_size, to_rgb8, unpack
from openpss.platform.errors import Conflict, Invalid, NotFound, Unavailable
from openpss.platform.vision.features import FeatureNode, feature_tree
from openpss.protocols.gige_vision.camera import GigECamera
from openpss.protocols.gige_vision.client import discover
from openpss.protocols.gige_vision.gvcp import EventItem
from openpss.protocols.gige_vision.messages import MessageChannelReceiver
from openpss.protocols.gige_vision.receiver import GvspReceiver

logger = logging.getLogger(__name__)

ACQUISITION_MODES = ("Continuous", "SingleFrame", "MultiFrame")
FRAME_COUNT_MAX = 255  # manual 3.2: AcquisitionFrameCount 1-255
EVENT_LOG_SIZE = 200
PACKET_SIZE = 8192
Connector = Callable[..., Any]
# GigE Vision 2.0 standard event identifiers (0x9000-0xFFFF are device-specific).
STANDARD_EVENTS = {
    0x0000: "Trigger",
    0x0001: "StartOfExposure",
    0x0002: "ExposureEnd",
    0x0003: "StartOfTransfer",
    0x0004: "EndOfTransfer",
}


class AcquisitionState(enum.StrEnum):
    """The client's acquisition: stopped, or receiving frames."""

    stopped = "stopped"
    acquiring = "acquiring"


class NotConnected(Conflict):
    """The camera has no open connection."""


@dataclass(frozen=True)
class Snapshot:
    """A copy of one received frame."""

    payload: bytes
    pixel_format: int
    width: int
    height: int
    block_id: int
    timestamp: int
    complete: bool

    def rgb8(self) -> np.ndarray:
        """The frame as 8-bit RGB for display."""
        return to_rgb8(self.payload, self.pixel_format, self.width, self.height)

    def array(self) -> np.ndarray:
        """The frame's samples (height, width[, 3])."""
        return unpack(self.payload, self.pixel_format, self.width, self.height)


@dataclass(frozen=True)
class EventEntry:
    """One line of the event log."""

    at: dt.datetime
    kind: str
    text: str


class LiveCamera:
    """One connected camera (control privilege held, heartbeats running)."""

    def __init__(
        self,
        address: str,
        port: int,
        *,
        connect: Connector = GigECamera,
        on_log: Callable[[str, str], None] | None = None,
    ) -> None:
        self.address, self.port = address, port
        self.on_log = on_log  # every event-log line also goes here (the platform's event bus)
        try:
            self.camera = connect(address, port=port)
        except Exception as exc:  # GvcpError, OSError, genicam errors while loading the XML
            raise Unavailable(f"cannot connect to {address}:{port}: {exc}") from exc
        self.lock = threading.RLock()  # the node map is not thread-safe
        self.events: deque[EventEntry] = deque(maxlen=EVENT_LOG_SIZE)
        self.latest: Snapshot | None = None
        self.recent: deque[Snapshot] = deque(maxlen=1)
        self.receiver: GvspReceiver | None = None
        self.state = AcquisitionState.stopped  # changed only by _set_state
        self.frames_seen = 0
        self._final_stats: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.messages: MessageChannelReceiver | None = None
        self.log("connect", f"connected to {address}:{port} with control privilege")
        self._listen_for_events()

    # ----------------------------------------------------------------- log and features

    @property
    def acquiring(self) -> bool:
        """True while frames are being received."""
        return self.state is AcquisitionState.acquiring

    def _set_state(self, state: AcquisitionState, reason: str) -> None:
        """The one place the acquisition state changes; every transition is logged."""
        if state is not self.state:
            logger.info(
                "camera %s:%s acquisition %s -> %s (%s)",
                self.address,
                self.port,
                self.state.value,
                state.value,
                reason,
            )
            self.state = state

    def log(self, kind: str, text: str) -> None:
        """Add a line to the event log."""
        self.events.appendleft(EventEntry(dt.datetime.now(dt.UTC), kind, text))
        logger.info("camera %s:%s %s: %s", self.address, self.port, kind, text)
        if self.on_log is not None:
            self.on_log(kind, text)

    def features(self, level: str) -> list[FeatureNode]:
        """The feature tree visible at a user level (Beginner, Expert, Guru)."""
        with self.lock:
            return feature_tree(self.camera.node_map, level)

    def get(self, name: str) -> str:
        """A feature's value as text."""
        with self.lock:
            try:
                return str(self.camera.node(name).to_string())
            except KeyError as exc:
                raise NotFound(str(exc.args[0])) from exc
            except Exception as exc:
                raise Unavailable(f"cannot read {name}: {_short(exc)}") from exc

    def set(self, name: str, value: str) -> None:
        """Write a feature from its text form; a refusal names the feature and the reason."""
        with self.lock:
            try:
                self.camera.set(name, value)
            except KeyError as exc:
                raise NotFound(str(exc.args[0])) from exc
            except Exception as exc:
                raise Invalid(f"cannot set {name} to {value!r}: {_short(exc)}") from exc
        self.log("feature", f"{name} = {value}")

    def execute(self, name: str) -> None:
        """Execute a command feature."""
        with self.lock:
            try:
                self.camera.execute(name)
            except KeyError as exc:
                raise NotFound(str(exc.args[0])) from exc
            except Exception as exc:
                raise Unavailable(f"cannot execute {name}: {_short(exc)}") from exc
        self.log("command", name)

    # ----------------------------------------------------------------- acquisition

    def play(self, mode: str, count: int = 1) -> None:
        """Start acquiring: Continuous, SingleFrame, or MultiFrame with `count` frames (1-255)."""
        if mode not in ACQUISITION_MODES:
            raise Invalid(f"unknown acquisition mode {mode!r}; use {', '.join(ACQUISITION_MODES)}")
        if mode == "MultiFrame" and not 1 <= count <= FRAME_COUNT_MAX:
            raise Invalid(f"AcquisitionFrameCount must be 1-{FRAME_COUNT_MAX}, got {count}")
        with self.lock:
            self.stop()
            self.set("AcquisitionMode", mode)
            if mode == "MultiFrame":
                self.set("AcquisitionFrameCount", str(count))
            target = {"SingleFrame": 1, "MultiFrame": count}.get(mode)
            try:
                receiver = self.camera.start_stream(packet_size=PACKET_SIZE)
            except Exception as exc:
                raise Unavailable(f"cannot open the stream channel: {_short(exc)}") from exc
            self.receiver, self.frames_seen = receiver, 0
            self.recent = deque(maxlen=target or 1)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._receive, args=(receiver, target), daemon=True, name="vision-rx"
            )
            self._thread.start()
            self._set_state(AcquisitionState.acquiring, f"{mode} started")
            self.execute("AcquisitionStart")
        self.log("acquisition", f"started {mode}" + (f" ({count} frames)" if target else ""))

    def stop(self) -> None:
        """Stop acquiring and close the stream channel (no-op when idle)."""
        with self.lock:
            if self.receiver is None:
                return
            with contextlib.suppress(Exception):
                self.camera.execute("AcquisitionStop")
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._final_stats = self.receiver.stats.as_dict()
            with contextlib.suppress(Exception):
                self.camera.stop_stream()
            self.receiver, self._thread = None, None
            self._set_state(AcquisitionState.stopped, "stopped")
        self.log("acquisition", f"stopped after {self.frames_seen} frame(s)")

    def wait_frames(self, count: int, timeout: float) -> list[Snapshot]:
        """Block until `count` frames of the current acquisition arrived; the last `count`."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        if self.frames_seen < count:
            raise Invalid(
                f"only {self.frames_seen} of {count} frames arrived within {timeout:g} s; "
                "check the trigger mode and the network"
            )
        return list(self.recent)[-count:]

    def _receive(self, receiver: GvspReceiver, target: int | None) -> None:
        while not self._stop.is_set():
            try:
                frame = receiver.get(timeout=0.2)
            except queue.Empty:
                continue
            snapshot = Snapshot(
                bytes(frame.data[: _payload_bytes(frame)]),
                frame.pixel_format,
                frame.width,
                frame.height,
                frame.block_id,
                frame.timestamp,
                frame.complete,
            )
            receiver.release(frame)
            self.latest = snapshot
            self.recent.append(snapshot)
            self.frames_seen += 1
            if not snapshot.complete:
                self.log("error", f"frame {snapshot.block_id} incomplete after resend")
            if target is not None and self.frames_seen >= target:
                self.log("acquisition", f"finished: {self.frames_seen} frame(s) received")
                self._set_state(AcquisitionState.stopped, "all frames received")
                return

    def statistics(self) -> dict[str, Any]:
        """Configured and measured frame rate, bandwidth, images, loss rate, resends."""
        stats: dict[str, Any] = dict(
            self.receiver.stats.as_dict() if self.receiver else self._final_stats
        )
        with self.lock:
            with contextlib.suppress(Exception):
                stats["resulting_frame_rate"] = self._float("ResultingFrameRateAbs")
            # AcquisitionFrameRate limits the camera only while AcquisitionFrameRateEnable is on;
            # otherwise the camera runs free at the resulting rate (None: "not limited").
            stats["configured_frame_rate"] = None
            with contextlib.suppress(Exception):
                if bool(self.camera.node("AcquisitionFrameRateEnable").value):
                    stats["configured_frame_rate"] = self._float("AcquisitionFrameRate")
        stats["acquiring"] = self.acquiring
        stats["frames_seen"] = self.frames_seen
        return stats

    def _float(self, name: str) -> float:
        return round(float(self.camera.node(name).value), 3)

    # ----------------------------------------------------------------- events and shutdown

    def _listen_for_events(self) -> None:
        receiver = MessageChannelReceiver(self.camera.client.local_address[0])
        try:
            receiver.attach(self.camera.client)
        except Exception as exc:  # a camera without a message channel still works
            logger.info("no message channel on %s: %s", self.address, exc)
            receiver.close()
            return
        receiver.listen(self._on_event)
        self.messages = receiver

    def _on_event(self, event: EventItem, _data: bytes) -> None:
        name = STANDARD_EVENTS.get(event.event_id, "device-specific event")
        self.log(
            "device",
            f"{name} 0x{event.event_id:04X} at {event.timestamp} (block {event.block_id})",
        )

    def close(self) -> None:
        """Stop acquiring, release control and close the sockets."""
        with self.lock:
            with contextlib.suppress(Exception):
                self.stop()
            if self.messages is not None:
                self.messages.close()
            with contextlib.suppress(Exception):
                self.camera.close()
        self.log("connect", "disconnected")


def _payload_bytes(frame: Any) -> int:
    try:
        return payload_size(frame.width, frame.height, frame.pixel_format)
    except ImagingError:
        return len(frame.data)


def _short(exc: Exception) -> str:
    """The first line of an exception's message (genicam messages carry long trailers)."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class CameraSessions:
    """The connected cameras of one platform process, by camera id."""

    def __init__(
        self,
        connect: Connector = GigECamera,
        finder: Connector = discover,
        on_event: Callable[[int, str, str], None] | None = None,
    ) -> None:
        self.connect = connect
        self.on_event = on_event  # (camera id, kind, text) of every camera event-log line
        self.finder = finder  # GigE Vision discovery (replaceable in tests)
        self._live: dict[int, LiveCamera] = {}
        self._lock = threading.Lock()

    def open(self, camera_id: int, address: str, port: int) -> LiveCamera:
        """Connect (or return the existing connection)."""
        with self._lock:
            live = self._live.get(camera_id)
            if live is None:
                on_log = None
                if self.on_event is not None:
                    on_log = functools.partial(self.on_event, camera_id)
                live = LiveCamera(address, port, connect=self.connect, on_log=on_log)
                self._live[camera_id] = live
            return live

    def get(self, camera_id: int) -> LiveCamera | None:
        """The connection of a camera, if connected."""
        return self._live.get(camera_id)

    def require(self, camera_id: int) -> LiveCamera:
        """The connection of a camera; NotConnected when not connected."""
        live = self._live.get(camera_id)
        if live is None:
            raise NotConnected("the camera is not connected; connect it first")
        return live

    def close(self, camera_id: int) -> None:
        """Disconnect one camera."""
        with self._lock:
            live = self._live.pop(camera_id, None)
        if live is not None:
            live.close()

    def close_all(self) -> None:
        """Disconnect every camera (shutdown)."""
        for camera_id in list(self._live):
            self.close(camera_id)
