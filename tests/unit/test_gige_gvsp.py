"""GVSP codec: golden leader / payload / trailer packets, standard and extended ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpss.protocols.gige_vision import gvsp
from openpss.protocols.gige_vision.gvsp import GvspHeader, PacketFormat

FIXTURES = Path(__file__).parent.parent / "fixtures" / "gige"


def golden(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def test_image_leader_golden() -> None:
    leader = gvsp.ImageLeader.parse(golden("gvsp_leader"))
    assert leader.header == GvspHeader(0, 7, PacketFormat.LEADER, 0)
    assert (leader.timestamp, leader.pixel_format, leader.width, leader.height) == (
        100,
        0x01080001,
        16,
        8,
    )
    assert bytes(leader) == golden("gvsp_leader")


def test_extended_id_leader_golden() -> None:
    leader = gvsp.ImageLeader.parse(golden("gvsp_leader_ext"))
    assert leader.header.extended_id and leader.header.block_id == 0x1_0007
    assert leader.header.size == 20
    assert bytes(leader) == golden("gvsp_leader_ext")


def test_payload_and_trailer_golden() -> None:
    payload = gvsp.PayloadPacket.parse(golden("gvsp_payload"))
    assert payload.header.packet_id == 1 and payload.data == bytes.fromhex("00112233")
    assert bytes(payload) == golden("gvsp_payload")
    trailer = gvsp.Trailer.parse(golden("gvsp_trailer"))
    assert trailer.size_y == 8 and trailer.header.packet_id == 5
    assert bytes(trailer) == golden("gvsp_trailer")


def test_resent_payload_keeps_resend_status() -> None:
    packet = gvsp.parse_packet(golden("gvsp_payload_resend"))
    assert isinstance(packet, gvsp.PayloadPacket)
    assert packet.header.status == gvsp.STATUS_RESEND
    assert bytes(packet) == golden("gvsp_payload_resend")


def test_packet_arithmetic_for_jumbo_packets() -> None:
    # 8192-byte packets: 8192 - 20 (IP) - 8 (UDP) - 8 (GVSP) bytes of image each.
    assert gvsp.payload_per_packet(8192, False) == 8156
    assert gvsp.payload_per_packet(8192, True) == 8144
    assert gvsp.packet_count(2048 * 2048, 8192) == 515


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x00", "GVSP packet is truncated: 3 bytes, need at least 8"),
        (
            bytes.fromhex("0000000081000000"),
            "GVSP extended-id packet is truncated: 8 bytes, need at least 20",
        ),
        (bytes.fromhex("0000000701000000"), "GVSP leader is truncated: 0 data bytes, need 4"),
        (
            bytes.fromhex("000000070100000000000002"),
            "GVSP leader payload type 0x0002 is not an image",
        ),
        (
            bytes.fromhex("000000070100000000000001"),
            "GVSP image leader is truncated: 4 data bytes, need 36",
        ),
        (bytes.fromhex("0000000702000005"), "GVSP trailer is truncated: 0 data bytes, need 8"),
        (bytes.fromhex("0000000707000001"), "GVSP packet format 7 is not supported"),
        (bytes.fromhex("800c000703000001"), "GVSP packet carries error status 0x800c"),
    ],
)
def test_malformed_gvsp_raises_exact_errors(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        gvsp.parse_packet(data)
    assert str(excinfo.value) == message


def test_standard_ids_refuse_wide_block_id() -> None:
    with pytest.raises(ValueError, match="16-bit block id"):
        bytes(GvspHeader(0, 0x10000, PacketFormat.PAYLOAD, 1))
