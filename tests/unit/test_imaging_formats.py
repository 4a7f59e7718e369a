"""Pixel format codes, payload sizes and byte-exact packing."""

from __future__ import annotations

import numpy as np
import pytest

from openpss.imaging import (
    BAYER_RG8,
    BAYER_RG12,
    BGR8,
    MONO8,
    MONO12,
    MONO12_PACKED,
    MONO16,
    RGB8,
    ImagingError,
    bits_per_pixel,
    pack,
    payload_size,
    pixel_format_code,
    pixel_format_name,
    unpack,
)


def test_pfnc_codes_match_the_standard() -> None:
    assert (MONO8, MONO12, MONO16, BAYER_RG8, RGB8) == (
        0x01080001,
        0x01100005,
        0x01100007,
        0x01080009,
        0x02180014,
    )
    assert pixel_format_code("BayerRG12") == BAYER_RG12 == 0x01100011
    assert pixel_format_name(0x010C0006) == "Mono12Packed"
    assert [bits_per_pixel(c) for c in (MONO8, MONO12, MONO12_PACKED, RGB8)] == [8, 16, 12, 24]


def test_unknown_pixel_format_is_refused_by_name_and_code() -> None:
    with pytest.raises(ImagingError, match="unsupported pixel format 'YUV9'; use one of Mono8"):
        pixel_format_code("YUV9")
    with pytest.raises(ImagingError, match="unsupported pixel format 0x01234567"):
        payload_size(8, 2, 0x01234567)


def test_payload_size_per_format() -> None:
    assert payload_size(2448, 2048, BAYER_RG8) == 2448 * 2048
    assert payload_size(2448, 2048, MONO12) == 2448 * 2048 * 2
    assert payload_size(2448, 2048, RGB8) == 2448 * 2048 * 3
    assert payload_size(3, 1, MONO12_PACKED) == 5  # 36 bits round up to 5 bytes


def test_pack_mono8_and_mono12_little_endian() -> None:
    assert pack(np.array([[1, 2], [254, 255]], dtype=np.uint8), MONO8) == b"\x01\x02\xfe\xff"
    frame = np.array([[0x0123, 0x0FFF]], dtype=np.uint16)
    assert pack(frame, MONO12) == bytes.fromhex("2301ff0f")
    assert pack(np.array([[0xABCD]], dtype=np.uint16), MONO16) == bytes.fromhex("cdab")


def test_pack_rgb8_and_bgr8_order() -> None:
    frame = np.array([[[1, 2, 3], [4, 5, 6]]], dtype=np.uint8)
    assert pack(frame, RGB8) == bytes([1, 2, 3, 4, 5, 6])
    assert pack(frame, BGR8) == bytes([3, 2, 1, 6, 5, 4])


def test_pack_mono12_packed_golden() -> None:
    frame = np.array([[0xABC, 0x123, 0xFED]], dtype=np.uint16)
    # p0 = ABC, p1 = 123: AB, (C | 3 << 4) = 3C, 12; p2 = FED, pad 0: FE, 0D
    assert pack(frame, MONO12_PACKED) == bytes.fromhex("ab3c12fe0d")
    assert np.array_equal(unpack(bytes.fromhex("ab3c12fe0d"), MONO12_PACKED, 3, 1), frame)


@pytest.mark.parametrize("fmt", [MONO8, MONO12, MONO16, BAYER_RG8, RGB8, BGR8, MONO12_PACKED])
def test_unpack_inverts_pack(fmt: int) -> None:
    rng = np.random.default_rng(5)
    top = 255 if fmt in (MONO8, BAYER_RG8, RGB8, BGR8) else 4095
    shape = (4, 6, 3) if fmt in (RGB8, BGR8) else (4, 6)
    dtype = np.uint8 if top == 255 else np.uint16
    frame = rng.integers(0, top + 1, shape).astype(dtype)
    payload = pack(frame, fmt)
    assert len(payload) == payload_size(6, 4, fmt)
    assert np.array_equal(unpack(payload, fmt, 6, 4), frame)


def test_pack_refuses_wrong_shape_and_unpack_short_payload() -> None:
    with pytest.raises(ImagingError, match="RGB8 needs a 3-D frame, got shape"):
        pack(np.zeros((2, 2), dtype=np.uint8), RGB8)
    with pytest.raises(ImagingError, match="Mono12 4x2 payload needs 16 bytes, got 15"):
        unpack(bytes(15), MONO12, 4, 2)
