"""A virtual door station on free loopback ports in a background thread, for tests."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from openpss.devices.vto.entities import SystemType
from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.runtime import Ports, VtoRuntime, VtoThread
from openpss.devices.vto.store import SqliteStore, open_station
from tests.support.polling import eventually
from tests.support.ports import free_port

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


@dataclass
class VtoProcess:
    """`openpss device vto` as a child process on fixed free ports: stop and start it again
    (same ports, same data directory: its records survive, as on the unit's flash)."""

    data_dir: Path
    http_port: int = field(default_factory=free_port)
    other_ports: tuple[int, int, int] = field(
        default_factory=lambda: (free_port(), free_port(), free_port())
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        """Start the unit and wait until it answers HTTP."""
        dhip, rtsp, sip = self.other_ports
        command = [
            sys.executable, "-m", "openpss.cli", "device", "vto",
            "--data-dir", str(self.data_dir), "--listen", "127.0.0.1",
            "--http-port", str(self.http_port), "--dhip-port", str(dhip),
            "--rtsp-port", str(rtsp), "--sip-port", str(sip), "--fps", "2",
            "--admin-password", VTO_PASSWORD,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        eventually(self._answers, what="the VTO answering HTTP", timeout=60, interval=0.1)

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            error = self.process.stderr.read() if self.process.stderr else b""
            raise RuntimeError(f"the VTO exited: {error.decode(errors='replace')}")
        try:
            httpx.get(f"{self.url}/cgi-bin/magicBox.cgi?action=getSerialNo", timeout=1)
        except httpx.TransportError:
            return False
        return True

    def stop(self) -> None:
        """Kill the unit, as a power cut would (its store commits every record at once)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def control(self, action: str, **body: Any) -> dict[str, Any]:
        """POST a control action (as `openpss device vto ...` does); its JSON answer."""
        response = httpx.post(
            f"{self.url}/openpss/control/{action}",
            json=body,
            auth=httpx.DigestAuth("admin", VTO_PASSWORD),
            timeout=10,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


@contextmanager
def vto_process(data_dir: Path) -> Iterator[VtoProcess]:
    """A running VTO process, stopped at the end."""
    unit = VtoProcess(data_dir)
    unit.start()
    try:
        yield unit
    finally:
        unit.stop()
