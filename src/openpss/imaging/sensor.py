"""SensorModel: a synthetic 12-bit scene with vignetting, fixed-pattern noise and shot noise."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

import numpy as np

from openpss.imaging.errors import ImagingError
from openpss.imaging.formats import (
    BAYER_RG8,
    BAYER_RG12,
    BAYER_RG16,
    BGR8,
    MONO8,
    MONO10,
    MONO12,
    MONO12_PACKED,
    MONO16,
    RGB8,
)
from openpss.imaging.settings import (
    COLOR_TEST_IMAGES,
    HEIGHT_INC,
    MONO_TEST_IMAGES,
    WIDTH_INC,
    TestImage,
)

logger = logging.getLogger(__name__)

SceneKind = Literal["pattern", "flat"]

ADC_BITS = 12
PEDESTAL = 128  # ADC codes the sensor reads with no light (removed by the black-level clamp)
SENSITIVITY = 0.3  # ADC codes per microsecond for a white (reflectance 1) green pixel
ELECTRONS_PER_CODE = 2.0  # conversion gain: shot-noise variance in codes = signal / 2
READ_NOISE = 2.5  # codes, temporal
DSNU_PIXEL = 4.0  # codes, per-pixel dark offset spread (fixed pattern)
DSNU_COLUMN = 3.0  # codes, per-column dark offset spread (fixed pattern)
PRNU = 0.02  # relative per-pixel response spread (fixed pattern)
VIGNETTING = 0.35  # relative fall-off at the corners: corner/centre = 0.65
# Relative response of the R, G, B pixels under the scene light: a greenish cast that white
# balance corrects (ideal BalanceRatio R = 1/0.55, B = 1/0.75).
CHANNEL_RESPONSE = (0.55, 1.0, 0.75)
FLAT_REFLECTANCE = 0.6
# Colour chart patches (linear reflectance R, G, B), 6 x 4, last row neutral greys.
CHART = np.array(
    [
        [(0.17, 0.08, 0.06), (0.55, 0.30, 0.22), (0.12, 0.19, 0.33), (0.10, 0.15, 0.06),
         (0.24, 0.21, 0.43), (0.13, 0.52, 0.41)],
        [(0.68, 0.20, 0.03), (0.07, 0.10, 0.39), (0.55, 0.09, 0.12), (0.10, 0.04, 0.14),
         (0.35, 0.50, 0.05), (0.73, 0.36, 0.02)],
        [(0.02, 0.05, 0.29), (0.06, 0.29, 0.07), (0.44, 0.03, 0.04), (0.87, 0.58, 0.01),
         (0.50, 0.08, 0.29), (0.00, 0.24, 0.38)],
        [(0.90, 0.90, 0.90), (0.59, 0.59, 0.59), (0.36, 0.36, 0.36), (0.19, 0.19, 0.19),
         (0.09, 0.09, 0.09), (0.03, 0.03, 0.03)],
    ],
    dtype=np.float32,
)  # fmt: skip
CHART_BOX = (0.2, 0.3, 0.8, 0.75)  # u0, v0, u1, v1 as fractions of the frame
GREY_PATCH = (3, 1)  # chart row, column of the 59 % grey patch


class SensorModel:
    """A global-shutter sensor looking at a static scene; `capture` returns raw 12-bit frames.

    color=True gives a Bayer RG mosaic (R at row 0 column 0), color=False a monochrome sensor.
    Fixed-pattern noise is fixed by `seed`; temporal noise comes from a small bank of noisy
    frames per exposure (`noise_frames`), chosen per frame with the caller's generator.
    `scene` ("pattern" or "flat") and `illumination` (0 = lens cap on) model what the camera
    looks at, so dark- and bright-field FFC captures are possible.
    """

    def __init__(
        self,
        width: int = 2448,
        height: int = 2048,
        seed: int = 1,
        *,
        color: bool = True,
        noise: bool = True,
        noise_frames: int = 4,
    ) -> None:
        if width < WIDTH_INC or width % WIDTH_INC or height < HEIGHT_INC or height % HEIGHT_INC:
            raise ImagingError(
                f"sensor size {width}x{height} must be multiples of {WIDTH_INC}x{HEIGHT_INC}"
            )
        self.width, self.height, self.seed = width, height, seed
        self.color, self.noise = color, noise
        self.noise_frames = max(1, noise_frames)
        self.adc_bits = ADC_BITS
        self.pedestal = PEDESTAL
        self.scene: SceneKind = "pattern"
        self.illumination = 1.0
        self._lock = threading.Lock()
        self._bank_key: tuple[float, str, float] | None = None
        self._bank: list[np.ndarray] = []
        self._rate: dict[str, np.ndarray] = {}
        self._dark = self._make_dark()
        self.plan_cache: dict[Any, Any] = {}

    @property
    def pixel_formats(self) -> tuple[int, ...]:
        """Pixel formats this sensor outputs, the natural one first."""
        if self.color:
            return (BAYER_RG8, BAYER_RG12, BAYER_RG16, RGB8, BGR8, MONO8, MONO12, MONO16)
        return (MONO8, MONO10, MONO12, MONO12_PACKED, MONO16)

    @property
    def test_images(self) -> tuple[TestImage, ...]:
        """Test images this sensor offers (manual 3.14)."""
        return COLOR_TEST_IMAGES if self.color else MONO_TEST_IMAGES

    def max_size(self, binning_h: int = 1, binning_v: int = 1) -> tuple[int, int]:
        """(WidthMax, HeightMax) of the binned image."""
        width = self.width // binning_h // WIDTH_INC * WIDTH_INC
        height = self.height // binning_v // HEIGHT_INC * HEIGHT_INC
        return width, height

    def cfa_index(self) -> np.ndarray:
        """2x2 tile of channel indices (0 R, 1 G, 2 B) of the mosaic; all 1 for mono."""
        if self.color:
            return np.array([[0, 1], [1, 2]], dtype=np.intp)
        return np.ones((2, 2), dtype=np.intp)

    def set_scene(self, scene: SceneKind, illumination: float = 1.0) -> None:
        """Point the camera at the test scene or a uniform target; illumination 0 = dark field."""
        if scene not in ("pattern", "flat"):
            raise ImagingError(f"unknown scene {scene!r}; use 'pattern' or 'flat'")
        if not 0.0 <= illumination <= 10.0:
            raise ImagingError(f"illumination {illumination} is out of range 0-10")
        self.scene, self.illumination = scene, illumination

    def capture(
        self, exposure_time_us: float, rng: np.random.Generator, index: int | None = None
    ) -> np.ndarray:
        """One raw frame (height x width, uint16 ADC codes 0-4095); read-only, do not modify.

        `index` picks a given temporal-noise frame of the bank (default: a random one).
        """
        key = (float(exposure_time_us), self.scene, float(self.illumination))
        with self._lock:
            if key != self._bank_key:
                self._bank = self._make_bank(*key)
                self._bank_key = key
            bank = self._bank
        if index is None:
            index = int(rng.integers(len(bank))) if len(bank) > 1 else 0
        return bank[index % len(bank)]

    @property
    def bank_frames(self) -> int:
        """How many distinct temporal-noise frames `capture` chooses from."""
        return self.noise_frames if self.noise else 1

    def mean_frame(self, exposure_time_us: float) -> np.ndarray:
        """The noise-free expected raw frame (float32 ADC codes, before clipping)."""
        rate = self._signal_rate(self.scene)
        signal = rate * np.float32(exposure_time_us * self.illumination)
        return signal + self._dark

    def grey_patch_box(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) in sensor pixels of a neutral grey patch of the test scene."""
        u0, v0, u1, v1 = CHART_BOX
        rows, cols = CHART.shape[:2]
        pw, ph = (u1 - u0) / cols * self.width, (v1 - v0) / rows * self.height
        x = u0 * self.width + GREY_PATCH[1] * pw
        y = v0 * self.height + GREY_PATCH[0] * ph
        return (int(x + pw / 4) & ~1, int(y + ph / 4) & ~1, int(pw / 2) & ~1, int(ph / 2) & ~1)

    def _make_bank(
        self, exposure_time_us: float, scene: str, illumination: float
    ) -> list[np.ndarray]:
        logger.debug("sensor: new noise bank for exposure %s us, scene %s", exposure_time_us, scene)
        mean = self.mean_frame(exposure_time_us)
        if not self.noise:
            return [_to_codes(mean)]
        rng = np.random.default_rng([self.seed, int(exposure_time_us * 1000), 7])
        signal = np.maximum(mean - self._dark, 0, dtype=np.float32)
        sigma = np.sqrt(signal / ELECTRONS_PER_CODE + READ_NOISE**2, dtype=np.float32)
        bank = []
        for _ in range(self.noise_frames):
            noisy = rng.standard_normal(mean.shape, dtype=np.float32)
            noisy *= sigma
            noisy += mean
            bank.append(_to_codes(noisy))
        return bank

    def _make_dark(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, 1])
        dark = rng.normal(PEDESTAL, DSNU_PIXEL, (self.height, self.width)).astype(np.float32)
        dark += rng.normal(0.0, DSNU_COLUMN, self.width).astype(np.float32)
        return dark

    def _signal_rate(self, scene: str) -> np.ndarray:
        """ADC codes per microsecond of each pixel at illumination 1 (scene x vignetting x PRNU)."""
        if scene not in self._rate:
            rng = np.random.default_rng([self.seed, 2])
            prnu = rng.normal(1.0, PRNU, (self.height, self.width)).astype(np.float32)
            rate = self._reflectance(scene) * _vignetting(self.width, self.height) * prnu
            self._rate[scene] = rate * np.float32(SENSITIVITY)
        return self._rate[scene]

    def _reflectance(self, scene: str) -> np.ndarray:
        """Mosaic of per-pixel reflectance x channel response."""
        out = np.empty((self.height, self.width), dtype=np.float32)
        cfa = self.cfa_index()
        for py in (0, 1):
            for px in (0, 1):
                yy = (np.arange(py, self.height, 2, dtype=np.float32) + 0.5)[:, None] / self.height
                xx = (np.arange(px, self.width, 2, dtype=np.float32) + 0.5)[None, :] / self.width
                channel = int(cfa[py, px]) if self.color else -1
                out[py::2, px::2] = _scene_channel(scene, xx, yy, channel)
        return out


def _to_codes(values: np.ndarray) -> np.ndarray:
    codes = np.clip(values, 0, (1 << ADC_BITS) - 1).round().astype(np.uint16)
    codes.flags.writeable = False
    return codes


def _vignetting(width: int, height: int) -> np.ndarray:
    """Radial fall-off 1 - VIGNETTING * r^2, r = 1 at the corners."""
    yy = (np.arange(height, dtype=np.float32) + 0.5 - height / 2) / (height / 2)
    xx = (np.arange(width, dtype=np.float32) + 0.5 - width / 2) / (width / 2)
    r2 = (yy[:, None] ** 2 + xx[None, :] ** 2) / 2
    return (1.0 - VIGNETTING * r2).astype(np.float32)


def _scene_channel(scene: str, u: np.ndarray, v: np.ndarray, channel: int) -> np.ndarray:
    """Reflectance x response of one channel (0 R, 1 G, 2 B, -1 mono) at coordinates u, v."""
    response = 1.0 if channel < 0 else CHANNEL_RESPONSE[channel]
    if scene == "flat":
        return np.full((v.size, u.size), FLAT_REFLECTANCE * response, dtype=np.float32)
    # Background: a horizontal grey ramp with soft vertical stripes.
    base = 0.1 + 0.8 * u + 0.05 * np.sin(v * 40.0)
    colours = CHART.mean(axis=2) if channel < 0 else CHART[..., channel]
    u0, v0, u1, v1 = CHART_BOX
    rows, cols = colours.shape
    col = np.floor((u - u0) / (u1 - u0) * cols).astype(np.intp)
    row = np.floor((v - v0) / (v1 - v0) * rows).astype(np.intp)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    chart = colours[np.clip(row, 0, rows - 1), np.clip(col, 0, cols - 1)]
    return (np.where(inside, chart, base) * response).astype(np.float32)
