"""Flat-field correction (manual 3.4): coefficients from dark- and bright-field frames."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from openpss.imaging.errors import FFCError
from openpss.imaging.settings import ImageSettings, TestImage

FFCMode = Literal["point", "plane16"]
MAX_BRIGHTNESS_RATIO = (
    2.0  # 3.4 "ratio between the maximum and minimum brightness ... cannot exceed 2"
)
ZONES = 16  # plane-to-plane mode: 16 x 16 zones
SATURATION_FRACTION = 0.01  # more saturated bright-field pixels than this is refused
GAIN_Q = 12  # gain coefficients travel as unsigned Q4.12
DARK_Q = 4  # dark offsets travel as signed Q11.4 ADC codes
CALIBRATION_BLACK_LEVEL = 256  # keeps dark-field noise clear of 0 while calibrating

_HEADER = struct.Struct("<4sBBHII")  # magic, version, mode, reserved, sensor width, height
_MAGIC = b"OFFC"
_MODES: dict[str, int] = {"point": 0, "plane16": 1}


@dataclass(frozen=True, eq=False)
class FFCCoefficients:
    """Per-pixel (point) or per-zone (plane16) dark offset and gain for a sensor size.

    Correction of a raw value x (ADC codes above the pedestal): (x - dark) * gain.
    `dark` and `gain` are float32 arrays: (height, width) for point, (16, 16) for plane16.
    """

    mode: FFCMode
    sensor_width: int
    sensor_height: int
    dark: np.ndarray
    gain: np.ndarray

    def check_sensor(self, width: int, height: int) -> None:
        """Raise FFCError if these coefficients were computed for another sensor size."""
        if (width, height) != (self.sensor_width, self.sensor_height):
            raise FFCError(
                f"FFC coefficients are for a {self.sensor_width}x{self.sensor_height} sensor, "
                f"this one is {width}x{height}; calibrate again"
            )

    def maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution (dark, gain) float32 maps (plane16 zones interpolated bilinearly)."""
        if self.mode == "point":
            return self.dark, self.gain
        size = (self.sensor_height, self.sensor_width)
        return _upsample(self.dark, size), _upsample(self.gain, size)

    def to_bytes(self) -> bytes:
        """Upload format: header, then int16 Q11.4 dark offsets and uint16 Q4.12 gains (LE)."""
        header = _HEADER.pack(
            _MAGIC, 1, _MODES[self.mode], 0, self.sensor_width, self.sensor_height
        )
        dark = np.clip(np.round(self.dark * (1 << DARK_Q)), -32768, 32767).astype("<i2")
        gain = np.clip(np.round(self.gain * (1 << GAIN_Q)), 0, 65535).astype("<u2")
        return header + dark.tobytes() + gain.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> FFCCoefficients:
        """Parse the upload format; raise FFCError with the reason if it is malformed."""
        if len(data) < _HEADER.size:
            raise FFCError(f"FFC data is truncated: {len(data)} bytes, header needs {_HEADER.size}")
        magic, version, mode_code, _, width, height = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != 1:
            raise FFCError("FFC data does not start with the OFFC version 1 header")
        modes = {code: name for name, code in _MODES.items()}
        if mode_code not in modes:
            raise FFCError(f"FFC data has unknown mode {mode_code}")
        mode: FFCMode = "point" if mode_code == 0 else "plane16"
        shape = (height, width) if mode == "point" else (ZONES, ZONES)
        count = shape[0] * shape[1]
        if len(data) != _HEADER.size + 4 * count:
            raise FFCError(
                f"FFC data for {mode} {width}x{height} needs {_HEADER.size + 4 * count} bytes, "
                f"got {len(data)}"
            )
        dark = np.frombuffer(data, "<i2", count, _HEADER.size).reshape(shape)
        gain = np.frombuffer(data, "<u2", count, _HEADER.size + 2 * count).reshape(shape)
        return cls(
            mode,
            width,
            height,
            (dark.astype(np.float32) / (1 << DARK_Q)),
            (gain.astype(np.float32) / (1 << GAIN_Q)),
        )


def compute_ffc(
    dark_frames: Sequence[np.ndarray],
    bright_frames: Sequence[np.ndarray],
    mode: FFCMode = "point",
    *,
    bit_depth: int = 12,
    color: bool = False,
) -> FFCCoefficients:
    """Coefficients from dark-field and bright-field full-sensor frames of one linear format.

    Capture with FFC, gamma and LUT off, gain 1, DigitalShift 0 and balance ratios 1 (see
    `ffc_calibration_settings`); `bit_depth` is the frames' sample depth (8, 12 or 16), values
    are scaled to 12-bit ADC codes. `color=True` keeps each Bayer colour's own level.
    Refuses a bright field whose max/min brightness ratio exceeds 2 (manual 3.4).
    """
    if mode not in _MODES:
        raise FFCError(f"unknown FFC mode {mode!r}; use 'point' or 'plane16'")
    dark = _average("dark-field", dark_frames, bit_depth)
    bright = _average("bright-field", bright_frames, bit_depth)
    if dark.shape != bright.shape:
        raise FFCError(f"dark-field frames are {dark.shape}, bright-field frames {bright.shape}")
    _check_saturation(bright_frames, bit_depth)
    response = bright - dark
    zones = _zone_means(response)
    if zones.min() <= 0:
        raise FFCError("bright-field frames are not brighter than the dark field; add light")
    ratio = float(zones.max() / zones.min())
    if ratio > MAX_BRIGHTNESS_RATIO:
        raise FFCError(
            f"bright-field max/min brightness ratio is {ratio:.2f}, FFC allows at most "
            f"{MAX_BRIGHTNESS_RATIO:g}; make the illumination more even and capture again"
        )
    height, width = dark.shape
    offset = dark - dark.mean()
    if mode == "plane16":
        gain = np.float32(zones.mean()) / zones
        return FFCCoefficients(mode, width, height, _zone_means(offset), gain.astype(np.float32))
    return FFCCoefficients(mode, width, height, offset, _point_gain(response, color))


def _average(kind: str, frames: Sequence[np.ndarray], bit_depth: int) -> np.ndarray:
    if len(frames) == 0:
        raise FFCError(f"no {kind} frames; capture at least one")
    shapes = {np.shape(frame) for frame in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise FFCError(f"{kind} frames must be 2-D and all the same size, got {sorted(shapes)}")
    if bit_depth not in (8, 10, 12, 16):
        raise FFCError(f"bit depth {bit_depth} is not one of 8, 10, 12, 16")
    total = np.zeros(next(iter(shapes)), dtype=np.float32)
    for frame in frames:
        total += frame
    return total * np.float32(2.0 ** (12 - bit_depth) / len(frames))


def _check_saturation(frames: Sequence[np.ndarray], bit_depth: int) -> None:
    full = (1 << bit_depth) - 1
    saturated = float(np.mean(np.asarray(frames[0]) >= full))
    if saturated > SATURATION_FRACTION:
        raise FFCError(
            f"{saturated:.1%} of the bright-field pixels are saturated; lower the exposure or light"
        )


def _zone_means(values: np.ndarray) -> np.ndarray:
    """Mean of each of the 16 x 16 zones (edges split as evenly as possible)."""
    rows = np.array_split(np.arange(values.shape[0]), ZONES)
    cols = np.array_split(np.arange(values.shape[1]), ZONES)
    row_sums = np.add.reduceat(values, [r[0] for r in rows], axis=0)
    sums = np.add.reduceat(row_sums, [c[0] for c in cols], axis=1)
    counts = np.outer([len(r) for r in rows], [len(c) for c in cols])
    return (sums / counts).astype(np.float32)


def _point_gain(response: np.ndarray, color: bool) -> np.ndarray:
    """target / response per pixel, the target being the mean of the pixel's mosaic colour."""
    gain = np.empty_like(response)
    safe = np.maximum(response, np.float32(1e-3))
    planes = [(py, px) for py in (0, 1) for px in (0, 1)] if color else [(0, 0)]
    step = 2 if color else 1
    for py, px in planes:
        plane = response[py::step, px::step]
        gain[py::step, px::step] = np.float32(plane.mean()) / safe[py::step, px::step]
    if color:  # the two green sites share one target so no green imbalance is introduced
        green = (response[0::2, 1::2].mean() + response[1::2, 0::2].mean()) / 2
        gain[0::2, 1::2] = np.float32(green) / safe[0::2, 1::2]
        gain[1::2, 0::2] = np.float32(green) / safe[1::2, 0::2]
    return np.clip(gain, 0.0, 65535 / (1 << GAIN_Q)).astype(np.float32)


def _upsample(zones: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear interpolation of zone values (at zone centres) to a full-resolution map."""
    return _interp_weights(size[0]) @ zones.astype(np.float32) @ _interp_weights(size[1]).T


def _interp_weights(length: int) -> np.ndarray:
    """(length, 16) matrix interpolating 16 zone-centre values linearly (clamped at the edges)."""
    centres = (np.arange(ZONES) + 0.5) * length / ZONES
    points = np.arange(length) + 0.5
    basis = np.eye(ZONES)
    return np.stack([np.interp(points, centres, basis[j]) for j in range(ZONES)], axis=1).astype(
        np.float32
    )


def ffc_calibration_settings(
    settings: ImageSettings, *, width: int, height: int, color: bool
) -> ImageSettings:
    """Settings to capture FFC frames with: full sensor, linear 12-bit, no gain, WB, gamma, LUT."""
    from openpss.imaging.formats import BAYER_RG12, MONO12

    return replace(
        settings,
        ffc_enable=False,
        gamma_enable=False,
        lut_enable=False,
        gain_raw=1.0,
        digital_shift=0,
        balance_ratio_red=1.0,
        balance_ratio_green=1.0,
        balance_ratio_blue=1.0,
        black_level=CALIBRATION_BLACK_LEVEL,
        test_image=TestImage.OFF,
        offset_x=0,
        offset_y=0,
        width=width,
        height=height,
        binning_h=1,
        binning_v=1,
        reverse_x=False,
        reverse_y=False,
        pixel_format=BAYER_RG12 if color else MONO12,
    )
