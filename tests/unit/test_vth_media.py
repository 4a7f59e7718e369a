"""Pieces of the VTH's media and SIP glue with no sockets: the H.264 RTP decoder, the audio
source (tone or file), granted expiry, and the platform's MESSAGE bodies."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from openpss.devices.vth.entities import VthError
from openpss.devices.vth.media import AudioSource, VideoDecoder, monitor_url, save_snapshot
from openpss.devices.vth.settings import Door
from openpss.devices.vth.sip import granted_expiry, parse_platform_message
from openpss.devices.vto.media import H264Encoder
from openpss.protocols.rtp.codec import RtpPacket
from openpss.protocols.rtp.h264 import packetize
from openpss.protocols.sip.message import parse_message


def test_decoder_rebuilds_frames_from_fu_a_packets(tmp_path: Path) -> None:
    encoder = H264Encoder(320, 180, 10)
    decoder = VideoDecoder()
    frames = seq = 0
    for index in range(10):
        picture = np.full((180, 320, 3), index * 20, dtype=np.uint8)
        for unit in encoder.encode(picture):
            payloads = packetize(unit, mtu=400)  # forces FU-A fragments
            for number, payload in enumerate(payloads):
                packet = RtpPacket(96, seq, index * 9000, 1, payload)
                packet.marker = number == len(payloads) - 1
                frames += decoder.feed(packet)
                seq += 1
    assert frames >= 8 and decoder.errors == 0
    assert decoder.last_frame is not None and decoder.last_frame.width == 320
    path = save_snapshot(decoder.last_frame, tmp_path / "snap.jpg")
    assert path.read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(ValueError, match="no picture yet"):
        save_snapshot(None, tmp_path / "none.jpg")


def test_decoder_counts_garbage_as_errors() -> None:
    decoder = VideoDecoder()
    assert decoder.feed(RtpPacket(96, 1, 0, 1, b"\x00", marker=True)) == 0  # NAL type 0
    assert decoder.feed(RtpPacket(96, 2, 0, 1, b"\x65" + bytes(50), marker=True)) == 0
    assert decoder.errors >= 1


def test_audio_source_tone_and_file(tmp_path: Path) -> None:
    tone = AudioSource()
    first = tone.next_packet()
    assert len(first) == 160 and np.abs(first).max() > 1000
    path = tmp_path / "voice.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.ones(3200, dtype=np.int16) * 1234).tobytes())
    voice = AudioSource(path)
    assert voice.samples is not None and len(voice.samples) == 1600  # resampled to 8 kHz
    assert int(np.median(voice.next_packet())) == 1234


def test_granted_expiry_prefers_the_contact_parameter() -> None:
    response = parse_message(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n"
        b"Contact: <sip:101%230@127.0.0.1:5070>;expires=30\r\nExpires: 90\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    assert granted_expiry(response, 60) == 30  # type: ignore[arg-type]


def test_platform_message_bodies() -> None:
    password = parse_platform_message(
        b'{"type": "unlock_password", "room": "101", "password": "888888"}', "application/json"
    )
    assert password == {"type": "unlock_password", "room": "101", "password": "888888"}
    plain = parse_platform_message(b"Water\nNo water on Monday 9-12", "text/plain")
    assert plain == {"type": "information", "subject": "Water", "text": "No water on Monday 9-12"}
    with pytest.raises(VthError, match="not valid JSON"):
        parse_platform_message(b"{bad", "application/json")
    with pytest.raises(VthError, match='needs "type"'):
        parse_platform_message(b'{"type": "x"}', "application/json")


def test_monitor_url_quotes_credentials() -> None:
    door = Door("gate", "127.0.0.1", 80, 8554, password="p@ss:w/rd")
    assert monitor_url(door) == (
        "rtsp://admin:p%40ss%3Aw%2Frd@127.0.0.1:8554/cam/realmonitor?channel=1&subtype=0"
    )


def test_monitor_errors_do_not_carry_the_door_password() -> None:
    from openpss.devices.vth.media import redact

    door = Door("gate", "127.0.0.1", 80, 8554, password="p@ss:w/rd")
    message = f"Server returned 401 Unauthorized: '{monitor_url(door)}' (p@ss:w/rd)"
    assert "p@ss" not in redact(message, door) and "p%40ss" not in redact(message, door)
