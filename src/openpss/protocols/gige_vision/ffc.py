"""Flat-field calibration from the client side (camera manual 3.4), the one procedure of the
project: `openpss camera ffc` and the platform's FFC wizard both run it.

Steps: linear capture settings (gain 1, no white balance, gamma, LUT or FFC, full sensor,
12-bit, the calibration black level), frames stamped after those settings took effect (the
device timestamp is latched first), coefficients computed by `openpss.imaging`, uploaded with
WRITEMEM, loaded and enabled. The user's settings are restored after capturing.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from openpss.imaging import FFCError, compute_ffc, unpack
from openpss.imaging.ffc import CALIBRATION_BLACK_LEVEL
from openpss.protocols.gige_vision.bootstrap import (
    TIMESTAMP_CONTROL,
    TIMESTAMP_LATCH,
    TIMESTAMP_VALUE_HIGH,
    TIMESTAMP_VALUE_LOW,
)
from openpss.protocols.gige_vision.nodemap import load_features, save_features

logger = logging.getLogger(__name__)

Mode = Literal["point", "plane16"]
MODES: dict[str, str] = {"point": "PointToPoint", "plane16": "Plane16x16"}  # FFCMode entries
CAPTURE_TIMEOUT = 20.0
# Feature writes that make the image linear; order matters (binning before size, size last).
# "@Name" takes the value of feature Name.
LINEAR_SETTINGS = (
    ("TestImageSelector", "Off"),
    ("ReverseX", "0"),
    ("ReverseY", "0"),
    ("BinningHorizontal", "1"),
    ("BinningVertical", "1"),
    ("OffsetX", "0"),
    ("OffsetY", "0"),
    ("Width", "@WidthMax"),
    ("Height", "@HeightMax"),
    ("FFCEnable", "0"),
    ("GammaEnable", "0"),
    ("LUTEnable", "0"),
    ("GainAuto", "Off"),
    ("GainRaw", "1"),
    ("DigitalShift", "0"),
    ("BalanceWhiteAuto", "Off"),
    ("BlackLevelAuto", "Off"),
    ("BlackLevel", str(CALIBRATION_BLACK_LEVEL)),
)


class CalibrationError(Exception):
    """The calibration cannot go on; the message says what to fix."""


def linearise(camera: Any) -> bool:
    """Apply the linear capture settings; True for a colour (Bayer) sensor."""
    for name, value in LINEAR_SETTINGS:
        try:
            camera.set(name, str(camera.get(value[1:])) if value.startswith("@") else value)
        except Exception as exc:  # absent or locked on this model: the rest still applies
            logger.debug("FFC capture: %s not set: %s", name, exc)
    for channel in ("Red", "Green", "Blue"):
        try:
            camera.set("BalanceRatioSelector", channel)
            camera.set("BalanceRatio", "1")
        except Exception:  # a mono camera has no white balance
            break
    try:
        options = [str(s) for s in camera.node("PixelFormat").symbolics]
    except Exception as exc:
        raise CalibrationError(f"cannot read the pixel formats: {exc}") from exc
    color = "BayerRG12" in options
    target = "BayerRG12" if color else "Mono12"
    if target not in options:
        raise CalibrationError("FFC needs a 12-bit pixel format (Mono12 or BayerRG12)")
    camera.set("PixelFormat", target)
    return color


@contextmanager
def linear_capture(camera: Any) -> Iterator[bool]:
    """Linear settings inside the block (yields colour or not); the user's settings after."""
    before = save_features(camera.node_map)
    try:
        yield linearise(camera)
    finally:
        for problem in load_features(camera.node_map, before):
            logger.info("FFC capture: could not restore %s", problem)


def device_time(camera: Any) -> int:
    """Latch and read the device timestamp (GevTimestampControlLatch, GevTimestampValue)."""
    camera.client.write_register(TIMESTAMP_CONTROL, TIMESTAMP_LATCH)
    high, low = camera.client.read_registers([TIMESTAMP_VALUE_HIGH, TIMESTAMP_VALUE_LOW])
    return int((high << 32) | low)


def capture(
    camera: Any, count: int, *, packet_size: int = 8192, timeout: float = CAPTURE_TIMEOUT
) -> list[np.ndarray]:
    """`count` complete frames stamped after the current settings were applied, as arrays."""
    since = device_time(camera)  # frames stamped earlier may predate the last feature change
    camera.set("AcquisitionMode", "Continuous")
    receiver = camera.start_stream(packet_size=packet_size)
    images: list[np.ndarray] = []
    deadline = time.monotonic() + timeout
    camera.execute("AcquisitionStart")
    try:
        while len(images) < count and (left := deadline - time.monotonic()) > 0:
            try:
                frame = receiver.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if frame.complete and frame.timestamp > since:
                image = unpack(frame.data, frame.pixel_format, frame.width, frame.height)
                images.append(image.copy())
            receiver.release(frame)
    finally:
        camera.execute("AcquisitionStop")
        camera.stop_stream()
    if len(images) < count:
        raise CalibrationError(
            f"only {len(images)} of {count} calibration frames arrived complete within "
            f"{timeout:g} s; check the trigger mode and the network"
        )
    return images


def coefficients(
    dark: list[np.ndarray], bright: list[np.ndarray], mode: str, *, color: bool
) -> bytes:
    """The FFC coefficients of a dark and a bright field, as the camera's FFC data."""
    if mode not in MODES:
        raise CalibrationError(f"unknown FFC mode {mode!r}; use point or plane16")
    try:
        result = compute_ffc(dark, bright, mode, bit_depth=12, color=color)  # type: ignore[arg-type]
    except FFCError as exc:
        raise CalibrationError(f"calibration refused: {exc}") from exc
    return result.to_bytes()


def upload(camera: Any, mode: str, data: bytes) -> None:
    """FFCMode, WRITEMEM of the data at FFCDataAddress, FFCDataLoad, FFCEnable."""
    camera.set("FFCMode", MODES[mode])
    size = int(camera.get("FFCDataSize"))
    if len(data) != size:
        raise CalibrationError(f"coefficients are {len(data)} bytes but the camera expects {size}")
    camera.client.write_memory(int(str(camera.get("FFCDataAddress")), 0), data)
    try:
        camera.execute("FFCDataLoad")
    except Exception as exc:
        raise CalibrationError(
            f"the camera refused the coefficients ({camera.get('FFCStatus')}): {exc}"
        ) from exc
    camera.set("FFCEnable", "1")
