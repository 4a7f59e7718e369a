"""ImageSettings validation: the manual's ranges and rules give clear errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openpss.imaging import (
    MONO8,
    ImageSettings,
    ImagingError,
    SensorModel,
    TestImage,
    full_frame_settings,
)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("digital_shift", 5, "DigitalShift 5 is out of range 0-4"),
        ("balance_ratio_red", 15.5, r"BalanceRatio\[red\] 15.5 is out of range 0-15"),
        ("gamma", 4.0, "Gamma 4.0 is out of range 0-3.99998"),
        ("gain_raw", 0.5, "GainRaw 0.5 is out of range 1-32"),
        ("binning_h", 5, "BinningHorizontal 5 is out of range 1-4"),
        ("width", 100, "Width 100 must be a multiple of 8"),
        ("offset_y", 3, "OffsetY 3 must be a multiple of 2"),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ImagingError, match=message):
        replace(ImageSettings(), **{field: value})  # type: ignore[arg-type]


def test_gamma_limits_are_accepted() -> None:
    assert replace(ImageSettings(), gamma=3.99998).gamma == 3.99998
    assert replace(ImageSettings(), gamma=0.0).gamma == 0.0


def test_lut_is_exclusive_with_gamma_unless_gamma_is_one() -> None:
    lut = tuple(range(4096))
    gamma_on = ImageSettings(gamma_enable=True, gamma=0.5, lut=lut)
    with pytest.raises(ImagingError, match="Gamma and LUT are exclusive"):
        replace(gamma_on, lut_enable=True)
    # manual 3.12: "To make it available, set Gamma value to 1."
    assert replace(gamma_on, gamma=1.0, lut_enable=True).lut_enable
    assert replace(gamma_on, gamma_enable=False, lut_enable=True).lut_enable
    lut_on = ImageSettings(lut=lut, lut_enable=True)
    with pytest.raises(ImagingError, match="Gamma and LUT are exclusive"):
        replace(lut_on, gamma_enable=True, gamma=2.2)


def test_lut_shape_and_values_are_checked() -> None:
    with pytest.raises(ImagingError, match="the LUT needs 4096 values"):
        ImageSettings(lut=(0, 1, 2))
    with pytest.raises(ImagingError, match="LUTValue must be within 0-4095"):
        ImageSettings(lut=(4096,) * 4096)


def test_ffc_enable_needs_coefficients() -> None:
    with pytest.raises(ImagingError, match="FFCEnable needs flat-field coefficients"):
        ImageSettings(ffc_enable=True)


def test_check_against_sensor() -> None:
    sensor = SensorModel(256, 192, color=False, noise=False)
    settings = full_frame_settings(sensor)
    settings.check(sensor)
    assert settings.pixel_format == MONO8
    with pytest.raises(ImagingError, match="OffsetX 8 \\+ Width 256 exceeds WidthMax 256"):
        replace(settings, offset_x=8).check(sensor)
    with pytest.raises(ImagingError, match="HeightMax 96"):
        replace(settings, binning_v=2).check(sensor)
    with pytest.raises(ImagingError, match="does not output BayerRG8; use Mono8"):
        replace(settings, pixel_format=0x01080009).check(sensor)
    with pytest.raises(ImagingError, match="Gradual Color Bar needs a colour camera"):
        replace(settings, test_image=TestImage.GRADUAL_COLOR_BAR).check(sensor)
    with pytest.raises(ImagingError, match="BlackLevel 5000 exceeds 4095 for a 12-bit ADC"):
        replace(settings, black_level=5000).check(sensor)


def test_test_image_labels_use_manual_wording() -> None:
    assert [t.label for t in TestImage][1:] == [
        "Mono Bar",
        "Check board",
        "Oblique Mono Bar",
        "Vertical Color Bar",
        "Gradual Color Bar",
        "Horizontal Color Bar",
    ]
