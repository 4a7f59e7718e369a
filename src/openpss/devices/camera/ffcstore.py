"""Flat-field coefficients: the WRITEMEM upload area, the checks of FFCDataLoad, and flash.

Upload protocol (the client side of manual 3.4): compute the coefficients with
`openpss.imaging.compute_ffc`, write `FFCCoefficients.to_bytes()` at FFCDataAddress (WRITEMEM in
chunks), set FFCMode to the coefficients' mode, execute FFCDataLoad, then set FFCEnable.
Loaded coefficients are kept in the data directory, as a camera keeps them in flash.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from openpss.devices.camera.errors import BadAddress, InvalidParameter
from openpss.imaging.errors import ImagingError
from openpss.imaging.ffc import FFCCoefficients

logger = logging.getLogger(__name__)

HEADER_SIZE = 16  # FFCCoefficients.to_bytes header
MAX_BRIGHTNESS_RATIO = 2.0  # manual 3.4: max/min brightness of the image may not exceed 2
MODES = {"PointToPoint": "point", "Plane16x16": "plane16"}


class FFCRefused(InvalidParameter):
    """FFCDataLoad refused the uploaded coefficients; `status` is the FFCStatus entry."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


def brightness_ratio(gain: np.ndarray) -> float:
    """Max/min brightness of the calibration field (zone means of 1/gain, 16 x 16 zones)."""
    brightness = 1.0 / np.maximum(gain.astype(np.float64), 1e-6)
    zones = 16
    rows, cols = brightness.shape
    if rows < zones or cols < zones:
        return float(brightness.max() / brightness.min())
    trimmed = brightness[: rows // zones * zones, : cols // zones * zones]
    means = trimmed.reshape(zones, rows // zones, zones, cols // zones).mean(axis=(1, 3))
    return float(means.max() / means.min())


class FFCStore:
    """The upload area and the coefficients loaded per FFCMode."""

    def __init__(self, width: int, height: int, data_dir: Path | None) -> None:
        self.width, self.height = width, height
        self.data_dir = data_dir
        self.area = bytearray()
        self.loaded: dict[str, FFCCoefficients] = {}
        self._restore()

    def data_size(self, mode: str) -> int:
        """Bytes of the upload format for a FFCMode (header + int16 dark + uint16 gain)."""
        count = self.width * self.height if mode == "PointToPoint" else 256
        return HEADER_SIZE + 4 * count

    @property
    def capacity(self) -> int:
        """Size of the upload area (the largest mode's data)."""
        return self.data_size("PointToPoint")

    def read(self, offset: int, size: int) -> bytes:
        """Bytes of the upload area (zeros where nothing was written)."""
        if offset < 0 or offset + size > self.capacity:
            raise BadAddress(f"offset 0x{offset + size:X} is beyond the FFC data area")
        return bytes(self.area[offset : offset + size]).ljust(size, b"\0")

    def write(self, offset: int, data: bytes) -> None:
        """Store uploaded bytes at offset in the area."""
        end = offset + len(data)
        if offset < 0 or end > self.capacity:
            raise BadAddress(f"offset 0x{end:X} is beyond the FFC data area")
        if len(self.area) < end:
            self.area.extend(bytes(end - len(self.area)))
        self.area[offset:end] = data

    def load(self, mode: str) -> None:
        """FFCDataLoad: check the uploaded coefficients for `mode` and apply (and keep) them."""
        data = self.read(0, self.data_size(mode))
        self.loaded[mode] = self._check(data, mode)
        self._keep(mode, data)

    def _check(self, data: bytes, mode: str) -> FFCCoefficients:
        try:
            coefficients = FFCCoefficients.from_bytes(data)
            if coefficients.mode != MODES[mode]:
                raise ImagingError(f"the data holds {coefficients.mode} coefficients, not {mode}")
            coefficients.check_sensor(self.width, self.height)
        except ImagingError as exc:
            raise FFCRefused(f"FFC coefficients refused: {exc}", "InvalidData") from None
        ratio = brightness_ratio(coefficients.gain)
        if ratio > MAX_BRIGHTNESS_RATIO:
            raise FFCRefused(
                f"FFC calibration refused: max/min brightness ratio {ratio:.2f} exceeds "
                f"{MAX_BRIGHTNESS_RATIO:g}; make the illumination more even and calibrate again",
                "RatioExceeded",
            )
        return coefficients

    def _path(self, mode: str) -> Path | None:
        return None if self.data_dir is None else self.data_dir / f"camera-ffc-{mode}.bin"

    def _keep(self, mode: str, data: bytes) -> None:
        path = self._path(mode)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def _restore(self) -> None:
        for mode in MODES:
            path = self._path(mode)
            if path is None or not path.exists():
                continue
            try:
                self.loaded[mode] = self._check(path.read_bytes(), mode)
            except (OSError, InvalidParameter) as exc:
                logger.warning("ignoring stored FFC coefficients %s: %s", path, exc)
