"""The intercom management page in Chromium: the organization tree down to the units, the
devices under the clicked node, and a record added meanwhile showing up in the record list
without a reload."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openpss.platform.records.models import AlarmRecord, CallRecord
from tests.browser.conftest import LiveServer
from tests.browser.helpers import initialize_and_login, wait_htmx_ready
from tests.support.intercom_site import build_site


def test_tree_devices_and_live_records(page: Any, live_server: LiveServer) -> None:
    factory = live_server.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        site = build_site(s)
        s.commit()
    initialize_and_login(page, live_server)
    page.click("nav >> text=Intercom")
    page.wait_for_selector("h1#intercom-management")
    tree = page.locator("#intercom-tree")
    for label in ("Community", "11 Building 11", "12 Building 12"):
        assert tree.get_by_text(label, exact=True).is_visible()
    assert tree.locator(f'a[data-node="{site.unit12}"]').is_visible()  # units shown at once
    rows = page.locator("#device-list tbody tr")
    assert rows.count() == 5
    assert page.locator("#device-list").get_by_text("11#01#8055").is_visible()
    gate = page.locator(f'#device-list tr[data-device="{site.gate}"]')
    assert gate.locator("button.door").count() == 2
    assert gate.locator("[data-online]").inner_text() == "Online"

    page.evaluate("window.notReloaded = true")
    wait_htmx_ready(page, f'#intercom-tree a[data-node="{site.unit12}"]')
    page.click(f'#intercom-tree a[data-node="{site.unit12}"]')
    page.wait_for_function("document.querySelectorAll('#device-list tbody tr').length === 1")
    assert page.locator("#device-list tbody tr").inner_text().startswith("gate12")
    selected = page.locator("#intercom-tree a[aria-current]")
    assert selected.get_attribute("data-node") == str(site.unit12)

    wait_htmx_ready(page, "#device-filters")
    page.select_option("#device-filters select[name=status]", "online")
    page.click("#device-search")
    page.wait_for_selector("#device-list >> text=No VTO or VTH here.")  # gate12 is offline
    assert page.locator("#device-filters input[name=node_id]").input_value() == str(site.unit12)

    assert page.locator("#live-record-list").get_by_text("No records yet.").is_visible()
    with factory() as s:
        s.add(AlarmRecord(device_id=site.gate, event_time=dt.datetime.now(dt.UTC),
                          alarm_type="tamper", detail="the unit was opened"))  # fmt: skip
        s.add(CallRecord(start_time=dt.datetime.now(dt.UTC), caller="11#01#8055",
                         callee="888888", status="missed"))  # fmt: skip
        s.commit()
    page.wait_for_selector("#live-record-list >> text=tamper: the unit was opened")
    assert page.locator("#live-record-list tbody tr").count() == 2
    assert page.evaluate("window.notReloaded === true")  # swapped in place, not reloaded
    history = page.locator("#live-records a[href='/records?kind=alarms']").first
    assert history.is_visible()
