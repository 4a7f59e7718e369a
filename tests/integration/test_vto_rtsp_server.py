"""The RTSP server's refusals and defences (our own client; ffprobe is in tests/peers)."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.rtsp_client import RtspTestClient
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path, fps=5, stream_sizes={0: (320, 180), 1: (160, 90)}) as running:
        yield running


@pytest.fixture
def client(vto: RunningVto) -> Iterator[RtspTestClient]:
    rtsp = RtspTestClient(vto.rtsp_port, password=VTO_PASSWORD)
    yield rtsp
    rtsp.close()


def test_options_needs_no_auth_describe_does(vto: RunningVto) -> None:
    anonymous = RtspTestClient(vto.rtsp_port)
    try:
        status, headers, _ = anonymous.request("OPTIONS", "*")
        assert status == 200 and "DESCRIBE" in headers["public"]
        status, headers, _ = anonymous.request("DESCRIBE", anonymous.url())
        assert status == 401
        assert f'realm="Login to {vto.station.serial}"' in headers["www-authenticate"]
    finally:
        anonymous.close()
    wrong = RtspTestClient(vto.rtsp_port, password="Wrong1234")
    try:
        assert wrong.request("DESCRIBE", wrong.url())[0] == 401
    finally:
        wrong.close()


def test_describe_gives_sdp(client: RtspTestClient) -> None:
    status, headers, body = client.request("DESCRIBE", client.url(1))
    assert status == 200 and headers["content-type"] == "application/sdp"
    sdp = body.decode()
    assert "a=rtpmap:96 H264/90000" in sdp and "sprop-parameter-sets=" in sdp
    assert "a=rtpmap:0 PCMU/8000" in sdp


@pytest.mark.parametrize(
    "path",
    [
        "/cam/realmonitor?channel=2&subtype=0",
        "/cam/realmonitor?channel=1&subtype=7",
        "/cam/other?channel=1",
    ],
)
def test_unknown_streams_are_404(client: RtspTestClient, path: str) -> None:
    status, _, body = client.request("DESCRIBE", f"rtsp://127.0.0.1:{client.port}{path}")
    assert status == 404 and body


def test_session_rules(client: RtspTestClient) -> None:
    url = client.url()
    assert client.request("PLAY", url, Session="nope")[0] == 454
    assert client.request("SETUP", url + "/trackID=0", Transport="RAW/RAW/UDP")[0] == 461
    assert (
        client.request("SETUP", url + "/trackID=9", Transport="RTP/AVP/TCP;interleaved=0-1")[0]
        == 404
    )
    assert client.request("PAUSE", url, Session="x")[0] == 454
    assert client.play() == 200
    packets = client.read_packets(5)
    assert {channel for channel, _ in packets} <= {0, 1}
    assert client.request("GET_PARAMETER", url)[0] == 200
    assert client.request("TEARDOWN", url)[0] == 200


def test_server_survives_garbage(vto: RunningVto) -> None:
    rng = random.Random(7)
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", vto.rtsp_port), timeout=5) as sock:
            choice = rng.randrange(4)
            if choice == 0:
                sock.sendall(rng.randbytes(rng.randrange(1, 300)) + b"\r\n\r\n")
            elif choice == 1:
                sock.sendall(
                    b"DESCRIBE rtsp://x RTSP/1.0\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n"
                )
            elif choice == 2:
                sock.sendall(b"$\x00\xff\xff" + rng.randbytes(100))
            else:
                sock.sendall(
                    b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 99999\r\n\r\n"
                )
    for _ in range(250):
        rtsp = RtspTestClient(vto.rtsp_port, password=VTO_PASSWORD)
        try:
            if rtsp.request("DESCRIBE", rtsp.url())[0] == 200:
                return
        except (ConnectionError, OSError):
            threading.Event().wait(0.02)
        finally:
            rtsp.close()
    pytest.fail("the RTSP server no longer answers after garbage")


def test_slow_request_head_is_dropped(vto: RunningVto, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpss.protocols.rtsp import server

    monkeypatch.setattr(server, "HEAD_TIMEOUT_S", 0.3)
    with socket.create_connection(("127.0.0.1", vto.rtsp_port)) as slow:
        slow.sendall(b"DESCRIBE rtsp://127.0.0.1/cam/realmonitor RTSP/1.0\r\nCSeq: 1\r\n")
        slow.settimeout(10)
        assert slow.recv(1024) == b""
