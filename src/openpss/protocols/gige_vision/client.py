"""GVCP client (application side): discovery, register/memory access, control privilege.

Blocking sockets on purpose: the GenICam node map calls its port synchronously.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass

from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.bootstrap import (
    CCP,
    CCP_CONTROL,
    CCP_EXCLUSIVE,
    FIRST_URL,
    HEARTBEAT_TIMEOUT,
)
from openpss.protocols.gige_vision.errors import GigEVisionProtocolError
from openpss.protocols.gige_vision.gvcp import Command, Status

logger = logging.getLogger(__name__)

READMEM_CHUNK = 512
SIOCGIFADDR = 0x8915
SIOCGIFBRDADDR = 0x8919


class GvcpError(Exception):
    """The device refused a command or did not answer."""

    def __init__(self, message: str, status: int = Status.ERROR) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DiscoveredDevice:
    """One DISCOVERY_ACK: the device information and the address it answered from."""

    address: str
    port: int
    info: gvcp.DeviceInfo


def interface_addresses(interface: str) -> tuple[str, str]:
    """(address, broadcast) of a named interface such as "lo" or "eth0", or of an IPv4 address."""
    if interface.count(".") == 3:
        if interface.startswith("127."):
            return interface, "127.255.255.255"
        return interface, "255.255.255.255"
    packed = struct.pack("256s", interface.encode()[:15])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            address = socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, packed)[20:24])
        except OSError as exc:
            raise GvcpError(f"interface {interface!r} has no IPv4 address ({exc})") from exc
        try:
            broadcast = socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFBRDADDR, packed)[20:24])
        except OSError:
            broadcast = "0.0.0.0"
    if broadcast == "0.0.0.0":
        broadcast = "127.255.255.255" if address.startswith("127.") else "255.255.255.255"
    return address, broadcast


def discover(
    interface: str, *, timeout: float = 1.0, port: int = gvcp.GVCP_PORT
) -> list[DiscoveredDevice]:
    """Broadcast DISCOVERY_CMD on one interface and collect the acknowledges."""
    address, broadcast = interface_addresses(interface)
    found: dict[str, DiscoveredDevice] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.bind((address, 0))
        flags = gvcp.FLAG_ACK_REQUIRED | gvcp.FLAG_ALLOW_BROADCAST_ACK
        sock.sendto(bytes(gvcp.DiscoveryCmd(1, flags)), (broadcast, port))
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, peer = sock.recvfrom(2048)
            except TimeoutError:
                break
            with contextlib.suppress(ValueError):
                ack = gvcp.DiscoveryAck.parse(data)
                found[f"{peer[0]}:{ack.info.serial}"] = DiscoveredDevice(peer[0], peer[1], ack.info)
    return list(found.values())


class GvcpClient:
    """One application's control channel to a device."""

    def __init__(
        self,
        address: str,
        *,
        port: int = gvcp.GVCP_PORT,
        timeout: float = 0.5,
        retries: int = 3,
        bind: str | None = None,
    ) -> None:
        self.address = (address, port)
        self.timeout = timeout
        self.retries = retries
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind or _local_address_for(address), 0))
        self._req_id = 0
        self._lock = threading.RLock()
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()
        self.heartbeat_failures = 0

    @property
    def local_address(self) -> tuple[str, int]:
        """(ip, port) the device sees this client as."""
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def close(self) -> None:
        """Release control (best effort), stop the heartbeat and close the socket."""
        if self._heartbeat is not None:
            self._stop.set()
            self._heartbeat.join(timeout=2)
            self._heartbeat = None
            with contextlib.suppress(GvcpError, OSError):
                self.write_register(CCP, 0)
        self.sock.close()

    def __enter__(self) -> GvcpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- transactions

    def _next_id(self) -> int:
        self._req_id = self._req_id % 0xFFFF + 1
        return self._req_id

    def transact(self, build: type, *args: object, answer: int) -> bytes:
        """Send a command built as build(req_id, *args) and return its acknowledge datagram."""
        with self._lock:
            req_id = self._next_id()
            raw = bytes(build(req_id, *args))
            for _attempt in range(self.retries + 1):
                self.sock.sendto(raw, self.address)
                ack = self._wait_ack(req_id, answer)
                if ack is not None:
                    return ack
            raise GvcpError(
                f"no answer from {self.address[0]}:{self.address[1]} after "
                f"{self.retries + 1} tries",
                Status.MSG_TIMEOUT,
            )

    def _wait_ack(self, req_id: int, answer: int) -> bytes | None:
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(2048)
            except TimeoutError:
                return None
            try:
                _status, code, ack_id, _payload = gvcp.split_ack(data)
            except GigEVisionProtocolError:
                continue
            if ack_id != req_id:
                continue  # a late answer to an earlier try
            if code == Command.PENDING_ACK:
                deadline = (
                    time.monotonic() + gvcp.PendingAck.parse(data).time_to_completion_ms / 1e3
                )
                continue
            if code != answer:
                raise GvcpError(
                    f"device answered 0x{code:04x} to a command expecting 0x{answer:04x}"
                )
            return data
        return None

    # ----------------------------------------------------------------- registers and memory

    def read_registers(self, addresses: list[int]) -> list[int]:
        """READREG of several addresses in one command."""
        ack = gvcp.ReadRegAck.parse(
            self.transact(gvcp.ReadRegCmd, tuple(addresses), answer=Command.READREG_ACK)
        )
        _check(ack.status, f"READREG 0x{addresses[min(len(ack.values), len(addresses) - 1)]:08x}")
        return list(ack.values)

    def read_register(self, address: int) -> int:
        """READREG of one address."""
        return self.read_registers([address])[0]

    def write_registers(self, writes: list[tuple[int, int]]) -> None:
        """WRITEREG of several (address, value) pairs."""
        ack = gvcp.IndexAck.parse(
            self.transact(gvcp.WriteRegCmd, tuple(writes), answer=Command.WRITEREG_ACK)
        )
        failed = writes[min(ack.index, len(writes) - 1)][0]
        _check(ack.status, f"WRITEREG 0x{failed:08x}")

    def write_register(self, address: int, value: int) -> None:
        """WRITEREG of one address."""
        self.write_registers([(address, value & 0xFFFFFFFF)])

    def read_memory(self, address: int, count: int) -> bytes:
        """READMEM of any length (split into 512-byte commands, 4-byte aligned)."""
        out = bytearray()
        start = address & ~3
        end = address + count
        pos = start
        while pos < end:
            size = min(READMEM_CHUNK, (end - pos + 3) & ~3)
            ack = gvcp.ReadMemAck.parse(
                self.transact(gvcp.ReadMemCmd, pos, size, answer=Command.READMEM_ACK)
            )
            _check(ack.status, f"READMEM 0x{pos:08x}+{size}")
            out += ack.data[:size]
            pos += size
        return bytes(out[address - start : address - start + count])

    def write_memory(self, address: int, data: bytes) -> None:
        """WRITEMEM of any length (split into 512-byte commands, padded to 4 bytes)."""
        if address % 4:
            raise GvcpError(f"WRITEMEM address 0x{address:08x} is not 4-byte aligned")
        padded = data + b"\0" * (-len(data) % 4)
        for offset in range(0, len(padded), READMEM_CHUNK):
            chunk = padded[offset : offset + READMEM_CHUNK]
            ack = gvcp.IndexAck.parse(
                self.transact(
                    gvcp.WriteMemCmd, address + offset, chunk, answer=Command.WRITEMEM_ACK
                )
            )
            _check(ack.status, f"WRITEMEM 0x{address + offset:08x}")

    def packet_resend(
        self, block_id: int, first: int, last: int, *, extended: bool = False
    ) -> None:
        """PACKETRESEND_CMD (never acknowledged)."""
        with self._lock:
            cmd = gvcp.PacketResendCmd(self._next_id(), 0, block_id, first, last, extended)
            self.sock.sendto(bytes(cmd), self.address)

    # ----------------------------------------------------------------- control privilege

    def take_control(self, *, exclusive: bool = False) -> None:
        """Become the primary application and keep the privilege alive with heartbeats."""
        try:
            self.write_register(CCP, CCP_EXCLUSIVE if exclusive else CCP_CONTROL)
        except GvcpError as exc:
            if exc.status != Status.ACCESS_DENIED:
                raise
            raise GvcpError(
                f"{self.address[0]} is controlled by another application; close it or wait for "
                "its heartbeat to expire",
                exc.status,
            ) from None
        timeout_ms = self.read_register(HEARTBEAT_TIMEOUT)
        self._stop.clear()
        self._heartbeat = threading.Thread(
            target=self._beat,
            args=(max(timeout_ms, 300) / 3000,),
            daemon=True,
            name="gvcp-heartbeat",
        )
        self._heartbeat.start()

    def _beat(self, period: float) -> None:
        while not self._stop.wait(period):
            try:
                self.read_register(CCP)
            except (GvcpError, OSError) as exc:
                self.heartbeat_failures += 1
                logger.warning("heartbeat to %s failed: %s", self.address[0], exc)

    def genicam_url(self) -> str:
        """The first URL register (where the GenICam XML is)."""
        return self.read_memory(FIRST_URL, 512).split(b"\0", 1)[0].decode("ascii", "replace")

    def genicam_xml(self) -> tuple[str, bytes]:
        """(file name, XML bytes) read from the device memory the first URL points to."""
        url = self.genicam_url()
        if not url.lower().startswith("local:"):
            raise GvcpError(
                f"first URL {url!r} is not a Local: URL; only device memory is supported"
            )
        try:
            name, address, length = url[6:].split("?")[0].split(";")[:3]
            data = self.read_memory(int(address, 16), int(length, 16))
        except ValueError as exc:
            raise GvcpError(f"first URL {url!r} is malformed: {exc}") from exc
        return name, data


def _check(status: int, what: str) -> None:
    if status != Status.SUCCESS:
        raise GvcpError(f"{what} refused: {gvcp.status_name(status)}", status)


def _local_address_for(address: str) -> str:
    """The local address that routes to `address` (127.0.0.1 for loopback)."""
    if address.startswith("127."):
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((address, gvcp.GVCP_PORT))
        return str(probe.getsockname()[0])
