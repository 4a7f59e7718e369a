"""The door station's media sources: audio from a file (resampled to 8 kHz mono), the tone,
and the encoder's SPS/PPS for the SDP."""

from __future__ import annotations

import base64
import math
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from openpss.devices.vto.media import AudioSource, H264Encoder, sprop_parameter_sets
from openpss.protocols.rtp.h264 import NAL_IDR, NAL_PPS, NAL_SPS, nal_type, split_annexb


def write_wav(path: Path, *, rate: int, seconds: float, channels: int = 2) -> None:
    frames = int(rate * seconds)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = [int(10000 * math.sin(2 * math.pi * 500 * i / rate)) for i in range(frames)]
        out.writeframes(b"".join(struct.pack("<h", s) * channels for s in samples))


def test_audio_file_is_resampled_to_8khz_mono_and_looped(tmp_path: Path) -> None:
    path = tmp_path / "door.wav"
    write_wav(path, rate=16000, seconds=0.5)
    source = AudioSource(path)
    assert source.samples is not None
    assert abs(len(source.samples) - 4000) <= 200  # 0.5 s at 8 kHz
    assert np.abs(source.samples).max() > 5000
    packets = [source.next_packet() for _ in range(40)]  # 0.8 s: wraps around
    assert all(len(p) == 160 for p in packets)


def test_audio_file_errors_are_clear(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    write_wav(empty, rate=8000, seconds=0)
    with pytest.raises(ValueError, match="holds no audio"):
        AudioSource(empty)
    garbage = tmp_path / "noise.bin"
    garbage.write_bytes(b"not audio at all" * 10)
    with pytest.raises(ValueError, match="not a readable audio file"):
        AudioSource(garbage)
    with pytest.raises(ValueError, match="not a readable audio file"):
        AudioSource(tmp_path / "missing.wav")


def test_tone_without_file() -> None:
    packet = AudioSource().next_packet()
    assert len(packet) == 160 and np.abs(packet).max() > 5000


def test_encoder_gives_sps_pps_idr_and_sdp_parameters() -> None:
    encoder = H264Encoder(320, 180, 10)
    units = encoder.encode(np.zeros((180, 320, 3), dtype=np.uint8))
    kinds = [nal_type(nal) for unit in units for nal in split_annexb(unit)]
    assert NAL_SPS in kinds and NAL_PPS in kinds and NAL_IDR in kinds
    sprop, profile = sprop_parameter_sets(320, 180, 10)
    sps, pps = (base64.b64decode(part) for part in sprop.split(","))
    assert nal_type(sps) == NAL_SPS and nal_type(pps) == NAL_PPS
    assert profile.startswith("42")  # baseline
