"""Network front-end of the virtual camera: GVCP server, GVSP streamer, message channel.

Three layers as in Aravis's fake camera: codec (protocols.gige_vision) -> CameraModel (feature
registers, acquisition; no I/O) -> this front-end, which owns the sockets and the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from openpss.devices.camera import bootstrap as bs
from openpss.devices.camera.errors import AccessDenied, BadAddress
from openpss.devices.camera.frames import DeviceEvent, Frame
from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.messages import MessageChannelSender
from openpss.protocols.gige_vision.server import GvcpServer, Peer, start_server
from openpss.protocols.gige_vision.streamer import GvspStreamer, StreamBlock, StreamConfig

logger = logging.getLogger(__name__)
T = TypeVar("T")

WATCHDOG_PERIOD = 0.1
IDLE_POLL = 0.005
ACQUIRING_POLL = 0.001


class CameraModelLike(Protocol):
    """The part of CameraModel the front-end uses (see camera-contract)."""

    manufacturer: str
    model_name: str
    device_version: str
    serial: str

    def genicam_xml(self) -> bytes: ...

    def read(self, address: int, size: int) -> bytes: ...

    def write(self, address: int, data: bytes) -> None: ...

    def poll(self, now_ns: int) -> list[Frame]: ...

    def drain_events(self) -> list[DeviceEvent]: ...

    def set_line_input(self, line: str, level: bool, at_ns: int) -> None: ...

    def output_levels(self) -> dict[str, bool]: ...

    @property
    def acquiring(self) -> bool: ...


class CameraFrontEnd:
    """Owns the camera's sockets and dispatches GVCP to the bootstrap block and the model."""

    def __init__(
        self,
        model: CameraModelLike,
        *,
        host: str = "127.0.0.1",
        gvcp_port: int = gvcp.GVCP_PORT,
        lost_ratio: float = 0.0,
        data_dir: Any = None,
        broadcast: str | None = None,
    ) -> None:
        self.model = model
        self.host = host
        self.gvcp_port = gvcp_port
        self.broadcast = broadcast
        self.xml = model.genicam_xml()
        name = "openpss.zip" if self.xml[:2] == b"PK" else "openpss.xml"
        self.bootstrap = bs.Bootstrap(
            manufacturer=model.manufacturer,
            model_name=model.model_name,
            device_version=model.device_version,
            serial=model.serial,
            xml_length=len(self.xml),
            ip=host,
            data_dir=data_dir,
            xml_name=name,
        )
        self.streamer = GvspStreamer(bind_host=host, lost_ratio=lost_ratio)
        self.bootstrap.stream.source_port = self.streamer.source_port
        self.controller: Peer | None = None
        self.last_heartbeat = 0.0
        self.block_id = 0
        self.server: GvcpServer | None = None
        self.messages: MessageChannelSender | None = None
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._event_tasks: set[asyncio.Task[bool]] = set()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Bind GVCP (and discovery), the message channel and start the acquisition loop."""
        self.server, self._transports = await start_server(
            self, self.host, self.gvcp_port, self.broadcast
        )
        self.gvcp_port = int(self._transports[0].get_extra_info("sockname")[1])
        self.messages = await MessageChannelSender.open(self.host)
        self.bootstrap.message.source_port = self.messages.source_port
        self._tasks = [
            asyncio.create_task(self._acquisition_loop(), name="camera-acquisition"),
            asyncio.create_task(self._watchdog(), name="camera-heartbeat"),
        ]
        logger.info(
            "camera %s answering GVCP on %s:%d", self.model.serial, self.host, self.gvcp_port
        )

    async def close(self) -> None:
        """Stop tasks and close every socket."""
        for task in [*self._tasks, *self._event_tasks]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for transport in self._transports:
            transport.close()
        if self.messages and self.messages.transport:
            self.messages.transport.close()
        await asyncio.to_thread(self.streamer.close)

    @staticmethod
    def now_ns() -> int:
        """The device clock (monotonic nanoseconds)."""
        return time.monotonic_ns()

    # ----------------------------------------------------------------- GvcpDevice

    def device_info(self) -> gvcp.DeviceInfo:
        """The DISCOVERY_ACK block."""
        return self.bootstrap.device_info()

    def command_received(self, peer: Peer) -> None:
        """Any command from the controlling application counts as a heartbeat."""
        if peer == self.controller:
            self.last_heartbeat = time.monotonic()

    def _check_read(self, peer: Peer) -> None:
        if self.controller not in (None, peer) and self.bootstrap.ccp & bs.CCP_EXCLUSIVE:
            raise AccessDenied(f"{self.controller[0]} holds exclusive access")

    def _check_write(self, peer: Peer) -> None:
        if self.controller != peer:
            holder = "nobody" if self.controller is None else f"{self.controller[0]}"
            raise AccessDenied(f"write refused: control privilege is held by {holder}")

    def read_register(self, address: int, peer: Peer) -> int:
        """READREG of one address."""
        self._check_read(peer)
        if address < bs.BOOTSTRAP_END:
            return self.bootstrap.read_register(address)
        return int(struct.unpack(">I", self.model.read(address, 4))[0])

    def write_register(self, address: int, value: int, peer: Peer) -> None:
        """WRITEREG of one address."""
        if address == bs.CCP:
            self._write_ccp(value, peer)
            return
        self._check_write(peer)
        if address < bs.BOOTSTRAP_END:
            self.bootstrap.write_register(address, value, now_ns=self.now_ns())
            self._after_bootstrap_write(address, value)
        else:
            self.model.write(address, struct.pack(">I", value))

    def read_memory(self, address: int, count: int, peer: Peer) -> bytes:
        """READMEM: bootstrap strings, the GenICam XML, or feature registers."""
        self._check_read(peer)
        if bs.XML_ADDRESS <= address < bs.XML_ADDRESS + len(self.xml):
            start = address - bs.XML_ADDRESS
            return self.xml[start : start + count].ljust(count, b"\0")
        if address < bs.BOOTSTRAP_END:
            if address + count > bs.BOOTSTRAP_END:
                raise BadAddress(f"READMEM 0x{address:x}+{count} crosses the bootstrap end")
            return self.bootstrap.read(address, count)
        return bytes(self.model.read(address, count))

    def write_memory(self, address: int, data: bytes, peer: Peer) -> None:
        """WRITEMEM: bootstrap (user name) or feature space."""
        self._check_write(peer)
        if address < bs.BOOTSTRAP_END:
            self.bootstrap.write_memory(address, data)
            for offset in range(0, len(data) - 3, 4):
                word = struct.unpack_from(">I", data, offset)[0]
                self._after_bootstrap_write(address + offset, word)
        else:
            self.model.write(address, data)

    def packet_resend(self, command: gvcp.PacketResendCmd, peer: Peer) -> None:
        """Queue a resend on the streamer."""
        if command.stream_channel != 0:
            return
        self.streamer.resend(command.block_id, command.first_packet_id, command.last_packet_id)

    # ----------------------------------------------------------------- privileges

    def _write_ccp(self, value: int, peer: Peer) -> None:
        wants = value & (bs.CCP_CONTROL | bs.CCP_EXCLUSIVE)
        if self.controller not in (None, peer):
            raise AccessDenied(f"control privilege is held by {self.controller[0]}")
        if wants:
            if self.controller is None:
                logger.info("control privilege granted to %s:%d", *peer)
            self.controller = peer
            self.bootstrap.ccp = value & 0x7
            self.last_heartbeat = time.monotonic()
        else:
            self._release_control("released by the application")

    def _release_control(self, why: str) -> None:
        if self.controller is None:
            return
        logger.info("control privilege of %s:%d %s", *self.controller, why)
        self.controller = None
        self.bootstrap.ccp = 0
        self.bootstrap.stream.host_port = 0
        self.bootstrap.message.host_port = 0
        self._configure_stream()
        self._stop_model_acquisition()

    def _stop_model_acquisition(self) -> None:
        """A camera that lost its controller stops acquiring and unlocks its TL parameters."""
        try:
            if self.model.acquiring:
                setter = getattr(self.model, "set", None)
                if callable(setter):
                    setter("AcquisitionStop", 1)
            unlock = getattr(self.model, "tl_params_locked", None)
            if callable(unlock):
                unlock(False)
        except Exception as exc:  # the model refusing must not keep the privilege held
            logger.warning("could not stop the acquisition after control loss: %s", exc)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_PERIOD)
            if self.controller is None or self.bootstrap.heartbeat_disabled:
                continue
            idle_ms = (time.monotonic() - self.last_heartbeat) * 1000
            if idle_ms > self.bootstrap.heartbeat_timeout_ms:
                self._release_control(
                    f"expired (no heartbeat for {self.bootstrap.heartbeat_timeout_ms} ms)"
                )

    # ----------------------------------------------------------------- streaming

    def _after_bootstrap_write(self, address: int, value: int) -> None:
        if address in (bs.SCP0, bs.SCPS0, bs.SCPD0, bs.SCDA0, bs.GVSP_CONFIGURATION):
            self._configure_stream()
        if address == bs.SCPS0 and value & bs.SCPS_FIRE_TEST_PACKET:
            self.streamer.fire_test_packet()

    def _configure_stream(self) -> None:
        s = self.bootstrap.stream
        self.streamer.configure(
            StreamConfig(
                destination=s.destination,
                port=s.host_port,
                packet_size=s.packet_size,
                packet_delay_ns=s.packet_delay,  # 1 GHz ticks: one tick is one nanosecond
                extended_id=self.bootstrap.extended_ids,
            )
        )

    def _next_block_id(self) -> int:
        limit = (1 << 64) - 1 if self.bootstrap.extended_ids else 0xFFFF
        self.block_id = self.block_id % limit + 1  # block id 0 is reserved
        return self.block_id

    def step(self, now_ns: int) -> int:
        """Poll the model once: stream its frames and forward its events; returns frames sent."""
        frames = self.model.poll(now_ns)
        for frame in frames:
            self.streamer.submit(
                StreamBlock(
                    block_id=self._next_block_id(),
                    timestamp=self.bootstrap.timestamp(frame.timestamp_ns),
                    pixel_format=frame.pixel_format,
                    width=frame.width,
                    height=frame.height,
                    offset_x=frame.offset_x,
                    offset_y=frame.offset_y,
                    payload=frame.payload,
                )
            )
        for event in self.model.drain_events():
            self._send_event(event)
        return len(frames)

    def _send_event(self, event: DeviceEvent) -> None:
        m = self.bootstrap.message
        if self.messages is None or not m.host_port or m.destination == "0.0.0.0":
            return
        item = gvcp.EventItem(
            event.event_id, self.bootstrap.timestamp(event.timestamp_ns), 0, self.block_id & 0xFFFF
        )
        task = asyncio.create_task(
            self.messages.send(
                (m.destination, m.host_port),
                item,
                event.data,
                timeout_ms=m.timeout_ms,
                retries=m.retry_count,
            )
        )
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _acquisition_loop(self) -> None:
        while True:
            try:
                self.step(self.now_ns())
            except Exception:  # keep answering GVCP even if one frame fails
                logger.exception("camera acquisition step failed")
            await asyncio.sleep(ACQUIRING_POLL if self.model.acquiring else IDLE_POLL)


def broadcast_address(host: str) -> str | None:
    """The IPv4 broadcast address of the interface holding `host` (127.255.255.255 for lo)."""
    if host.startswith("127."):
        return "127.255.255.255"
    try:
        import fcntl

        for _, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                packed = struct.pack("256s", name.encode()[:15])
                try:
                    addr = socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8915, packed)[20:24])
                    if addr == host:
                        return socket.inet_ntoa(fcntl.ioctl(s.fileno(), 0x8919, packed)[20:24])
                except OSError:
                    continue
    except ImportError:
        return None
    return None


class BackgroundCamera:
    """Run a CameraFrontEnd on its own event loop in a thread (tests, demos, benchmarks)."""

    def __init__(self, front_end: CameraFrontEnd) -> None:
        self.front_end = front_end
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="camera")

    def __enter__(self) -> CameraFrontEnd:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.front_end.start(), self.loop).result(timeout=10)
        return self.front_end

    def call(self, func: Callable[[], T]) -> T:
        """Run `func` on the camera's loop thread and return its result."""

        async def wrapper() -> T:
            return func()

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout=10)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.front_end.close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
