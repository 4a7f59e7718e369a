"""RTP and RTCP packets (RFC 3550), pure: parse and serialize, no sockets.

RTP fixed header (RFC 3550 §5.1): V=2, P, X, CC, M, PT, sequence number, timestamp, SSRC,
CSRC list, optional header extension. RTCP (§6.4): sender report (PT 200), receiver report
(201), SDES (202, CNAME only), BYE (203); compound packets are parsed as a list.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2  # RFC 3550 §5.1
RTP_HEADER = struct.Struct("!BBHII")
RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE = 200, 201, 202, 203  # RFC 3550 §12.1
SDES_CNAME = 1  # RFC 3550 §6.5.1
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01 (RFC 3550 §4)


class RtpError(ValueError):
    """Bytes that are not a valid RTP or RTCP packet."""


@dataclass
class RtpPacket:
    """One RTP packet."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension: tuple[int, bytes] | None = None  # (profile, data) when X=1
    padding: int = 0

    def __bytes__(self) -> bytes:
        first = (RTP_VERSION << 6) | (0x20 if self.padding else 0) | len(self.csrc)
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | self.payload_type
        data = RTP_HEADER.pack(
            first, second, self.sequence_number & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
        )
        data += b"".join(struct.pack("!I", c) for c in self.csrc)
        if self.extension is not None:
            profile, ext = self.extension
            if len(ext) % 4:
                raise RtpError("RTP header extension length must be a multiple of 4 bytes")
            data += struct.pack("!HH", profile, len(ext) // 4) + ext
        data += self.payload
        if self.padding:
            data += bytes(self.padding - 1) + bytes([self.padding])
        return data

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one RTP packet."""
        if len(data) < RTP_HEADER.size:
            raise RtpError("RTP packet length is less than 12 bytes")
        first, second, seq, timestamp, ssrc = RTP_HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpError("RTP packet has invalid version")
        offset = RTP_HEADER.size
        count = first & 0x0F
        if len(data) < offset + 4 * count:
            raise RtpError("RTP packet has truncated CSRC")
        csrc = list(struct.unpack_from(f"!{count}I", data, offset))
        offset += 4 * count
        extension = None
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpError("RTP packet has truncated extension profile / length")
            profile, words = struct.unpack_from("!HH", data, offset)
            offset += 4
            if len(data) < offset + 4 * words:
                raise RtpError("RTP packet has truncated extension value")
            extension = (profile, data[offset : offset + 4 * words])
            offset += 4 * words
        end, padding = len(data), 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RtpError("RTP packet padding length is invalid")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=timestamp,
            ssrc=ssrc,
            payload=data[offset:end],
            marker=bool(second & 0x80),
            csrc=csrc,
            extension=extension,
            padding=padding,
        )


def is_rtcp(data: bytes) -> bool:
    """RTP and RTCP share a port when multiplexed: PT 200-204 is RTCP (RFC 5761 §4)."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(frozen=True)
class ReportBlock:
    """One reception report block (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    def __bytes__(self) -> bytes:
        lost = self.packets_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (self.fraction_lost << 24) | lost,
            self.highest_sequence,
            self.jitter,
            self.lsr,
            self.dlsr,
        )

    @classmethod
    def parse(cls, data: bytes) -> ReportBlock:
        """Parse 24 bytes."""
        ssrc, lost_word, highest, jitter, lsr, dlsr = struct.unpack("!IIIIII", data)
        lost = lost_word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, lost_word >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True)
class SenderReport:
    """RTCP SR (PT 200)."""

    ssrc: int
    ntp_timestamp: int  # 64-bit NTP time
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = struct.pack(
            "!IQIII",
            self.ssrc,
            self.ntp_timestamp,
            self.rtp_timestamp & 0xFFFFFFFF,
            self.packet_count,
            self.octet_count,
        )
        body += b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_SR, body) + body


@dataclass(frozen=True)
class ReceiverReport:
    """RTCP RR (PT 201)."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_RR, body) + body


@dataclass(frozen=True)
class SourceDescription:
    """RTCP SDES (PT 202) with one CNAME chunk per source."""

    chunks: tuple[tuple[int, str], ...]

    def __bytes__(self) -> bytes:
        body = b""
        for ssrc, cname in self.chunks:
            text = cname.encode("utf-8")[:255]
            chunk = struct.pack("!IBB", ssrc, SDES_CNAME, len(text)) + text + b"\x00"
            body += chunk + bytes(-len(chunk) % 4)
        return _rtcp_header(len(self.chunks), RTCP_SDES, body) + body


@dataclass(frozen=True)
class Goodbye:
    """RTCP BYE (PT 203)."""

    sources: tuple[int, ...]

    def __bytes__(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.sources)
        return _rtcp_header(len(self.sources), RTCP_BYE, body) + body


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye


def _rtcp_header(count: int, packet_type: int, body: bytes) -> bytes:
    if len(body) % 4:
        raise RtpError("RTCP packet length must be a multiple of 4 bytes")
    return struct.pack("!BBH", (RTP_VERSION << 6) | count, packet_type, len(body) // 4)


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Parse a compound RTCP packet; unknown packet types are skipped."""
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4:
            raise RtpError("RTCP packet length is less than 4 bytes")
        first, packet_type, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != RTP_VERSION:
            raise RtpError("RTCP packet has invalid version")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise RtpError("RTCP packet is truncated")
        body = data[offset + 4 : end]
        packet = _parse_one(first & 0x1F, packet_type, body)
        if packet is not None:
            packets.append(packet)
        offset = end
    return packets


def _parse_one(count: int, packet_type: int, body: bytes) -> RtcpPacket | None:
    if packet_type == RTCP_SR:
        if len(body) < 24 + 24 * count:
            raise RtpError("RTCP sender report is truncated")
        ssrc, ntp, rtp, packets, octets = struct.unpack_from("!IQIII", body)
        blocks = tuple(ReportBlock.parse(body[24 + 24 * i : 48 + 24 * i]) for i in range(count))
        return SenderReport(ssrc, ntp, rtp, packets, octets, blocks)
    if packet_type == RTCP_RR:
        if len(body) < 4 + 24 * count:
            raise RtpError("RTCP receiver report is truncated")
        blocks = tuple(ReportBlock.parse(body[4 + 24 * i : 28 + 24 * i]) for i in range(count))
        return ReceiverReport(struct.unpack_from("!I", body)[0], blocks)
    if packet_type == RTCP_SDES:
        return SourceDescription(tuple(_parse_sdes(body, count)))
    if packet_type == RTCP_BYE:
        if len(body) < 4 * count:
            raise RtpError("RTCP bye is truncated")
        return Goodbye(struct.unpack_from(f"!{count}I", body))
    return None


def _parse_sdes(body: bytes, count: int) -> list[tuple[int, str]]:
    chunks: list[tuple[int, str]] = []
    offset = 0
    for _ in range(count):
        if offset + 4 > len(body):
            raise RtpError("RTCP SDES chunk is truncated")
        ssrc = struct.unpack_from("!I", body, offset)[0]
        offset += 4
        cname = ""
        while offset < len(body) and body[offset] != 0:
            if offset + 2 > len(body):
                raise RtpError("RTCP SDES item is truncated")
            kind, length = body[offset], body[offset + 1]
            value = body[offset + 2 : offset + 2 + length]
            if len(value) != length:
                raise RtpError("RTCP SDES item is truncated")
            if kind == SDES_CNAME:
                cname = value.decode("utf-8", errors="replace")
            offset += 2 + length
        offset += 1
        offset += -offset % 4
        chunks.append((ssrc, cname))
    return chunks


def ntp_time(unix_seconds: float) -> int:
    """64-bit NTP timestamp of a Unix time (RFC 3550 §4)."""
    seconds = int(unix_seconds) + NTP_EPOCH_OFFSET
    fraction = int((unix_seconds % 1) * (1 << 32))
    return (seconds << 32) | fraction
