"""Our GVCP/GVSP client against our camera front-end on 127.0.0.1 (stand-in model)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from openpss.devices.camera import bootstrap as bs
from openpss.devices.camera.server import BackgroundCamera, CameraFrontEnd
from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.camera import GigECamera
from openpss.protocols.gige_vision.client import GvcpClient, GvcpError
from openpss.protocols.gige_vision.gvcp import Status
from tests.integration.camera_protocol_stub import WIDTH, StubModel
from tests.support.polling import eventually


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[tuple[CameraFrontEnd, BackgroundCamera]]:
    front = CameraFrontEnd(StubModel(), host="127.0.0.1", gvcp_port=0, data_dir=tmp_path)
    background = BackgroundCamera(front)
    with background:
        yield front, background


def client_for(front: CameraFrontEnd) -> GvcpClient:
    return GvcpClient("127.0.0.1", port=front.gvcp_port, timeout=0.3, retries=2)


def test_bootstrap_identity_and_url(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with client_for(front) as client:
        info = gvcp.DeviceInfo.parse(client.read_memory(0, 0xF8))
        assert (info.manufacturer, info.model, info.serial) == ("openpss", "Stub", "STUB0001")
        assert client.read_register(bs.VERSION) == 0x00020000
        assert client.read_register(bs.TIMESTAMP_TICK_FREQUENCY_LOW) == 1_000_000_000
        name, xml = client.genicam_xml()
        assert name == "openpss.xml" and xml == front.xml
        assert client.genicam_url() == f"Local:openpss.xml;c0000000;{len(front.xml):x}"


def test_write_without_control_is_access_denied(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    with client_for(front) as client:
        with pytest.raises(GvcpError) as excinfo:
            client.write_register(WIDTH, 128)
        assert excinfo.value.status == Status.ACCESS_DENIED
        assert "ACCESS_DENIED" in str(excinfo.value)


def test_control_privilege_is_exclusive_to_one_application(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    with client_for(front) as owner, client_for(front) as other:
        owner.take_control()
        owner.write_register(WIDTH, 128)
        assert other.read_register(WIDTH) == 128  # control (not exclusive) lets others read
        with pytest.raises(GvcpError) as excinfo:
            other.write_register(bs.CCP, bs.CCP_CONTROL)
        assert excinfo.value.status == Status.ACCESS_DENIED
        with pytest.raises(GvcpError):
            other.write_register(WIDTH, 256)
        with pytest.raises(GvcpError, match="is controlled by another application"):
            other.take_control()


def test_exclusive_access_denies_reads_to_others(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    with client_for(front) as owner, client_for(front) as other:
        owner.take_control(exclusive=True)
        with pytest.raises(GvcpError) as excinfo:
            other.read_register(WIDTH)
        assert excinfo.value.status == Status.ACCESS_DENIED


def test_heartbeat_timeout_releases_control(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    with client_for(front) as owner, client_for(front) as other:
        owner.write_register(bs.CCP, bs.CCP_CONTROL)  # control without a heartbeat thread
        owner.write_register(bs.HEARTBEAT_TIMEOUT, 100)  # clamped to the 500 ms minimum
        assert owner.read_register(bs.HEARTBEAT_TIMEOUT) == bs.MIN_HEARTBEAT_MS
        eventually(lambda: front.controller is None, what="the control privilege released")
        other.write_register(bs.CCP, bs.CCP_CONTROL)  # the privilege is free again
        assert other.read_register(bs.CCP) == bs.CCP_CONTROL


def test_errors_map_to_gvcp_status(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with client_for(front) as client:
        client.take_control()
        cases = [
            (0x1FFF0, Status.BAD_ADDRESS),  # no such feature register
            (WIDTH, Status.INVALID_PARAMETER, 3),  # out of range
            (bs.VERSION, Status.WRITE_PROTECT),  # read-only bootstrap register
        ]
        for address, status, *value in cases:
            with pytest.raises(GvcpError) as excinfo:
                client.write_register(address, value[0] if value else 1)
            assert excinfo.value.status == status


def test_user_name_is_writable_and_persisted(
    tmp_path: Path, camera: tuple[CameraFrontEnd, BackgroundCamera]
) -> None:
    front, _ = camera
    with client_for(front) as client:
        client.take_control()
        client.write_memory(bs.USER_NAME, b"line-3 cam")
        info = gvcp.DeviceInfo.parse(client.read_memory(0, 0xF8))
        assert info.user_name == "line-3 cam"
    again = bs.Bootstrap(
        manufacturer="m",
        model_name="x",
        device_version="1",
        serial="s",
        xml_length=1,
        data_dir=tmp_path,
    )
    assert again.user_name == "line-3 cam"


def test_unknown_command_and_garbage(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        for junk in (b"", b"\x42", b"\xff" * 7, b"\x42\x01\x00\x80\xff\xff\x00\x01", bytes(600)):
            sock.sendto(junk, ("127.0.0.1", front.gvcp_port))
        # FORCEIP is not implemented: the device says so.
        sock.sendto(struct.pack(">BBHHH", 0x42, 1, 0x0004, 0, 9), ("127.0.0.1", front.gvcp_port))
        ack = gvcp.GenericAck.parse(sock.recv(2048))
        assert (ack.answer, ack.ack_id, ack.status) == (0x0005, 9, Status.NOT_IMPLEMENTED)
        # A READREG with a bad payload length gets INVALID_PARAMETER, and the server lives on.
        sock.sendto(bytes.fromhex("4201008000020005abcd"), ("127.0.0.1", front.gvcp_port))
        assert gvcp.GenericAck.parse(sock.recv(2048)).status == Status.INVALID_PARAMETER
    with client_for(front) as client:
        assert client.read_register(bs.VERSION) == 0x00020000
    assert front.server is not None and front.server.malformed >= 4


def test_readmem_alignment_and_size_limits(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(bytes(gvcp.ReadMemCmd(1, 0x202, 8)), ("127.0.0.1", front.gvcp_port))
        assert gvcp.GenericAck.parse(sock.recv(2048)).status == Status.BAD_ALIGNMENT
        sock.sendto(bytes(gvcp.ReadMemCmd(2, 0x200, 1024)), ("127.0.0.1", front.gvcp_port))
        assert gvcp.GenericAck.parse(sock.recv(2048)).status == Status.INVALID_PARAMETER


def acquire(front: CameraFrontEnd, count: int, packet_size: int = 576) -> tuple[list, dict]:
    with GigECamera("127.0.0.1", port=front.gvcp_port) as cam:
        receiver = cam.start_stream(packet_size=packet_size)
        cam.execute("AcquisitionStart")
        frames = []
        for frame in cam.frames(count):
            frames.append((frame.complete, frame.width, frame.height, frame.image().copy()))
            receiver.release(frame)
        cam.execute("AcquisitionStop")
        return frames, receiver.stats.as_dict()


def test_acquisition_through_node_map_and_receiver(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    frames, stats = acquire(front, 5)
    assert [f[0] for f in frames] == [True] * 5
    assert frames[0][1:3] == (64, 32)
    first = frames[0][3]
    # The stand-in draws a ramp offset by its frame counter: check pixels survived packetisation.
    assert np.array_equal(np.diff(first.ravel().astype(np.int16)) % 256, np.ones(64 * 32 - 1))
    assert stats["images_received"] == 5 and stats["error_images"] == 0


def test_lost_packets_are_recovered_by_resend(tmp_path: Path) -> None:
    model = StubModel(width=256, height=64)  # 16 KiB: 31 payload packets of 540 bytes
    front = CameraFrontEnd(model, host="127.0.0.1", gvcp_port=0, lost_ratio=0.2)
    with BackgroundCamera(front):
        frames, stats = acquire(front, 5)
    assert [f[0] for f in frames] == [True] * 5
    assert stats["resend_requests"] > 0
    assert stats["packets_resent"] > 0 and front.streamer.stats.packets_dropped > 0
    assert stats["error_images"] == 0


def test_extended_ids_end_to_end(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with GigECamera("127.0.0.1", port=front.gvcp_port) as cam:
        receiver = cam.start_stream(packet_size=576, extended_id=True)
        assert cam.client.read_register(bs.GVSP_CONFIGURATION) & bs.GVSP_CONFIG_64BIT_BLOCK_ID
        cam.execute("AcquisitionStart")
        frames = list(cam.frames(3))
        cam.execute("AcquisitionStop")
    assert all(f.complete for f in frames)
    assert [f.block_id for f in frames] == [1, 2, 3]
    assert np.shares_memory(frames[0].data, receiver.buffers[frames[0].buffer_index])


def test_timestamp_latch_and_reset(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with client_for(front) as client:
        client.take_control()
        client.write_register(bs.TIMESTAMP_CONTROL, 0x2)  # latch
        high, low = client.read_registers([bs.TIMESTAMP_VALUE_HIGH, bs.TIMESTAMP_VALUE_LOW])
        first = (high << 32) | low
        client.write_register(bs.TIMESTAMP_CONTROL, 0x3)  # reset, then latch
        high, low = client.read_registers([bs.TIMESTAMP_VALUE_HIGH, bs.TIMESTAMP_VALUE_LOW])
        assert first > 0 and ((high << 32) | low) < first


def test_losing_control_stops_the_stream(camera: tuple[CameraFrontEnd, BackgroundCamera]) -> None:
    front, _ = camera
    with client_for(front) as client:
        client.write_register(bs.CCP, bs.CCP_CONTROL)
        client.write_register(bs.SCDA0, 0x7F000001)
        client.write_register(bs.SCP0, 40000)
        client.write_register(0x1000C, 1)  # the stand-in's AcquisitionStart
        assert front.model.acquiring
        client.write_register(bs.CCP, 0)  # the application lets go
        assert client.read_register(bs.SCP0) == 0 and not front.model.acquiring


def test_stream_registers_configure_the_streamer(
    camera: tuple[CameraFrontEnd, BackgroundCamera],
) -> None:
    front, _ = camera
    with client_for(front) as client, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(5)
        client.take_control()
        client.write_registers(
            [(bs.SCDA0, 0x7F000001), (bs.SCP0, sink.getsockname()[1]), (bs.SCPD0, 2500)]
        )
        client.write_register(bs.SCPS0, bs.SCPS_FIRE_TEST_PACKET | 1400)
        # GigE Vision test packet: exactly the packet size once IP and UDP headers are added.
        assert len(sink.recv(65536)) == 1400 - 28
        config = front.streamer.config
        assert (config.destination, config.port) == ("127.0.0.1", sink.getsockname()[1])
        assert (config.packet_size, config.packet_delay_ns) == (1400, 2500)
        assert client.read_register(bs.SCSP0) == front.streamer.source_port
        with pytest.raises(GvcpError) as excinfo:
            client.write_register(bs.SCPS0, 100)  # below the 576-byte minimum
        assert excinfo.value.status == Status.INVALID_PARAMETER
