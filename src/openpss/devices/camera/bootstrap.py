"""GigE Vision bootstrap and transport-layer registers of the camera (addresses below 0x10000).

The addresses and bits are the one map in `openpss.protocols.gige_vision.bootstrap`
(GigE Vision 2.0 chapter 28), shared with the client.
"""

from __future__ import annotations

import json
import logging
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from openpss.devices.camera.errors import BadAddress, InvalidParameter, WriteProtect

# The device answers at the addresses of the one register map (re-exported for its users).
from openpss.protocols.gige_vision.bootstrap import (  # noqa: F401
    BOOTSTRAP_END,
    CCP,
    CCP_CONTROL,
    CCP_EXCLUSIVE,
    CCP_SWITCHOVER_ENABLE,
    DEVICE_MODE,
    DISCOVERY_ACK_DELAY,
    FIRST_URL,
    GVCP_CAP_CONCATENATION,
    GVCP_CAP_EVENT,
    GVCP_CAP_EVENTDATA,
    GVCP_CAP_HEARTBEAT_DISABLE,
    GVCP_CAP_PACKETRESEND,
    GVCP_CAP_SERIAL_NUMBER,
    GVCP_CAP_USER_NAME,
    GVCP_CAP_WRITEMEM,
    GVCP_CAPABILITY,
    GVCP_CONFIG_HEARTBEAT_DISABLE,
    GVCP_CONFIGURATION,
    GVSP_CONFIG_64BIT_BLOCK_ID,
    GVSP_CONFIGURATION,
    HEARTBEAT_TIMEOUT,
    LINK_SPEED,
    MCDA,
    MCP,
    MCRC,
    MCSP,
    MCTT,
    NUMBER_OF_ACTION_SIGNALS,
    NUMBER_OF_INTERFACES,
    NUMBER_OF_MESSAGE_CHANNELS,
    NUMBER_OF_STREAM_CHANNELS,
    PENDING_TIMEOUT,
    PERSISTENT_GATEWAY,
    PERSISTENT_IP,
    PERSISTENT_SUBNET,
    PRIMARY_APPLICATION_IP,
    PRIMARY_APPLICATION_PORT,
    SCC0,
    SCCFG0,
    SCDA0,
    SCP0,
    SCPD0,
    SCPS0,
    SCPS_DO_NOT_FRAGMENT,
    SCPS_FIRE_TEST_PACKET,
    SCPS_SIZE_MASK,
    SCSP0,
    SECOND_URL,
    TIMESTAMP_CONTROL,
    TIMESTAMP_TICK_FREQUENCY_HIGH,
    TIMESTAMP_TICK_FREQUENCY_LOW,
    TIMESTAMP_VALUE_HIGH,
    TIMESTAMP_VALUE_LOW,
    URL_SIZE,
    USER_NAME,
    USER_NAME_SIZE,
    VERSION,
)
from openpss.protocols.gige_vision.gvcp import DeviceInfo

logger = logging.getLogger(__name__)

# Where the GenICam XML lives in device memory (far above the feature registers).
XML_ADDRESS = 0xC0000000
# GVCP capability bits implemented here: user-defined name, serial number, heartbeat disable,
# EVENTDATA, EVENT, PACKETRESEND, WRITEMEM, concatenated READREG/WRITEREG.
GVCP_CAPABILITIES = (
    GVCP_CAP_USER_NAME
    | GVCP_CAP_SERIAL_NUMBER
    | GVCP_CAP_HEARTBEAT_DISABLE
    | GVCP_CAP_EVENTDATA
    | GVCP_CAP_EVENT
    | GVCP_CAP_PACKETRESEND
    | GVCP_CAP_WRITEMEM
    | GVCP_CAP_CONCATENATION
)
TICK_FREQUENCY = 1_000_000_000
MIN_PACKET_SIZE = 576
MAX_PACKET_SIZE = 65500
DEFAULT_PACKET_SIZE = 1500
DEFAULT_HEARTBEAT_MS = 3000
MIN_HEARTBEAT_MS = 500


@dataclass
class StreamChannel:
    """Stream channel 0 configuration as the client wrote it."""

    host_port: int = 0
    destination: str = "0.0.0.0"
    packet_size: int = DEFAULT_PACKET_SIZE
    packet_delay: int = 0
    do_not_fragment: bool = True
    source_port: int = 0


@dataclass
class MessageChannel:
    """Message channel configuration as the client wrote it."""

    host_port: int = 0
    destination: str = "0.0.0.0"
    timeout_ms: int = 300
    retry_count: int = 2
    source_port: int = 0


def _ip_to_int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _int_to_ip(value: int) -> str:
    return ".".join(str((value >> s) & 0xFF) for s in (24, 16, 8, 0))


class Bootstrap:
    """The bootstrap register block of one camera; CCP ownership is kept by the front-end."""

    def __init__(
        self,
        *,
        manufacturer: str,
        model_name: str,
        device_version: str,
        serial: str,
        xml_length: int,
        ip: str = "127.0.0.1",
        manufacturer_info: str = "openpss virtual camera",
        data_dir: Path | None = None,
        xml_name: str = "openpss.xml",
    ) -> None:
        self.ip = ip
        self.info = DeviceInfo(
            mac=bytes.fromhex(f"02{zlib.crc32(serial.encode()):08x}00"),
            ip=ip,
            manufacturer=manufacturer,
            model=model_name,
            device_version=device_version,
            manufacturer_info=manufacturer_info,
            serial=serial,
        )
        self._state_file = data_dir / "bootstrap.json" if data_dir else None
        self.user_name = self._load_user_name()
        self.first_url = f"Local:{xml_name};{XML_ADDRESS:x};{xml_length:x}"
        self.second_url = ""
        self.stream = StreamChannel()
        self.message = MessageChannel()
        self.heartbeat_timeout_ms = DEFAULT_HEARTBEAT_MS
        self.gvcp_configuration = 0
        self.gvsp_configuration = 0
        self.pending_timeout_ms = 200
        self.ccp = 0
        self.primary_port = 0
        self.primary_ip = "0.0.0.0"
        self.timestamp_offset_ns = 0
        self.latched_timestamp = 0

    # ----------------------------------------------------------------- persistence

    def _load_user_name(self) -> str:
        if self._state_file is None or not self._state_file.exists():
            return ""
        try:
            return str(json.loads(self._state_file.read_text())["user_name"])[:15]
        except (ValueError, KeyError, OSError):
            logger.warning("ignoring unreadable %s", self._state_file)
            return ""

    def set_user_name(self, name: str) -> None:
        """Change the user-defined name (at most 15 bytes) and persist it."""
        if len(name.encode("utf-8")) > USER_NAME_SIZE - 1:
            raise InvalidParameter(f"user-defined name {name!r} is longer than 15 bytes")
        self.user_name = name
        if self._state_file is not None:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            self._state_file.write_text(json.dumps({"user_name": name}))

    def device_info(self) -> DeviceInfo:
        """The discovery block with the current user-defined name."""
        return replace(self.info, user_name=self.user_name)

    # ----------------------------------------------------------------- memory view

    def read(self, address: int, size: int) -> bytes:
        """Read `size` bytes of bootstrap memory (string areas and registers)."""
        if address < 0 or address + size > BOOTSTRAP_END:
            raise BadAddress(f"bootstrap read 0x{address:x}+{size} is outside 0x0-0xffff")
        out = bytearray()
        pos = address
        while pos < address + size:
            base = pos & ~3
            word = struct.pack(">I", self.read_register(base))
            take = word[pos - base : min(4, address + size - base)]
            out += take
            pos += len(take)
        return bytes(out)

    def _string_areas(self) -> list[tuple[int, bytes]]:
        return [
            (0x0000, bytes(self.device_info())),
            (FIRST_URL, self.first_url.encode().ljust(URL_SIZE, b"\0")),
            (SECOND_URL, self.second_url.encode().ljust(URL_SIZE, b"\0")),
        ]

    def read_register(self, address: int) -> int:
        """Value of the 32-bit register at `address` (0 for unassigned bootstrap space)."""
        if address % 4:
            raise BadAddress(f"register address 0x{address:x} is not 4-byte aligned")
        if not 0 <= address < BOOTSTRAP_END:
            raise BadAddress(f"register 0x{address:x} is not a bootstrap register")
        value = self._register_value(address)
        if value is not None:
            return value
        for start, block in self._string_areas():
            if start <= address < start + len(block):
                return int(struct.unpack_from(">I", block, address - start)[0])
        return 0

    def _register_value(self, address: int) -> int | None:
        s, m = self.stream, self.message
        values = {
            NUMBER_OF_INTERFACES: 1,
            PERSISTENT_IP: _ip_to_int(self.ip),
            PERSISTENT_SUBNET: 0xFF000000,
            LINK_SPEED: 1000,
            NUMBER_OF_MESSAGE_CHANNELS: 1,
            NUMBER_OF_STREAM_CHANNELS: 1,
            GVCP_CAPABILITY: GVCP_CAPABILITIES,
            HEARTBEAT_TIMEOUT: self.heartbeat_timeout_ms,
            TIMESTAMP_TICK_FREQUENCY_HIGH: TICK_FREQUENCY >> 32,
            TIMESTAMP_TICK_FREQUENCY_LOW: TICK_FREQUENCY & 0xFFFFFFFF,
            TIMESTAMP_VALUE_HIGH: self.latched_timestamp >> 32,
            TIMESTAMP_VALUE_LOW: self.latched_timestamp & 0xFFFFFFFF,
            GVCP_CONFIGURATION: self.gvcp_configuration,
            PENDING_TIMEOUT: self.pending_timeout_ms,
            GVSP_CONFIGURATION: self.gvsp_configuration,
            CCP: self.ccp,
            PRIMARY_APPLICATION_PORT: self.primary_port,
            PRIMARY_APPLICATION_IP: _ip_to_int(self.primary_ip),
            MCP: m.host_port,
            MCDA: _ip_to_int(m.destination),
            MCTT: m.timeout_ms,
            MCRC: m.retry_count,
            MCSP: m.source_port,
            SCP0: s.host_port,
            SCPS0: (SCPS_DO_NOT_FRAGMENT if s.do_not_fragment else 0) | s.packet_size,
            SCPD0: s.packet_delay,
            SCDA0: _ip_to_int(s.destination),
            SCSP0: s.source_port,
            SCC0: 0,
            SCCFG0: 0,
        }
        return values.get(address)

    # ----------------------------------------------------------------- writes

    def write_register(self, address: int, value: int, *, now_ns: int = 0) -> None:
        """Write a writable bootstrap register; CCP is handled by the front-end."""
        if address % 4:
            raise BadAddress(f"register address 0x{address:x} is not 4-byte aligned")
        handler = self._writers().get(address)
        if handler is not None:
            handler(value)
            return
        if address == TIMESTAMP_CONTROL:
            self._timestamp_control(value, now_ns)
            return
        if USER_NAME <= address < USER_NAME + USER_NAME_SIZE:
            self.write_memory(address, struct.pack(">I", value))
            return
        if self._register_value(address) is not None or address < 0x0A00:
            raise WriteProtect(f"bootstrap register 0x{address:04x} is read-only")
        raise BadAddress(f"no bootstrap register at 0x{address:04x}")

    def write_memory(self, address: int, data: bytes) -> None:
        """WRITEMEM into bootstrap space: only the user-defined name area is writable."""
        if address >= USER_NAME and address + len(data) <= USER_NAME + USER_NAME_SIZE:
            raw = bytearray(self.user_name.encode("utf-8").ljust(USER_NAME_SIZE, b"\0"))
            raw[address - USER_NAME : address - USER_NAME + len(data)] = data
            self.set_user_name(raw.split(b"\0", 1)[0].decode("utf-8", "replace"))
            return
        for offset in range(0, len(data) - 3, 4):
            self.write_register(address + offset, struct.unpack_from(">I", data, offset)[0])

    def _writers(self) -> dict[int, Callable[[int], None]]:
        s, m = self.stream, self.message

        def setter(
            obj: object, name: str, convert: Callable[[int], object] = int
        ) -> Callable[[int], None]:
            return lambda v: setattr(obj, name, convert(v))

        return {
            HEARTBEAT_TIMEOUT: self._set_heartbeat,
            GVCP_CONFIGURATION: setter(self, "gvcp_configuration"),
            GVSP_CONFIGURATION: setter(self, "gvsp_configuration"),
            PENDING_TIMEOUT: setter(self, "pending_timeout_ms"),
            MCP: lambda v: setattr(m, "host_port", v & 0xFFFF),
            MCDA: setter(m, "destination", _int_to_ip),
            MCTT: setter(m, "timeout_ms"),
            MCRC: setter(m, "retry_count"),
            SCP0: lambda v: setattr(s, "host_port", v & 0xFFFF),
            SCPS0: self._set_packet_size,
            SCPD0: setter(s, "packet_delay"),
            SCDA0: setter(s, "destination", _int_to_ip),
            SCCFG0: lambda v: None,
        }

    def _set_heartbeat(self, value: int) -> None:
        # GigE Vision 2.0 §28.14: the device clamps the heartbeat timeout to its minimum.
        self.heartbeat_timeout_ms = max(MIN_HEARTBEAT_MS, value)

    def _set_packet_size(self, value: int) -> None:
        size = value & SCPS_SIZE_MASK
        if not MIN_PACKET_SIZE <= size <= MAX_PACKET_SIZE:
            raise InvalidParameter(
                f"stream packet size {size} is outside {MIN_PACKET_SIZE}-{MAX_PACKET_SIZE} bytes"
            )
        self.stream.packet_size = size & ~3
        self.stream.do_not_fragment = bool(value & SCPS_DO_NOT_FRAGMENT)

    def _timestamp_control(self, value: int, now_ns: int) -> None:
        # bit 31 (0x1) resets the timestamp counter, bit 30 (0x2) latches it.
        if value & 0x1:
            self.timestamp_offset_ns = now_ns
        if value & 0x2:
            self.latched_timestamp = self.timestamp(now_ns)

    def timestamp(self, now_ns: int) -> int:
        """Device timestamp in ticks (1 GHz tick frequency, so ticks are nanoseconds)."""
        return now_ns - self.timestamp_offset_ns

    @property
    def heartbeat_disabled(self) -> bool:
        """True when the client set the GVCP configuration heartbeat-disable bit."""
        return bool(self.gvcp_configuration & GVCP_CONFIG_HEARTBEAT_DISABLE)

    @property
    def extended_ids(self) -> bool:
        """True when the client enabled 64-bit block ids."""
        return bool(self.gvsp_configuration & GVSP_CONFIG_64BIT_BLOCK_ID)
