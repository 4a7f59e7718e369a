"""SIP codec: golden byte fixtures, RFC 4475 torture messages, Dahua user parts, SDP."""

from __future__ import annotations

from pathlib import Path

import pytest

from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import (
    NameAddress,
    SipRequest,
    SipResponse,
    Via,
    make_response,
    parse_message,
    validate_common,
    validate_request,
)
from openpss.protocols.sip.sdp import SessionDescription, build_answer, build_offer
from openpss.protocols.sip.uri import SipUri

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sip"
GOLDEN = sorted((FIXTURES / "golden").glob("*.sip"))
VALID = sorted((FIXTURES / "torture" / "valid").glob("*.sip"))
INVALID = sorted((FIXTURES / "torture" / "invalid").glob("*.sip"))


def _check(data: bytes) -> SipRequest | SipResponse:
    message = parse_message(data)
    if isinstance(message, SipRequest):
        validate_request(message)
    else:
        validate_common(message)
    return message


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_round_trip(path: Path) -> None:
    data = path.read_bytes()
    assert bytes(_check(data)) == data


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_rfc4475_wellformed_messages_parse(path: Path) -> None:
    message = _check(path.read_bytes())
    assert message.call_id
    # what we write parses again to the same fields
    again = parse_message(bytes(message))
    assert again.call_id == message.call_id and again.body == message.body


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_rfc4475_malformed_messages_are_refused(path: Path) -> None:
    with pytest.raises(SipParseError) as info:
        _check(path.read_bytes())
    assert info.value.status in (400, 416, 505, 513)


@pytest.mark.parametrize(
    ("name", "status"), [("badvers", 505), ("unksm", 416), ("novelsc", 416), ("clerr", 400)]
)
def test_rfc4475_status_of_refusal(name: str, status: int) -> None:
    with pytest.raises(SipParseError) as info:
        _check((FIXTURES / "torture" / "invalid" / f"{name}.sip").read_bytes())
    assert info.value.status == status


def test_wsinv_fields_after_folding_and_lws() -> None:
    message = _check((FIXTURES / "torture" / "valid" / "wsinv.sip").read_bytes())
    assert isinstance(message, SipRequest)
    assert message.cseq.number == 9 and message.cseq.method == "INVITE"
    assert message.to.tag == "1918181833n"
    assert message.from_.tag == "98asjd8"
    assert [v.host for v in message.vias] == ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    assert message.vias[2].branch == "z9hG4bK30239"
    assert message.contacts[0].params["q"] == "0.33"
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert SessionDescription.parse(message.body).first("audio") is not None


def test_dblreq_trailing_octets_ignored() -> None:
    message = _check((FIXTURES / "torture" / "valid" / "dblreq.sip").read_bytes())
    assert isinstance(message, SipRequest) and message.method == "REGISTER" and message.body == b""


def test_intmeth_user_part_with_question_mark() -> None:
    message = _check((FIXTURES / "torture" / "valid" / "intmeth.sip").read_bytes())
    assert isinstance(message, SipRequest)
    assert message.sip_uri.host == "example.com" and message.sip_uri.headers == ""


def test_dahua_raw_hash_and_escaped_user_parts_are_the_same_number() -> None:
    raw = SipUri.parse("sip:9901#0@10.0.0.1:5080")
    escaped = SipUri.parse("sip:9901%23%30@10.0.0.1")
    assert raw.number == escaped.number == "9901#0"
    assert str(raw) == "sip:9901#0@10.0.0.1:5080"
    assert str(SipUri.for_number("9901#1", "10.0.0.1", 5080)) == "sip:9901#1@10.0.0.1:5080"
    assert SipUri.parse("sip:A1B2C3@h").number == "A1B2C3"


def test_uri_errors_say_what_is_wrong() -> None:
    with pytest.raises(SipParseError, match="port must be 1-65535"):
        SipUri.parse("sip:a@host:99999")
    with pytest.raises(SipParseError, match="unsupported URI scheme") as info:
        SipUri.parse("tel:+123")
    assert info.value.status == 416


def test_compact_forms_and_multi_value_via() -> None:
    message = _check((FIXTURES / "golden" / "compact.sip").read_bytes())
    assert message.headers.get("Call-ID") == "compact-1"
    assert [v.branch for v in message.vias] == ["z9hG4bK-c1", "z9hG4bK-c0"]
    assert message.headers.pop_first_value("Via") is not None
    assert [v.branch for v in message.vias] == ["z9hG4bK-c0"]


def test_bad_content_length_is_400_not_a_crash() -> None:
    data = (FIXTURES / "golden" / "ringing.sip").read_bytes().replace(b"Length: 0", b"Length: x")
    with pytest.raises(SipParseError, match="Content-Length must be a non-negative number"):
        parse_message(data)


def test_make_response_adds_to_tag_and_copies_vias() -> None:
    request = _check((FIXTURES / "golden" / "invite_sdp.sip").read_bytes())
    assert isinstance(request, SipRequest)
    response = make_response(request, 180, to_tag="abc")
    assert response.to.tag == "abc" and response.reason == "Ringing"
    assert response.top_via.branch == "z9hG4bK-vto-1"
    assert bytes(parse_message(bytes(response))) == bytes(response)


def test_name_address_and_via_round_trip() -> None:
    addr = NameAddress.parse('"Room 9901" <sip:9901#0@10.0.0.1>;tag=x;expires=60')
    assert addr.display == "Room 9901" and addr.params == {"tag": "x", "expires": "60"}
    assert str(addr) == '"Room 9901" <sip:9901#0@10.0.0.1>;tag=x;expires=60'
    via = Via.parse("SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport")
    assert via.host == "[2001:db8::1]" and via.port == 5061 and "rport" in via.params
    assert str(via) == "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport"


DAHUA_SDP = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.30\r\ns=SDP data\r\nc=IN IP4 10.0.0.30\r\nt=0 0\r\n"
    "m=audio 15000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\na=sendrecv\r\n"
    "m=video 15002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=sendonly\r\n"
)


def test_sdp_round_trip_and_fields() -> None:
    sdp = SessionDescription.parse(DAHUA_SDP)
    assert str(sdp) == DAHUA_SDP
    audio, video = sdp.media
    assert [c.name for c in audio.codecs] == ["PCMA", "PCMU", "telephone-event"]
    assert video.codecs[0].fmtp is None and video.direction == "sendonly"
    assert sdp.media_address(audio) == "10.0.0.30"


def test_sdp_answer_reverses_direction_and_keeps_supported_codecs() -> None:
    offer = SessionDescription.parse(DAHUA_SDP)
    answer = build_answer(offer, address="10.0.0.1", ports={"audio": 4000, "video": 4002})
    assert answer.media[0].formats == ["8", "0", "101"]
    assert answer.media[1].direction == "recvonly"
    assert SessionDescription.parse(bytes(answer)).media[1].port == 4002
    built = build_offer(address="127.0.0.1", audio_port=5000, video_port=5002, h264_fmtp=None)
    assert built.media[1].codecs[0].name == "H264" and built.media[1].codecs[0].fmtp is None


def test_sdp_errors_are_488() -> None:
    with pytest.raises(SipParseError, match="start with v=0") as info:
        SessionDescription.parse("o=x\r\n")
    assert info.value.status == 488
