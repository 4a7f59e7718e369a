"""Test images of manual 3.14, drawn in the output image's own coordinates."""

from __future__ import annotations

import numpy as np

from openpss.imaging.errors import ImagingError
from openpss.imaging.settings import TestImage

# 8 bars: white, yellow, cyan, green, magenta, red, blue, black (8-bit levels).
COLOR_BARS = np.array(
    [
        (255, 255, 255),
        (255, 255, 0),
        (0, 255, 255),
        (0, 255, 0),
        (255, 0, 255),
        (255, 0, 0),
        (0, 0, 255),
        (0, 0, 0),
    ],
    dtype=np.uint16,
)
BARS = len(COLOR_BARS)
CHECK_SIZE = 64  # pixels per check-board square
# BT.601 luma weights, used when a monochrome format shows a colour pattern.
LUMA = np.array([0.299, 0.587, 0.114])


def test_image_rgb(kind: TestImage, width: int, height: int) -> np.ndarray:
    """The pattern as (height, width, 3) uint16 8-bit levels (0-255).

    Mono Bar: 8 vertical grey bars, black to white. Check board: 64-pixel squares, black at the
    top-left. Oblique Mono Bar: level (x + y) mod 256. Vertical Color Bar: 8 vertical bars
    (white, yellow, cyan, green, magenta, red, blue, black). Gradual Color Bar: the same bars
    fading from black at the top to full colour at the bottom. Horizontal Color Bar: the bars
    stacked from top to bottom.
    """
    x = np.arange(width)[None, :]
    y = np.arange(height)[:, None]
    if kind is TestImage.MONO_BAR:
        levels = np.round(np.arange(BARS) * 255 / (BARS - 1)).astype(np.uint16)
        grey = np.broadcast_to(levels[x * BARS // width], (height, width))
        return np.repeat(grey[..., None], 3, axis=2)
    if kind is TestImage.CHECK_BOARD:
        grey = (((x // CHECK_SIZE) + (y // CHECK_SIZE)) % 2 * 255).astype(np.uint16)
        return np.repeat(grey[..., None], 3, axis=2)
    if kind is TestImage.OBLIQUE_MONO_BAR:
        grey = ((x + y) % 256).astype(np.uint16)
        return np.repeat(grey[..., None], 3, axis=2)
    if kind is TestImage.VERTICAL_COLOR_BAR:
        return np.broadcast_to(COLOR_BARS[x[0] * BARS // width][None], (height, width, 3)).copy()
    if kind is TestImage.GRADUAL_COLOR_BAR:
        bars = COLOR_BARS[x[0] * BARS // width][None].astype(np.uint32)
        ramp = (y * 255 // max(height - 1, 1)).astype(np.uint32)[..., None]
        return (bars * ramp // 255).astype(np.uint16)
    if kind is TestImage.HORIZONTAL_COLOR_BAR:
        return np.broadcast_to(
            COLOR_BARS[y[:, 0] * BARS // height][:, None], (height, width, 3)
        ).copy()
    raise ImagingError(f"test image {kind.label} is not a pattern")


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luminance of an RGB array, rounded, same integer dtype."""
    return np.round(rgb @ LUMA).astype(rgb.dtype)


def mosaic_rg(rgb: np.ndarray) -> np.ndarray:
    """Bayer RG mosaic of an RGB image: R at (even, even), B at (odd, odd), G elsewhere."""
    out = rgb[..., 1].copy()
    out[0::2, 0::2] = rgb[0::2, 0::2, 0]
    out[1::2, 1::2] = rgb[1::2, 1::2, 2]
    return out
