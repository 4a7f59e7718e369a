"""Conversions for display: demosaicing and any payload to 8-bit RGB."""

from __future__ import annotations

import numpy as np

from openpss.imaging.formats import (
    BAYER_FORMATS,
    RGB_FORMATS,
    sample_bits,
    unpack,
)

_RG_SITES = {0: ((0, 0),), 1: ((0, 1), (1, 0)), 2: ((1, 1),)}


def demosaic(mosaic: np.ndarray) -> np.ndarray:
    """Bilinear demosaicing of a Bayer RG mosaic to (height, width, 3) float32 R, G, B."""
    height, width = mosaic.shape
    out = np.empty((height, width, 3), dtype=np.float32)
    for channel, sites in _RG_SITES.items():
        plane = np.zeros((height, width), dtype=np.float32)
        mask = np.zeros((height, width), dtype=np.float32)
        for py, px in sites:
            plane[py::2, px::2] = mosaic[py::2, px::2]
            mask[py::2, px::2] = 1.0
        weight = _smooth(mask)
        out[..., channel] = _smooth(plane) / weight
    return out


def _smooth(values: np.ndarray) -> np.ndarray:
    """Separable [1 2 1] x [1 2 1] filter with zero padding (normalised by the caller)."""
    padded = np.pad(values, 1)
    vertical = padded[:-2] + 2 * padded[1:-1] + padded[2:]
    return vertical[:, :-2] + 2 * vertical[:, 1:-1] + vertical[:, 2:]


def to_rgb8(payload: bytes | memoryview, pixel_format: int, width: int, height: int) -> np.ndarray:
    """An image payload as (height, width, 3) uint8 RGB for display (Bayer RG is demosaiced)."""
    frame = unpack(payload, pixel_format, width, height)
    shift = sample_bits(pixel_format) - 8
    if pixel_format in RGB_FORMATS:
        return np.ascontiguousarray(frame, dtype=np.uint8)
    if pixel_format in BAYER_FORMATS:
        rgb = demosaic(frame.astype(np.float32) / np.float32(1 << shift))
        return np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    mono = (frame >> shift).astype(np.uint8) if shift else frame.astype(np.uint8)
    return np.repeat(mono[..., None], 3, axis=2)


def preview_rgb8(
    payload: bytes | memoryview, pixel_format: int, width: int, height: int
) -> np.ndarray:
    """A quick 8-bit RGB view: Bayer RG at half resolution (one pixel per 2x2 cell)."""
    if pixel_format not in BAYER_FORMATS or width < 2 or height < 2:
        return to_rgb8(payload, pixel_format, width, height)
    frame = unpack(payload, pixel_format, width, height)
    cells = frame[: height // 2 * 2, : width // 2 * 2].astype(np.uint32)
    green = (cells[0::2, 1::2] + cells[1::2, 0::2]) // 2
    rgb = np.stack([cells[0::2, 0::2], green, cells[1::2, 1::2]], axis=2)
    return (rgb >> (sample_bits(pixel_format) - 8)).astype(np.uint8)
