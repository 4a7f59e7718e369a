"""Image features, their mode rules, FFC upload, auto functions and user sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openpss.devices.camera.errors import AccessDenied, InvalidParameter
from openpss.devices.camera.features import FFC_DATA_ADDRESS
from openpss.devices.camera.frames import Frame
from openpss.devices.camera.model import CameraModel
from openpss.imaging.ffc import FFCCoefficients

MS = 1_000_000


@pytest.fixture
def camera() -> CameraModel:
    return CameraModel(data_dir=None, width=64, height=32)


def grab(camera: CameraModel) -> np.ndarray:
    """One frame (SingleFrame) as an array of the payload bytes."""
    camera.set("AcquisitionMode", "SingleFrame")
    camera.set("AcquisitionStart", None)
    frames: list[Frame] = []
    t = camera.engine.now
    while not frames:
        t += 5 * MS
        frames = camera.poll(t)
    return np.frombuffer(bytes(frames[0].payload), np.uint8)


def upload_ffc(camera: CameraModel, gain: np.ndarray, mode: str = "point") -> None:
    dark = np.zeros_like(gain)
    data = FFCCoefficients(mode, 64, 32, dark, gain).to_bytes()  # type: ignore[arg-type]
    for offset in range(0, len(data), 512):  # WRITEMEM-sized chunks
        camera.write(FFC_DATA_ADDRESS + offset, data[offset : offset + 512])
    camera.set("FFCDataLoad", None)


def test_binning_shrinks_the_maximum_and_refits_the_roi(camera: CameraModel) -> None:
    camera.set("BinningHorizontal", 2)
    assert camera.get("WidthMax") == 32 and camera.get("Width") == 32
    camera.set("BinningVertical", 4)
    assert camera.get("HeightMax") == 8 and camera.get("Height") == 8
    assert camera.payload_size == 32 * 8


def test_roi_limits_depend_on_each_other(camera: CameraModel) -> None:
    camera.set("Width", 40)
    camera.set("OffsetX", 24)
    with pytest.raises(InvalidParameter, match="Width 48 is out of range 8-40"):
        camera.set("Width", 48)
    with pytest.raises(InvalidParameter, match="OffsetY 2 is out of range 0-0"):
        camera.set("OffsetY", 2)


def test_gamma_is_locked_until_enabled_and_exclusive_with_the_lut(camera: CameraModel) -> None:
    with pytest.raises(AccessDenied, match="GammaEnable is False"):
        camera.set("Gamma", 0.5)
    camera.set("GammaEnable", True)
    camera.set("Gamma", 0.5)
    with pytest.raises(AccessDenied, match="set Gamma to 1"):
        camera.set("LUTEnable", True)
    camera.set("Gamma", 1.0)
    camera.set("LUTEnable", True)
    with pytest.raises(AccessDenied, match="exclusive"):
        camera.set("Gamma", 2.0)
    camera.set("LUTEnable", False)
    with pytest.raises(InvalidParameter, match=r"0-3\.99998"):
        camera.set("Gamma", 4.0)


def test_lut_values_shape_the_image(camera: CameraModel) -> None:
    camera.set("PixelFormat", "Mono8")
    camera.set("LUTEnable", True)
    for index in range(4096):
        camera.set("LUTIndex", index)
        camera.set("LUTValue", 4095 - index)
    camera.set("LUTIndex", 10)
    assert camera.get("LUTValue") == 4085
    inverted = grab(camera)
    camera.set("LUTEnable", False)
    plain = grab(camera)
    assert inverted.mean() > plain.mean() + 50
    assert abs(inverted.mean() + plain.mean() - 255) < 15  # LUTValue = 4095 - LUTIndex


def test_manual_gain_and_balance_are_locked_while_auto(camera: CameraModel) -> None:
    camera.set("GainAuto", "Continuous")
    with pytest.raises(AccessDenied, match="set GainAuto to Off first"):
        camera.set("GainRaw", 2.0)
    camera.set("BlackLevelAuto", "Once")
    with pytest.raises(AccessDenied, match="BlackLevelAuto"):
        camera.set("BlackLevel", 10)
    camera.set("BalanceWhiteAuto", "Continuous")
    with pytest.raises(AccessDenied, match="BalanceWhiteAuto"):
        camera.set("BalanceRatio", 2.0)


def test_balance_ratio_range_and_selector(camera: CameraModel) -> None:
    camera.set("BalanceRatioSelector", "Green")
    camera.set("BalanceRatio", 15.0)
    with pytest.raises(InvalidParameter, match="0-15"):
        camera.set("BalanceRatio", 15.5)
    assert camera.get("BalanceRatio", BalanceRatioSelector="Red") == 1.0


def test_gain_auto_once_adjusts_and_turns_off(camera: CameraModel) -> None:
    camera.set("ExposureTime", 500.0)  # dark image: auto gain must raise the gain
    camera.set("GainAuto", "Once")
    camera.set("AcquisitionStart", None)
    t = 0
    while camera.get("GainAuto") != "Off" and t < 2000 * MS:
        t += 10 * MS
        camera.poll(t)
    assert camera.get("GainAuto") == "Off"
    assert camera.get("GainRaw") > 1.0


def test_test_images_replace_the_live_image(camera: CameraModel) -> None:
    camera.set("PixelFormat", "Mono8")
    live = grab(camera)
    camera.set("TestImageSelector", "CheckBoard")
    first, second = grab(camera), grab(camera)
    assert np.array_equal(first, second) and not np.array_equal(first, live)


def test_ffc_needs_loaded_coefficients(camera: CameraModel) -> None:
    with pytest.raises(AccessDenied, match="FFCDataLoad"):
        camera.set("FFCEnable", True)
    upload_ffc(camera, np.ones((32, 64), np.float32))
    assert camera.get("FFCStatus") == "Loaded"
    camera.set("FFCEnable", True)
    assert camera.image_settings().ffc_enable
    camera.set("FFCMode", "Plane16x16")  # nothing loaded for this mode yet
    assert not camera.image_settings().ffc_enable


def test_ffc_refuses_a_brightness_ratio_above_two(camera: CameraModel) -> None:
    gain = np.tile(np.linspace(1.0, 3.0, 64, dtype=np.float32), (32, 1))
    with pytest.raises(InvalidParameter, match=r"ratio 2\.\d+ exceeds 2"):
        upload_ffc(camera, gain)
    assert camera.get("FFCStatus") == "RatioExceeded"
    with pytest.raises(AccessDenied):
        camera.set("FFCEnable", True)


def test_ffc_refuses_data_of_another_mode(camera: CameraModel) -> None:
    camera.set("FFCMode", "PointToPoint")
    with pytest.raises(InvalidParameter, match="refused"):
        upload_ffc(camera, np.ones((16, 16), np.float32), mode="plane16")
    assert camera.get("FFCStatus") == "InvalidData"
    camera.set("FFCMode", "Plane16x16")
    assert camera.get("FFCDataSize") == 16 + 4 * 256
    upload_ffc(camera, np.ones((16, 16), np.float32), mode="plane16")
    assert camera.get("FFCStatus") == "Loaded"


def test_user_sets_persist_and_load_at_power_up(tmp_path: Path) -> None:
    camera = CameraModel(data_dir=tmp_path, width=64, height=32)
    camera.set("Width", 32)
    camera.set("TriggerSelector", "AcquisitionStart")
    camera.set("TriggerMode", "On")
    camera.set("UserSetSelector", "UserSet1")
    camera.set("UserSetSave", None)
    camera.set("UserSetDefault", "UserSet1")
    camera.set("Width", 64)
    camera.set("UserSetLoad", None)
    assert camera.get("Width") == 32

    again = CameraModel(data_dir=tmp_path, width=64, height=32)
    assert again.get("UserSetDefault") == "UserSet1"
    assert again.get("Width") == 32
    assert again.get("TriggerMode", TriggerSelector="AcquisitionStart") == "On"
    again.set("UserSetSelector", "Default")
    again.set("UserSetLoad", None)
    assert again.get("Width") == 64


def test_user_set_rules(tmp_path: Path) -> None:
    camera = CameraModel(data_dir=tmp_path, width=64, height=32)
    with pytest.raises(AccessDenied, match="Default user set is read-only"):
        camera.set("UserSetSave", None)
    camera.set("UserSetSelector", "UserSet2")
    with pytest.raises(InvalidParameter, match="UserSet2 was never saved"):
        camera.set("UserSetLoad", None)
    with pytest.raises(InvalidParameter, match="never saved"):
        camera.set("UserSetDefault", "UserSet2")
    camera.set("AcquisitionStart", None)
    with pytest.raises(AccessDenied, match="while acquiring"):
        camera.set("UserSetLoad", None)


def test_a_damaged_user_set_file_falls_back_to_factory_settings(tmp_path: Path) -> None:
    (tmp_path / "camera-usersets.json").write_text("{not json")
    camera = CameraModel(data_dir=tmp_path, width=64, height=32)
    assert camera.get("UserSetDefault") == "Default" and camera.get("Width") == 64


def test_device_information(camera: CameraModel) -> None:
    assert camera.get("DeviceVendorName") == "openpss"
    assert camera.get("DeviceModelName") == "OPSS-GV64C"
    assert camera.get("DeviceSerialNumber") == "OPSS0001"
    assert -30 <= camera.get("DeviceTemperature") <= 80
    assert camera.get("DeviceScanType") == "Areascan"


def test_mono_sensor_offers_mono_formats_and_the_mono_test_images() -> None:
    camera = CameraModel(data_dir=None, width=64, height=32, color=False)
    formats = [e.name for e in camera.table["PixelFormat"].entries]
    assert formats[0] == "Mono8" and "BayerRG8" not in formats
    images = [e.name for e in camera.table["TestImageSelector"].entries]
    assert "GradualColorBar" not in images and "VerticalColorBar" in images
    assert camera.model_name == "OPSS-GV64M"


def run_until_off(camera: CameraModel, name: str, limit_ns: int = 2000 * MS) -> None:
    camera.set("AcquisitionStart", None)
    t = camera.engine.now
    while camera.get(name) != "Off" and t < limit_ns:
        t += 10 * MS
        camera.poll(t)
    camera.set("AcquisitionStop", None)


def test_white_balance_once_changes_the_ratios_and_turns_off(camera: CameraModel) -> None:
    camera.set("BalanceWhiteAuto", "Once")
    run_until_off(camera, "BalanceWhiteAuto")
    assert camera.get("BalanceWhiteAuto") == "Off"
    ratios = [camera.get("BalanceRatio", BalanceRatioSelector=c) for c in ("Red", "Blue")]
    assert ratios != [1.0, 1.0]


def test_white_balance_once_of_a_mono_format_gives_up(camera: CameraModel) -> None:
    camera.set("PixelFormat", "Mono8")
    camera.set("BalanceWhiteAuto", "Once")
    run_until_off(camera, "BalanceWhiteAuto", 50 * MS)
    assert camera.get("BalanceWhiteAuto") == "Off"
    assert camera.get("BalanceRatio", BalanceRatioSelector="Red") == 1.0


def test_continuous_auto_reports_parameter_changes(camera: CameraModel) -> None:
    camera.set("EventSelector", "ParameterChanged")
    camera.set("EventNotification", "On")
    camera.set("ExposureTime", 500.0)
    camera.set("GainAuto", "Continuous")
    camera.drain_events()
    camera.set("AcquisitionStart", None)
    for t in range(1, 6):
        camera.poll(t * 20 * MS)
    assert camera.get("GainAuto") == "Continuous" and camera.get("GainRaw") > 1.0
    assert len(camera.drain_events()) >= 3


def test_loaded_ffc_coefficients_survive_a_restart(tmp_path: Path) -> None:
    camera = CameraModel(data_dir=tmp_path, width=64, height=32)
    upload_ffc(camera, np.full((32, 64), 1.25, np.float32))
    again = CameraModel(data_dir=tmp_path, width=64, height=32)
    again.set("FFCEnable", True)
    ffc = again.image_settings().ffc
    assert ffc is not None and float(ffc.gain.mean()) == 1.25


def test_ffc_changes_the_image(camera: CameraModel) -> None:
    camera.set("PixelFormat", "Mono8")
    plain = grab(camera)
    upload_ffc(camera, np.full((32, 64), 1.5, np.float32))
    camera.set("FFCEnable", True)
    assert grab(camera).mean() > plain.mean() * 1.2


def test_black_level_once_pulls_the_dark_level_back_and_turns_off(camera: CameraModel) -> None:
    camera.set("BlackLevel", 400)
    camera.set("BlackLevelAuto", "Once")
    run_until_off(camera, "BlackLevelAuto")
    assert camera.get("BlackLevelAuto") == "Off"
    assert camera.get("BlackLevel") < 300


def test_a_user_set_of_another_sensor_keeps_only_what_fits(tmp_path: Path) -> None:
    colour = CameraModel(data_dir=tmp_path, width=64, height=32)
    colour.set("PixelFormat", "BayerRG8")
    colour.set("ExposureTime", 2000.0)
    colour.set("UserSetSelector", "UserSet1")
    colour.set("UserSetSave", None)
    colour.set("UserSetDefault", "UserSet1")
    mono = CameraModel(data_dir=tmp_path, width=32, height=16, color=False)
    assert mono.get("PixelFormat") == "Mono8"  # BayerRG8 does not exist on a mono sensor
    assert mono.get("ExposureTime") == 2000.0
    assert (mono.get("Width"), mono.get("Height")) == (32, 16)
