"""RTSP codec (RFC 2326): requests, responses, Transport, SDP."""

from __future__ import annotations

import pytest

from openpss.protocols.rtsp.codec import (
    RtspError,
    RtspRequest,
    RtspResponse,
    SdpTrack,
    Transport,
    build_sdp,
)

DESCRIBE = (
    b"DESCRIBE rtsp://127.0.0.1:554/cam/realmonitor?channel=1&subtype=0 RTSP/1.0\r\n"
    b"CSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: Lavf60\r\n\r\n"
)


def test_request_round_trip() -> None:
    request = RtspRequest.parse_head(DESCRIBE[:-4])
    assert request.method == "DESCRIBE" and request.cseq == "2"
    assert request.header("ACCEPT") == "application/sdp"
    assert bytes(request) == DESCRIBE


def test_response_bytes_are_exact() -> None:
    response = RtspResponse(453, "5", {"Session": "ab"}, b"full")
    assert bytes(response) == (
        b"RTSP/1.0 453 Not Enough Bandwidth\r\nCSeq: 5\r\nSession: ab\r\n"
        b"Content-Length: 4\r\n\r\nfull"
    )
    assert RtspResponse.parse(bytes(response)) == RtspResponse(
        453, "5", {"session": "ab", "content-length": "4"}, b"full"
    )


@pytest.mark.parametrize(
    ("head", "message", "status"),
    [
        (b"GARBAGE", "malformed request line", 400),
        (b"PLAY rtsp://x RTSP/2.0", "unsupported version", 505),
        (b"PLAY rtsp://x RTSP/1.0\r\nNoColon", "malformed header line", 400),
        (b"PLAY \xff RTSP/1.0", "not UTF-8", 400),
    ],
)
def test_bad_requests(head: bytes, message: str, status: int) -> None:
    with pytest.raises(RtspError, match=message) as caught:
        RtspRequest.parse_head(head)
    assert caught.value.status == status


def test_content_length_cap() -> None:
    request = RtspRequest("SET_PARAMETER", "*", {"content-length": "999999"})
    with pytest.raises(RtspError, match="Content-Length must be 0-16384"):
        request.content_length()


def test_transport_choices() -> None:
    assert Transport.parse("RTP/AVP/TCP;unicast;interleaved=2-3") == Transport(True, (2, 3))
    assert Transport.parse("RTP/AVP;unicast;client_port=5000-5001") == Transport(
        False, client_ports=(5000, 5001)
    )
    chosen = Transport.parse("RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1")
    assert chosen.tcp
    with pytest.raises(RtspError, match="no supported transport") as caught:
        Transport.parse("RAW/RAW/UDP;unicast")
    assert caught.value.status == 461
    with pytest.raises(RtspError, match="client_port"):
        Transport.parse("RTP/AVP;unicast")


def test_sdp_lists_tracks() -> None:
    sdp = build_sdp(
        session_id=1,
        host="127.0.0.1",
        name="VTO",
        tracks=[
            SdpTrack("video", 96, "H264", 90000, "packetization-mode=1", "trackID=0"),
            SdpTrack("audio", 0, "PCMU", 8000, "", "trackID=1"),
        ],
    )
    assert "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1" in sdp
    assert "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:trackID=1" in sdp
