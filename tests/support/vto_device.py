"""A virtual door station on free loopback ports in a background thread, for tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from openpss.devices.vto.entities import SystemType
from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.runtime import Ports, VtoRuntime, VtoThread
from openpss.devices.vto.store import SqliteStore, open_station

VTO_PASSWORD = "Secret123"


@dataclass
class RunningVto:
    """A door station under test."""

    thread: VtoThread
    station: DoorStation
    store: SqliteStore

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return self.thread.url

    @property
    def rtsp_port(self) -> int:
        """The RTSP port."""
        return self.thread.runtime.rtsp.port

    @property
    def dhip_port(self) -> int:
        """The DHIP port."""
        return self.thread.runtime.dhip.port

    def auth(self) -> httpx.DigestAuth:
        """Digest credentials of the admin."""
        return httpx.DigestAuth("admin", VTO_PASSWORD)

    def control(self, action: str, **body: Any) -> httpx.Response:
        """POST a control action (as `openpss device vto ...` does)."""
        return httpx.post(
            f"{self.url}/openpss/control/{action}", json=body, auth=self.auth(), timeout=10
        )

    def on_loop(self, function: Any) -> Any:
        """Run a function on the unit's event loop."""
        return self.thread.call(function)


@contextmanager
def running_vto(
    data_dir: Path, *, configure: Callable[[DoorStation], object] | None = None, **runtime: Any
) -> Iterator[RunningVto]:
    """An initialized TCP/IP unit (its own SIP server unless ``configure`` says otherwise)."""
    station, store = open_station(data_dir)
    if not station.initialized:
        station.initialize(VTO_PASSWORD)
        station.set_system_type(SystemType.tcpip)
    if configure is not None:
        configure(station)
    ports = Ports(http=0, dhip=0, rtsp=0, sip=0)
    thread = VtoThread(VtoRuntime(station, ports, **runtime)).start()
    try:
        yield RunningVto(thread, station, store)
    finally:
        thread.stop()
        store.close()
