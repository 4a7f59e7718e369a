"""The door station's RTSP monitor streams judged by Debian's ffprobe, and the 6-stream cap."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from openpss.protocols.rtp.codec import RtpPacket
from tests.support.peers import require_program
from tests.support.rtsp_client import RtspTestClient
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto

pytestmark = pytest.mark.peers


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path, fps=10) as running:
        yield running


def ffprobe(vto: RunningVto, subtype: int, transport: str = "tcp") -> dict[str, object]:
    program = require_program("ffprobe", "apt-get install -y ffmpeg")
    url = (
        f"rtsp://admin:{VTO_PASSWORD}@127.0.0.1:{vto.rtsp_port}"
        f"/cam/realmonitor?channel=1&subtype={subtype}"
    )
    result = subprocess.run(
        [program, "-v", "error", "-rtsp_transport", transport, "-show_streams", "-of", "json", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {"code": result.returncode, "stderr": result.stderr, **json.loads(result.stdout or "{}")}


@pytest.mark.parametrize(("subtype", "size"), [(0, (1280, 720)), (1, (640, 360))])
def test_ffprobe_reads_main_and_sub_stream(
    vto: RunningVto, subtype: int, size: tuple[int, int]
) -> None:
    probe = ffprobe(vto, subtype)
    assert probe["code"] == 0, probe["stderr"]
    streams = {s["codec_type"]: s for s in probe["streams"]}  # type: ignore[attr-defined]
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == size
    assert streams["audio"]["codec_name"] == "pcm_mulaw"
    assert streams["audio"]["sample_rate"] == "8000"


def test_ffprobe_over_udp(vto: RunningVto) -> None:
    probe = ffprobe(vto, 1, "udp")
    assert probe["code"] == 0, probe["stderr"]


def test_ffprobe_without_password_is_refused(vto: RunningVto) -> None:
    program = require_program("ffprobe", "apt-get install -y ffmpeg")
    url = f"rtsp://127.0.0.1:{vto.rtsp_port}/cam/realmonitor?channel=1&subtype=1"
    result = subprocess.run(
        [program, "-v", "error", url], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "401" in result.stderr


def test_seventh_stream_is_refused_and_six_share_one_encoder(vto: RunningVto) -> None:
    viewers = [RtspTestClient(vto.rtsp_port, password=VTO_PASSWORD) for _ in range(6)]
    try:
        assert [v.play(subtype=i % 2) for i, v in enumerate(viewers)] == [200] * 6
        for viewer in viewers:
            [(channel, data)] = viewer.read_packets(1)
            assert channel in (0, 1) and RtpPacket.parse(data).payload_type in (96, 0, 200, 201)
        seventh = ffprobe(vto, 0)
        assert seventh["code"] != 0 and "453" in str(seventh["stderr"])
        extra = RtspTestClient(vto.rtsp_port, password=VTO_PASSWORD)
        assert extra.play() == 453
        extra.close()
        monitor = vto.thread.runtime.monitor
        assert [len(monitor.streams[s].sinks) for s in (0, 1)] == [3, 3]
        assert vto.thread.runtime.rtsp.refused_streams == 2
        status, _, _ = viewers[0].request("TEARDOWN", viewers[0].url(0) + "/")
        assert status == 200
        assert ffprobe(vto, 1)["code"] == 0
    finally:
        for viewer in viewers:
            viewer.close()
