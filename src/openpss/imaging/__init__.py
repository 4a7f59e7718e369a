"""The camera image pipeline: pure, vectorised NumPy, no I/O (issue 5, manual chapter 3).

Device side (the virtual camera calls this per frame)::

    sensor = SensorModel(2448, 2048, seed=1)             # colour (Bayer RG) 12-bit sensor
    settings = ImageSettings(gain_raw=2.0, pixel_format=BAYER_RG8)
    settings.check(sensor)                                # ImagingError on a bad feature value
    frame = render_frame(sensor, settings, rng)           # np.ndarray in the format's dtype
    payload = pack(frame, settings.pixel_format)          # bytes exactly as GVSP carries them
    assert len(payload) == payload_size(settings.width, settings.height, settings.pixel_format)

Change a feature with `dataclasses.replace(settings, field=value)`; ImageSettings validates in
`__post_init__` (ranges, Gamma/LUT exclusivity) and `check(sensor)` (ROI, formats, test
images) and raises ImagingError with the reason; map it to a GVCP error status.
Auto modes: `auto_gain`, `auto_black_level`, `auto_white_balance` return the next value from a
frame rendered with the current settings (call per frame; "Once" stops when `settled`).
Client side: `compute_ffc` (dark/bright frames -> FFCCoefficients; `to_bytes`/`from_bytes`
is the upload format), `to_rgb8` for display, `frame_rate`, `bandwidth_mib_s`, `loss_rate`
for statistics.
"""

from __future__ import annotations

from openpss.imaging.auto import (
    AUTO_BLACK_TARGET,
    AUTO_GAIN_TARGET,
    auto_black_level,
    auto_gain,
    auto_white_balance,
    settled,
)
from openpss.imaging.convert import demosaic, preview_rgb8, to_rgb8
from openpss.imaging.errors import FFCError, ImagingError
from openpss.imaging.ffc import (
    MAX_BRIGHTNESS_RATIO,
    FFCCoefficients,
    compute_ffc,
    ffc_calibration_settings,
)
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
    PIXEL_FORMATS,
    RGB8,
    bits_per_pixel,
    pack,
    payload_size,
    pixel_format_code,
    pixel_format_name,
    unpack,
)
from openpss.imaging.pipeline import render_frame, tone_curve
from openpss.imaging.sensor import SensorModel
from openpss.imaging.settings import (
    BALANCE_RATIO_MAX,
    BALANCE_RATIO_MIN,
    DIGITAL_SHIFT_MAX,
    EXPOSURE_TIME_MAX_US,
    EXPOSURE_TIME_MIN_US,
    GAIN_RAW_MAX,
    GAIN_RAW_MIN,
    GAMMA_MAX,
    GAMMA_MIN,
    HEIGHT_INC,
    LUT_SIZE,
    LUT_VALUE_MAX,
    OFFSET_X_INC,
    OFFSET_Y_INC,
    WIDTH_INC,
    ImageSettings,
    TestImage,
    black_level_max,
    full_frame_settings,
)
from openpss.imaging.stats import average_rate, bandwidth_mib_s, frame_rate, loss_rate

Scene = SensorModel  # the brief's alias: the sensor owns its synthetic scene

__all__ = [
    "AUTO_BLACK_TARGET",
    "AUTO_GAIN_TARGET",
    "BALANCE_RATIO_MAX",
    "BALANCE_RATIO_MIN",
    "BAYER_RG8",
    "BAYER_RG12",
    "BAYER_RG16",
    "BGR8",
    "DIGITAL_SHIFT_MAX",
    "EXPOSURE_TIME_MAX_US",
    "EXPOSURE_TIME_MIN_US",
    "GAIN_RAW_MAX",
    "GAIN_RAW_MIN",
    "GAMMA_MAX",
    "GAMMA_MIN",
    "HEIGHT_INC",
    "LUT_SIZE",
    "LUT_VALUE_MAX",
    "MAX_BRIGHTNESS_RATIO",
    "MONO8",
    "MONO10",
    "MONO12",
    "MONO12_PACKED",
    "MONO16",
    "OFFSET_X_INC",
    "OFFSET_Y_INC",
    "PIXEL_FORMATS",
    "RGB8",
    "WIDTH_INC",
    "FFCCoefficients",
    "FFCError",
    "ImageSettings",
    "ImagingError",
    "Scene",
    "SensorModel",
    "TestImage",
    "auto_black_level",
    "auto_gain",
    "auto_white_balance",
    "average_rate",
    "bandwidth_mib_s",
    "bits_per_pixel",
    "black_level_max",
    "compute_ffc",
    "demosaic",
    "ffc_calibration_settings",
    "frame_rate",
    "full_frame_settings",
    "loss_rate",
    "pack",
    "payload_size",
    "pixel_format_code",
    "pixel_format_name",
    "preview_rgb8",
    "render_frame",
    "settled",
    "to_rgb8",
    "tone_curve",
    "unpack",
]
