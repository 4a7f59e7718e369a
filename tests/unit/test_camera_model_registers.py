"""Register access to the feature space: encoding, errors mapped to GVCP status codes."""

from __future__ import annotations

import struct

import pytest

from openpss.devices.camera.errors import (
    AccessDenied,
    BadAddress,
    InvalidParameter,
    WriteProtect,
)
from openpss.devices.camera.features import FFC_DATA_ADDRESS
from openpss.devices.camera.model import CameraModel


@pytest.fixture
def camera() -> CameraModel:
    return CameraModel(data_dir=None, width=64, height=32)


def address(camera: CameraModel, name: str, kind: str = "address") -> int:
    value = getattr(camera.table[name], kind)
    assert value is not None
    return int(value)


def test_integer_registers_are_big_endian(camera: CameraModel) -> None:
    assert camera.read(address(camera, "Width"), 4) == b"\0\0\0\x40"
    camera.write(address(camera, "Width"), struct.pack(">I", 32))
    assert camera.get("Width") == 32
    assert camera.read(address(camera, "Width", "max_address"), 4) == struct.pack(">I", 64)
    assert camera.read(address(camera, "OffsetX", "max_address"), 4) == struct.pack(">I", 32)


def test_float_registers_are_ieee_doubles(camera: CameraModel) -> None:
    camera.write(address(camera, "ExposureTime"), struct.pack(">d", 1234.5))
    assert camera.get("ExposureTime") == 1234.5
    assert camera.read(address(camera, "ExposureTime"), 8) == struct.pack(">d", 1234.5)
    with pytest.raises(InvalidParameter, match="finite"):
        camera.write(address(camera, "ExposureTime"), struct.pack(">d", float("nan")))


def test_enumeration_registers_hold_entry_values(camera: CameraModel) -> None:
    code = struct.unpack(">I", camera.read(address(camera, "PixelFormat"), 4))[0]
    assert code == 0x01080009  # BayerRG8, the colour sensor's natural format
    camera.write(address(camera, "PixelFormat"), struct.pack(">I", 0x01080001))
    assert camera.get("PixelFormat") == "Mono8"
    with pytest.raises(InvalidParameter, match="PixelFormat has no entry with value 7"):
        camera.write(address(camera, "PixelFormat"), struct.pack(">I", 7))


def test_string_registers(camera: CameraModel) -> None:
    data = camera.read(address(camera, "DeviceFirmwareVersion"), 32)
    assert data.rstrip(b"\0").decode() == camera.device_version and len(data) == 32


def test_out_of_range_and_increment_are_invalid_parameter(camera: CameraModel) -> None:
    with pytest.raises(InvalidParameter, match="DigitalShift 5 is out of range 0-4"):
        camera.write(address(camera, "DigitalShift"), struct.pack(">I", 5))
    with pytest.raises(InvalidParameter, match="multiple of 8"):
        camera.write(address(camera, "Width"), struct.pack(">I", 30))
    with pytest.raises(InvalidParameter, match="Boolean"):
        camera.write(address(camera, "ReverseX"), struct.pack(">I", 2))
    assert camera.get("DigitalShift") == 0 and camera.get("Width") == 64


def test_read_only_and_aux_registers_are_write_protected(camera: CameraModel) -> None:
    with pytest.raises(WriteProtect, match="PayloadSize is read-only"):
        camera.write(address(camera, "PayloadSize"), b"\0\0\0\1")
    with pytest.raises(WriteProtect):
        camera.write(address(camera, "Width", "max_address"), b"\0\0\0\1")


def test_unknown_addresses_are_bad_address(camera: CameraModel) -> None:
    with pytest.raises(BadAddress, match="no register at 0x"):
        camera.read(camera.table.end + 0x100, 4)
    with pytest.raises(BadAddress, match="inside ExposureTime"):
        camera.write(address(camera, "ExposureTime") + 4, b"\0\0\0\0")
    with pytest.raises(BadAddress):
        camera.write(address(camera, "Width"), bytes(8))


def test_locked_registers_are_access_denied_and_report_the_lock(camera: CameraModel) -> None:
    lock = address(camera, "Width", "lock_address")
    assert camera.read(lock, 4) == b"\0\0\0\0"
    camera.set("AcquisitionStart", None)
    assert camera.read(lock, 4) == b"\0\0\0\1"
    with pytest.raises(AccessDenied, match="Width cannot change while acquiring"):
        camera.write(address(camera, "Width"), struct.pack(">I", 32))
    camera.set("AcquisitionStop", None)
    camera.tl_params_locked(True)
    with pytest.raises(AccessDenied):
        camera.set("PixelFormat", "Mono8")
    camera.tl_params_locked(False)
    camera.set("PixelFormat", "Mono8")


def test_block_reads_span_consecutive_registers(camera: CameraModel) -> None:
    start = address(camera, "SensorWidth")
    data = camera.read(start, 8)
    assert struct.unpack(">II", data) == (64, 32)  # SensorWidth, SensorHeight


def test_commands_need_their_command_value(camera: CameraModel) -> None:
    with pytest.raises(InvalidParameter, match="write 1 to execute"):
        camera.write(address(camera, "AcquisitionStart"), b"\0\0\0\2")
    camera.write(address(camera, "AcquisitionStart"), b"\0\0\0\1")
    assert camera.acquiring
    assert camera.read(address(camera, "AcquisitionStart"), 4) == b"\0\0\0\0"


def test_ffc_area_accepts_chunked_writes(camera: CameraModel) -> None:
    camera.write(FFC_DATA_ADDRESS + 4, b"abcd")
    camera.write(FFC_DATA_ADDRESS, b"0123")
    assert camera.read(FFC_DATA_ADDRESS, 10) == b"0123abcd\0\0"
    capacity = 16 + 4 * 64 * 32
    with pytest.raises(BadAddress, match="beyond the FFC data area"):
        camera.write(FFC_DATA_ADDRESS + capacity - 2, b"xyz")
