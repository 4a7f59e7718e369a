"""Bootstrap register block of the virtual camera (GigE Vision 2.0 chapter 28), no sockets."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from openpss.devices.camera import bootstrap as bs
from openpss.devices.camera.errors import BadAddress, InvalidParameter, WriteProtect
from openpss.protocols.gige_vision.gvcp import DeviceInfo


def make(tmp_path: Path | None = None) -> bs.Bootstrap:
    return bs.Bootstrap(
        manufacturer="openpss",
        model_name="OPSS-GV640M",
        device_version="0.1.0",
        serial="OPSS0001",
        xml_length=0x1234,
        data_dir=tmp_path,
    )


def test_identity_strings_and_first_url() -> None:
    block = make()
    info = DeviceInfo.parse(block.read(0, 0xF8))
    assert (info.manufacturer, info.model, info.serial) == ("openpss", "OPSS-GV640M", "OPSS0001")
    assert block.read(bs.FIRST_URL, 32).rstrip(b"\0") == b"Local:openpss.xml;c0000000;1234"
    assert block.read_register(bs.VERSION) == 0x00020000
    assert block.read(0x0049, 3) == b"pen"  # unaligned reads slice the registers


def test_mac_is_stable_for_a_serial() -> None:
    assert make().info.mac == make().info.mac and make().info.mac[0] == 0x02  # locally administered


def test_timestamp_tick_frequency_is_one_gigahertz() -> None:
    block = make()
    high = block.read_register(bs.TIMESTAMP_TICK_FREQUENCY_HIGH)
    low = block.read_register(bs.TIMESTAMP_TICK_FREQUENCY_LOW)
    assert (high << 32) | low == 1_000_000_000


def test_stream_channel_registers() -> None:
    block = make()
    block.write_register(bs.SCDA0, 0x7F000001)
    block.write_register(bs.SCP0, 0x0001_9C40)  # interface index bits are not the port
    block.write_register(bs.SCPS0, bs.SCPS_DO_NOT_FRAGMENT | 8192)
    assert (block.stream.destination, block.stream.host_port) == ("127.0.0.1", 0x9C40)
    assert block.read_register(bs.SCPS0) == bs.SCPS_DO_NOT_FRAGMENT | 8192
    with pytest.raises(InvalidParameter, match="stream packet size 100 is outside 576-65500"):
        block.write_register(bs.SCPS0, 100)


def test_heartbeat_timeout_is_clamped_to_the_minimum() -> None:
    block = make()
    block.write_register(bs.HEARTBEAT_TIMEOUT, 10)
    assert block.read_register(bs.HEARTBEAT_TIMEOUT) == 500
    block.write_register(bs.GVCP_CONFIGURATION, bs.GVCP_CONFIG_HEARTBEAT_DISABLE)
    assert block.heartbeat_disabled


def test_read_only_and_missing_registers() -> None:
    block = make()
    with pytest.raises(WriteProtect, match="bootstrap register 0x0000 is read-only"):
        block.write_register(bs.VERSION, 1)
    with pytest.raises(BadAddress, match="no bootstrap register at 0x0f00"):
        block.write_register(0x0F00, 1)
    with pytest.raises(BadAddress, match="not 4-byte aligned"):
        block.read_register(0x0A01)
    with pytest.raises(BadAddress, match="outside 0x0-0xffff"):
        block.read(0xFFFC, 8)


def test_user_name_persists_and_is_limited(tmp_path: Path) -> None:
    block = make(tmp_path)
    block.write_memory(bs.USER_NAME, b"dock-2\0\0")
    assert make(tmp_path).user_name == "dock-2"
    block.write_register(bs.USER_NAME, struct.unpack(">I", b"gate")[0])
    assert block.user_name == "gate-2"
    with pytest.raises(InvalidParameter, match="longer than 15 bytes"):
        block.set_user_name("a-very-long-camera-name")


def test_timestamp_reset_and_latch() -> None:
    block = make()
    block.write_register(bs.TIMESTAMP_CONTROL, 0x1, now_ns=1_000)
    block.write_register(bs.TIMESTAMP_CONTROL, 0x2, now_ns=6_000)
    assert block.read_register(bs.TIMESTAMP_VALUE_LOW) == 5_000
    assert block.timestamp(9_000) == 8_000
