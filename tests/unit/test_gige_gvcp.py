"""GVCP codec: golden packets in both directions and exact errors for malformed input."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.gvcp import Command, Status

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gige"


def golden(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def test_discovery_cmd_golden() -> None:
    data = golden("discovery_cmd")
    cmd = gvcp.DiscoveryCmd.parse(data)
    assert cmd == gvcp.DiscoveryCmd(req_id=1, flags=gvcp.FLAG_ACK_REQUIRED)
    assert bytes(cmd) == data


def test_discovery_ack_golden() -> None:
    data = golden("discovery_ack")
    ack = gvcp.DiscoveryAck.parse(data)
    info = ack.info
    assert (info.version_major, info.version_minor, info.device_mode) == (2, 0, 0x80000001)
    assert info.mac_text == "02:a1:b2:c3:d4:00"
    assert (info.ip, info.subnet, info.gateway) == ("127.0.0.1", "255.0.0.0", "0.0.0.0")
    assert (info.manufacturer, info.model, info.serial) == ("openpss", "OPSS-GE2448", "OPSS0001")
    assert (info.device_version, info.user_name) == ("1.0.0", "bench")
    assert info.manufacturer_info == "openpss virtual camera"
    assert bytes(ack) == data
    assert len(bytes(info)) == gvcp.DEVICE_INFO_SIZE


def test_readreg_golden_round_trip() -> None:
    cmd = gvcp.ReadRegCmd.parse(golden("readreg_cmd"))
    assert cmd.addresses == (0x0A00, 0x0938) and cmd.req_id == 5
    assert bytes(cmd) == golden("readreg_cmd")
    ack = gvcp.ReadRegAck.parse(golden("readreg_ack"))
    assert ack.values == (2, 3000) and ack.status == Status.SUCCESS
    assert bytes(ack) == golden("readreg_ack")


def test_writereg_golden_round_trip() -> None:
    cmd = gvcp.WriteRegCmd.parse(golden("writereg_cmd"))
    assert cmd.writes == ((0x0A00, 2),)
    assert bytes(cmd) == golden("writereg_cmd")
    ack = gvcp.IndexAck.parse(golden("writereg_ack"))
    assert (ack.answer, ack.index, ack.status) == (Command.WRITEREG_ACK, 1, 0)
    assert bytes(ack) == golden("writereg_ack")


def test_access_denied_ack_golden() -> None:
    ack = gvcp.IndexAck.parse(golden("writereg_ack_denied"))
    assert ack.status == Status.ACCESS_DENIED and ack.index == 0
    assert gvcp.status_name(ack.status) == "ACCESS_DENIED"
    assert bytes(ack) == golden("writereg_ack_denied")


def test_readmem_golden_round_trip() -> None:
    cmd = gvcp.ReadMemCmd.parse(golden("readmem_cmd"))
    assert (cmd.address, cmd.count) == (0x200, 0x200)
    assert bytes(cmd) == golden("readmem_cmd")
    ack = gvcp.ReadMemAck.parse(golden("readmem_ack"))
    assert ack.address == 0x200 and ack.data == b"Local:a."
    assert bytes(ack) == golden("readmem_ack")


def test_writemem_golden_round_trip() -> None:
    cmd = gvcp.WriteMemCmd.parse(golden("writemem_cmd"))
    assert cmd.address == 0xE8 and cmd.data == b"cam\0"
    assert bytes(cmd) == golden("writemem_cmd")


def test_packetresend_standard_and_extended_golden() -> None:
    cmd = gvcp.PacketResendCmd.parse(golden("packetresend_cmd"))
    assert (cmd.block_id, cmd.first_packet_id, cmd.last_packet_id, cmd.extended_id) == (
        7,
        3,
        5,
        False,
    )
    assert bytes(cmd) == golden("packetresend_cmd")
    ext = gvcp.PacketResendCmd.parse(golden("packetresend_ext_cmd"))
    assert ext.block_id == 0x1_0000_0007 and ext.extended_id
    assert bytes(ext) == golden("packetresend_ext_cmd")


def test_pending_ack_golden() -> None:
    ack = gvcp.PendingAck.parse(golden("pending_ack"))
    assert ack.time_to_completion_ms == 500
    assert bytes(ack) == golden("pending_ack")


def test_event_and_eventdata_golden() -> None:
    cmd = gvcp.EventCmd.parse(golden("event_cmd"))
    assert cmd.events == (
        gvcp.EventItem(event_id=2, timestamp=0x1000, stream_channel=0, block_id=7),
    )
    assert bytes(cmd) == golden("event_cmd")
    data = gvcp.EventDataCmd.parse(golden("eventdata_cmd"))
    assert data.event.event_id == 0x9002 and data.data == bytes.fromhex("deadbeef")
    assert bytes(data) == golden("eventdata_cmd")


def test_error_ack_not_implemented_golden() -> None:
    assert gvcp.error_ack(Command.FORCEIP, 3, Status.NOT_IMPLEMENTED) == golden("notimpl_ack")
    ack = gvcp.GenericAck.parse(golden("notimpl_ack"))
    assert (ack.answer, ack.status) == (Command.FORCEIP_ACK, Status.NOT_IMPLEMENTED)


@pytest.mark.parametrize(
    ("data", "parser", "message"),
    [
        (
            b"\x42\x01\x00",
            gvcp.DiscoveryCmd.parse,
            "GVCP command is truncated: 3 bytes, need at least 8",
        ),
        (
            bytes.fromhex("4301000200000001"),
            gvcp.DiscoveryCmd.parse,
            "GVCP command has bad key 0x43 (expected 0x42)",
        ),
        (
            bytes.fromhex("420100800008000500000a00"),
            gvcp.ReadRegCmd.parse,
            "GVCP command length field says 8 bytes but 4 follow",
        ),
        (
            bytes.fromhex("4201008000020005abcd"),
            gvcp.ReadRegCmd.parse,
            "READREG payload length 2 is not a non-zero multiple of 4",
        ),
        (
            bytes.fromhex("420100820004000600000a00"),
            gvcp.WriteRegCmd.parse,
            "WRITEREG payload length 4 is not a non-zero multiple of 8",
        ),
        (
            bytes.fromhex("420100840004000900000200"),
            gvcp.ReadMemCmd.parse,
            "READMEM payload is 4 bytes, expected 8",
        ),
        (
            bytes.fromhex("42000040000800010000000700000003"),
            gvcp.PacketResendCmd.parse,
            "PACKETRESEND payload is 8 bytes, expected 12",
        ),
        (
            golden("readreg_cmd"),
            gvcp.WriteRegCmd.parse,
            "GVCP command expected WRITEREG (0x0082), got 0x0080",
        ),
        (
            bytes.fromhex("00000003000000010000"),
            gvcp.DiscoveryAck.parse,
            "GVCP DISCOVERY_ACK payload is 0 bytes, need 248",
        ),
    ],
)
def test_malformed_packets_raise_exact_errors(data: bytes, parser: object, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parser(data)  # type: ignore[operator]
    assert str(excinfo.value) == message


def test_device_info_rejects_bad_ip() -> None:
    with pytest.raises(ValueError, match=r"not an IPv4 address: '1\.2\.3'"):
        bytes(gvcp.DeviceInfo(ip="1.2.3"))


def test_random_bytes_parse_or_raise_value_error_only() -> None:
    import random

    rng = random.Random(5)
    parsers = [
        gvcp.DiscoveryCmd.parse,
        gvcp.ReadRegCmd.parse,
        gvcp.WriteRegCmd.parse,
        gvcp.ReadMemCmd.parse,
        gvcp.WriteMemCmd.parse,
        gvcp.PacketResendCmd.parse,
        gvcp.EventCmd.parse,
        gvcp.EventDataCmd.parse,
        gvcp.DiscoveryAck.parse,
        gvcp.ReadRegAck.parse,
        gvcp.IndexAck.parse,
        gvcp.ReadMemAck.parse,
        gvcp.PendingAck.parse,
    ]
    seeds = [golden(n) for n in ("readreg_cmd", "writereg_cmd", "readmem_cmd", "event_cmd")]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        if rng.random() < 0.5:
            data = bytearray(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        else:  # mutate a valid packet: change a byte, truncate or extend
            data[rng.randrange(len(data))] = rng.randrange(256)
            data = data[: rng.randrange(len(data) + 1)] + bytes(rng.randrange(3))
        for parse in parsers:
            with contextlib.suppress(ValueError):
                parse(bytes(data))


def test_codec_errors_are_gige_vision_protocol_errors() -> None:
    """GVCP and GVSP parse errors have their own type (still a ValueError for old callers)."""
    from openpss.protocols.gige_vision import gvsp
    from openpss.protocols.gige_vision.errors import GigEVisionProtocolError

    with pytest.raises(GigEVisionProtocolError, match="GVCP command is truncated: 3 bytes"):
        gvcp.split_command(b"\x42\x01\x00")
    with pytest.raises(GigEVisionProtocolError, match="GVSP packet is truncated: 2 bytes"):
        gvsp.GvspHeader.parse(b"\x00\x00")
    assert issubclass(GigEVisionProtocolError, ValueError)
