"""The FFC wizard succeeds on the camera exactly as `openpss demo` starts it (issue 8.12: the
demo started it without a control port, so nobody could cover the lens or show a flat target)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openpss.commands.demo import _camera_command
from openpss.devices.camera.control import request as control_request
from openpss.platform.security.models import Role
from openpss.platform.vision.live import CameraSessions
from tests.conftest import Api
from tests.support.ports import free_port

BASE = "/api/v1/vision"


@pytest.fixture
def demo_camera(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The demo's camera process on free ports: (GVCP port, control port)."""
    gvcp, control_port = free_port(), free_port()
    command = _camera_command(tmp_path, control_port=control_port, gvcp_port=gvcp)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if control_request(control_port, {"op": "scene", "view": "scene"}, timeout=1):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the demo camera did not start")
            time.sleep(0.2)
        yield gvcp, control_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_ffc_wizard_succeeds_on_the_demo_camera(api: Api, demo_camera: tuple[int, int]) -> None:
    gvcp, control_port = demo_camera
    op = api.headers(Role.operator)
    body = {"name": "demo", "address": "127.0.0.1", "port": gvcp}
    camera_id = api.client.post(f"{BASE}/cameras", json=body, headers=op).json()["id"]
    cam = f"{BASE}/cameras/{camera_id}"
    try:
        assert api.client.post(f"{cam}/connect", headers=op).status_code == 200
        for view, illumination, field in (("dark", 0.0, "dark"), ("flat", 1.0, "bright")):
            scene = {"op": "scene", "view": view, "illumination": illumination}
            assert control_request(control_port, scene, timeout=10)["ok"] is True
            captured = api.client.post(
                f"{cam}/ffc/capture", json={"field": field, "frames": 2}, headers=op
            )
            assert captured.status_code == 200, captured.text
        applied = api.client.post(f"{cam}/ffc/apply", json={"mode": "plane16"}, headers=op)
        assert applied.status_code == 200, applied.text
        assert "FFC enabled" in applied.text
    finally:
        sessions: CameraSessions = api.client.app.state.vision_sessions  # type: ignore[attr-defined]
        sessions.close_all()
