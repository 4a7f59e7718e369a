"""render_frame: each setting changes the image as the manual says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from openpss.imaging import (
    BAYER_RG12,
    MONO8,
    MONO10,
    MONO12,
    MONO12_PACKED,
    MONO16,
    RGB8,
    ImageSettings,
    SensorModel,
    TestImage,
    full_frame_settings,
    pack,
    payload_size,
    render_frame,
    tone_curve,
    unpack,
)


@pytest.fixture
def sensor() -> SensorModel:
    return SensorModel(256, 192, seed=3, noise=False)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def _grey_mean(sensor: SensorModel, frame: np.ndarray) -> float:
    x, y, w, h = sensor.grey_patch_box()
    return float(frame[y : y + h, x : x + w].mean())


def test_frame_matches_payload_size(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor)
    frame = render_frame(sensor, settings, rng)
    assert frame.shape == (192, 256) and frame.dtype == np.uint8
    assert len(pack(frame, settings.pixel_format)) == payload_size(256, 192, settings.pixel_format)


def test_black_level_shifts_the_dark_image(sensor: SensorModel, rng: np.random.Generator) -> None:
    sensor.set_scene("pattern", illumination=0.0)  # lens cap: only the black level remains
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12)
    low = render_frame(sensor, replace(settings, black_level=100), rng).astype(float)
    high = render_frame(sensor, replace(settings, black_level=400), rng).astype(float)
    assert abs(low.mean() - 100) < 1.0
    assert abs((high - low).mean() - 300) < 0.01


def test_gain_and_digital_shift_scale_the_signal(
    sensor: SensorModel, rng: np.random.Generator
) -> None:
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12, exposure_time_us=2000.0)
    black = settings.black_level
    base = _grey_mean(sensor, render_frame(sensor, settings, rng)) - black
    doubled = _grey_mean(sensor, render_frame(sensor, replace(settings, gain_raw=2.0), rng)) - black
    shifted = (
        _grey_mean(sensor, render_frame(sensor, replace(settings, digital_shift=2), rng)) - black
    )
    assert base > 100
    assert doubled / base == pytest.approx(2.0, rel=0.01)
    assert shifted / base == pytest.approx(4.0, rel=0.01)


def test_gain_saturates_at_full_scale(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor, gain_raw=32.0)
    assert render_frame(sensor, settings, rng).max() == 255


def test_balance_ratio_scales_only_its_colour(
    sensor: SensorModel, rng: np.random.Generator
) -> None:
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12, black_level=0)
    before = render_frame(sensor, settings, rng).astype(float)
    after = render_frame(sensor, replace(settings, balance_ratio_red=1.5), rng).astype(float)
    assert after[0::2, 0::2].mean() / before[0::2, 0::2].mean() == pytest.approx(1.5, rel=0.01)
    assert np.array_equal(after[1::2, 1::2], before[1::2, 1::2])
    assert np.array_equal(after[0::2, 1::2], before[0::2, 1::2])


def test_gamma_curve_brightens_below_one_and_darkens_above() -> None:
    curve = tone_curve(ImageSettings(gamma_enable=True, gamma=0.5, pixel_format=MONO12))
    assert curve[1024] == round(4095 * (1024 / 4095) ** 0.5)
    assert curve[0] == 0 and curve[4095] == 4095
    dark = tone_curve(ImageSettings(gamma_enable=True, gamma=2.0, pixel_format=MONO12))
    assert dark[2048] < 2048 < curve[2048]
    disabled = tone_curve(ImageSettings(gamma_enable=False, gamma=0.5, pixel_format=MONO12))
    assert np.array_equal(disabled, np.arange(4096))  # 3.12: Gamma is not valid when disabled


def test_gamma_makes_the_image_brighter(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor)
    plain = _grey_mean(sensor, render_frame(sensor, settings, rng))
    bright = _grey_mean(
        sensor, render_frame(sensor, replace(settings, gamma_enable=True, gamma=0.5), rng)
    )
    assert bright > plain * 1.2


def test_lut_maps_the_values(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12)
    inverted = tuple(4095 - v for v in range(4096))
    plain = render_frame(sensor, settings, rng).astype(int)
    mapped = render_frame(sensor, replace(settings, lut=inverted, lut_enable=True), rng)
    assert np.array_equal(mapped, 4095 - plain)


def test_bit_depths_agree(sensor: SensorModel, rng: np.random.Generator) -> None:
    mono = SensorModel(256, 192, seed=3, color=False, noise=False)
    settings = full_frame_settings(mono)
    mono8 = render_frame(mono, settings, rng)
    mono12 = render_frame(mono, replace(settings, pixel_format=MONO12), rng)
    mono16 = render_frame(mono, replace(settings, pixel_format=MONO16), rng)
    assert mono12.dtype == np.uint16 and mono12.max() <= 4095
    assert np.array_equal(mono8, mono12 >> 4)
    assert np.array_equal(mono16, mono12 << 4)


def test_mono10_and_mono12_packed_payloads(rng: np.random.Generator) -> None:
    mono = SensorModel(256, 192, seed=3, color=False, noise=False)
    settings = full_frame_settings(mono, pixel_format=MONO12)
    mono12 = render_frame(mono, settings, rng)
    mono10 = render_frame(mono, replace(settings, pixel_format=MONO10), rng)
    assert np.array_equal(mono10, mono12 >> 2)
    packed = replace(settings, pixel_format=MONO12_PACKED)
    payload = pack(render_frame(mono, packed, rng), MONO12_PACKED)
    assert len(payload) == payload_size(256, 192, MONO12_PACKED) == 256 * 192 * 3 // 2
    assert np.array_equal(unpack(payload, MONO12_PACKED, 256, 192), mono12)


def test_rgb8_output_of_a_colour_sensor(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor, pixel_format=RGB8, balance_ratio_red=1 / 0.55)
    frame = render_frame(sensor, replace(settings, balance_ratio_blue=1 / 0.75), rng)
    assert frame.shape == (192, 256, 3)
    x, y, w, h = sensor.grey_patch_box()
    red, green, blue = frame[y : y + h, x : x + w].reshape(-1, 3).mean(axis=0)
    assert red == pytest.approx(green, rel=0.03) and blue == pytest.approx(green, rel=0.03)
    mono = render_frame(sensor, replace(settings, pixel_format=MONO8), rng)
    assert mono.shape == (192, 256)


def test_roi_crops_the_sensor(sensor: SensorModel, rng: np.random.Generator) -> None:
    full = render_frame(sensor, full_frame_settings(sensor), rng)
    roi = full_frame_settings(sensor, offset_x=16, offset_y=10, width=64, height=32)
    assert np.array_equal(render_frame(sensor, roi, rng), full[10:42, 16:80])


def test_reverse_x_and_y_mirror_a_mono_image(rng: np.random.Generator) -> None:
    mono = SensorModel(256, 192, seed=3, color=False, noise=False)
    settings = full_frame_settings(mono)
    plain = render_frame(mono, settings, rng)
    assert np.array_equal(
        render_frame(mono, replace(settings, reverse_x=True), rng), plain[:, ::-1]
    )
    both = replace(settings, reverse_x=True, reverse_y=True)
    assert np.array_equal(render_frame(mono, both, rng), plain[::-1, ::-1])


def test_reverse_keeps_the_bayer_phase(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor)
    plain = render_frame(sensor, settings, rng)
    mirrored = render_frame(sensor, replace(settings, reverse_x=True), rng)
    # Red sites stay at even columns: the red plane is mirrored as a whole.
    assert np.array_equal(mirrored[0::2, 0::2], plain[0::2, 0::2][:, ::-1])
    assert np.array_equal(mirrored[1::2, 1::2], plain[1::2, 1::2][:, ::-1])


def test_binning_averages_and_halves_the_size(rng: np.random.Generator) -> None:
    mono = SensorModel(256, 192, seed=3, color=False, noise=False)
    settings = full_frame_settings(mono, pixel_format=MONO12)
    plain = render_frame(mono, settings, rng).astype(float)
    binned = render_frame(
        mono, replace(settings, binning_h=2, binning_v=2, width=128, height=96), rng
    )
    assert binned.shape == (96, 128)
    expected = plain.reshape(96, 2, 128, 2).mean(axis=(1, 3))
    assert np.abs(binned - expected).max() <= 1.0


def test_bayer_binning_bins_same_colour_pixels(
    sensor: SensorModel, rng: np.random.Generator
) -> None:
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12)
    plain = render_frame(sensor, settings, rng).astype(float)
    binned = render_frame(sensor, replace(settings, binning_h=2, width=128), rng).astype(float)
    red = plain[0::2, 0::2].reshape(96, 64, 2).mean(axis=2)
    assert np.abs(binned[0::2, 0::2] - red).max() <= 1.0


def test_noise_varies_between_frames_but_is_fixed_by_seed() -> None:
    sensor = SensorModel(256, 192, seed=3, noise_frames=4)
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12)
    frames = [render_frame(sensor, settings, np.random.default_rng(i)) for i in range(8)]
    assert len({frame.tobytes() for frame in frames}) > 1
    again = SensorModel(256, 192, seed=3, noise_frames=4)
    assert np.array_equal(render_frame(again, settings, np.random.default_rng(0)), frames[0])


def test_exposure_scales_the_signal(sensor: SensorModel, rng: np.random.Generator) -> None:
    settings = full_frame_settings(sensor, pixel_format=BAYER_RG12, black_level=0)
    short = _grey_mean(
        sensor, render_frame(sensor, replace(settings, exposure_time_us=2000.0), rng)
    )
    long = _grey_mean(sensor, render_frame(sensor, replace(settings, exposure_time_us=4000.0), rng))
    assert long / short == pytest.approx(2.0, rel=0.01)


class TestTestImages:
    """3.14: test images replace the live image and ignore the image processing."""

    def test_mono_bar(self, sensor: SensorModel, rng: np.random.Generator) -> None:
        mono = SensorModel(64, 4, color=False, noise=False)
        settings = full_frame_settings(mono, width=64, height=4, test_image=TestImage.MONO_BAR)
        frame = render_frame(mono, replace(settings, gain_raw=8.0), rng)
        assert frame[0].tolist() == [round(i * 255 / 7) for i in range(8) for _ in range(8)]
        assert (frame == frame[0]).all()

    def test_check_board(self, sensor: SensorModel, rng: np.random.Generator) -> None:
        settings = full_frame_settings(sensor, pixel_format=MONO8, test_image=TestImage.CHECK_BOARD)
        frame = render_frame(sensor, settings, rng)
        assert (
            frame[0, 0] == 0 and frame[0, 64] == 255 and frame[64, 0] == 255 and frame[64, 64] == 0
        )
        assert set(np.unique(frame).tolist()) == {0, 255}

    def test_oblique_mono_bar(self, sensor: SensorModel, rng: np.random.Generator) -> None:
        settings = full_frame_settings(
            sensor, pixel_format=MONO8, test_image=TestImage.OBLIQUE_MONO_BAR
        )
        frame = render_frame(sensor, settings, rng)
        y, x = np.indices(frame.shape)
        assert np.array_equal(frame, (x + y) % 256)

    def test_colour_bars_in_rgb8(self, sensor: SensorModel, rng: np.random.Generator) -> None:
        settings = full_frame_settings(sensor, pixel_format=RGB8)
        vertical = render_frame(
            sensor, replace(settings, test_image=TestImage.VERTICAL_COLOR_BAR), rng
        )
        assert vertical[5, ::32].tolist() == [
            [255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0],
            [255, 0, 255], [255, 0, 0], [0, 0, 255], [0, 0, 0],
        ]  # fmt: skip
        horizontal = render_frame(
            sensor, replace(settings, test_image=TestImage.HORIZONTAL_COLOR_BAR), rng
        )
        assert np.array_equal(horizontal[::24, 7], vertical[5, ::32])
        gradual = render_frame(
            sensor, replace(settings, test_image=TestImage.GRADUAL_COLOR_BAR), rng
        )
        assert gradual[0].max() == 0 and gradual[-1, 0].tolist() == [255, 255, 255]
        assert (np.diff(gradual[:, 0, 0].astype(int)) >= 0).all()

    def test_colour_bars_as_bayer_mosaic(
        self, sensor: SensorModel, rng: np.random.Generator
    ) -> None:
        settings = full_frame_settings(sensor, test_image=TestImage.VERTICAL_COLOR_BAR)
        frame = render_frame(sensor, settings, rng)
        # Bar 5 (red): R sites 255, G and B sites 0; bar 2 (cyan): R 0, G and B 255.
        assert frame[0, 160:162].tolist() == [255, 0] and frame[1, 161] == 0
        assert frame[0, 64:66].tolist() == [0, 255] and frame[1, 65] == 255

    def test_test_image_in_12_bit(self, sensor: SensorModel, rng: np.random.Generator) -> None:
        settings = full_frame_settings(
            sensor, pixel_format=BAYER_RG12, test_image=TestImage.CHECK_BOARD
        )
        assert render_frame(sensor, settings, rng).max() == 255 << 4
