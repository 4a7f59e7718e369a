"""G.711 mu-law (PCMU, RTP payload type 0, 8 kHz; RFC 3551 §4.5.14) with NumPy, no I/O."""

from __future__ import annotations

import numpy as np

PAYLOAD_TYPE_PCMU = 0  # RFC 3551 Table 4
CLOCK_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms packets
BIAS, CLIP_14 = 0x84, 8159  # ITU-T G.711 mu-law (14-bit magnitude clip)
SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def _encode_table() -> np.ndarray:
    # The 14-bit form of the reference coder (Sun g711.c, as CPython's audioop): shift
    # first, so negative values round towards minus infinity.
    value = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), CLIP_14) + (BIAS >> 2)
    segment = np.searchsorted(SEGMENT_ENDS, magnitude, side="left")
    mantissa = (magnitude >> (segment + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


ENCODE = _encode_table()
DECODE = _decode_table()


def encode(samples: np.ndarray) -> bytes:
    """16-bit linear PCM -> mu-law bytes."""
    return bytes(ENCODE[samples.astype(np.int32) + 32768])


def decode(data: bytes) -> np.ndarray:
    """mu-law bytes -> 16-bit linear PCM."""
    return DECODE[np.frombuffer(data, dtype=np.uint8)]


def tone(frequency: float, start_sample: int, count: int, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone as 16-bit samples (continuous across calls by ``start_sample``)."""
    t = (np.arange(count) + start_sample) / CLOCK_RATE
    return (np.sin(2 * np.pi * frequency * t) * amplitude * 32767).astype(np.int16)
