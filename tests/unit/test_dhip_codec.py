"""DHIP codec: golden frames byte for byte, framing across split/merged reads, login hash."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import pytest

from openpss.protocols.dhip.codec import (
    DhipFrame,
    DhipHeader,
    DhipProtocolError,
    FrameDecoder,
    decode_body,
    error_message,
    event_entry,
    event_message,
    login_hash,
    password_hash,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dhip"
GOLDEN = sorted(FIXTURES.glob("*.bin"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_frames_round_trip(path: Path) -> None:
    data = path.read_bytes()
    frame = DhipFrame.parse(data)
    assert bytes(frame) == data
    assert isinstance(frame.message(), dict)


def test_header_layout_is_exact() -> None:
    header = bytes(DhipHeader(session=0x01020304, request_id=7, body_length=0x10))
    assert header == bytes.fromhex(
        "2000000044484950040302010700000010000000000000001000000000000000"
    )


def test_challenge_answer_is_built_exactly_like_the_golden_frame() -> None:
    message = error_message(
        1,
        2147483,
        268632079,
        "Component error: login challenge!",
        encryption="Default",
        random="1234567890",
        realm="Login to VTOTEST",
    )
    assert bytes(DhipFrame.from_message(message)) == (FIXTURES / "login_challenge.bin").read_bytes()


def test_event_frame_is_built_exactly_like_the_golden_frame() -> None:
    entry = event_entry("BackKeyLight", "Pulse", 0, {"State": 1})
    message = event_message(4, 2147483, 513, [entry])
    golden = (FIXTURES / "notify_backkeylight.bin").read_bytes()
    assert bytes(DhipFrame.from_message(message)) == golden


def test_bodies_are_compact_one_line_ascii_ending_in_newline() -> None:
    frame = DhipFrame.from_message({"id": 1, "params": {"name": "Zoë"}, "session": 5})
    assert frame.body == b'{"id":1,"params":{"name":"Zo\\u00eb"},"session":5}\n'
    assert frame.body.count(b"\n") == 1


def test_pretty_printed_body_with_zero_header_ids_is_read() -> None:
    frame = DhipFrame.parse((FIXTURES / "login_request_pretty.bin").read_bytes())
    assert (frame.session, frame.request_id) == (0, 0)
    message = frame.message()
    assert message["id"] == 1 and message["method"] == "global.login"


def test_decoder_handles_split_and_merged_reads() -> None:
    data = b"".join(path.read_bytes() for path in GOLDEN)
    for size in (1, 7, 31, 32, 33, 100, len(data)):
        decoder = FrameDecoder()
        frames = []
        for start in range(0, len(data), size):
            frames.extend(decoder.feed(data[start : start + size]))
        assert [bytes(f) for f in frames] == [p.read_bytes() for p in GOLDEN]
        assert not decoder.buffer


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x20\x00\x00\x00XHIP" + bytes(24), "not a DHIP header"),
        (bytes(DhipHeader(1, 1, 70_000)), "exceeds 65536"),
        (bytes(DhipHeader(1, 1, 4))[:24] + (5).to_bytes(4, "little") + bytes(4), "lengths differ"),
    ],
)
def test_bad_headers_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(DhipProtocolError, match=message):
        DhipHeader.parse(data)


def test_bad_bodies_are_refused() -> None:
    with pytest.raises(DhipProtocolError, match="not JSON"):
        decode_body(b"{nope")
    with pytest.raises(DhipProtocolError, match="not a JSON object"):
        decode_body(b"[1]")
    assert decode_body(b'{"a":1}\n\x00\x00') == {"a": 1}
    with pytest.raises(DhipProtocolError, match="header says 5"):
        DhipFrame.parse(bytes(DhipHeader(0, 0, 5)) + b"{}")


def test_login_hash_follows_the_documented_formula() -> None:
    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest().upper()

    realm, random = "Login to VTOTEST", "1234567890"
    expected = md5("admin:" + random + ":" + md5(f"admin:{realm}:Secret123"))
    assert password_hash("admin", "Secret123", realm, random) == expected
    ha1 = hashlib.md5(f"admin:{realm}:Secret123".encode()).hexdigest()  # lower-case HA1
    assert login_hash("admin", random, ha1) == expected
    assert json.loads(DhipFrame.from_message({"id": 2}).body) == {"id": 2}


def test_decoder_fuzz_raises_only_protocol_errors() -> None:
    import random

    rng = random.Random(5)
    golden = b"".join(path.read_bytes() for path in GOLDEN)
    for _ in range(2000):
        data = bytearray(golden)
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        decoder = FrameDecoder()
        try:
            for frame in decoder.feed(bytes(data)):
                with contextlib.suppress(DhipProtocolError):
                    frame.message()
        except DhipProtocolError:
            pass
