"""Auto functions for BlackLevelAuto, GainAuto and BalanceWhiteAuto (Once / Continuous).

Each takes a frame rendered with `settings` and returns the next value of the feature. Call it
once per frame: "Once" repeats until the value settles (`settled`) and then turns Off,
"Continuous" keeps calling. Updates are damped so Continuous does not oscillate.
"""

from __future__ import annotations

import numpy as np

from openpss.imaging.errors import ImagingError
from openpss.imaging.formats import BAYER_FORMATS, RGB_FORMATS, sample_bits
from openpss.imaging.settings import (
    BALANCE_RATIO_MAX,
    BALANCE_RATIO_MIN,
    GAIN_RAW_MAX,
    GAIN_RAW_MIN,
    ImageSettings,
)

AUTO_GAIN_TARGET = 0.45  # mean brightness, fraction of full scale (linear, above black)
AUTO_BLACK_TARGET = 64  # 12-bit codes the darkest 1 % of pixels should read
DAMPING = 0.7  # fraction of the measured correction applied per frame
SATURATED = 0.98  # fraction of full scale treated as clipped (ignored by white balance)
Region = tuple[int, int, int, int]  # x, y, width, height in output pixels


def auto_gain(
    frame: np.ndarray, settings: ImageSettings, *, target: float = AUTO_GAIN_TARGET
) -> float:
    """Next GainRaw so the mean linear brightness approaches `target` (0-1 of full scale)."""
    level = float(np.mean(_linear(_sample(frame), settings)))
    if level <= 1e-4:
        return GAIN_RAW_MAX
    proposed = settings.gain_raw * (target / level) ** DAMPING
    return float(np.clip(proposed, GAIN_RAW_MIN, GAIN_RAW_MAX))


def auto_black_level(
    frame: np.ndarray, settings: ImageSettings, *, target: int = AUTO_BLACK_TARGET
) -> int:
    """Next BlackLevel so the darkest 1 % of pixels read `target` 12-bit codes."""
    full = (1 << sample_bits(settings.pixel_format)) - 1
    dark = float(np.percentile(_sample(frame), 1)) / full
    dark_codes = float(_inverse_tone(dark, settings)) * 4095
    proposed = settings.black_level + DAMPING * (target - dark_codes)
    return int(np.clip(round(proposed), 0, 4095))


def auto_white_balance(
    frame: np.ndarray, settings: ImageSettings, *, region: Region | None = None
) -> tuple[float, float, float]:
    """Next (red, green, blue) BalanceRatio making the region's mean grey (green kept)."""
    if settings.pixel_format not in BAYER_FORMATS | RGB_FORMATS:
        raise ImagingError("white balance needs a colour pixel format (BayerRG8/12/16, RGB8, BGR8)")
    if region is not None:
        x, y, w, h = region
        if frame.ndim == 2:  # keep the Bayer phase: the region starts on a red site
            x, y = x & ~1, y & ~1
        frame = frame[y : y + h, x : x + w]
    red, green, blue = _channel_means(frame, settings)
    if min(red, green, blue) <= 1e-4:
        raise ImagingError("white balance needs a lit, unsaturated region; add light")
    old_r, old_g, old_b = settings.balance_ratios
    new_r = old_r * (green / red) ** DAMPING
    new_b = old_b * (green / blue) ** DAMPING
    clip = float(BALANCE_RATIO_MIN), float(BALANCE_RATIO_MAX)
    return (float(np.clip(new_r, *clip)), old_g, float(np.clip(new_b, *clip)))


def settled(old: float, new: float, tolerance: float = 0.01) -> bool:
    """True when an auto update changed the value by less than `tolerance` (relative)."""
    return abs(new - old) <= tolerance * max(abs(old), 1.0)


def _sample(frame: np.ndarray) -> np.ndarray:
    """One 2x2 cell out of every 4x4 block: a quarter of the pixels, every Bayer site kept."""
    rows = np.flatnonzero(np.arange(frame.shape[0]) % 4 < 2)
    cols = np.flatnonzero(np.arange(frame.shape[1]) % 4 < 2)
    return frame[np.ix_(rows, cols)]


def _inverse_tone(level: np.ndarray | float, settings: ImageSettings) -> np.ndarray:
    """Undo gamma (fraction of full scale in, linear fraction out); a LUT is treated as linear."""
    values = np.asarray(level, dtype=np.float64)
    if settings.gamma_enable and not settings.lut_enable and settings.gamma > 0.05:
        return np.power(values, 1.0 / settings.gamma)
    return values


def _linear(frame: np.ndarray, settings: ImageSettings) -> np.ndarray:
    """Linear brightness above black level, fraction of full scale."""
    full = float((1 << sample_bits(settings.pixel_format)) - 1)
    linear = _inverse_tone(frame.astype(np.float64) / full, settings)
    return np.maximum(linear - settings.black_level / 4095.0, 0.0)


def _channel_means(frame: np.ndarray, settings: ImageSettings) -> tuple[float, float, float]:
    """Linear mean of R, G, B over the pixels where neither R nor B is clipped."""
    full = float((1 << sample_bits(settings.pixel_format)) - 1)
    if frame.ndim == 3:
        red, green, blue = (frame[..., c].astype(np.float64) for c in range(3))
    else:
        height, width = frame.shape[0] // 2 * 2, frame.shape[1] // 2 * 2
        cells = frame[:height, :width].astype(np.float64)
        red, blue = cells[0::2, 0::2], cells[1::2, 1::2]
        green = (cells[0::2, 1::2] + cells[1::2, 0::2]) / 2
    unsaturated = (red < SATURATED * full) & (blue < SATURATED * full) & (green < SATURATED * full)
    if not unsaturated.any():
        raise ImagingError("white balance region is saturated; lower the exposure or gain")
    means = [float(np.mean(_linear(c[unsaturated], settings))) for c in (red, green, blue)]
    return means[0], means[1], means[2]
