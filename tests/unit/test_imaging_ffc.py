"""Flat-field correction (manual 3.4)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from openpss.imaging import (
    FFCCoefficients,
    FFCError,
    ImageSettings,
    SensorModel,
    compute_ffc,
    ffc_calibration_settings,
    full_frame_settings,
    render_frame,
)


def _capture(sensor: SensorModel, settings: ImageSettings, illumination: float) -> list[np.ndarray]:
    sensor.set_scene("flat", illumination)
    rng = np.random.default_rng(4)
    return [render_frame(sensor, settings, rng) for _ in range(4)]


def _zone_spread(frame: np.ndarray) -> float:
    """max/min of 8 x 8 zone means of the green sites (vignetting shows up here)."""
    green = frame[0::2, 1::2].astype(float)
    h, w = green.shape[0] // 8 * 8, green.shape[1] // 8 * 8
    zones = green[:h, :w].reshape(8, h // 8, 8, w // 8).mean(axis=(1, 3))
    return float(zones.max() / zones.min())


@pytest.fixture
def sensor() -> SensorModel:
    return SensorModel(256, 192, seed=5, noise_frames=2)


def _calibrate(sensor: SensorModel, mode: str) -> FFCCoefficients:
    cal = ffc_calibration_settings(ImageSettings(), width=256, height=192, color=True)
    dark, bright = _capture(sensor, cal, 0.0), _capture(sensor, cal, 1.0)
    return compute_ffc(dark, bright, mode, color=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["point", "plane16"])
def test_ffc_flattens_vignetting(sensor: SensorModel, mode: str) -> None:
    coefficients = _calibrate(sensor, mode)
    settings = full_frame_settings(sensor, exposure_time_us=8000.0)
    sensor.set_scene("flat", 1.0)
    rng = np.random.default_rng(9)
    before = render_frame(sensor, settings, rng)
    after = render_frame(sensor, replace(settings, ffc=coefficients, ffc_enable=True), rng)
    assert _zone_spread(before) > 1.25  # corners ~35 % darker than the centre
    assert _zone_spread(after) < 1.05
    assert abs(float(after.mean()) - float(before.mean())) < 0.1 * float(before.mean())


def test_point_ffc_removes_fixed_pattern_noise(sensor: SensorModel) -> None:
    coefficients = _calibrate(sensor, "point")
    sensor.set_scene("flat", 1.0)
    settings = full_frame_settings(sensor, pixel_format=0x01100011, exposure_time_us=8000.0)
    before = render_frame(sensor, settings, np.random.default_rng(1))[0::2, 1::2].astype(float)
    fixed = replace(settings, ffc=coefficients, ffc_enable=True)
    after = render_frame(sensor, fixed, np.random.default_rng(1))[0::2, 1::2].astype(float)
    assert after.std() < before.std() / 2


def test_ffc_keeps_colour_levels(sensor: SensorModel) -> None:
    coefficients = _calibrate(sensor, "point")
    sensor.set_scene("flat", 1.0)
    settings = full_frame_settings(sensor, exposure_time_us=8000.0)
    rng = np.random.default_rng(2)
    after = render_frame(sensor, replace(settings, ffc=coefficients, ffc_enable=True), rng)
    # R sites respond at 0.55 of G: FFC must not white-balance the mosaic.
    assert after[0::2, 0::2].mean() / after[0::2, 1::2].mean() == pytest.approx(0.55, rel=0.08)


def test_ratio_above_two_is_refused() -> None:
    dark = [np.full((64, 64), 100, dtype=np.uint16)]
    ramp = np.linspace(600, 2100, 64)  # response 500 .. 2000: ratio about 4
    bright = [np.tile(ramp, (64, 1)).astype(np.uint16)]
    with pytest.raises(FFCError, match=r"max/min brightness ratio is 3\.\d+, FFC allows at most 2"):
        compute_ffc(dark, bright)


def test_ratio_of_two_is_accepted() -> None:
    dark = [np.full((64, 64), 100, dtype=np.uint16)]
    bright = [np.tile(np.repeat([1100, 2100], 32), (64, 1)).astype(np.uint16)]
    coefficients = compute_ffc(dark, bright, "plane16")
    assert coefficients.gain.shape == (16, 16)
    assert coefficients.gain.max() / coefficients.gain.min() == pytest.approx(2.0)


def test_bad_calibration_frames_are_refused() -> None:
    dark = [np.full((32, 32), 100, dtype=np.uint16)]
    with pytest.raises(FFCError, match="no bright-field frames"):
        compute_ffc(dark, [])
    with pytest.raises(FFCError, match="dark-field frames are \\(32, 32\\), bright-field"):
        compute_ffc(dark, [np.full((32, 16), 900, dtype=np.uint16)])
    with pytest.raises(FFCError, match="not brighter than the dark field"):
        compute_ffc(dark, [np.full((32, 32), 90, dtype=np.uint16)])
    with pytest.raises(FFCError, match=r"100\.0% of the bright-field pixels are saturated"):
        compute_ffc(dark, [np.full((32, 32), 4095, dtype=np.uint16)])
    with pytest.raises(FFCError, match="unknown FFC mode 'line'"):
        compute_ffc(dark, dark, "line")  # type: ignore[arg-type]


def test_8_bit_frames_are_scaled_to_adc_codes() -> None:
    dark = [np.full((32, 32), 10, dtype=np.uint8), np.full((32, 32), 12, dtype=np.uint8)]
    bright = [np.full((32, 32), 200, dtype=np.uint8)]
    coefficients = compute_ffc(dark, bright, bit_depth=8)
    assert np.allclose(coefficients.dark, 0.0)
    assert np.allclose(coefficients.gain, 1.0)


def test_upload_format_round_trip(sensor: SensorModel) -> None:
    coefficients = _calibrate(sensor, "plane16")
    data = coefficients.to_bytes()
    assert data[:4] == b"OFFC" and len(data) == 16 + 4 * 256
    parsed = FFCCoefficients.from_bytes(data)
    assert parsed.mode == "plane16" and (parsed.sensor_width, parsed.sensor_height) == (256, 192)
    assert np.abs(parsed.gain - coefficients.gain).max() <= 1 / 4096
    assert np.abs(parsed.dark - coefficients.dark).max() <= 1 / 16


def test_upload_format_golden_header() -> None:
    coefficients = FFCCoefficients(
        "plane16", 8, 2, np.full((16, 16), -0.5, np.float32), np.full((16, 16), 1.5, np.float32)
    )
    data = coefficients.to_bytes()
    assert data[:16] == bytes.fromhex("4f464643 01 01 0000 08000000 02000000".replace(" ", ""))
    assert data[16:18] == (-8).to_bytes(2, "little", signed=True)
    assert data[16 + 512 : 18 + 512] == (6144).to_bytes(2, "little")


def test_malformed_upload_is_refused() -> None:
    with pytest.raises(FFCError, match="FFC data is truncated: 3 bytes"):
        FFCCoefficients.from_bytes(b"OFF")
    with pytest.raises(FFCError, match="does not start with the OFFC version 1 header"):
        FFCCoefficients.from_bytes(b"XXXX" + bytes(12))
    header = bytes.fromhex("4f46464301010000080000000200000000")
    with pytest.raises(FFCError, match="needs 1040 bytes, got 17"):
        FFCCoefficients.from_bytes(header)
    with pytest.raises(FFCError, match="unknown mode 7"):
        FFCCoefficients.from_bytes(b"OFFC\x01\x07" + bytes(10))


def test_coefficients_for_another_sensor_are_refused(sensor: SensorModel) -> None:
    coefficients = _calibrate(sensor, "plane16")
    other = SensorModel(128, 96)
    settings = full_frame_settings(other, ffc=coefficients, ffc_enable=True)
    with pytest.raises(FFCError, match="are for a 256x192 sensor, this one is 128x96"):
        render_frame(other, settings, np.random.default_rng(0))
