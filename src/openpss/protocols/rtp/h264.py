"""H.264 over RTP (RFC 6184): single NAL unit packets and FU-A fragments, and back.

``packetize`` splits an Annex-B access unit (start codes) into RTP payloads that fit ``mtu``
bytes: a NAL unit that fits goes alone (§5.6), a larger one in FU-A fragments (§5.8) whose
FU indicator keeps F and NRI and whose FU header carries S/E and the NAL type.
``Depacketizer`` rebuilds NAL units (tests, the receiving side of a call).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

FU_A = 28  # RFC 6184 §5.4, NAL unit type 28
STAP_A = 24
DEFAULT_MTU = 1400  # payload bytes per RTP packet, below a 1500-byte Ethernet MTU
START_CODE = re.compile(b"\x00\x00\x01")
NAL_SPS, NAL_PPS, NAL_IDR = 7, 8, 5


class H264PayloadError(ValueError):
    """An RTP payload that is not valid RFC 6184."""


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex-B byte stream (3- or 4-byte start codes removed)."""
    starts = [m.end() for m in START_CODE.finditer(data)]
    units = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        unit = data[start:end]
        if index + 1 < len(starts) and unit.endswith(b"\x00"):
            unit = unit[:-1]  # the leading zero of a 4-byte start code
        if unit:
            units.append(unit)
    return units


def packetize(access_unit: bytes, mtu: int = DEFAULT_MTU) -> list[bytes]:
    """RTP payloads for one access unit (Annex-B), in order."""
    payloads: list[bytes] = []
    for nal in split_annexb(access_unit):
        payloads.extend(packetize_nal(nal, mtu))
    return payloads


def packetize_nal(nal: bytes, mtu: int = DEFAULT_MTU) -> Iterator[bytes]:
    """One NAL unit as a single NAL unit packet or FU-A fragments."""
    if len(nal) <= mtu:
        yield nal
        return
    indicator = (nal[0] & 0xE0) | FU_A
    nal_type = nal[0] & 0x1F
    body = nal[1:]
    chunk = mtu - 2
    for offset in range(0, len(body), chunk):
        start = offset == 0
        end = offset + chunk >= len(body)
        header = (0x80 if start else 0) | (0x40 if end else 0) | nal_type
        yield bytes([indicator, header]) + body[offset : offset + chunk]


def nal_type(nal: bytes) -> int:
    """The NAL unit type (5 bits)."""
    return nal[0] & 0x1F


@dataclass
class Depacketizer:
    """Rebuilds NAL units from RTP payloads (single NAL, STAP-A, FU-A)."""

    _fragments: bytearray | None = None
    lost_fragments: int = 0
    nals: list[bytes] = field(default_factory=list)

    def feed(self, payload: bytes) -> list[bytes]:
        """One RTP payload; returns the NAL units it completes."""
        if not payload:
            raise H264PayloadError("H.264 RTP payload is empty")
        kind = payload[0] & 0x1F
        if kind == FU_A:
            return self._fragment(payload)
        if kind == STAP_A:
            return _aggregate(payload[1:])
        if kind in (0, 25, 26, 27, 29, 30, 31):
            raise H264PayloadError(f"H.264 RTP payload type {kind} is not supported")
        return [payload]

    def _fragment(self, payload: bytes) -> list[bytes]:
        if len(payload) < 2:
            raise H264PayloadError("H.264 FU-A payload is truncated")
        indicator, header = payload[0], payload[1]
        if header & 0x80:
            self._fragments = bytearray([(indicator & 0xE0) | (header & 0x1F)])
        elif self._fragments is None:
            self.lost_fragments += 1
            return []
        self._fragments += payload[2:]
        if header & 0x40:
            nal, self._fragments = bytes(self._fragments), None
            return [nal]
        return []


def _aggregate(data: bytes) -> list[bytes]:
    units, offset = [], 0
    while offset + 2 <= len(data):
        size = int.from_bytes(data[offset : offset + 2], "big")
        unit = data[offset + 2 : offset + 2 + size]
        if len(unit) != size:
            raise H264PayloadError("H.264 STAP-A unit is truncated")
        units.append(unit)
        offset += 2 + size
    return units
