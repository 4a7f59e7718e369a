"""GVCP (GigE Vision Control Protocol) codec: one dataclass per command and acknowledge.

Layouts follow GigE Vision 2.0, chapter 15 (GVCP headers) and 16 (messages). No sockets here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar

from openpss.protocols.gige_vision.errors import GigEVisionProtocolError

# GigE Vision 2.0 §15.1: well-known UDP port of the GVCP server.
GVCP_PORT = 3956
# GigE Vision 2.0 §15.2: every command header starts with this hard-coded key.
CMD_KEY = 0x42
HEADER_SIZE = 8
# GigE Vision 2.0 §15.3: a GVCP message fits a 576-byte IP datagram (576 - 20 IP - 8 UDP).
MAX_MESSAGE_SIZE = 548
MAX_PAYLOAD = MAX_MESSAGE_SIZE - HEADER_SIZE
# READMEM/WRITEMEM data limit (540 bytes of payload minus the 4-byte address).
MAX_MEMORY_DATA = 536
DEVICE_INFO_SIZE = 0xF8

FLAG_ACK_REQUIRED = 0x01
# DISCOVERY_CMD flag bit 3: the device may broadcast its acknowledge.
FLAG_ALLOW_BROADCAST_ACK = 0x10
# PACKETRESEND_CMD / EVENT flag bit 3: 64-bit block ids and 32-bit packet ids.
FLAG_EXTENDED_ID = 0x10


class Command(IntEnum):
    """GVCP command and acknowledge codes (GigE Vision 2.0 table 19-1)."""

    DISCOVERY = 0x0002
    DISCOVERY_ACK = 0x0003
    FORCEIP = 0x0004
    FORCEIP_ACK = 0x0005
    PACKETRESEND = 0x0040
    PACKETRESEND_ACK = 0x0041
    READREG = 0x0080
    READREG_ACK = 0x0081
    WRITEREG = 0x0082
    WRITEREG_ACK = 0x0083
    READMEM = 0x0084
    READMEM_ACK = 0x0085
    WRITEMEM = 0x0086
    WRITEMEM_ACK = 0x0087
    PENDING_ACK = 0x0089
    EVENT = 0x00C0
    EVENT_ACK = 0x00C1
    EVENTDATA = 0x00C2
    EVENTDATA_ACK = 0x00C3
    ACTION = 0x0100
    ACTION_ACK = 0x0101


class Status(IntEnum):
    """GVCP status codes (GigE Vision 2.0 table 19-3)."""

    SUCCESS = 0x0000
    PACKET_RESEND = 0x0100
    NOT_IMPLEMENTED = 0x8001
    INVALID_PARAMETER = 0x8002
    BAD_ADDRESS = 0x8003
    WRITE_PROTECT = 0x8004
    BAD_ALIGNMENT = 0x8005
    ACCESS_DENIED = 0x8006
    BUSY = 0x8007
    MSG_TIMEOUT = 0x800B
    PACKET_UNAVAILABLE = 0x800C
    DATA_OVERRUN = 0x800D
    INVALID_HEADER = 0x800E
    PACKET_NOT_YET_AVAILABLE = 0x8010
    PACKET_AND_PREV_REMOVED_FROM_MEMORY = 0x8011
    PACKET_REMOVED_FROM_MEMORY = 0x8012
    ERROR = 0x8FFF


def status_name(status: int) -> str:
    """A readable name for a status code (unknown codes in hex)."""
    try:
        return Status(status).name
    except ValueError:
        return f"0x{status:04x}"


def _cmd_header(command: int, flags: int, req_id: int, payload: bytes) -> bytes:
    return struct.pack(">BBHHH", CMD_KEY, flags, command, len(payload), req_id) + payload


def _ack_header(status: int, answer: int, ack_id: int, payload: bytes) -> bytes:
    return struct.pack(">HHHH", status, answer, len(payload), ack_id) + payload


def _split(data: bytes, what: str) -> tuple[int, int, int, bytes]:
    """Check length fields; return (word0, code, id, payload) of a command or acknowledge."""
    if len(data) < HEADER_SIZE:
        raise GigEVisionProtocolError(
            f"GVCP {what} is truncated: {len(data)} bytes, need at least 8"
        )
    word0, code, length, ident = struct.unpack_from(">HHHH", data)
    if len(data) - HEADER_SIZE < length:
        raise GigEVisionProtocolError(
            f"GVCP {what} length field says {length} bytes but {len(data) - HEADER_SIZE} follow"
        )
    return word0, code, ident, bytes(data[HEADER_SIZE : HEADER_SIZE + length])


def split_command(data: bytes) -> tuple[int, int, int, bytes]:
    """Validate a command header; return (flags, command, req_id, payload)."""
    word0, code, req_id, payload = _split(data, "command")
    if word0 >> 8 != CMD_KEY:
        raise GigEVisionProtocolError(
            f"GVCP command has bad key 0x{word0 >> 8:02x} (expected 0x42)"
        )
    return word0 & 0xFF, code, req_id, payload


def split_ack(data: bytes) -> tuple[int, int, int, bytes]:
    """Validate an acknowledge header; return (status, answer, ack_id, payload)."""
    return _split(data, "acknowledge")


def _expect(code: int, expected: Command, what: str) -> None:
    if code != expected:
        raise GigEVisionProtocolError(
            f"GVCP {what} expected {expected.name} (0x{expected:04x}), got 0x{code:04x}"
        )


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _fixed(text: str, size: int) -> bytes:
    encoded = text.encode("utf-8")[: size - 1]
    return encoded + b"\0" * (size - len(encoded))


@dataclass(frozen=True)
class DeviceInfo:
    """The 248-byte DISCOVERY_ACK payload, identical to bootstrap registers 0x0000-0x00F7."""

    STRUCT: ClassVar[struct.Struct] = struct.Struct(">HHI2x6sII12sI12sI12sI32s32s32s48s16s16s")

    version_major: int = 2
    version_minor: int = 0
    device_mode: int = 0x80000001
    mac: bytes = b"\0" * 6
    ip_config_options: int = 0x80000007
    ip_config_current: int = 0x80000004
    ip: str = "127.0.0.1"
    subnet: str = "255.0.0.0"
    gateway: str = "0.0.0.0"
    manufacturer: str = ""
    model: str = ""
    device_version: str = ""
    manufacturer_info: str = ""
    serial: str = ""
    user_name: str = ""

    def __bytes__(self) -> bytes:
        return self.STRUCT.pack(
            self.version_major,
            self.version_minor,
            self.device_mode,
            self.mac,
            self.ip_config_options,
            self.ip_config_current,
            b"",
            _ip_int(self.ip),
            b"",
            _ip_int(self.subnet),
            b"",
            _ip_int(self.gateway),
            _fixed(self.manufacturer, 32),
            _fixed(self.model, 32),
            _fixed(self.device_version, 32),
            _fixed(self.manufacturer_info, 48),
            _fixed(self.serial, 16),
            _fixed(self.user_name, 16),
        )

    @classmethod
    def parse(cls, data: bytes) -> DeviceInfo:
        """Decode the 248-byte device information block."""
        if len(data) < DEVICE_INFO_SIZE:
            raise GigEVisionProtocolError(
                f"GVCP DISCOVERY_ACK payload is {len(data)} bytes, need 248"
            )
        f = cls.STRUCT.unpack_from(data)
        return cls(
            version_major=f[0],
            version_minor=f[1],
            device_mode=f[2],
            mac=f[3],
            ip_config_options=f[4],
            ip_config_current=f[5],
            ip=_ip_str(f[7]),
            subnet=_ip_str(f[9]),
            gateway=_ip_str(f[11]),
            manufacturer=_cstr(f[12]),
            model=_cstr(f[13]),
            device_version=_cstr(f[14]),
            manufacturer_info=_cstr(f[15]),
            serial=_cstr(f[16]),
            user_name=_cstr(f[17]),
        )

    @property
    def mac_text(self) -> str:
        """MAC address as aa:bb:cc:dd:ee:ff."""
        return ":".join(f"{b:02x}" for b in self.mac)


def _ip_int(text: str) -> int:
    parts = [int(p) for p in text.split(".")]
    if len(parts) != 4 or any(not 0 <= p <= 255 for p in parts):
        raise GigEVisionProtocolError(f"not an IPv4 address: {text!r}")
    return (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]


def _ip_str(value: int) -> str:
    return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class DiscoveryCmd:
    """DISCOVERY_CMD: no payload."""

    req_id: int
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        return _cmd_header(Command.DISCOVERY, self.flags, self.req_id, b"")

    @classmethod
    def parse(cls, data: bytes) -> DiscoveryCmd:
        """Decode a DISCOVERY_CMD."""
        flags, code, req_id, _ = split_command(data)
        _expect(code, Command.DISCOVERY, "command")
        return cls(req_id=req_id, flags=flags)


@dataclass(frozen=True)
class ReadRegCmd:
    """READREG_CMD: a list of 32-bit register addresses."""

    req_id: int
    addresses: tuple[int, ...]
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        payload = struct.pack(f">{len(self.addresses)}I", *self.addresses)
        return _cmd_header(Command.READREG, self.flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> ReadRegCmd:
        """Decode a READREG_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.READREG, "command")
        if not payload or len(payload) % 4:
            raise GigEVisionProtocolError(
                f"READREG payload length {len(payload)} is not a non-zero multiple of 4"
            )
        return cls(req_id, struct.unpack(f">{len(payload) // 4}I", payload), flags)


@dataclass(frozen=True)
class WriteRegCmd:
    """WRITEREG_CMD: (address, value) pairs."""

    req_id: int
    writes: tuple[tuple[int, int], ...]
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        payload = b"".join(struct.pack(">II", a, v) for a, v in self.writes)
        return _cmd_header(Command.WRITEREG, self.flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> WriteRegCmd:
        """Decode a WRITEREG_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.WRITEREG, "command")
        if not payload or len(payload) % 8:
            raise GigEVisionProtocolError(
                f"WRITEREG payload length {len(payload)} is not a non-zero multiple of 8"
            )
        pairs = tuple(struct.iter_unpack(">II", payload))
        return cls(req_id, tuple((a, v) for a, v in pairs), flags)


@dataclass(frozen=True)
class ReadMemCmd:
    """READMEM_CMD: address and byte count (multiple of 4, at most 536)."""

    req_id: int
    address: int
    count: int
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        payload = struct.pack(">I2xH", self.address, self.count)
        return _cmd_header(Command.READMEM, self.flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> ReadMemCmd:
        """Decode a READMEM_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.READMEM, "command")
        if len(payload) != 8:
            raise GigEVisionProtocolError(f"READMEM payload is {len(payload)} bytes, expected 8")
        address, count = struct.unpack(">I2xH", payload)
        return cls(req_id, address, count, flags)


@dataclass(frozen=True)
class WriteMemCmd:
    """WRITEMEM_CMD: address followed by the data to write."""

    req_id: int
    address: int
    data: bytes
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        payload = struct.pack(">I", self.address) + self.data
        return _cmd_header(Command.WRITEMEM, self.flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> WriteMemCmd:
        """Decode a WRITEMEM_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.WRITEMEM, "command")
        if len(payload) < 8 or len(payload) % 4:
            raise GigEVisionProtocolError(
                f"WRITEMEM payload length {len(payload)} must be an address plus 4*n data bytes"
            )
        return cls(req_id, struct.unpack_from(">I", payload)[0], payload[4:], flags)


@dataclass(frozen=True)
class PacketResendCmd:
    """PACKETRESEND_CMD: ask the streamer to send packets first..last of a block again."""

    req_id: int
    stream_channel: int
    block_id: int
    first_packet_id: int
    last_packet_id: int
    extended_id: bool = False

    def __bytes__(self) -> bytes:
        if self.extended_id:
            payload = struct.pack(
                ">H2xIIQ",
                self.stream_channel,
                self.first_packet_id,
                self.last_packet_id,
                self.block_id,
            )
            flags = FLAG_EXTENDED_ID
        else:
            payload = struct.pack(
                ">HHII",
                self.stream_channel,
                self.block_id,
                self.first_packet_id & 0xFFFFFF,
                self.last_packet_id & 0xFFFFFF,
            )
            flags = 0
        return _cmd_header(Command.PACKETRESEND, flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> PacketResendCmd:
        """Decode a PACKETRESEND_CMD (standard or extended ids)."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.PACKETRESEND, "command")
        if flags & FLAG_EXTENDED_ID:
            if len(payload) != 20:
                raise GigEVisionProtocolError(
                    f"PACKETRESEND (extended id) payload is {len(payload)} bytes, need 20"
                )
            channel, first, last, block = struct.unpack(">H2xIIQ", payload)
            return cls(req_id, channel, block, first, last, True)
        if len(payload) != 12:
            raise GigEVisionProtocolError(
                f"PACKETRESEND payload is {len(payload)} bytes, expected 12"
            )
        channel, block, first, last = struct.unpack(">HHII", payload)
        return cls(req_id, channel, block, first & 0xFFFFFF, last & 0xFFFFFF, False)


@dataclass(frozen=True)
class EventItem:
    """One event of an EVENT_CMD: id, stream channel, block id and 64-bit timestamp."""

    event_id: int
    timestamp: int
    stream_channel: int = 0xFFFF
    block_id: int = 0

    def pack(self) -> bytes:
        """16-byte standard-id event record."""
        return struct.pack(
            ">2xHHHQ", self.event_id, self.stream_channel, self.block_id & 0xFFFF, self.timestamp
        )

    @classmethod
    def unpack(cls, raw: bytes) -> EventItem:
        """Decode a 16-byte event record."""
        event_id, channel, block, timestamp = struct.unpack(">2xHHHQ", raw)
        return cls(event_id, timestamp, channel, block)


@dataclass(frozen=True)
class EventCmd:
    """EVENT_CMD sent by the device on its message channel."""

    req_id: int
    events: tuple[EventItem, ...]
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        payload = b"".join(e.pack() for e in self.events)
        return _cmd_header(Command.EVENT, self.flags, self.req_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> EventCmd:
        """Decode an EVENT_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.EVENT, "command")
        if not payload or len(payload) % 16:
            raise GigEVisionProtocolError(
                f"EVENT payload length {len(payload)} is not a non-zero multiple of 16"
            )
        items = tuple(EventItem.unpack(payload[i : i + 16]) for i in range(0, len(payload), 16))
        return cls(req_id, items, flags)


@dataclass(frozen=True)
class EventDataCmd:
    """EVENTDATA_CMD: one event record followed by device-specific data."""

    req_id: int
    event: EventItem
    data: bytes = b""
    flags: int = FLAG_ACK_REQUIRED

    def __bytes__(self) -> bytes:
        return _cmd_header(
            Command.EVENTDATA, self.flags, self.req_id, self.event.pack() + self.data
        )

    @classmethod
    def parse(cls, data: bytes) -> EventDataCmd:
        """Decode an EVENTDATA_CMD."""
        flags, code, req_id, payload = split_command(data)
        _expect(code, Command.EVENTDATA, "command")
        if len(payload) < 16:
            raise GigEVisionProtocolError(
                f"EVENTDATA payload is {len(payload)} bytes, need at least 16"
            )
        return cls(req_id, EventItem.unpack(payload[:16]), payload[16:], flags)


# --------------------------------------------------------------------------- acknowledges


@dataclass(frozen=True)
class DiscoveryAck:
    """DISCOVERY_ACK carrying the device information block."""

    ack_id: int
    info: DeviceInfo
    status: int = Status.SUCCESS

    def __bytes__(self) -> bytes:
        return _ack_header(self.status, Command.DISCOVERY_ACK, self.ack_id, bytes(self.info))

    @classmethod
    def parse(cls, data: bytes) -> DiscoveryAck:
        """Decode a DISCOVERY_ACK."""
        status, code, ack_id, payload = split_ack(data)
        _expect(code, Command.DISCOVERY_ACK, "acknowledge")
        return cls(ack_id, DeviceInfo.parse(payload), status)


@dataclass(frozen=True)
class ReadRegAck:
    """READREG_ACK: the values read (fewer than asked when status is an error)."""

    ack_id: int
    values: tuple[int, ...]
    status: int = Status.SUCCESS

    def __bytes__(self) -> bytes:
        payload = struct.pack(f">{len(self.values)}I", *self.values)
        return _ack_header(self.status, Command.READREG_ACK, self.ack_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> ReadRegAck:
        """Decode a READREG_ACK."""
        status, code, ack_id, payload = split_ack(data)
        _expect(code, Command.READREG_ACK, "acknowledge")
        if len(payload) % 4:
            raise GigEVisionProtocolError(
                f"READREG_ACK payload length {len(payload)} is not a multiple of 4"
            )
        return cls(ack_id, struct.unpack(f">{len(payload) // 4}I", payload), status)


@dataclass(frozen=True)
class IndexAck:
    """WRITEREG_ACK / WRITEMEM_ACK: index of the first failed write (or count written)."""

    answer: int
    ack_id: int
    index: int
    status: int = Status.SUCCESS

    def __bytes__(self) -> bytes:
        return _ack_header(self.status, self.answer, self.ack_id, struct.pack(">2xH", self.index))

    @classmethod
    def parse(cls, data: bytes) -> IndexAck:
        """Decode a WRITEREG_ACK or WRITEMEM_ACK."""
        status, code, ack_id, payload = split_ack(data)
        if code not in (Command.WRITEREG_ACK, Command.WRITEMEM_ACK):
            raise GigEVisionProtocolError(
                f"GVCP acknowledge 0x{code:04x} is not WRITEREG_ACK or WRITEMEM_ACK"
            )
        if len(payload) != 4:
            raise GigEVisionProtocolError(
                f"GVCP write acknowledge payload is {len(payload)} bytes, expected 4"
            )
        return cls(code, ack_id, struct.unpack(">2xH", payload)[0], status)


@dataclass(frozen=True)
class ReadMemAck:
    """READMEM_ACK: address followed by the data read."""

    ack_id: int
    address: int
    data: bytes
    status: int = Status.SUCCESS

    def __bytes__(self) -> bytes:
        payload = struct.pack(">I", self.address) + self.data
        return _ack_header(self.status, Command.READMEM_ACK, self.ack_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> ReadMemAck:
        """Decode a READMEM_ACK."""
        status, code, ack_id, payload = split_ack(data)
        _expect(code, Command.READMEM_ACK, "acknowledge")
        if len(payload) < 4:
            raise GigEVisionProtocolError(
                f"READMEM_ACK payload is {len(payload)} bytes, need at least 4"
            )
        return cls(ack_id, struct.unpack_from(">I", payload)[0], payload[4:], status)


@dataclass(frozen=True)
class PendingAck:
    """PENDING_ACK: the device needs more time (milliseconds) before the real acknowledge."""

    ack_id: int
    time_to_completion_ms: int

    def __bytes__(self) -> bytes:
        payload = struct.pack(">2xH", self.time_to_completion_ms)
        return _ack_header(Status.SUCCESS, Command.PENDING_ACK, self.ack_id, payload)

    @classmethod
    def parse(cls, data: bytes) -> PendingAck:
        """Decode a PENDING_ACK."""
        _, code, ack_id, payload = split_ack(data)
        _expect(code, Command.PENDING_ACK, "acknowledge")
        if len(payload) != 4:
            raise GigEVisionProtocolError(
                f"PENDING_ACK payload is {len(payload)} bytes, expected 4"
            )
        return cls(ack_id, struct.unpack(">2xH", payload)[0])


@dataclass(frozen=True)
class GenericAck:
    """An acknowledge with no payload of interest: error acks, EVENT_ACK, EVENTDATA_ACK."""

    answer: int
    ack_id: int
    status: int = Status.SUCCESS
    payload: bytes = field(default=b"")

    def __bytes__(self) -> bytes:
        return _ack_header(self.status, self.answer, self.ack_id, self.payload)

    @classmethod
    def parse(cls, data: bytes) -> GenericAck:
        """Decode any acknowledge, keeping its payload raw."""
        status, code, ack_id, payload = split_ack(data)
        return cls(code, ack_id, status, payload)


def answer_for(command: int) -> int:
    """The acknowledge code that answers `command` (commands are even, answers odd).

    An odd (not a command) code such as 0xFFFF is answered with itself, inside 16 bits."""
    return command | 1


def error_ack(command: int, req_id: int, status: int) -> bytes:
    """An acknowledge for `command` that carries only an error status."""
    return bytes(GenericAck(answer_for(command), req_id, status))
