"""SensorModel: vignetting, fixed-pattern noise and shot noise as the FFC and auto tests need."""

from __future__ import annotations

import numpy as np
import pytest

from openpss.imaging import ImagingError, SensorModel
from openpss.imaging.sensor import ELECTRONS_PER_CODE, PEDESTAL, READ_NOISE, VIGNETTING


def test_vignetting_darkens_the_corners_within_the_ffc_limit() -> None:
    sensor = SensorModel(256, 192, seed=2, noise=False, color=False)
    sensor.set_scene("flat")
    mean = sensor.mean_frame(10_000.0) - PEDESTAL
    centre = mean[86:106, 118:138].mean()
    corner = mean[:8, :8].mean()
    assert corner / centre == pytest.approx(1 - VIGNETTING, abs=0.03)
    assert centre / corner < 2.0  # a flat field of this sensor is accepted by FFC


def test_shot_noise_grows_with_the_signal() -> None:
    sensor = SensorModel(256, 192, seed=2, color=False, noise_frames=2)
    sensor.set_scene("flat")
    rng = np.random.default_rng(0)
    frames: list[np.ndarray] = []
    while len(frames) < 2:  # two different bank entries
        frame = sensor.capture(10_000.0, rng)
        if not any(frame is f for f in frames):
            frames.append(frame)
    diff = frames[0].astype(float) - frames[1].astype(float)
    signal = float(frames[0].mean()) - PEDESTAL
    expected = np.sqrt(2 * (signal / ELECTRONS_PER_CODE + READ_NOISE**2))
    assert diff.std() == pytest.approx(expected, rel=0.05)


def test_fixed_pattern_noise_is_fixed_by_seed() -> None:
    one = SensorModel(64, 32, seed=5, noise=False).mean_frame(1000.0)
    two = SensorModel(64, 32, seed=5, noise=False).mean_frame(1000.0)
    other = SensorModel(64, 32, seed=6, noise=False).mean_frame(1000.0)
    assert np.array_equal(one, two) and not np.array_equal(one, other)


def test_lens_cap_leaves_the_dark_level() -> None:
    sensor = SensorModel(64, 32, seed=5, noise=False)
    sensor.set_scene("pattern", illumination=0.0)
    dark = sensor.capture(50_000.0, np.random.default_rng(0))
    assert abs(float(dark.mean()) - PEDESTAL) < 2.0


def test_bad_sensor_arguments() -> None:
    with pytest.raises(ImagingError, match="sensor size 100x30 must be multiples of 8x2"):
        SensorModel(100, 30)
    sensor = SensorModel(64, 32)
    with pytest.raises(ImagingError, match="unknown scene 'sky'"):
        sensor.set_scene("sky")  # type: ignore[arg-type]
    with pytest.raises(ImagingError, match="illumination -1 is out of range"):
        sensor.set_scene("flat", -1)
