"""BlackLevelAuto, GainAuto and BalanceWhiteAuto converge as the manual's Once mode describes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from openpss.imaging import (
    AUTO_BLACK_TARGET,
    MONO8,
    RGB8,
    ImageSettings,
    ImagingError,
    SensorModel,
    auto_black_level,
    auto_gain,
    auto_white_balance,
    full_frame_settings,
    render_frame,
    settled,
)


@pytest.fixture
def sensor() -> SensorModel:
    return SensorModel(256, 192, seed=8, noise_frames=2)


def _grey_rgb(sensor: SensorModel, settings: ImageSettings) -> np.ndarray:
    frame = render_frame(sensor, replace(settings, pixel_format=RGB8), np.random.default_rng(0))
    x, y, w, h = sensor.grey_patch_box()
    return frame[y : y + h, x : x + w].reshape(-1, 3).mean(axis=0)


def test_white_balance_once_equalises_the_grey_patch(sensor: SensorModel) -> None:
    settings = full_frame_settings(sensor)
    red, green, blue = _grey_rgb(sensor, settings)
    assert red < 0.7 * green  # the scene light gives a green cast
    box = sensor.grey_patch_box()
    rng = np.random.default_rng(3)
    for _ in range(12):
        ratios = auto_white_balance(render_frame(sensor, settings, rng), settings, region=box)
        settings = replace(settings, balance_ratio_red=ratios[0], balance_ratio_blue=ratios[2])
    red, green, blue = _grey_rgb(sensor, settings)
    assert red == pytest.approx(green, rel=0.03) and blue == pytest.approx(green, rel=0.03)
    assert settings.balance_ratio_red == pytest.approx(1 / 0.55, rel=0.05)


def test_white_balance_whole_frame_with_gamma(sensor: SensorModel) -> None:
    settings = full_frame_settings(sensor, pixel_format=RGB8, gamma_enable=True, gamma=0.6)
    rng = np.random.default_rng(3)
    for _ in range(12):
        ratios = auto_white_balance(render_frame(sensor, settings, rng), settings)
        settings = replace(settings, balance_ratio_red=ratios[0], balance_ratio_blue=ratios[2])
    red, green, blue = _grey_rgb(sensor, settings)
    assert red == pytest.approx(green, rel=0.1) and blue == pytest.approx(green, rel=0.1)


def test_white_balance_needs_a_colour_format(sensor: SensorModel) -> None:
    settings = full_frame_settings(sensor, pixel_format=MONO8)
    frame = render_frame(sensor, settings, np.random.default_rng(0))
    with pytest.raises(ImagingError, match="white balance needs a colour pixel format"):
        auto_white_balance(frame, settings)


def test_gain_auto_reaches_the_target_brightness(sensor: SensorModel) -> None:
    settings = full_frame_settings(sensor, exposure_time_us=1500.0)
    rng = np.random.default_rng(5)
    for _ in range(20):
        new_gain = auto_gain(render_frame(sensor, settings, rng), settings, target=0.4)
        done = settled(settings.gain_raw, new_gain)
        settings = replace(settings, gain_raw=new_gain)
        if done:
            break
    assert done
    frame = render_frame(sensor, settings, rng).astype(float) / 255
    assert frame.mean() - settings.black_level / 4095 == pytest.approx(0.4, abs=0.02)
    assert settings.gain_raw > 2.0


def test_gain_auto_stays_within_range(sensor: SensorModel) -> None:
    sensor.set_scene("pattern", illumination=0.0)
    settings = full_frame_settings(sensor)
    assert auto_gain(render_frame(sensor, settings, np.random.default_rng(0)), settings) == 32.0


def test_black_level_auto_sets_the_dark_floor(sensor: SensorModel) -> None:
    sensor.set_scene("pattern", illumination=0.0)
    settings = full_frame_settings(sensor, pixel_format=0x01100011, black_level=600)
    rng = np.random.default_rng(6)
    for _ in range(15):
        settings = replace(
            settings, black_level=auto_black_level(render_frame(sensor, settings, rng), settings)
        )
    floor = np.percentile(render_frame(sensor, settings, rng), 1)
    assert floor == pytest.approx(AUTO_BLACK_TARGET, abs=4)
