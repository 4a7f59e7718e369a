"""A virtual indoor monitor on free loopback ports in a background thread, for tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openpss.devices.vth.model import IndoorMonitor
from openpss.devices.vth.runtime import Ports, VthRuntime, VthThread
from openpss.devices.vth.store import SqliteStore, open_monitor

VTH_PASSWORD = "Secret123"


@dataclass
class RunningVth:
    """An indoor monitor under test."""

    thread: VthThread
    unit: IndoorMonitor
    store: SqliteStore

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return self.thread.url

    def auth(self) -> httpx.DigestAuth:
        """Digest credentials of the admin."""
        return httpx.DigestAuth("admin", VTH_PASSWORD)

    def control(self, action: str, **body: Any) -> httpx.Response:
        """POST a control action (as `openpss device vth ...` does)."""
        return httpx.post(
            f"{self.url}/openpss/control/{action}", json=body, auth=self.auth(), timeout=10
        )

    def status(self) -> dict[str, Any]:
        """GET the control status."""
        response = httpx.get(f"{self.url}/openpss/control/status", auth=self.auth(), timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def on_loop(self, function: Callable[[], Any]) -> Any:
        """Run a function on the unit's event loop."""
        return self.thread.call(function)


@contextmanager
def running_vth(
    data_dir: Path,
    *,
    room: str,
    sip_server: tuple[str, int] | None,
    realm: str = "VDP",
    sip_password: str = "123456",
    configure: Callable[[IndoorMonitor], object] | None = None,
    **runtime: Any,
) -> Iterator[RunningVth]:
    """An initialized VTH registering to ``sip_server`` as ``room``."""
    unit, store = open_monitor(data_dir)
    if not unit.initialized:
        unit.set_admin_password(VTH_PASSWORD)
    if sip_server is not None:
        unit.set_sip_server(*sip_server, realm=realm, password=sip_password)
    unit.set_room(room)
    if configure is not None:
        configure(unit)
    thread = VthThread(VthRuntime(unit, Ports(http=0, sip=0), **runtime)).start()
    try:
        yield RunningVth(thread, unit, store)
    finally:
        thread.stop()
        store.close()
