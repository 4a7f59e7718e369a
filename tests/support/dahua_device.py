"""A virtual attendance terminal served on 127.0.0.1 in a background thread, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from openpss.devices.attendance.http import AttendanceHttp
from openpss.devices.attendance.model import Terminal
from openpss.devices.attendance.store import SqliteStore, open_terminal
from openpss.protocols.dahua_http.server import ServerThread

ADMIN_PASSWORD = "Secret123"


@dataclass
class RunningDevice:
    """A device under test: its URL, model and front-end."""

    url: str
    port: int
    terminal: Terminal
    front: AttendanceHttp
    store: SqliteStore

    def present(self, **body: object) -> dict[str, object]:
        """Call the control endpoint (as `openpss device attendance present` does)."""
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD) if self.front.initialized else None
        response = httpx.post(f"{self.url}/openpss/control/present", json=body, auth=auth)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result


@contextmanager
def running_device(
    data_dir: Path, *, password: str | None = ADMIN_PASSWORD, usb_dir: Path | None = None
) -> Iterator[RunningDevice]:
    """Start a device on a free loopback port; stop it on exit."""
    terminal, store = open_terminal(data_dir)
    front = AttendanceHttp(terminal, store, usb_dir)
    if password is not None:
        front.set_admin_password(password)
    server = ServerThread(front.app()).start()
    try:
        yield RunningDevice(server.url, server.port, terminal, front, store)
    finally:
        server.stop()
        store.close()
