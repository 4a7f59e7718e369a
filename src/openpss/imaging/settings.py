"""ImageSettings: the image features of the camera manuals (chapter 3) as one frozen value."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openpss.imaging.errors import ImagingError
from openpss.imaging.formats import BAYER_RG8, pixel_format_name

if TYPE_CHECKING:
    from openpss.imaging.ffc import FFCCoefficients
    from openpss.imaging.sensor import SensorModel

# Ranges stated by the manuals (gige-area-scan-camera.txt chapter 3).
DIGITAL_SHIFT_MAX = 4  # 3.10.2 "Set the DigitalShift parameter among 0-4"
BALANCE_RATIO_MIN = 0.0  # 3.11 "Adjust the BalanceRatio to a reasonable value among 0-15"
BALANCE_RATIO_MAX = 15.0
GAMMA_MIN = 0.0  # 3.12 "Gamma coefficient ranges from 0 to 3.99998"
GAMMA_MAX = 3.99998
# The manuals name GainRaw without a range; we model it as the analog gain factor 1x-32x.
GAIN_RAW_MIN = 1.0
GAIN_RAW_MAX = 32.0
# Not stated by the manuals: exposure range of the virtual sensor.
EXPOSURE_TIME_MIN_US = 16.0
EXPOSURE_TIME_MAX_US = 1_000_000.0
BINNING_MAX = 4
# LUT: LUTIndex 0..4095 maps a 12-bit value to LUTValue 0..4095.
LUT_SIZE = 4096
LUT_VALUE_MAX = 4095
# ROI increments (GenICam Inc): Bayer offsets stay even so the mosaic keeps its RG phase.
WIDTH_INC = 8
HEIGHT_INC = 2
OFFSET_X_INC = 2
OFFSET_Y_INC = 2


def black_level_max(adc_bits: int) -> int:
    """Largest BlackLevel for an ADC bit depth (3.9: the range depends on the ADC bit depth)."""
    return (1 << adc_bits) - 1


class TestImage(enum.Enum):
    """Test images of manual 3.14 (value = GenICam enumeration entry, label = manual wording)."""

    __test__ = False  # not a pytest test class

    OFF = "Off"
    MONO_BAR = "MonoBar"
    CHECK_BOARD = "CheckBoard"
    OBLIQUE_MONO_BAR = "ObliqueMonoBar"
    VERTICAL_COLOR_BAR = "VerticalColorBar"
    GRADUAL_COLOR_BAR = "GradualColorBar"
    HORIZONTAL_COLOR_BAR = "HorizontalColorBar"

    @property
    def label(self) -> str:
        """The name the manual uses, e.g. "Oblique Mono Bar"."""
        return _TEST_IMAGE_LABELS[self]


_TEST_IMAGE_LABELS = {
    TestImage.OFF: "Off",
    TestImage.MONO_BAR: "Mono Bar",
    TestImage.CHECK_BOARD: "Check board",
    TestImage.OBLIQUE_MONO_BAR: "Oblique Mono Bar",
    TestImage.VERTICAL_COLOR_BAR: "Vertical Color Bar",
    TestImage.GRADUAL_COLOR_BAR: "Gradual Color Bar",
    TestImage.HORIZONTAL_COLOR_BAR: "Horizontal Color Bar",
}
# 3.14: monochrome cameras provide the first four, colour cameras all six.
MONO_TEST_IMAGES = (
    TestImage.OFF,
    TestImage.MONO_BAR,
    TestImage.CHECK_BOARD,
    TestImage.OBLIQUE_MONO_BAR,
    TestImage.VERTICAL_COLOR_BAR,
)
COLOR_TEST_IMAGES = tuple(TestImage)


@dataclass(frozen=True)
class ImageSettings:
    """Every image feature; construct or dataclasses.replace() to change (validated on creation).

    ROI (offset_x, offset_y, width, height) is in pixels of the binned image, as SFNC defines
    Width/Height/OffsetX/OffsetY. BlackLevel is in ADC codes (12-bit sensor: 0-4095).
    """

    exposure_time_us: float = 10_000.0
    black_level: int = 64
    gain_raw: float = 1.0
    digital_shift: int = 0
    balance_ratio_red: float = 1.0
    balance_ratio_green: float = 1.0
    balance_ratio_blue: float = 1.0
    gamma_enable: bool = False
    gamma: float = 1.0
    lut_enable: bool = False
    lut: tuple[int, ...] | None = None
    ffc_enable: bool = False
    ffc: FFCCoefficients | None = field(default=None, compare=False)
    test_image: TestImage = TestImage.OFF
    offset_x: int = 0
    offset_y: int = 0
    width: int = 2448
    height: int = 2048
    binning_h: int = 1
    binning_v: int = 1
    reverse_x: bool = False
    reverse_y: bool = False
    pixel_format: int = BAYER_RG8

    def __post_init__(self) -> None:
        _check_range(
            "ExposureTime", self.exposure_time_us, EXPOSURE_TIME_MIN_US, EXPOSURE_TIME_MAX_US
        )
        _check_range("BlackLevel", self.black_level, 0, black_level_max(16))
        _check_range("GainRaw", self.gain_raw, GAIN_RAW_MIN, GAIN_RAW_MAX)
        _check_range("DigitalShift", self.digital_shift, 0, DIGITAL_SHIFT_MAX)
        for colour in ("red", "green", "blue"):
            value = getattr(self, f"balance_ratio_{colour}")
            _check_range(f"BalanceRatio[{colour}]", value, BALANCE_RATIO_MIN, BALANCE_RATIO_MAX)
        _check_range("Gamma", self.gamma, GAMMA_MIN, GAMMA_MAX)
        _check_range("BinningHorizontal", self.binning_h, 1, BINNING_MAX)
        _check_range("BinningVertical", self.binning_v, 1, BINNING_MAX)
        self._check_lut()
        if self.ffc_enable and self.ffc is None:
            raise ImagingError(
                "FFCEnable needs flat-field coefficients; run an FFC calibration first"
            )
        pixel_format_name(self.pixel_format)
        self._check_roi_increments()

    def _check_lut(self) -> None:
        if self.lut_enable and self.gamma_enable and self.gamma != 1.0:
            raise ImagingError(
                "Gamma and LUT are exclusive: set GammaEnable to False or Gamma to 1 "
                "before enabling the LUT (manual 3.12)"
            )
        if self.lut is None:
            if self.lut_enable:
                raise ImagingError("LUTEnable needs a LUT of 4096 values")
            return
        if len(self.lut) != LUT_SIZE:
            raise ImagingError(
                f"the LUT needs {LUT_SIZE} values (LUTIndex 0-4095), got {len(self.lut)}"
            )
        if min(self.lut) < 0 or max(self.lut) > LUT_VALUE_MAX:
            raise ImagingError(f"LUTValue must be within 0-{LUT_VALUE_MAX}")

    def _check_roi_increments(self) -> None:
        for name, value, inc, low in (
            ("Width", self.width, WIDTH_INC, WIDTH_INC),
            ("Height", self.height, HEIGHT_INC, HEIGHT_INC),
            ("OffsetX", self.offset_x, OFFSET_X_INC, 0),
            ("OffsetY", self.offset_y, OFFSET_Y_INC, 0),
        ):
            if value < low or value % inc:
                raise ImagingError(f"{name} {value} must be a multiple of {inc} and at least {low}")

    def check(self, sensor: SensorModel) -> None:
        """Raise ImagingError if these settings do not fit the sensor (ROI, format, test image)."""
        width_max, height_max = sensor.max_size(self.binning_h, self.binning_v)
        if self.offset_x + self.width > width_max:
            raise ImagingError(
                f"OffsetX {self.offset_x} + Width {self.width} exceeds WidthMax {width_max}"
            )
        if self.offset_y + self.height > height_max:
            raise ImagingError(
                f"OffsetY {self.offset_y} + Height {self.height} exceeds HeightMax {height_max}"
            )
        if self.pixel_format not in sensor.pixel_formats:
            names = ", ".join(pixel_format_name(code) for code in sensor.pixel_formats)
            raise ImagingError(
                f"this sensor does not output {pixel_format_name(self.pixel_format)}; use {names}"
            )
        if self.test_image not in sensor.test_images:
            raise ImagingError(f"test image {self.test_image.label} needs a colour camera")
        if self.black_level > black_level_max(sensor.adc_bits):
            raise ImagingError(
                f"BlackLevel {self.black_level} exceeds {black_level_max(sensor.adc_bits)} "
                f"for a {sensor.adc_bits}-bit ADC"
            )
        if self.ffc is not None:
            self.ffc.check_sensor(sensor.width, sensor.height)

    @property
    def balance_ratios(self) -> tuple[float, float, float]:
        """(red, green, blue) BalanceRatio values."""
        return (self.balance_ratio_red, self.balance_ratio_green, self.balance_ratio_blue)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ImagingError(f"{name} {value} is out of range {low:g}-{high:g}")


def full_frame_settings(sensor: SensorModel, **changes: Any) -> ImageSettings:
    """Default settings covering the sensor's full resolution in its natural pixel format."""
    return ImageSettings(
        **{
            "width": sensor.width,
            "height": sensor.height,
            "pixel_format": sensor.pixel_formats[0],
            **changes,
        }
    )
