"""render_frame: raw sensor frame -> FFC, gain, white balance, black level, gamma/LUT, format."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from openpss.imaging.convert import demosaic
from openpss.imaging.formats import (
    BAYER_FORMATS,
    RGB_FORMATS,
    sample_bits,
    sample_dtype,
)
from openpss.imaging.patterns import luma, mosaic_rg, test_image_rgb
from openpss.imaging.sensor import SensorModel
from openpss.imaging.settings import LUT_SIZE, ImageSettings, TestImage

logger = logging.getLogger(__name__)

CODE_MAX = 4095  # 12-bit processing range
PLAN_CACHE_SIZE = 2  # a full-resolution plan holds two float32 maps (~40 MB)
BAND_ROWS = 64  # rows per band of the hot path (keeps the intermediates in cache)
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def render_frame(
    sensor: SensorModel,
    settings: ImageSettings,
    rng: np.random.Generator,
    noise_index: int | None = None,
) -> np.ndarray:
    """One processed frame in the settings' pixel format (uint8/uint16; RGB formats HxWx3).

    Order: ROI crop, FFC, gain x 2^DigitalShift x balance ratio, + BlackLevel, binning
    (average), reverse, demosaic (RGB/mono output of a colour sensor), clip to 12 bits,
    gamma or LUT, reduction to the format's bit depth. Test images bypass the processing.
    The result may be a shared read-only array (test images); do not modify it.
    `noise_index` selects the sensor's temporal-noise frame (default: random from `rng`).
    """
    plan = _plan_for(sensor, settings)
    if plan.test_frame is not None:
        return plan.test_frame
    raw = sensor.capture(settings.exposure_time_us, rng, noise_index)
    return plan.process(raw[plan.rows, plan.cols])


def tone_curve(settings: ImageSettings) -> np.ndarray:
    """The 4096-entry map from 12-bit processed values to output samples (gamma/LUT, depth)."""
    codes = np.arange(LUT_SIZE, dtype=np.float64)
    if settings.lut_enable and settings.lut is not None:
        codes = np.asarray(settings.lut, dtype=np.float64)
    elif settings.gamma_enable:
        # 3.12: the smaller the Gamma, the brighter the image: out = in ^ Gamma (normalised).
        codes = np.round(CODE_MAX * (codes / CODE_MAX) ** settings.gamma)
    return _to_depth(codes.astype(np.uint32), sample_bits(settings.pixel_format)).astype(
        sample_dtype(settings.pixel_format)
    )


def _to_depth(codes: np.ndarray, bits: int) -> np.ndarray:
    """12-bit values to `bits`-bit samples by shifting (DigitalShift semantics, no rounding)."""
    return codes >> (12 - bits) if bits <= 12 else codes << (bits - 12)


@dataclass
class _Plan:
    """Everything render_frame precomputes for one (sensor, settings) pair."""

    rows: slice
    cols: slice
    scale: np.ndarray | None  # per-pixel multiplier (FFC gain x gain x balance ratio)
    offset: np.ndarray | None  # per-pixel subtrahend ((pedestal + FFC dark) x scale - black)
    lut: np.ndarray
    settings: ImageSettings
    bayer: bool
    output: str  # "raw" (mosaic or mono as read), "rgb", "luma"
    test_frame: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer: np.ndarray | None = None
        self._index = np.empty(0, dtype=np.intp)

    def process(self, crop: np.ndarray) -> np.ndarray:
        """Run the per-frame steps on a raw crop."""
        assert self.scale is not None and self.offset is not None
        s = self.settings
        simple = self.output == "raw" and s.binning_h == s.binning_v == 1
        if simple and not (s.reverse_x or s.reverse_y):
            return self._process_in_bands(crop)
        values = np.multiply(crop, self.scale, dtype=np.float32)
        np.subtract(values, self.offset, out=values)
        values = self._geometry(values)
        if self.output != "raw":
            values = demosaic(values)
            if self.output == "luma":
                values = values @ LUMA
        # mode="clip" clamps below 0 and above 4095, so no separate clipping pass is needed.
        return np.take(self.lut, values.astype(np.intp), mode="clip")

    def _process_in_bands(self, crop: np.ndarray) -> np.ndarray:
        """Hot path in cache-sized bands of rows: multiply, subtract, to index, table lookup."""
        assert self.scale is not None and self.offset is not None
        out = np.empty(crop.shape, dtype=self.lut.dtype)
        with self._lock:
            if self._buffer is None or self._buffer.shape[1] != crop.shape[1]:
                self._buffer = np.empty((BAND_ROWS, crop.shape[1]), dtype=np.float32)
                self._index = np.empty((BAND_ROWS, crop.shape[1]), dtype=np.intp)
            for top in range(0, crop.shape[0], BAND_ROWS):
                rows = slice(top, top + BAND_ROWS)
                band = crop[rows]
                values = self._buffer[: band.shape[0]]
                index = self._index[: band.shape[0]]
                np.multiply(band, self.scale[rows], out=values)
                np.subtract(values, self.offset[rows], out=values)
                np.copyto(index, values, casting="unsafe")
                np.take(self.lut, index, mode="clip", out=out[rows])
        return out

    def _geometry(self, values: np.ndarray) -> np.ndarray:
        s = self.settings
        if s.binning_h > 1 or s.binning_v > 1:
            values = _bin(values, s.binning_h, s.binning_v, self.bayer)
        if s.reverse_x or s.reverse_y:
            values = _reverse(values, s.reverse_x, s.reverse_y, 2 if self.bayer else 1)
        return values


def _plan_for(sensor: SensorModel, settings: ImageSettings) -> _Plan:
    key = (settings, id(settings.ffc))
    plan = sensor.plan_cache.get(key)
    if plan is None:
        settings.check(sensor)
        plan = _make_plan(sensor, settings)
        if len(sensor.plan_cache) >= PLAN_CACHE_SIZE:
            sensor.plan_cache.pop(next(iter(sensor.plan_cache)))
        sensor.plan_cache[key] = plan
    return plan


def _make_plan(sensor: SensorModel, s: ImageSettings) -> _Plan:
    logger.debug("imaging: new plan for %s", s)
    rows = slice(s.offset_y * s.binning_v, (s.offset_y + s.height) * s.binning_v)
    cols = slice(s.offset_x * s.binning_h, (s.offset_x + s.width) * s.binning_h)
    bayer = sensor.color and s.pixel_format in BAYER_FORMATS
    output = "raw"
    if sensor.color and not bayer:
        output = "rgb" if s.pixel_format in RGB_FORMATS else "luma"
    plan = _Plan(rows, cols, None, None, tone_curve(s), s, sensor.color, output)
    if s.test_image is not TestImage.OFF:
        plan.test_frame = _test_frame(s, bayer)
        return plan
    plan.scale, plan.offset = _affine_maps(sensor, s, rows, cols)
    return plan


def _affine_maps(
    sensor: SensorModel, s: ImageSettings, rows: slice, cols: slice
) -> tuple[np.ndarray, np.ndarray]:
    """scale and offset so that processed = raw * scale - offset (offset includes +0.5 rounding)."""
    height, width = rows.stop - rows.start, cols.stop - cols.start
    ratios = np.array(s.balance_ratios if sensor.color else (1.0, 1.0, 1.0), dtype=np.float32)
    tile = ratios[sensor.cfa_index()] * np.float32(s.gain_raw * (1 << s.digital_shift))
    scale = np.tile(tile, (height // 2, width // 2))
    dark: np.ndarray | float = 0.0
    if s.ffc_enable and s.ffc is not None:
        ffc_dark, ffc_gain = s.ffc.maps()
        scale *= ffc_gain[rows, cols]
        dark = ffc_dark[rows, cols]
    offset = (np.float32(sensor.pedestal) + dark) * scale - np.float32(s.black_level + 0.5)
    return scale.astype(np.float32), offset.astype(np.float32)


def _bin(values: np.ndarray, bin_h: int, bin_v: int, bayer: bool) -> np.ndarray:
    """Average bin_v x bin_h pixels (of the same Bayer colour when `bayer`)."""
    height, width = values.shape[0] // bin_v, values.shape[1] // bin_h
    if bayer:
        cells = values.reshape(height // 2, bin_v, 2, width // 2, bin_h, 2)
        return cells.mean(axis=(1, 4), dtype=np.float32).reshape(height, width)
    return values.reshape(height, bin_v, width, bin_h).mean(axis=(1, 3), dtype=np.float32)


def _reverse(values: np.ndarray, reverse_x: bool, reverse_y: bool, cell: int) -> np.ndarray:
    """Mirror the image; Bayer mosaics are mirrored by 2x2 cells so they stay RG."""
    out = values
    if reverse_x:
        flipped = np.empty_like(out)
        for phase in range(cell):
            flipped[:, phase::cell] = out[:, phase::cell][:, ::-1]
        out = flipped
    if reverse_y:
        flipped = np.empty_like(out)
        for phase in range(cell):
            flipped[phase::cell] = out[phase::cell][::-1]
        out = flipped
    return out


def _test_frame(s: ImageSettings, bayer: bool) -> np.ndarray:
    rgb = test_image_rgb(s.test_image, s.width, s.height)
    if s.pixel_format in RGB_FORMATS:
        frame = rgb
    elif bayer:
        frame = mosaic_rg(rgb)
    else:
        frame = luma(rgb)
    bits = sample_bits(s.pixel_format)
    scaled = (frame.astype(np.uint32) << (bits - 8)).astype(sample_dtype(s.pixel_format))
    scaled.flags.writeable = False
    return scaled
