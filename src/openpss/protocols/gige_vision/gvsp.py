"""GVSP (GigE Vision Streaming Protocol) codec: leader, payload and trailer packets.

GigE Vision 2.0 chapter 24-25. Standard ids: 16-bit block id and 24-bit packet id (8-byte header);
extended ids (EI flag): 64-bit block id and 32-bit packet id (20-byte header). No sockets here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from openpss.protocols.gige_vision.errors import GigEVisionProtocolError

STANDARD_HEADER = struct.Struct(">HHI")
EXTENDED_HEADER = struct.Struct(">HHIQI")
# GigE Vision 2.0 §24.2: IP (20) + UDP (8) overhead counted in the stream channel packet size.
IP_UDP_OVERHEAD = 28
# Bit 7 of the packet-format byte: extended id mode.
EI_FLAG = 0x80
PAYLOAD_TYPE_IMAGE = 0x0001
STATUS_RESEND = 0x0100
IMAGE_LEADER = struct.Struct(">HHQIIIIIHH")
TRAILER = struct.Struct(">2xHI")


class PacketFormat(IntEnum):
    """GVSP packet formats (GigE Vision 2.0 table 24-2)."""

    LEADER = 1
    TRAILER = 2
    PAYLOAD = 3
    ALL_IN = 4


def header_size(extended_id: bool) -> int:
    """Bytes of GVSP header in front of the packet data."""
    return EXTENDED_HEADER.size if extended_id else STANDARD_HEADER.size


def payload_per_packet(packet_size: int, extended_id: bool) -> int:
    """Image bytes carried by one payload packet of SCPS packet size `packet_size`."""
    data = packet_size - IP_UDP_OVERHEAD - header_size(extended_id)
    if data < 4:
        raise GigEVisionProtocolError(f"GVSP packet size {packet_size} leaves no room for data")
    return data


def packet_count(payload_size: int, packet_size: int, extended_id: bool = False) -> int:
    """Number of payload packets for a block of `payload_size` bytes."""
    per = payload_per_packet(packet_size, extended_id)
    return max(1, -(-payload_size // per))


@dataclass(frozen=True)
class GvspHeader:
    """Common header: status, block id, packet format and packet id."""

    status: int
    block_id: int
    packet_format: int
    packet_id: int
    extended_id: bool = False
    flags: int = 0

    def __bytes__(self) -> bytes:
        if self.extended_id:
            return EXTENDED_HEADER.pack(
                self.status,
                self.flags,
                (EI_FLAG | self.packet_format) << 24,
                self.block_id,
                self.packet_id,
            )
        if self.block_id > 0xFFFF or self.packet_id > 0xFFFFFF:
            raise GigEVisionProtocolError(
                "GVSP standard ids hold a 16-bit block id and a 24-bit packet id"
            )
        return STANDARD_HEADER.pack(
            self.status, self.block_id, (self.packet_format << 24) | self.packet_id
        )

    @classmethod
    def parse(cls, data: bytes | memoryview) -> GvspHeader:
        """Decode the header at the start of a GVSP packet."""
        if len(data) < STANDARD_HEADER.size:
            raise GigEVisionProtocolError(
                f"GVSP packet is truncated: {len(data)} bytes, need at least 8"
            )
        status, word, infos = STANDARD_HEADER.unpack_from(data)
        fmt = (infos >> 24) & 0x7F
        if infos >> 24 & EI_FLAG:
            if len(data) < EXTENDED_HEADER.size:
                raise GigEVisionProtocolError(
                    f"GVSP extended-id packet is truncated: {len(data)} bytes, need at least 20"
                )
            _, _, _, block, packet = EXTENDED_HEADER.unpack_from(data)
            return cls(status, block, fmt, packet, True, word)
        return cls(status, word, fmt, infos & 0xFFFFFF, False, 0)

    @property
    def size(self) -> int:
        """Header length in bytes."""
        return header_size(self.extended_id)


@dataclass(frozen=True)
class ImageLeader:
    """Data leader of an image block (payload type 0x0001)."""

    header: GvspHeader
    timestamp: int
    pixel_format: int
    width: int
    height: int
    offset_x: int = 0
    offset_y: int = 0
    padding_x: int = 0
    padding_y: int = 0
    field_info: int = 0
    payload_type: int = PAYLOAD_TYPE_IMAGE

    def __bytes__(self) -> bytes:
        return bytes(self.header) + IMAGE_LEADER.pack(
            self.field_info,
            self.payload_type,
            self.timestamp,
            self.pixel_format,
            self.width,
            self.height,
            self.offset_x,
            self.offset_y,
            self.padding_x,
            self.padding_y,
        )

    @classmethod
    def parse(cls, data: bytes | memoryview) -> ImageLeader:
        """Decode an image leader packet."""
        header = _parse_as(data, PacketFormat.LEADER)
        body = data[header.size :]
        if len(body) < 4:
            raise GigEVisionProtocolError(
                f"GVSP leader is truncated: {len(body)} data bytes, need 4"
            )
        payload_type = struct.unpack_from(">H", body, 2)[0]
        if payload_type & 0x3FFF != PAYLOAD_TYPE_IMAGE:
            raise GigEVisionProtocolError(
                f"GVSP leader payload type 0x{payload_type:04x} is not an image"
            )
        if len(body) < IMAGE_LEADER.size:
            raise GigEVisionProtocolError(
                f"GVSP image leader is truncated: {len(body)} data bytes, need 36"
            )
        f = IMAGE_LEADER.unpack_from(body)
        return cls(header, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[0], f[1])


@dataclass(frozen=True)
class PayloadPacket:
    """A data packet carrying a slice of the block."""

    header: GvspHeader
    data: bytes

    def __bytes__(self) -> bytes:
        return bytes(self.header) + self.data

    @classmethod
    def parse(cls, data: bytes | memoryview) -> PayloadPacket:
        """Decode a payload packet."""
        header = _parse_as(data, PacketFormat.PAYLOAD)
        return cls(header, bytes(data[header.size :]))


@dataclass(frozen=True)
class Trailer:
    """Data trailer of an image block: payload type and the number of lines sent."""

    header: GvspHeader
    size_y: int
    payload_type: int = PAYLOAD_TYPE_IMAGE

    def __bytes__(self) -> bytes:
        return bytes(self.header) + TRAILER.pack(self.payload_type, self.size_y)

    @classmethod
    def parse(cls, data: bytes | memoryview) -> Trailer:
        """Decode a trailer packet."""
        header = _parse_as(data, PacketFormat.TRAILER)
        body = data[header.size :]
        if len(body) < TRAILER.size:
            raise GigEVisionProtocolError(
                f"GVSP trailer is truncated: {len(body)} data bytes, need 8"
            )
        payload_type, size_y = TRAILER.unpack_from(body)
        return cls(header, size_y, payload_type)


def _parse_as(data: bytes | memoryview, expected: PacketFormat) -> GvspHeader:
    header = GvspHeader.parse(data)
    if header.packet_format != expected:
        raise GigEVisionProtocolError(
            f"GVSP packet format {header.packet_format} is not {expected.name} ({expected.value})"
        )
    return header


def parse_packet(data: bytes | memoryview) -> ImageLeader | PayloadPacket | Trailer:
    """Decode any GVSP packet of a supported format."""
    header = GvspHeader.parse(data)
    if header.status & 0x8000:
        raise GigEVisionProtocolError(f"GVSP packet carries error status 0x{header.status:04x}")
    parsers = {
        PacketFormat.LEADER: ImageLeader.parse,
        PacketFormat.PAYLOAD: PayloadPacket.parse,
        PacketFormat.TRAILER: Trailer.parse,
    }
    parser = (
        parsers.get(PacketFormat(header.packet_format))
        if header.packet_format in (1, 2, 3)
        else None
    )
    if parser is None:
        raise GigEVisionProtocolError(f"GVSP packet format {header.packet_format} is not supported")
    return parser(data)  # type: ignore[return-value]
