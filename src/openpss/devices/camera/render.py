"""The camera's image source: feature values -> openpss.imaging settings -> payload bytes."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from openpss.imaging import auto, formats
from openpss.imaging.errors import ImagingError
from openpss.imaging.ffc import FFCCoefficients
from openpss.imaging.pipeline import render_frame
from openpss.imaging.sensor import SensorModel
from openpss.imaging.settings import ImageSettings, TestImage

logger = logging.getLogger(__name__)

Getter = Callable[..., Any]  # get(name, **selectors) -> value
_ZERO_COPY = sys.byteorder == "little"  # 16-bit samples travel little-endian (PFNC)


def image_settings(
    get: Getter, ffc: FFCCoefficients | None, lut: tuple[int, ...] | None
) -> ImageSettings:
    """ImageSettings for the current feature values."""
    use_ffc = ffc if ffc is not None and get("FFCEnable") else None
    return ImageSettings(
        exposure_time_us=get("ExposureTime"),
        black_level=get("BlackLevel"),
        gain_raw=get("GainRaw"),
        digital_shift=get("DigitalShift"),
        balance_ratio_red=get("BalanceRatio", BalanceRatioSelector="Red"),
        balance_ratio_green=get("BalanceRatio", BalanceRatioSelector="Green"),
        balance_ratio_blue=get("BalanceRatio", BalanceRatioSelector="Blue"),
        gamma_enable=get("GammaEnable"),
        gamma=get("Gamma"),
        lut_enable=get("LUTEnable", LUTSelector="Luminance"),
        lut=lut,
        ffc_enable=use_ffc is not None,
        ffc=use_ffc,
        test_image=TestImage(get("TestImageSelector")),
        offset_x=get("OffsetX"),
        offset_y=get("OffsetY"),
        width=get("Width"),
        height=get("Height"),
        binning_h=get("BinningHorizontal"),
        binning_v=get("BinningVertical"),
        reverse_x=get("ReverseX"),
        reverse_y=get("ReverseY"),
        pixel_format=formats.pixel_format_code(get("PixelFormat")),
    )


def payload_of(frame: np.ndarray, pixel_format: int) -> bytes | memoryview:
    """The frame's payload; a view without copying when the array already is the wire layout."""
    plain = pixel_format not in (formats.MONO12_PACKED, formats.BGR8)
    if plain and _ZERO_COPY and frame.flags.c_contiguous:
        return frame.data.cast("B")
    return formats.pack(frame, pixel_format)


class ImageSource:
    """Renders frames with the sensor model and runs the auto functions on them.

    The sensor's temporal noise comes from a small bank of noise frames, so for unchanged
    settings and scene there are only that many distinct processed frames: they are rendered
    once and then reused (read-only) until a setting, the scene or the illumination changes.
    """

    def __init__(self, width: int, height: int, seed: int, color: bool) -> None:
        self.sensor = SensorModel(width, height, seed, color=color)
        self.rng = np.random.default_rng(seed)
        self._rendered: dict[tuple[Any, ...], np.ndarray] = {}
        self.renders = 0  # frames actually computed (the rest came from the ring)

    def render(self, settings: ImageSettings) -> np.ndarray:
        """One processed frame for these settings (read-only; may be shared with later frames)."""
        sensor = self.sensor
        index = int(self.rng.integers(sensor.bank_frames))
        # settings keeps its FFC coefficients alive, so their id() is not reused while cached.
        key = (settings, id(settings.ffc), sensor.scene, sensor.illumination, index)
        frame = self._rendered.get(key)
        if frame is None:
            if len(self._rendered) >= sensor.bank_frames:
                self._rendered.pop(next(iter(self._rendered)))
            frame = render_frame(sensor, settings, self.rng, noise_index=index)
            frame.flags.writeable = False
            self._rendered[key] = frame
            self.renders += 1
        return frame

    def auto_updates(
        self, frame: np.ndarray, settings: ImageSettings, modes: dict[str, str]
    ) -> dict[str, Any]:
        """New values {"GainRaw": .., "BlackLevel": .., "BalanceRatio": (r, g, b)} per auto mode.

        A "...Auto" key set to "Off" in the result means a Once adjustment has settled (or
        cannot run, e.g. white balance of a monochrome format).
        """
        updates: dict[str, Any] = {}
        steps = (
            ("GainAuto", "GainRaw", self._gain),
            ("BlackLevelAuto", "BlackLevel", self._black_level),
            ("BalanceWhiteAuto", "BalanceRatio", self._white_balance),
        )
        for auto_name, feature, step in steps:
            if modes[auto_name] == "Off":
                continue
            try:
                value, settled = step(frame, settings)
            except ImagingError as exc:
                logger.info("%s skipped: %s", auto_name, exc)
                value, settled = None, True
            if value is not None:
                updates[feature] = value
            if settled and modes[auto_name] == "Once":
                updates[auto_name] = "Off"
        return updates

    @staticmethod
    def _gain(frame: np.ndarray, settings: ImageSettings) -> tuple[Any, bool]:
        new = auto.auto_gain(frame, settings)
        return new, auto.settled(settings.gain_raw, new)

    @staticmethod
    def _black_level(frame: np.ndarray, settings: ImageSettings) -> tuple[Any, bool]:
        level = auto.auto_black_level(frame, settings)
        return level, abs(level - settings.black_level) <= 1

    @staticmethod
    def _white_balance(frame: np.ndarray, settings: ImageSettings) -> tuple[Any, bool]:
        ratios = auto.auto_white_balance(frame, settings)
        pairs = zip(settings.balance_ratios, ratios, strict=True)
        return ratios, all(auto.settled(a, b) for a, b in pairs)
