"""Encoding feature values to big-endian register bytes and back (GigE Vision is big-endian)."""

from __future__ import annotations

import math
import struct

from openpss.devices.camera.errors import InvalidParameter
from openpss.protocols.genicam import Feature, Kind

Value = int | float | bool | str


def encode(feature: Feature, value: Value | None) -> bytes:
    """The register bytes of a feature value (commands read as 0)."""
    if feature.kind == Kind.STRING:
        raw = str(value or "").encode()[: feature.length - 1]
        return raw.ljust(feature.length, b"\0")
    if feature.kind == Kind.FLOAT:
        return struct.pack(">d" if feature.length == 8 else ">f", float(value or 0.0))
    if feature.kind == Kind.ENUMERATION:
        number = feature.entry(str(value)).value
    elif feature.kind == Kind.COMMAND or value is None:
        number = 0
    else:
        number = int(value)
    return encode_int(number, feature.length, feature.signed)


def encode_int(number: int, length: int, signed: bool = False) -> bytes:
    """Big-endian integer register bytes, clamped to what the register can hold."""
    bits = length * 8
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return max(low, min(high, number)).to_bytes(length, "big", signed=signed)


def decode(feature: Feature, data: bytes) -> Value:
    """The feature value written as register bytes; InvalidParameter if they mean nothing."""
    if feature.kind == Kind.STRING:
        try:
            return data.split(b"\0", 1)[0].decode()
        except UnicodeDecodeError:
            raise InvalidParameter(f"{feature.name} must be UTF-8 text") from None
    if len(data) != feature.length:
        raise InvalidParameter(
            f"{feature.name} is a {feature.length}-byte register; {len(data)} bytes were written"
        )
    if feature.kind == Kind.FLOAT:
        (number,) = struct.unpack(">d" if feature.length == 8 else ">f", data)
        if not math.isfinite(number):
            raise InvalidParameter(f"{feature.name} must be a finite number")
        return float(number)
    integer = int.from_bytes(data, "big", signed=feature.signed)
    if feature.kind == Kind.ENUMERATION:
        entry = feature.entry_by_value(integer)
        if entry is None:
            names = ", ".join(f"{e.name}={e.value}" for e in feature.entries)
            raise InvalidParameter(f"{feature.name} has no entry with value {integer}; use {names}")
        return entry.name
    if feature.kind == Kind.BOOLEAN:
        if integer not in (0, 1):
            raise InvalidParameter(f"{feature.name} is a Boolean: write 0 or 1, not {integer}")
        return bool(integer)
    return integer
