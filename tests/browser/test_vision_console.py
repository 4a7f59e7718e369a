"""The camera viewer in headless Chromium against the virtual camera on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openpss.platform.vision.live import CameraSessions
from tests.browser.helpers import initialize_and_login, wait_htmx_ready
from tests.integration.vision_support import VirtualCamera, virtual_camera

pytestmark = pytest.mark.browser


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[VirtualCamera]:
    with virtual_camera(tmp_path / "camera") as cam:
        yield cam


@pytest.fixture
def viewer(page: Any, live_server: Any, camera: VirtualCamera) -> Iterator[Any]:
    """Logged in, the virtual camera added by IP address and its viewer page open, connected."""
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/vision")
    page.wait_for_selector("h1#cameras")
    page.click("text=Add by IP address")
    page.fill("#add-camera input[name=name]", "inspection")
    page.fill("#add-camera input[name=address]", "127.0.0.1")
    page.fill("#add-camera input[name=port]", str(camera.port))
    page.click("#add-camera button[type=submit]")
    page.wait_for_selector("text=Camera inspection added.")
    page.click("#camera-list >> text=inspection")
    page.wait_for_selector("h1#camera-title")
    page.click("#connect")
    page.wait_for_selector("#features")
    wait_htmx_ready(page, "#level-form")
    yield page
    sessions: CameraSessions | None = getattr(live_server.app.state, "vision_sessions", None)
    if sessions is not None:
        sessions.close_all()


def test_feature_levels_and_locked_features(viewer: Any) -> None:
    page = viewer
    assert page.locator("tr[data-feature=FFCDataAddress]").count() == 0
    with page.expect_response(lambda r: "/features" in r.url):
        page.select_option("#level", "Guru")
    page.wait_for_selector("tr[data-feature=FFCDataAddress]")
    wait_htmx_ready(page, "#level-form")
    gamma = page.locator("tr[data-feature=Gamma]")
    assert "locked" in (gamma.get_attribute("class") or "")
    assert gamma.locator("input[name=value]").is_disabled()
    page.select_option("tr[data-feature=GammaEnable] select", "1")
    page.wait_for_selector("tr[data-feature=Gamma]:not(.locked)")
    assert page.locator("tr[data-feature=Gamma] input[name=value]").is_enabled()
    page.fill("tr[data-feature=Gamma] input[name=value]", "7")  # above 3.99998: not sent
    assert page.locator("tr[data-feature=Gamma] input[name=value]:invalid").count() == 1
    page.fill("tr[data-feature=Gamma] input[name=value]", "0.5")
    page.press("tr[data-feature=Gamma] input[name=value]", "Enter")
    page.wait_for_selector("tr[data-feature=Gamma] input[value='0.50000']")
    page.fill("tr[data-feature=DeviceUserID] input[name=value]", "x" * 40)
    page.press("tr[data-feature=DeviceUserID] input[name=value]", "Enter")
    page.wait_for_selector("#feature-error")
    assert "cannot set DeviceUserID" in page.inner_text("#feature-error")


def test_play_single_frame_preview_statistics_and_save(viewer: Any, live_server: Any) -> None:
    page = viewer
    assert page.is_visible("#no-frame")
    page.select_option("#play select[name=mode]", "SingleFrame")
    page.click("#play button[type=submit]")
    page.wait_for_selector("#preview")
    page.wait_for_selector("td[data-stat=images_received]:text-is('1')")
    assert page.evaluate("document.querySelector('#preview').naturalWidth") > 0
    href = page.get_attribute("#save-png", "href")
    answer = page.request.get(f"{live_server.url}{href}")
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    assert answer.body()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "started SingleFrame" in page.inner_text("#event-log")


def test_continuous_then_stop(viewer: Any) -> None:
    page = viewer
    page.click("#play button[type=submit]")  # Continuous is the first mode
    page.wait_for_selector("td[data-stat=acquiring]:text-is('acquiring')")
    page.click("#stop")
    page.wait_for_selector("td[data-stat=acquiring]:text-is('stopped')")
    assert "stopped after" in page.inner_text("#event-log")


def test_ffc_wizard(viewer: Any, camera: VirtualCamera) -> None:
    page = viewer
    page.click("text=FFC wizard")
    camera.scene("flat", 0.0)
    page.click("#ffc-dark")
    page.wait_for_selector("#ffc-message:has-text('Captured 4 dark-field frame(s).')")
    camera.scene("flat", 1.0)
    page.click("#ffc-bright")
    page.wait_for_selector("#ffc-message:has-text('Captured 4 bright-field frame(s).')")
    page.click("#ffc-apply button[type=submit]")
    page.wait_for_selector("#ffc-message:has-text('FFC enabled')")
    assert "PointToPoint coefficients" in page.inner_text("#ffc-result")
