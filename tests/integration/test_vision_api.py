"""The viewer's REST API against the virtual camera on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image
from sqlalchemy import select

from openpss.platform.security.models import AuditEntry, Role
from openpss.platform.vision.live import CameraSessions
from openpss.protocols.gige_vision.client import DiscoveredDevice
from openpss.protocols.gige_vision.gvcp import DeviceInfo
from tests.conftest import Api
from tests.integration.vision_support import HEIGHT, WIDTH, VirtualCamera, virtual_camera
from tests.support.polling import eventually

BASE = "/api/v1/vision"


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[VirtualCamera]:
    with virtual_camera(tmp_path / "camera") as cam:
        yield cam


@pytest.fixture
def vision(api: Api, camera: VirtualCamera) -> Iterator[tuple[Api, int]]:
    """The API with the virtual camera added and connected; connections closed afterwards."""
    op = api.headers(Role.operator)
    body = {"name": "line 1", "address": "127.0.0.1", "port": camera.port}
    created = api.client.post(f"{BASE}/cameras", json=body, headers=op)
    assert created.status_code == 201, created.text
    camera_id = created.json()["id"]
    connected = api.client.post(f"{BASE}/cameras/{camera_id}/connect", headers=op)
    assert connected.status_code == 200, connected.text
    yield api, camera_id
    sessions: CameraSessions = api.client.app.state.vision_sessions  # type: ignore[attr-defined]
    sessions.close_all()


def _tree_find(tree: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for node in tree:
        if node["name"] == name:
            return node
        found = _tree_find(node["children"], name)
        if found:
            return found
    return None


def _names(tree: list[dict[str, Any]]) -> set[str]:
    return {n["name"] for n in tree} | {m for n in tree for m in _names(n["children"])}


def test_camera_list_rules(api: Api) -> None:
    op = api.headers(Role.operator)
    body = {"name": "a", "address": "127.0.0.1", "port": 40000}
    assert api.client.post(f"{BASE}/cameras", json=body, headers=op).status_code == 201
    again = api.client.post(f"{BASE}/cameras", json={**body, "name": "b"}, headers=op)
    assert again.status_code == 409
    assert again.json()["detail"] == "127.0.0.1:40000 is already in the list as 'a'"
    same_name = api.client.post(f"{BASE}/cameras", json={**body, "port": 40001}, headers=op)
    assert "a camera named 'a' already exists" in same_name.json()["detail"]
    bad = api.client.post(f"{BASE}/cameras", json={**body, "address": "cam.local"}, headers=op)
    assert bad.status_code == 422 and "not an IPv4 address" in bad.text
    viewer = api.client.post(f"{BASE}/cameras", json=body, headers=api.headers(Role.viewer))
    assert viewer.status_code == 403
    listed = api.client.get(f"{BASE}/cameras", headers=api.headers(Role.viewer)).json()["items"]
    assert [(c["name"], c["connected"]) for c in listed] == [("a", False)]


def test_rename_and_readdress(api: Api) -> None:
    op = api.headers(Role.operator)
    first = {"name": "a", "address": "127.0.0.1", "port": 40000}
    camera_id = api.client.post(f"{BASE}/cameras", json=first, headers=op).json()["id"]
    api.client.post(f"{BASE}/cameras", json={**first, "name": "b", "port": 40001}, headers=op)
    renamed = api.client.patch(f"{BASE}/cameras/{camera_id}", json={"name": "dock"}, headers=op)
    assert renamed.status_code == 200 and renamed.json()["name"] == "dock"
    clash = api.client.patch(f"{BASE}/cameras/{camera_id}", json={"port": 40001}, headers=op)
    assert clash.status_code == 409 and "already in the list as 'b'" in clash.json()["detail"]
    bad = api.client.patch(f"{BASE}/cameras/{camera_id}", json={"address": "1.2.3"}, headers=op)
    assert bad.status_code == 422
    missing = api.client.patch(f"{BASE}/cameras/999", json={"name": "x"}, headers=op)
    assert missing.status_code == 404 and missing.json()["detail"] == "camera 999 does not exist"


def test_connect_refreshes_identity(vision: tuple[Api, int]) -> None:
    api, _ = vision
    listed = api.client.get(f"{BASE}/cameras", headers=api.headers(Role.viewer)).json()["items"]
    assert listed[0]["connected"] is True
    assert listed[0]["manufacturer"] == "openpss" and listed[0]["serial"] == "OPSS0001"
    assert listed[0]["model_name"] == f"OPSS-GV{WIDTH}C"


def test_connect_to_nothing_is_a_clear_error(api: Api) -> None:
    op = api.headers(Role.operator)
    body = {"name": "ghost", "address": "127.0.0.1", "port": 9}
    camera_id = api.client.post(f"{BASE}/cameras", json=body, headers=op).json()["id"]
    answer = api.client.post(f"{BASE}/cameras/{camera_id}/connect", headers=op)
    assert answer.status_code == 502  # the camera did not answer: Unavailable
    assert answer.json()["detail"].startswith("cannot connect to 127.0.0.1:9:")
    stats = api.client.get(f"{BASE}/cameras/{camera_id}/statistics", headers=op)
    assert stats.status_code == 409 and "not connected" in stats.json()["detail"]


def test_feature_tree_by_level(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    viewer = api.headers(Role.viewer)
    beginner = api.client.get(f"{BASE}/cameras/{camera_id}/features?level=Beginner", headers=viewer)
    guru = api.client.get(f"{BASE}/cameras/{camera_id}/features?level=Guru", headers=viewer)
    assert beginner.status_code == guru.status_code == 200
    assert _names(beginner.json()) < _names(guru.json())
    assert {n["visibility"] for n in beginner.json()} == {"Beginner"}
    pixel_format = _tree_find(guru.json(), "PixelFormat")
    assert pixel_format is not None and "BayerRG8" in pixel_format["options"]
    gamma = _tree_find(guru.json(), "Gamma")
    assert gamma is not None and gamma["locked"] is True  # GammaEnable is off
    bad = api.client.get(f"{BASE}/cameras/{camera_id}/features?level=Wizard", headers=viewer)
    assert bad.status_code == 422 and "Beginner, Expert or Guru" in bad.text


def test_set_feature_and_refusals(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    url = f"{BASE}/cameras/{camera_id}/features"
    assert api.client.put(f"{url}/GammaEnable", json={"value": "1"}, headers=op).status_code == 200
    answer = api.client.put(f"{url}/Gamma", json={"value": "0.5"}, headers=op)
    assert answer.status_code == 200 and float(answer.json()["value"]) == pytest.approx(0.5)
    too_big = api.client.put(f"{url}/Gamma", json={"value": "4.5"}, headers=op)
    assert too_big.status_code == 422 and too_big.json()["detail"].startswith(
        "cannot set Gamma to '4.5'"
    )
    unknown = api.client.put(f"{url}/Sharpness", json={"value": "1"}, headers=op)
    assert unknown.status_code == 404 and "no feature 'Sharpness'" in unknown.json()["detail"]
    viewer = api.client.put(f"{url}/Gamma", json={"value": "1"}, headers=api.headers(Role.viewer))
    assert viewer.status_code == 403


def test_single_and_multi_frame_then_save(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    cam = f"{BASE}/cameras/{camera_id}"
    assert api.client.get(f"{cam}/frame.png", headers=op).status_code == 404
    answer = api.client.post(
        f"{cam}/acquisition", json={"mode": "MultiFrame", "count": 3}, headers=op
    )
    assert answer.status_code == 202
    stats = _wait_for(api, cam, lambda s: s["frames_seen"] >= 3)
    assert stats["images_received"] == 3 and stats["error_images"] == 0, stats
    assert stats["acquiring"] is False and stats["resulting_frame_rate"] > 0
    png = api.client.get(f"{cam}/frame.png", headers=op)
    image = Image.open(io.BytesIO(png.content))
    assert png.headers["content-type"] == "image/png" and image.size == (WIDTH, HEIGHT)
    assert image.mode == "RGB"
    tiff = api.client.get(f"{cam}/frame.tiff", headers=op)
    assert tifffile.imread(io.BytesIO(tiff.content)).shape == (HEIGHT, WIDTH)
    bad = api.client.post(
        f"{cam}/acquisition", json={"mode": "MultiFrame", "count": 256}, headers=op
    )
    assert bad.status_code == 422
    texts = [e["text"] for e in api.client.get(f"{cam}/events", headers=op).json()]
    assert "finished: 3 frame(s) received" in texts and "started MultiFrame (3 frames)" in texts


def test_configured_frame_rate_is_shown_only_when_it_limits_the_camera(
    vision: tuple[Api, int],
) -> None:
    """Issue 8.12: the statistics said 10 fps (AcquisitionFrameRate, not enabled) while the
    camera ran free at its resulting rate."""
    api, camera_id = vision
    op = api.headers(Role.operator)
    cam = f"{BASE}/cameras/{camera_id}"
    free = api.client.get(f"{cam}/statistics", headers=op).json()
    assert free["configured_frame_rate"] is None and free["resulting_frame_rate"] > 0
    url = f"{cam}/features"
    assert api.client.put(f"{url}/AcquisitionFrameRateEnable", json={"value": "1"}, headers=op)
    assert api.client.put(f"{url}/AcquisitionFrameRate", json={"value": "5"}, headers=op)
    limited = api.client.get(f"{cam}/statistics", headers=op).json()
    assert limited["configured_frame_rate"] == pytest.approx(5.0)


def test_device_events_reach_the_event_log(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    cam = f"{BASE}/cameras/{camera_id}"
    api.client.put(f"{cam}/features/EventSelector", json={"value": "ExposureEnd"}, headers=op)
    api.client.put(f"{cam}/features/EventNotification", json={"value": "On"}, headers=op)
    api.client.post(f"{cam}/acquisition", json={"mode": "SingleFrame"}, headers=op)

    def exposure_end() -> list[str]:
        texts = [e["text"] for e in api.client.get(f"{cam}/events", headers=op).json()]
        return [t for t in texts if t.startswith("ExposureEnd 0x0002")]

    texts = eventually(exposure_end, what="an ExposureEnd event in the event log")
    assert all(t.startswith("ExposureEnd 0x0002 at ") for t in texts), texts


def test_continuous_locks_width_until_stopped(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    cam = f"{BASE}/cameras/{camera_id}"
    assert (
        api.client.post(f"{cam}/acquisition", json={"mode": "Continuous"}, headers=op).status_code
        == 202
    )
    _wait_for(api, cam, lambda s: s["frames_seen"] >= 2)
    width = _tree_find(api.client.get(f"{cam}/features?level=Guru", headers=op).json(), "Width")
    assert width is not None and width["locked"] is True
    assert api.client.delete(f"{cam}/acquisition", headers=op).status_code == 204
    width = _tree_find(api.client.get(f"{cam}/features?level=Guru", headers=op).json(), "Width")
    assert width is not None and width["locked"] is False


def test_ffc_wizard_flattens_and_refuses_uneven_light(
    vision: tuple[Api, int], camera: VirtualCamera
) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    cam = f"{BASE}/cameras/{camera_id}"
    early = api.client.post(f"{cam}/ffc/apply", json={"mode": "plane16"}, headers=op)
    assert early.status_code == 409 and early.json()["detail"] == "capture the dark field first"
    camera.scene("flat", 0.0)
    assert (
        api.client.post(
            f"{cam}/ffc/capture", json={"field": "dark", "frames": 2}, headers=op
        ).status_code
        == 200
    )
    camera.scene("pattern", 1.0)  # not a flat field: far more than 2:1 between bright and dark
    api.client.post(f"{cam}/ffc/capture", json={"field": "bright", "frames": 2}, headers=op)
    refused = api.client.post(f"{cam}/ffc/apply", json={"mode": "point"}, headers=op)
    assert refused.status_code == 422 and "FFC allows at most 2" in refused.json()["detail"]
    camera.scene("flat", 1.0)
    api.client.post(f"{cam}/ffc/capture", json={"field": "bright", "frames": 2}, headers=op)
    applied = api.client.post(f"{cam}/ffc/apply", json={"mode": "point"}, headers=op)
    assert applied.status_code == 200, applied.text
    tree = api.client.get(f"{cam}/features?level=Guru", headers=op).json()
    assert _tree_find(tree, "FFCEnable")["value"] == "1"  # type: ignore[index]
    assert _tree_find(tree, "FFCStatus")["value"] == "Loaded"  # type: ignore[index]
    assert _tree_find(tree, "PixelFormat")["value"] == "BayerRG8"  # type: ignore[index]  # restored
    # The corrected flat field is flat: vignetting (corner/centre 0.65 at the corners) is gone.
    settings = camera.background.call(camera.model.image_settings)
    assert settings.ffc_enable
    uncorrected = dataclasses.replace(settings, ffc_enable=False, ffc=None)
    before = _corner_centre(camera.background.call(lambda: camera.model.images.render(uncorrected)))
    after = _corner_centre(camera.background.call(lambda: camera.model.images.render(settings)))
    assert before < 0.8 and abs(after - 1.0) < 0.05


def _corner_centre(mosaic: np.ndarray) -> float:
    """Corner/centre brightness of the green pixels of a Bayer RG frame (8x8 green cells)."""
    green = mosaic[0::2, 1::2].astype(np.float64)
    h, w = green.shape
    corners = [green[:8, :8], green[:8, -8:], green[-8:, :8], green[-8:, -8:]]
    centre = green[h // 2 - 8 : h // 2 + 8, w // 2 - 8 : w // 2 + 8]
    return float(np.mean([c.mean() for c in corners]) / centre.mean())


def test_discovery_lists_answers_and_marks_known(
    vision: tuple[Api, int], camera: VirtualCamera
) -> None:
    api, _ = vision
    info = DeviceInfo(manufacturer="openpss", model="OPSS-GV256C", serial="OPSS0001")
    sessions: CameraSessions = api.client.app.state.vision_sessions  # type: ignore[attr-defined]
    sessions.finder = lambda interface, timeout: [
        DiscoveredDevice("127.0.0.1", camera.port, info),
        DiscoveredDevice("127.0.0.2", 3956, info),
    ]
    found = api.client.post(f"{BASE}/discover?interface=lo", headers=api.headers(Role.operator))
    assert found.status_code == 200
    assert [(c["address"], c["known"]) for c in found.json()] == [
        ("127.0.0.1", True),
        ("127.0.0.2", False),
    ]


def test_delete_disconnects(vision: tuple[Api, int]) -> None:
    api, camera_id = vision
    op = api.headers(Role.operator)
    assert api.client.delete(f"{BASE}/cameras/{camera_id}", headers=op).status_code == 204
    assert api.client.get(f"{BASE}/cameras", headers=op).json() == {"total": 0, "items": []}
    assert api.client.delete(f"{BASE}/cameras/{camera_id}", headers=op).status_code == 404


def _wait_for(api: Api, cam: str, done: Any) -> dict[str, Any]:
    """The camera's statistics once `done(stats)` holds (the test fails if it never does)."""

    def check() -> dict[str, Any] | None:
        stats: dict[str, Any] = api.client.get(
            f"{cam}/statistics", headers=api.headers(Role.viewer)
        ).json()
        return stats if done(stats) else None

    result: dict[str, Any] = eventually(check, what="camera statistics")
    return result


def _audit(api: Api, action: str) -> list[tuple[str, dict[str, Any]]]:
    with api.client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [(e.target, json.loads(e.detail)) for e in s.scalars(query)]


def test_api_and_console_audit_camera_actions_alike(vision: tuple[Api, int]) -> None:
    """Regression: camera.connect logged the name from the API and the id from the console."""
    api, camera_id = vision
    op = api.headers(Role.operator)
    assert api.client.post(f"/vision/{camera_id}/disconnect", headers=op).status_code == 200
    assert api.client.post(f"/vision/{camera_id}/connect", headers=op).status_code == 200
    assert _audit(api, "camera.connect") == [("line 1", {"camera_id": camera_id})] * 2
    assert _audit(api, "camera.disconnect") == [("line 1", {"camera_id": camera_id})]
    url = f"{BASE}/cameras/{camera_id}/features/GammaEnable"
    assert api.client.put(url, json={"value": "1"}, headers=op).status_code == 200
    form = {"name": "GammaEnable", "value": "0"}
    assert api.client.post(f"/vision/{camera_id}/features", data=form, headers=op).is_success
    assert _audit(api, "camera.feature") == [
        ("line 1", {"camera_id": camera_id, "feature": "GammaEnable", "value": "1"}),
        ("line 1", {"camera_id": camera_id, "feature": "GammaEnable", "value": "0"}),
    ]
