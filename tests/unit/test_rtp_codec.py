"""RTP/RTCP (RFC 3550), H.264 payloads (RFC 6184) and G.711: golden packets both ways."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import numpy as np
import pytest

from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import (
    Goodbye,
    ReceiverReport,
    ReportBlock,
    RtpError,
    RtpPacket,
    SenderReport,
    SourceDescription,
    is_rtcp,
    ntp_time,
    parse_rtcp,
)
from openpss.protocols.rtp.h264 import FU_A, Depacketizer, H264PayloadError, packetize, split_annexb

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rtp"


def test_pcmu_packet_golden() -> None:
    data = (FIXTURES / "rtp_pcmu.bin").read_bytes()
    packet = RtpPacket.parse(data)
    assert (packet.payload_type, packet.sequence_number, packet.timestamp) == (0, 0x1234, 0xA00)
    assert packet.ssrc == 0xDEADBEEF and packet.marker and len(packet.payload) == 160
    assert bytes(packet) == data
    built = RtpPacket(0, 0x1234, 0xA00, 0xDEADBEEF, bytes([0xFF]) * 160, marker=True)
    assert bytes(built) == data


def test_csrc_extension_padding_golden() -> None:
    data = (FIXTURES / "rtp_csrc_ext_pad.bin").read_bytes()
    packet = RtpPacket.parse(data)
    assert packet.csrc == [3] and packet.extension == (0xBEDE, bytes([1, 2, 3, 4]))
    assert packet.payload == b"abc" and packet.padding == 3 and packet.payload_type == 96
    assert bytes(packet) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x00", "less than 12 bytes"),
        (b"\x40" + bytes(11), "invalid version"),
        (b"\x82" + bytes(11) + bytes(4), "truncated CSRC"),
        (b"\x90" + bytes(11) + b"\x00\x00\x00\x02", "truncated extension value"),
        (b"\xa0" + bytes(11) + b"\x00", "padding length is invalid"),
    ],
)
def test_rtp_errors_are_exact(data: bytes, message: str) -> None:
    with pytest.raises(RtpError, match=message):
        RtpPacket.parse(data)


def test_rtcp_compound_golden() -> None:
    data = (FIXTURES / "rtcp_sr_sdes.bin").read_bytes()
    sr, sdes = parse_rtcp(data)
    assert isinstance(sr, SenderReport) and isinstance(sdes, SourceDescription)
    assert (sr.ssrc, sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (
        0xDEADBEEF,
        90000,
        100,
        16000,
    )
    assert sr.reports[0] == ReportBlock(0xCAFEBABE, 2, 3, 0xFFFF, 16, 0x12345678, 0x10000)
    assert sdes.chunks == ((0xDEADBEEF, "vto"),)
    assert bytes(sr) + bytes(sdes) == data
    assert is_rtcp(data) and not is_rtcp((FIXTURES / "rtp_pcmu.bin").read_bytes())


def test_rtcp_rr_and_bye_round_trip() -> None:
    rr = ReceiverReport(7, (ReportBlock(9, packets_lost=-2),))
    bye = Goodbye((7, 8))
    assert parse_rtcp(bytes(rr) + bytes(bye)) == [rr, bye]
    with pytest.raises(RtpError, match="truncated"):
        parse_rtcp(bytes(rr)[:-4])


def test_ntp_time() -> None:
    assert ntp_time(0.5) == (2_208_988_800 << 32) | (1 << 31)


def test_h264_single_nal_and_fu_a() -> None:
    sps, pps = b"\x67\x42\x00\x1f", b"\x68\xce\x3c\x80"
    idr = b"\x65" + bytes(range(256)) * 12  # 3073 bytes: three FU-A fragments at mtu 1400
    access_unit = b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + pps + b"\x00\x00\x01" + idr
    assert split_annexb(access_unit) == [sps, pps, idr]
    payloads = packetize(access_unit, mtu=1400)
    assert payloads[:2] == [sps, pps] and len(payloads) == 5
    fragments = payloads[2:]
    assert all(len(p) <= 1400 for p in fragments)
    assert [p[0] for p in fragments] == [(0x65 & 0xE0) | FU_A] * 3
    assert [p[1] for p in fragments] == [0x80 | 5, 5, 0x40 | 5]
    depacketizer = Depacketizer()
    nals = [nal for p in payloads for nal in depacketizer.feed(p)]
    assert nals == [sps, pps, idr]


def test_h264_lost_fragment_and_bad_payloads() -> None:
    depacketizer = Depacketizer()
    assert depacketizer.feed(bytes([FU_A | 0x60, 0x05, 1, 2])) == []  # middle without start
    assert depacketizer.lost_fragments == 1
    with pytest.raises(H264PayloadError, match="empty"):
        depacketizer.feed(b"")
    with pytest.raises(H264PayloadError, match="type 25 is not supported"):
        depacketizer.feed(b"\x19abc")
    assert depacketizer.feed(b"\x18\x00\x02\x67\x42\x00\x01\x68") == [b"\x67\x42", b"\x68"]


def test_g711_matches_the_reference_coder() -> None:
    pcm = np.frombuffer((FIXTURES / "pcm16_ramp.bin").read_bytes(), dtype="<i2")
    golden = (FIXTURES / "pcmu_ramp.bin").read_bytes()
    assert g711.encode(pcm) == golden
    decoded = g711.decode(golden)
    assert np.max(np.abs(decoded.astype(int) - pcm.astype(int))) <= 1024  # quantization step


def test_g711_tone_is_continuous() -> None:
    whole = g711.tone(440, 0, 320)
    assert np.array_equal(np.concatenate([g711.tone(440, 0, 160), g711.tone(440, 160, 160)]), whole)


def test_rtp_parse_fuzz_raises_only_rtp_errors() -> None:
    rng = random.Random(3)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 64))
        for parse in (RtpPacket.parse, parse_rtcp):
            with contextlib.suppress(RtpError):
                parse(data)
