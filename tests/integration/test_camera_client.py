"""`openpss camera` CLI, node map, events and the control channel against our real camera model."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

from openpss.cli import app
from openpss.devices.camera import bootstrap as bs
from openpss.devices.camera.control import ControlChannel, request
from openpss.devices.camera.model import CameraModel
from openpss.devices.camera.server import BackgroundCamera, CameraFrontEnd
from openpss.imaging import compute_ffc
from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.camera import GigECamera

runner = CliRunner()


class Running:
    def __init__(self, front: CameraFrontEnd, background: BackgroundCamera, control: int) -> None:
        self.front, self.background, self.control_port = front, background, control
        assert isinstance(front.model, CameraModel)
        self.model = front.model

    def cli(self, *args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["camera", *args, "--port", str(self.front.gvcp_port)])
        return result.exit_code, result.output


@pytest.fixture
def cam(tmp_path: Path) -> Iterator[Running]:
    model = CameraModel(data_dir=tmp_path, width=320, height=240, color=True)
    front = CameraFrontEnd(model, host="127.0.0.1", gvcp_port=0, data_dir=tmp_path)
    background = BackgroundCamera(front)
    with background:

        async def open_control() -> ControlChannel:
            return await ControlChannel.open(front, "127.0.0.1", 0)

        channel = asyncio.run_coroutine_threadsafe(open_control(), background.loop).result(10)
        yield Running(front, background, channel.port)
        background.call(lambda: channel.transport.close() if channel.transport else None)


def test_info_get_set_and_feature_tree(cam: Running) -> None:
    code, out = cam.cli("info", "127.0.0.1")
    assert code == 0 and "serial number        OPSS0001" in out
    assert "GenICam URL          Local:openpss.xml;c0000000;" in out
    code, out = cam.cli("set", "127.0.0.1", "Width=160", "PixelFormat=Mono8")
    assert code == 0 and out.splitlines() == ["Width=160", "PixelFormat=Mono8"]
    code, out = cam.cli("get", "127.0.0.1", "Width", "PayloadSize")
    assert out.splitlines() == ["Width=160", "PayloadSize=38400"]
    code, out = cam.cli("set", "127.0.0.1", "Width=100000")
    assert code == 1 and "Width=100000" in out and "Max = 320" in out
    code, out = cam.cli("get", "127.0.0.1", "NoSuchFeature")
    assert code == 1 and "the camera has no feature 'NoSuchFeature'" in out
    _, beginner = cam.cli("features", "127.0.0.1", "--level", "beginner")
    _, guru = cam.cli("features", "127.0.0.1", "--level", "guru")
    assert "Width [Integer RW] 160" in beginner
    assert "(error" not in guru  # every feature read through GVCP by the genicam node map
    assert guru.count("\n") > 100
    assert "FFCDataAddress" not in beginner and "FFCDataAddress" in guru
    code, out = cam.cli("features", "127.0.0.1", "--level", "wizard")
    assert code == 2 and "unknown visibility level 'wizard'" in out


def test_acquire_saves_png_and_tiff(cam: Running, tmp_path: Path) -> None:
    cam.cli("set", "127.0.0.1", "PixelFormat=Mono8")
    code, out = cam.cli(
        "acquire", "127.0.0.1", "--mode", "multi", "--count", "3", "--output", str(tmp_path / "png")
    )
    assert code == 0, out
    assert out.count("320x240 complete") == 3
    pngs = sorted((tmp_path / "png").glob("*.png"))
    assert len(pngs) == 3 and Image.open(pngs[0]).size == (320, 240)
    code, out = cam.cli(
        "acquire",
        "127.0.0.1",
        "--mode",
        "single",
        "--format",
        "tiff",
        "--output",
        str(tmp_path / "tif"),
    )
    assert code == 0 and out.count("complete") == 1
    image = tifffile.imread(next((tmp_path / "tif").glob("*.tiff")))
    assert image.shape == (240, 320) and image.dtype == np.uint8 and image.std() > 0
    code, out = cam.cli("acquire", "127.0.0.1", "--mode", "multi", "--count", "300")
    assert code == 2 and "1-255" in out


def test_stats_report_manual_figures(cam: Running) -> None:
    code, out = cam.cli("stats", "127.0.0.1", "--duration", "0.5")
    assert code == 0
    figures = dict(line.split(None, 1) for line in out.splitlines())
    assert int(figures["images_received"]) > 0 and figures["error_images"] == "0"
    assert float(figures["configured_frame_rate"]) > 0
    for key in ("measured_frame_rate", "bandwidth_mib_s", "frame_loss_rate", "resend_requests"):
        assert key in figures


def test_feature_file_round_trip(cam: Running, tmp_path: Path) -> None:
    cam.cli("set", "127.0.0.1", "Width=160", "BalanceRatioSelector=Blue", "BalanceRatio=2.5")
    code, _ = cam.cli("save", "127.0.0.1", str(tmp_path / "features.txt"))
    text = (tmp_path / "features.txt").read_text()
    assert code == 0 and "Width=160" in text and "BalanceRatioSelector=Blue" in text
    cam.cli("set", "127.0.0.1", "Width=320", "BalanceRatioSelector=Blue", "BalanceRatio=1")
    code, out = cam.cli("load", "127.0.0.1", str(tmp_path / "features.txt"))
    assert code == 0, out  # every writable feature was written back without a refusal
    assert text.count("\n") > 60
    _, out = cam.cli("get", "127.0.0.1", "Width")
    assert out.strip() == "Width=160"
    _, out = cam.cli("set", "127.0.0.1", "BalanceRatioSelector=Blue")
    _, out = cam.cli("get", "127.0.0.1", "BalanceRatio")
    assert float(out.strip().split("=")[1]) == pytest.approx(2.5, abs=0.01)
    (tmp_path / "bad.txt").write_text("Width=160\nthis is not a feature line\n")
    code, out = cam.cli("load", "127.0.0.1", str(tmp_path / "bad.txt"))
    assert code == 1 and "feature file line 2 is not Name=value" in out


def test_white_balance_once(cam: Running) -> None:
    code, out = cam.cli("white-balance", "127.0.0.1")
    assert code == 0, out
    ratios = dict(line.split("=") for line in out.splitlines())
    assert float(ratios["BalanceRatio[Green]"]) == pytest.approx(1.0)
    assert float(ratios["BalanceRatio[Red]"]) != pytest.approx(1.0)


def test_ffc_refuses_uneven_bright_field(cam: Running) -> None:
    code, out = cam.cli("ffc", "127.0.0.1", "--yes", "--frames", "2", "--dark-exposure", "20")
    assert code == 1
    assert "calibration refused" in out and "max/min brightness ratio" in out
    assert "at most 2" in out


def test_ffc_coefficients_upload_and_enable(cam: Running) -> None:
    from openpss.protocols.gige_vision.ffc import upload

    rng = np.random.default_rng(1)
    dark = [rng.normal(64, 1, (240, 320)).clip(0, 4095).astype(np.uint16) for _ in range(2)]
    bright = [rng.normal(2000, 5, (240, 320)).clip(0, 4095).astype(np.uint16) for _ in range(2)]
    coefficients = compute_ffc(dark, bright, "plane16", bit_depth=12, color=True)
    with GigECamera("127.0.0.1", port=cam.front.gvcp_port) as camera:
        upload(camera, "plane16", coefficients.to_bytes())
        assert camera.get("FFCStatus") == "Loaded"
        assert camera.get("FFCEnable") is True


def test_control_channel_triggers_frames_and_reports_outputs(cam: Running) -> None:
    with GigECamera("127.0.0.1", port=cam.front.gvcp_port) as camera:
        for name, value in (
            ("TriggerSelector", "FrameStart"),
            ("TriggerMode", "On"),
            ("TriggerSource", "Line1"),
        ):
            camera.set(name, value)
        receiver = camera.start_stream()
        camera.execute("AcquisitionStart")
        reply = request(
            cam.control_port,
            {"op": "pulses", "line": "Line1", "count": 3, "high_us": 2000, "low_us": 30000},
        )
        assert reply["ok"] and reply["edges"] == 6
        frames = [receiver.get(timeout=5) for _ in range(3)]
        assert all(frame.complete for frame in frames)
        camera.execute("AcquisitionStop")
    outputs = request(cam.control_port, {"op": "outputs"})
    assert outputs["ok"] and set(outputs["levels"]) >= {"Line0"}
    sample = request(cam.control_port, {"op": "sample", "duration_ms": 5, "interval_ms": 1})
    assert sample["ok"] and len(sample["samples"]) >= 2
    bad = request(cam.control_port, {"op": "pulses", "line": "Line0", "count": 1})
    assert bad == {"ok": False, "error": "Line0 is not an input line; use Line1 or Line2"}
    assert request(cam.control_port, {"op": "dance"})["error"].startswith("unknown op 'dance'")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"{not json", ("127.0.0.1", cam.control_port))
        assert json.loads(sock.recv(4096))["ok"] is False


def test_camera_io_cli_drives_the_control_channel(cam: Running) -> None:
    port = str(cam.control_port)
    result = runner.invoke(
        app, ["device", "camera-io", "pulses", "Line1", "--port", port, "--count", "2"]
    )
    assert result.exit_code == 0 and json.loads(result.output)["edges"] == 4
    result = runner.invoke(app, ["device", "camera-io", "set", "Line2", "high", "--port", port])
    assert result.exit_code == 0 and json.loads(result.output)["ok"] is True
    result = runner.invoke(app, ["device", "camera-io", "set", "Line0", "high", "--port", port])
    assert result.exit_code == 1 and "Line0 is not an input line" in result.output
    result = runner.invoke(
        app, ["device", "camera-io", "outputs", "--port", port, "--duration-ms", "5"]
    )
    assert result.exit_code == 0 and '"Line0"' in result.output


def test_events_command_prints_device_events(cam: Running) -> None:
    code, out = cam.cli("events", "127.0.0.1", "--event", "ExposureEnd", "--duration", "0.5")
    assert code == 0, out
    assert "event 0x0002 timestamp=" in out
    code, out = cam.cli("events", "127.0.0.1", "--event", "Lunch", "--duration", "0.1")
    assert code == 1 and "cannot enable event Lunch" in out


def test_device_command_validates_options() -> None:
    result = runner.invoke(app, ["device", "camera", "--lost-ratio", "0.9"])
    assert result.exit_code == 2 and "--lost-ratio 0.9 must be within 0-0.5" in result.output


def test_events_arrive_on_the_message_channel(cam: Running) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as events,
        GigECamera("127.0.0.1", port=cam.front.gvcp_port) as camera,
    ):
        events.bind(("127.0.0.1", 0))
        events.settimeout(5)
        camera.set("EventSelector", "ExposureEnd")
        camera.set("EventNotification", "On")
        camera.client.write_register(bs.MCDA, 0x7F000001)
        camera.client.write_register(bs.MCP, events.getsockname()[1])
        camera.start_stream()
        camera.execute("AcquisitionStart")
        data, peer = events.recvfrom(2048)
        camera.execute("AcquisitionStop")
        _, code, req_id, _ = gvcp.split_command(data)
        assert code in (gvcp.Command.EVENT, gvcp.Command.EVENTDATA)
        event = (
            gvcp.EventCmd.parse(data).events[0]
            if code == gvcp.Command.EVENT
            else gvcp.EventDataCmd.parse(data).event
        )
        assert event.event_id == 0x0002  # GigE Vision: end of exposure
        events.sendto(bytes(gvcp.GenericAck(code + 1, req_id)), peer)


def _flat_field_mean(camera: GigECamera) -> np.ndarray:
    """The mean of 4 Mono12 frames of the camera's current view (float, height x width)."""
    camera.set("PixelFormat", "Mono12")
    receiver = camera.start_stream()
    camera.execute("AcquisitionStart")
    images: list[np.ndarray] = []
    while len(images) < 4:
        frame = receiver.get(timeout=5)
        if frame.complete:
            images.append(frame.image().astype(np.float64))
        receiver.release(frame)
    camera.execute("AcquisitionStop")
    camera.stop_stream()
    return np.mean(images, axis=0)


def _corner_centre_ratio(image: np.ndarray) -> float:
    """Mean of the four 16x16 corners over the mean of the 32x32 centre."""
    h, w = image.shape
    corners = [image[:16, :16], image[:16, -16:], image[-16:, :16], image[-16:, -16:]]
    centre = image[h // 2 - 16 : h // 2 + 16, w // 2 - 16 : w // 2 + 16]
    return float(np.mean([c.mean() for c in corners]) / centre.mean())


def test_ffc_guided_flow_succeeds_and_flattens(cam: Running) -> None:
    with GigECamera("127.0.0.1", port=cam.front.gvcp_port) as camera:
        request(cam.control_port, {"op": "scene", "view": "flat"})
        before = _corner_centre_ratio(_flat_field_mean(camera))
        camera.set("PixelFormat", "BayerRG8")
    assert before < 0.75  # vignetting: corner/centre = 0.65 by the sensor model
    control = str(cam.control_port)
    code, out = cam.cli("ffc", "127.0.0.1", "--yes", "--frames", "2", "--scene-port", control)
    assert code == 0, out
    assert "Step 1/2: cover the lens" in out and "Step 2/2" in out
    assert "(virtual camera now sees: dark)" in out and "(virtual camera now sees: flat)" in out
    assert "FFC PointToPoint coefficients loaded and enabled" in out
    assert cam.model.images.sensor.scene == "pattern"  # put back on the test scene
    with GigECamera("127.0.0.1", port=cam.front.gvcp_port) as camera:
        assert camera.get("FFCEnable") is True and camera.get("FFCStatus") == "Loaded"
        assert camera.get("PixelFormat") == "BayerRG8"  # the user's settings are restored
        request(cam.control_port, {"op": "scene", "view": "flat"})
        after = _corner_centre_ratio(_flat_field_mean(camera))
    assert abs(after - 1.0) < 0.05 < abs(before - 1.0)


def test_control_channel_scene_refusals(cam: Running) -> None:
    reply = request(cam.control_port, {"op": "scene", "view": "sunset"})
    assert reply == {"ok": False, "error": "view must be one of scene, flat, dark, got 'sunset'"}
    reply = request(cam.control_port, {"op": "scene", "view": "flat", "illumination": 11})
    assert not reply["ok"] and "illumination must be a number in 0.0-10.0" in reply["error"]
    reply = request(cam.control_port, {"op": "scene", "view": "dark"})
    assert reply == {"ok": True, "view": "dark", "illumination": 1.0}
    assert cam.model.images.sensor.illumination == 0.0


def test_camera_io_scene_command(cam: Running) -> None:
    port = str(cam.control_port)
    result = runner.invoke(app, ["device", "camera-io", "scene", "flat", "--port", port])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"ok": True, "view": "flat", "illumination": 1.0}
    assert cam.model.images.sensor.scene == "flat"
    result = runner.invoke(app, ["device", "camera-io", "scene", "moon", "--port", port])
    assert result.exit_code == 2 and "view must be scene, flat or dark" in result.output
