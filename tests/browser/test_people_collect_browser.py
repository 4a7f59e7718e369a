"""Batch issue in Chromium with cards read on the virtual terminal (issue 8.15)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openpss.platform.devices.schemas import DeviceCreate
from openpss.platform.devices.service import create_device
from openpss.platform.people.schemas import PersonCreate
from openpss.platform.people.service import create_person
from openpss.platform.security.audit import SYSTEM
from tests.browser.helpers import initialize_and_login, wait_htmx_ready
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device

pytestmark = pytest.mark.browser


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path / "terminal") as running:
        yield running


def _present_when_asked(device: RunningDevice, card: str) -> threading.Thread:
    """Present `card` at the device as soon as the platform waits for one (bounded)."""

    def run() -> None:
        deadline = time.monotonic() + 30
        while device.front.collector.pending is None and time.monotonic() < deadline:
            time.sleep(0.02)
        device.present(card=card)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_batch_issue_reads_cards_on_the_device_into_its_list(
    page: Any, live_server: Any, device: RunningDevice
) -> None:
    with live_server.app.state.session_factory() as s:
        persons = [
            create_person(session=s, data=PersonCreate(user_id=u, name=f"P{u}")) for u in "12"
        ]
        data = DeviceCreate(name="Gate", host="127.0.0.1", port=device.port, username="admin",
                            password=ADMIN_PASSWORD)  # fmt: skip
        create_device(session=s, settings=live_server.settings, actor=SYSTEM, data=data)
        s.commit()
        ids = [str(p.id) for p in persons]
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/people/batch?ids={ids[0]}&ids={ids[1]}")
    for card in ("0D000001", "0D000002"):
        presenter = _present_when_asked(device, card)
        with page.expect_response(lambda r: r.url.endswith("/people/read-card")):
            page.click("#batch-read-card button[type=submit]")
        presenter.join(timeout=30)
    page.wait_for_function(
        "document.querySelector('#batch-issue-cards').value === '0D000001\\n0D000002'"
    )
    page.click("form[action='/people/batch/cards'] button[type=submit]")
    page.wait_for_selector("#batch-message:has-text('issued 2 card(s)')")


def test_add_person_dialog_reads_the_card_on_the_device(
    page: Any, live_server: Any, device: RunningDevice
) -> None:
    with live_server.app.state.session_factory() as s:
        data = DeviceCreate(name="Gate", host="127.0.0.1", port=device.port, username="admin",
                            password=ADMIN_PASSWORD)  # fmt: skip
        create_device(session=s, settings=live_server.settings, actor=SYSTEM, data=data)
        s.commit()
    initialize_and_login(page, live_server)
    page.goto(f"{live_server.url}/people")
    page.click("#add-person")
    page.wait_for_selector("#person-dialog #new-card-read")
    wait_htmx_ready(page, "#new-card-read")
    presenter = _present_when_asked(device, "0e000001")
    with page.expect_response(lambda r: r.url.endswith("/people/read-card")):
        page.click("#new-card-read")
    presenter.join(timeout=30)
    page.wait_for_function("document.querySelector('#new-card-number').value === '0E000001'")
    page.fill("#person-form input[name=user_id]", "5001")
    page.fill("#person-form input[name=name]", "Eve Reader")
    page.click("#person-save")
    page.wait_for_selector("#card-table code:has-text('0E000001')")
