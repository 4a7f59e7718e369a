"""The camera's frame ring: pre-rendered noise frames reused until a setting or scene changes."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from openpss.devices.camera.model import CameraModel
from openpss.devices.camera.render import ImageSource
from openpss.imaging import formats
from openpss.imaging.pipeline import render_frame
from openpss.imaging.settings import ImageSettings


def _settings(**changes: Any) -> ImageSettings:
    base = ImageSettings(width=64, height=32, pixel_format=formats.MONO12)
    return dataclasses.replace(base, **changes)


def test_unchanged_settings_cycle_a_ring_of_distinct_noise_frames() -> None:
    source = ImageSource(64, 32, seed=3, color=False)
    frames = [source.render(_settings()) for _ in range(40)]
    assert source.renders == source.sensor.bank_frames == 4
    distinct = {frame.tobytes() for frame in frames}
    assert len(distinct) == 4  # temporal noise still varies from frame to frame
    assert all(not frame.flags.writeable for frame in frames)


def test_ring_frames_equal_a_direct_render_of_the_same_noise_frame() -> None:
    source = ImageSource(64, 32, seed=3, color=False)
    settings = _settings(gain_raw=2.0, black_level=40)
    frame = source.render(settings)
    direct = [render_frame(source.sensor, settings, source.rng, i) for i in range(4)]
    assert any(np.array_equal(frame, other) for other in direct)


def test_a_setting_or_the_scene_change_renders_again() -> None:
    source = ImageSource(64, 32, seed=3, color=False)
    dim = np.mean([source.render(_settings()).mean() for _ in range(20)])
    bright = np.mean([source.render(_settings(gain_raw=2.0)).mean() for _ in range(20)])
    assert bright > 1.5 * dim
    source.sensor.set_scene("pattern", 0.0)  # lens covered
    dark = np.mean([source.render(_settings()).mean() for _ in range(20)])
    assert dark < 0.2 * dim
    assert source.renders == 12


def test_set_view_points_the_sensor_and_refuses_unknown_views() -> None:
    camera = CameraModel(data_dir=None, width=64, height=32)
    camera.set_view("flat", 2.0)
    assert (camera.images.sensor.scene, camera.images.sensor.illumination) == ("flat", 2.0)
    camera.set_view("dark")
    assert camera.images.sensor.illumination == 0.0
    camera.set_view("scene")
    assert (camera.images.sensor.scene, camera.images.sensor.illumination) == ("pattern", 1.0)
    with pytest.raises(ValueError, match="unknown view 'sunset'; use scene, flat or dark"):
        camera.set_view("sunset")


def test_line_time_sets_the_sensor_limited_frame_rate() -> None:
    normal = CameraModel(data_dir=None, width=2048, height=2048)
    fast = CameraModel(data_dir=None, width=2048, height=2048, line_time_ns=500)
    for camera in (normal, fast):
        camera.set("PixelFormat", "Mono8")
        camera.set("ExposureTime", 1000.0)
        camera.set("DeviceLinkThroughputLimit", 10_000_000_000)
    assert normal.get("ResultingFrameRateAbs") == pytest.approx(1e9 / (2048 * 7500 + 100_000))
    link_ns = 2048 * 2048 * 8 * 1.03 / 10e9 * 1e9
    assert fast.get("ResultingFrameRateAbs") == pytest.approx(1e9 / link_ns)
