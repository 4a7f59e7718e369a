"""The EMVA GenApi reference implementation (`genicam` package) loads our XML, drives the model."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from genicam import genapi

from openpss.devices.camera.model import CameraModel

pytestmark = pytest.mark.peers

BOOTSTRAP = {0x0938: 3000, 0x093C: 0, 0x0940: 1_000_000_000, 0x0024: 0x7F000001, 0x0D04: 1500}


class ModelPort(genapi.AbstractPort):
    """A GenApi port backed directly by a CameraModel (bootstrap registers faked)."""

    def __init__(self, model: CameraModel) -> None:
        super().__init__()
        self.model = model
        self.bootstrap = dict(BOOTSTRAP)
        self.writes: list[int] = []

    def is_open(self) -> bool:
        return True

    def get_access_mode(self) -> Any:
        return genapi.EAccessMode.RW

    def read(self, address: int, length: int) -> bytes:
        if address >= 0x10000:
            return self.model.read(address, length)
        words = [self.bootstrap.get(address + i, 0) for i in range(0, max(length, 4), 4)]
        return b"".join(struct.pack(">I", w) for w in words)[:length]

    def write(self, address: int, value: bytes) -> None:
        self.writes.append(address)
        if address >= 0x10000:
            self.model.write(address, bytes(value))
        else:
            self.bootstrap[address] = int.from_bytes(bytes(value)[:4], "big")


@pytest.fixture
def camera() -> CameraModel:
    return CameraModel(data_dir=None, width=256, height=128)


@pytest.fixture
def nodemap(camera: CameraModel) -> Any:
    nodes = genapi.NodeMap()
    nodes.load_xml_from_string(camera.genicam_xml().decode())
    port = ModelPort(camera)
    nodes.connect(port, "Device")
    return nodes


def _features(nodemap: Any) -> list[Any]:
    return [n for n in nodemap.nodes if n.node.is_feature()]


def test_every_feature_is_read_and_writable_ones_written_back(
    nodemap: Any, camera: CameraModel
) -> None:
    kinds = genapi.EInterfaceType
    written = 0
    for node in _features(nodemap):
        kind = node.node.principal_interface_type
        if kind in (kinds.intfICategory, kinds.intfICommand, kinds.intfIPort):
            continue
        if kind == kinds.intfIRegister:
            continue
        assert genapi.is_readable(node), node.node.name
        value = node.value
        if genapi.is_writable(node):
            node.value = value
            assert node.value == value, node.node.name
            written += 1
    assert written > 40
    assert camera.get("Width") == 256


def test_integer_limits_come_from_the_device(nodemap: Any, camera: CameraModel) -> None:
    width, offset = nodemap.get_node("Width"), nodemap.get_node("OffsetX")
    assert (width.min, width.max, width.inc) == (8, 256, 8)
    width.value = 128
    assert offset.max == 128 and camera.get("Width") == 128
    offset.value = 64
    assert width.max == 192
    with pytest.raises(genapi.OutOfRangeException):
        width.value = 256


def test_enumerations_booleans_floats_and_selectors(nodemap: Any, camera: CameraModel) -> None:
    nodemap.get_node("PixelFormat").value = "Mono8"
    assert camera.get("PixelFormat") == "Mono8"
    nodemap.get_node("TriggerSelector").value = "AcquisitionStart"
    nodemap.get_node("TriggerMode").value = "On"
    assert camera.get("TriggerMode", TriggerSelector="AcquisitionStart") == "On"
    assert camera.get("TriggerMode", TriggerSelector="FrameStart") == "Off"
    nodemap.get_node("TriggerSelector").value = "FrameStart"
    assert nodemap.get_node("TriggerMode").value == "Off"
    nodemap.get_node("BalanceRatioSelector").value = "Blue"
    nodemap.get_node("BalanceRatio").value = 2.5
    assert camera.get("BalanceRatio", BalanceRatioSelector="Blue") == 2.5
    nodemap.get_node("ReverseX").value = True
    assert camera.get("ReverseX") is True
    with pytest.raises(genapi.OutOfRangeException):
        nodemap.get_node("TriggerDelay").value = 1_000_001.0


def test_mode_locks_are_visible_as_pislocked(nodemap: Any, camera: CameraModel) -> None:
    width, gamma = nodemap.get_node("Width"), nodemap.get_node("Gamma")
    assert genapi.is_writable(width)
    assert not genapi.is_writable(gamma)  # GammaEnable is False
    nodemap.get_node("GammaEnable").value = True
    assert genapi.is_writable(gamma)
    gamma.value = 2.0
    assert not genapi.is_writable(nodemap.get_node("LUTEnable"))
    nodemap.get_node("AcquisitionStart").execute()
    assert camera.acquiring and not genapi.is_writable(width)
    with pytest.raises(genapi.AccessException):
        width.value = 64
    nodemap.get_node("AcquisitionStop").execute()
    assert genapi.is_writable(width)


def test_commands_and_device_errors_reach_the_client(nodemap: Any, camera: CameraModel) -> None:
    nodemap.get_node("TriggerMode").value = "On"
    nodemap.get_node("AcquisitionStart").execute()
    nodemap.get_node("TriggerSoftware").execute()
    assert camera.engine.frame_counter == 0  # exposing now
    assert len(camera.poll(camera.engine.now + 20_000_000)) == 1
    nodemap.get_node("AcquisitionStop").execute()
    nodemap.get_node("UserSetSelector").value = "UserSet1"
    with pytest.raises(Exception, match="UserSet1 was never saved"):
        nodemap.get_node("UserSetLoad").execute()


def test_strings_and_read_only_values(nodemap: Any, camera: CameraModel) -> None:
    assert nodemap.get_node("DeviceFirmwareVersion").value == camera.device_version
    assert nodemap.get_node("PayloadSize").value == 256 * 128
    assert nodemap.get_node("ResultingFrameRateAbs").value > 1.0
    assert nodemap.get_node("GevTimestampTickFrequency").value == 1_000_000_000
    assert nodemap.get_node("GevSCPSPacketSize").value == 1500
    assert not genapi.is_writable(nodemap.get_node("PayloadSize"))


def test_every_enumeration_entry_and_numeric_limit_can_be_written(
    nodemap: Any, camera: CameraModel
) -> None:
    kinds = genapi.EInterfaceType
    refused = []
    for node in _features(nodemap):
        if not genapi.is_writable(node):
            continue
        name, kind = node.node.name, node.node.principal_interface_type
        original = node.value if kind != kinds.intfICommand else None
        if kind == kinds.intfIEnumeration:
            values: list[Any] = list(node.symbolics)
        elif kind in (kinds.intfIInteger, kinds.intfIFloat):
            values = [node.min, node.max]
        else:
            continue
        for value in values:
            try:
                node.value = value
            except Exception as exc:  # the device refused: must say why
                refused.append((name, value, str(exc)))
        node.value = original
        assert node.value == original, name
    # Only power-up choices of never-saved user sets are refused by the device itself.
    assert [(n, v) for n, v, _ in refused] == [
        ("UserSetDefault", "UserSet1"),
        ("UserSetDefault", "UserSet2"),
    ]
    assert all("was never saved" in message for *_, message in refused)
