"""Aravis (the outside judge) against our camera, and our client against Aravis's camera."""

from __future__ import annotations

import pytest

from tests.peers.camera_netns import in_netns, require_aravis

pytestmark = pytest.mark.peers


@pytest.fixture(autouse=True)
def _aravis() -> None:
    require_aravis()


def test_arv_tool_lists_and_sets_our_features() -> None:
    result = in_netns(
        """
        with start_camera(tmp):
            features = run("arv-tool-0.8", "-a", "127.0.0.1", "features")
            wrote = run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width=320",
                        "PixelFormat=Mono8", "ExposureTime=5000")
            again = run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width", "PayloadSize",
                        "DeviceSerialNumber")
            refused = run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width=100000")
            after = run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width")
        print(json.dumps({"features": features, "wrote": wrote, "again": again,
                          "refused": refused, "after": after}))
        """
    )
    for name in ("'Width'", "'PixelFormat'", "'AcquisitionMode'", "'TriggerSelector'", "'Gamma'"):
        assert name in result["features"]
    assert "Width = 320" in result["wrote"]
    assert "Width = 320" in result["again"]
    assert "PayloadSize = 153600" in result["again"]  # 320 x 480 Mono8
    assert "DeviceSerialNumber = OPSS0001" in result["again"]
    assert "Width = 320" in result["after"]  # the out-of-range write changed nothing


def test_arv_camera_test_acquires_from_our_camera_without_failures() -> None:
    result = in_netns(
        """
        with start_camera(tmp):
            out = run("arv-camera-test-0.8", "-n", "127.0.0.1", "--duration=3")
        print(json.dumps({"out": out, "n": counters(out)}))
        """
    )
    n = result["n"]
    assert n["n_completed_buffers"] >= 10, result["out"]
    assert n["n_failures"] == 0 and n["n_missing_packets"] == 0, result["out"]
    assert n["n_size_mismatch_errors"] == 0


def test_arv_camera_test_recovers_lost_packets_by_resend() -> None:
    # The real command line: `openpss device camera --lost-ratio` drops 1% of the packets.
    result = in_netns(
        """
        import sys
        camera = subprocess.Popen(
            [sys.executable, "-m", "openpss.cli", "device", "camera", "--width", "640",
             "--height", "480", "--mono", "--lost-ratio", "0.01", "--data-dir", str(tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                if "Width =" in run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width"):
                    break
                time.sleep(0.1)
            # Packet timeout 100 ms and frame retention 1 s (Aravis: 20 ms / 100 ms) so that a
            # CPU-starved CI machine does not turn a late resend into a failed buffer.
            out = run("arv-camera-test-0.8", "-n", "127.0.0.1", "--duration=3", "-p", "100",
                      "-m", "1000")
        finally:
            camera.terminate()
            camera.wait()
        print(json.dumps({"out": out, "n": counters(out)}))
        """
    )
    n = result["n"]
    assert n["n_completed_buffers"] >= 10, result["out"]
    assert n["n_resend_requests"] > 0 and n["n_resent_packets"] > 0, result["out"]
    assert n["n_failures"] == 0 and n["n_error_packets"] == 0, result["out"]


def test_our_client_acquires_from_aravis_fake_camera() -> None:
    result = in_netns(
        """
        from openpss.protocols.gige_vision.camera import GigECamera
        fake = subprocess.Popen(["arv-fake-gv-camera-0.8", "-i", "127.0.0.1"])
        try:
            for _ in range(100):
                if "127.0.0.1" in run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width"):
                    break
                time.sleep(0.1)
            frames = []
            with GigECamera("127.0.0.1") as cam:
                info = [cam.get("Width"), cam.get("Height"), cam.get("PixelFormat")]
                receiver = cam.start_stream(packet_size=1500)
                cam.execute("AcquisitionStart")
                for frame in cam.frames(5):
                    frames.append([frame.complete, frame.width, frame.height, frame.data.nbytes])
                    receiver.release(frame)
                cam.execute("AcquisitionStop")
                stats = receiver.stats.as_dict()
        finally:
            fake.terminate()
            fake.wait()
        print(json.dumps({"info": info, "frames": frames, "stats": stats}))
        """
    )
    width, height, pixel_format = result["info"]
    assert pixel_format == "Mono8"
    assert result["frames"] == [[True, width, height, width * height]] * 5
    assert result["stats"]["error_images"] == 0


def test_discovery_on_loopback_finds_our_camera() -> None:
    result = in_netns(
        """
        from openpss.protocols.gige_vision.client import discover
        with start_camera(tmp):
            found = [(d.address, d.info.serial, d.info.model) for d in discover("lo")]
        print(json.dumps(found))
        """
    )
    assert result == [["127.0.0.1", "OPSS0001", "OPSS-GV640M"]]


def test_cli_list_discovers_on_named_interface() -> None:
    result = in_netns(
        """
        import sys
        with start_camera(tmp):
            cli = (sys.executable, "-m", "openpss.cli", "camera", "list", "--interface")
            out = run(*cli, "lo") + run(*cli, "nope0")
        print(json.dumps(out))
        """
    )
    assert "127.0.0.1\topenpss\tOPSS-GV640M\tOPSS0001" in result
    assert "interface 'nope0' has no IPv4 address" in result


def test_lossy_aravis_fake_camera_without_resend_capability() -> None:
    # arv-fake-gv-camera 0.8 does not advertise PACKETRESEND (GVCP capability bit 29): our
    # receiver must not send it, and must report the incomplete frames as error images.
    result = in_netns(
        """
        from openpss.protocols.gige_vision.camera import GigECamera
        fake = subprocess.Popen(["arv-fake-gv-camera-0.8", "-i", "127.0.0.1", "-r", "20"])
        try:
            for _ in range(100):
                if "Width =" in run("arv-tool-0.8", "-a", "127.0.0.1", "control", "Width"):
                    break
                time.sleep(0.1)
            with GigECamera("127.0.0.1") as cam:
                receiver = cam.start_stream(packet_size=1500)
                cam.execute("AcquisitionStart")
                complete = []
                for frame in cam.frames(10):
                    complete.append(frame.complete)
                    receiver.release(frame)
                cam.execute("AcquisitionStop")
                stats = receiver.stats.as_dict()
        finally:
            fake.terminate()
            fake.wait()
        print(json.dumps({"complete": complete, "stats": stats}))
        """
    )
    stats = result["stats"]
    assert stats["resend_requests"] == 0 and stats["packets_resent"] == 0
    # The receiver may have finished more frames than the 10 the test consumed.
    assert stats["error_images"] >= result["complete"].count(False) > 0
    assert stats["images_received"] >= result["complete"].count(True)
