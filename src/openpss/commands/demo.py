"""`openpss demo`: the platform plus one of each virtual device, wired together, with demo data.

Each virtual device runs as its own process with its own data directory (as a real device has its
own flash) and meets the platform only over the wire, as in production.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import typer
from sqlalchemy.orm import Session

from openpss.platform.people.cards import canonical
from openpss.platform.people.demo import FIRST_CARD
from openpss.platform.settings import Settings

if TYPE_CHECKING:
    from openpss.platform.intercom.demo import Endpoint

logger = logging.getLogger(__name__)

DEMO_DEVICE_PASSWORD = "Demo#Terminal1"  # the virtual terminal's HTTP admin password in the demo
TERMINAL_NAME = "Demo attendance terminal"
CAMERA_NAME = "Demo area-scan camera"
# The virtual camera's control channel, so the FFC wizard can cover the lens and show a flat target.
CAMERA_CONTROL_PORT = 37790
DEMO_CARD = canonical(FIRST_CARD)  # the first demo person's card


def register(app: typer.Typer) -> None:
    """Add `openpss demo` to the top-level app."""
    app.command()(demo)


def demo(
    port: int | None = typer.Option(None, help="console port (default OPENPSS_HTTP_PORT, 8080)"),
    terminal_port: int = typer.Option(37780, help="HTTP port of the virtual attendance terminal"),
    camera: bool = typer.Option(True, help="also start a virtual GigE Vision camera"),
    camera_control_port: int = typer.Option(
        CAMERA_CONTROL_PORT, help="loopback UDP port of the virtual camera's scene/IO control"
    ),
    vto: bool = typer.Option(
        True, help="also start a virtual door station (registered to the platform's SIP server)"
    ),
    vto_port: int = typer.Option(37800, help="HTTP port of the virtual door station"),
    vto_dhip_port: int = typer.Option(5000, help="DHIP port of the virtual door station"),
    vto_rtsp_port: int = typer.Option(8554, help="RTSP port of the virtual door station"),
    vto_sip_port: int = typer.Option(5060, help="SIP port of the virtual door station"),
    vth: bool = typer.Option(True, help="also start two indoor monitors of room 101 (needs --vto)"),
    vth_port: int = typer.Option(37801, help="HTTP port of the first indoor monitor (+1: second)"),
    vth_sip_port: int = typer.Option(5071, help="SIP port of the first indoor monitor (+1)"),
) -> None:
    """Migrate, seed demo data, start the virtual devices and serve the platform on SQLite."""
    import uvicorn

    from openpss.platform.app import PLATFORM_LIMITS, create_app
    from openpss.platform.db import migrate
    from openpss.platform.settings import get_settings
    from openpss.protocols.http_guard import uvicorn_options

    settings = get_settings()
    migrate(settings.resolved_database_url)
    app = create_app(settings)
    seed(app, terminal_port, camera=camera)
    sip = platform_sip(settings) if vto else None
    endpoints = seed_intercom(app, vto_port, vth_port) if vto else []
    devices_dir = settings.data_dir.resolve() / "devices"
    with ExitStack() as stack:
        terminal_url = f"http://127.0.0.1:{terminal_port}"
        terminal = stack.enter_context(
            _child(_terminal_command(devices_dir, terminal_port), "terminal")
        )
        _wait_http(terminal, terminal_url)
        if camera:
            command = _camera_command(devices_dir, control_port=camera_control_port)
            stack.enter_context(_child(command, "camera"))
        vto_ports = (vto_port, vto_dhip_port, vto_rtsp_port, vto_sip_port)
        if vto:
            assert sip is not None
            command = _vto_command(devices_dir, *vto_ports) + _sip_options(sip, endpoints[0])
            station = stack.enter_context(_child(command, "door station"))
            _wait_http(station, f"http://127.0.0.1:{vto_port}")
            seed_vto(f"http://127.0.0.1:{vto_port}")
        vths = vto and vth
        if vths:
            assert sip is not None
            for index, endpoint in enumerate(endpoints[1:]):
                command = _vth_command(
                    devices_dir, endpoint, vth_port + index, vth_sip_port + index, vto_ports, sip
                )
                monitor = stack.enter_context(_child(command, f"indoor monitor {endpoint.number}"))
                _wait_http(monitor, f"http://127.0.0.1:{vth_port + index}")
        console_url = f"http://{settings.http_host}:{port or settings.http_port}/"
        control = camera_control_port if camera else None
        typer.echo(
            banner(
                console_url,
                terminal_url,
                camera_control_port=control,
                vto_ports=vto_ports if vto else None,
                vth_port=vth_port if vths else None,
                sip=sip,
                numbers=[e.number for e in endpoints],
            )
        )
        uvicorn.run(
            app,
            host=settings.http_host,
            port=port or settings.http_port,
            log_level="warning",
            **uvicorn_options(PLATFORM_LIMITS),
        )


def banner(
    console_url: str,
    terminal_url: str,
    *,
    camera_control_port: int | None,
    vto_ports: tuple[int, int, int, int] | None = None,
    vth_port: int | None = None,
    sip: tuple[str, int] | None = None,
    numbers: list[str] | None = None,
) -> str:
    """What the demo prints on start: URLs and commands that work as printed."""
    lines = [
        "",
        "openpss demo is running.",
        f"  console:             {console_url}",
        f"  attendance terminal: {terminal_url} (user admin, password {DEMO_DEVICE_PASSWORD})",
        f"  present a card:      openpss device attendance present --device {terminal_url} "
        f"--card {DEMO_CARD} --http-password '{DEMO_DEVICE_PASSWORD}'",
    ]
    if camera_control_port is not None:
        scene = f"openpss device camera-io scene dark|flat|scene --port {camera_control_port}"
        lines += [
            "  camera:              GigE Vision on 127.0.0.1 (openpss camera info 127.0.0.1)",
            f"  camera lens (FFC):   {scene}",
        ]
    if vto_ports is not None:
        lines += _vto_lines(*vto_ports, sip=sip, numbers=numbers or [])
    if vth_port is not None:
        lines += _vth_lines(vth_port, numbers=(numbers or [])[1:])
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines) + "\n"


def seed(app: object, terminal_port: int, *, camera: bool = True) -> None:
    """Demo data, idempotent: company, departments, persons with cards, the terminal in the
    device registry, permission groups over it (so the sync pushes everyone), attendance rules."""
    from openpss.platform.attendance.demo import seed_demo_attendance
    from openpss.platform.db import session_scope
    from openpss.platform.people.demo import seed_demo_data
    from openpss.platform.permissions.demo import seed_demo_permissions

    state = app.state  # type: ignore[attr-defined]
    with session_scope(state.session_factory) as session:
        seed_demo_data(session=session)
        register_terminal(session, state.settings, terminal_port)
        seed_demo_permissions(session=session)
        seed_demo_attendance(session=session)
        if camera:
            register_camera(session)


def platform_sip(settings: Settings) -> tuple[str, int]:
    """Where the demo devices reach the platform's SIP server (OPENPSS_SIP_HOST/PORT)."""
    from openpss.platform.intercom.configure import sip_address

    host, port = sip_address(settings)
    if not port:
        typer.echo("set OPENPSS_SIP_PORT to a port: the demo devices register there", err=True)
        raise typer.Exit(1)
    return ("127.0.0.1" if host in ("0.0.0.0", "", "::") else host), port


def seed_intercom(app: object, vto_port: int, vth_port: int) -> list[Endpoint]:
    """Building 01 / unit 01 / rooms, registration numbers of the VTO and both VTHs, a call
    group (idempotent); returns the devices' SIP accounts."""
    from openpss.platform.db import session_scope
    from openpss.platform.intercom.demo import seed_demo_intercom

    state = app.state  # type: ignore[attr-defined]
    with session_scope(state.session_factory) as session:
        return seed_demo_intercom(
            session=session,
            settings=state.settings,
            vto_port=vto_port,
            vth_port=vth_port,
            password=DEMO_DEVICE_PASSWORD,
        )


def _sip_options(sip: tuple[str, int], endpoint: Endpoint) -> list[str]:
    """A device registers to the platform's SIP server under its registration number."""
    return [
        "--sip-server", f"{sip[0]}:{sip[1]}",
        "--sip-user", endpoint.number, "--sip-password", endpoint.password,
    ]  # fmt: skip


def register_terminal(session: Session, settings: Settings, terminal_port: int) -> None:
    """Add the virtual terminal to the device registry once."""
    from sqlalchemy import select

    from openpss.platform.devices.models import Device
    from openpss.platform.devices.schemas import DeviceCreate
    from openpss.platform.devices.service import create_device
    from openpss.platform.security.audit import SYSTEM

    if session.scalar(select(Device).where(Device.name == TERMINAL_NAME)) is not None:
        return
    data = DeviceCreate(
        name=TERMINAL_NAME,
        host="127.0.0.1",
        port=terminal_port,
        username="admin",
        password=DEMO_DEVICE_PASSWORD,
        kind="attendance",
    )
    create_device(session=session, settings=settings, actor=SYSTEM, data=data)


def register_camera(session: Session) -> None:
    """Add the virtual camera to the Cameras page once."""
    from sqlalchemy import select

    from openpss.platform.security.audit import SYSTEM
    from openpss.platform.vision.models import Camera
    from openpss.platform.vision.schemas import CameraCreate
    from openpss.platform.vision.service import add_camera

    if session.scalar(select(Camera).where(Camera.name == CAMERA_NAME)) is None:
        data = CameraCreate(name=CAMERA_NAME, address="127.0.0.1")
        add_camera(session=session, actor=SYSTEM, data=data)


def _terminal_command(devices_dir: Path, port: int) -> list[str]:
    return [
        sys.executable, "-m", "openpss.cli", "device", "attendance",
        "--listen", f"127.0.0.1:{port}",
        "--data-dir", str(devices_dir / "attendance"),
        "--admin-password", DEMO_DEVICE_PASSWORD,
    ]  # fmt: skip


def _camera_command(devices_dir: Path, *, control_port: int, gvcp_port: int = 0) -> list[str]:
    command = [
        sys.executable, "-m", "openpss.cli", "device", "camera",
        "--interface", "127.0.0.1",
        "--data-dir", str(devices_dir / "camera"),
        "--control-port", str(control_port),
    ]  # fmt: skip
    return command + (["--gvcp-port", str(gvcp_port)] if gvcp_port else [])


def _vto_command(devices_dir: Path, http: int, dhip: int, rtsp: int, sip: int) -> list[str]:
    return [
        sys.executable, "-m", "openpss.cli", "device", "vto",
        "--data-dir", str(devices_dir / "vto"),
        "--admin-password", DEMO_DEVICE_PASSWORD,
        "--listen", "127.0.0.1",
        "--http-port", str(http), "--dhip-port", str(dhip),
        "--rtsp-port", str(rtsp), "--sip-port", str(sip),
    ]  # fmt: skip


DEMO_VTO_FACADE = [
    {"type": "camera", "keys": ["101"]},
    {"type": "button2", "keys": ["102", "888888"]},
    {"type": "keyboard"},
    {"type": "card"},
    {"type": "indicator"},
]  # key 1 calls room 101, key 2 room 102, key 3 the management centre


def seed_vto(url: str) -> None:
    """Rooms 101-102 and 201-202 and a facade whose call keys call them (idempotent)."""
    auth = httpx.DigestAuth("admin", DEMO_DEVICE_PASSWORD)
    control = f"{url}/openpss/control"
    listing = httpx.get(f"{control}/rooms", auth=auth, timeout=10).json()
    if not listing["rooms"]:
        layout = {"layers": 2, "rooms_per_layer": 2, "first_floor": 101, "second_floor": 201}
        httpx.post(f"{control}/rooms", json={"batch": layout}, auth=auth, timeout=10)
    httpx.post(f"{control}/facade", json={"modules": DEMO_VTO_FACADE}, auth=auth, timeout=10)


def _vto_lines(
    http: int,
    dhip: int,
    rtsp: int,
    sip_port: int,
    *,
    sip: tuple[str, int] | None = None,
    numbers: list[str] | None = None,
) -> list[str]:
    url = f"http://127.0.0.1:{http}"
    login = f"--http-password '{DEMO_DEVICE_PASSWORD}'"
    registered = (
        f"registered as {numbers[0]} to the platform's SIP server {sip[0]}:{sip[1]} "
        f"(local SIP port {sip_port})"
        if sip and numbers
        else f"SIP port {sip_port}"
    )
    return [
        f"  door station (VTO):  {url} (user admin, password {DEMO_DEVICE_PASSWORD}), "
        f"DHIP {dhip}, {registered}",
        f"  monitor:             rtsp://admin:<password>@127.0.0.1:{rtsp}"
        "/cam/realmonitor?channel=1&subtype=0",
        f"  press a call key:    openpss device vto press 1 --device {url} {login}",
        "                       (key 1 rings room 101's two VTHs through the platform)",
        f"  call the centre:     openpss device vto press 3 --device {url} {login}",
        "                       (key 3 dials 888888: answer in the console, Video Intercom)",
    ]


def _vth_command(
    devices_dir: Path,
    endpoint: Endpoint,
    http: int,
    sip_port: int,
    vto_ports: tuple[int, int, int, int],
    sip: tuple[str, int],
) -> list[str]:
    """An indoor monitor of room 101, registered to the platform under its number."""
    vto_http, _, vto_rtsp, _ = vto_ports
    return [
        sys.executable, "-m", "openpss.cli", "device", "vth",
        "--data-dir", str(devices_dir / f"vth-{endpoint.number.replace('#', '-')}"),
        "--admin-password", DEMO_DEVICE_PASSWORD,
        "--listen", "127.0.0.1", "--http-port", str(http), "--sip-port", str(sip_port),
        "--room", endpoint.number, "--sip-server", f"{sip[0]}:{sip[1]}",
        "--sip-password", endpoint.password,
        "--door", f"gate=127.0.0.1:{vto_http}:{vto_rtsp}",
        "--door-password", DEMO_DEVICE_PASSWORD,
    ]  # fmt: skip


def _vth_lines(http: int, *, numbers: list[str] | None = None) -> list[str]:
    first, second = f"http://127.0.0.1:{http}", f"http://127.0.0.1:{http + 1}"
    login = f"--http-password '{DEMO_DEVICE_PASSWORD}'"
    names = numbers if numbers and len(numbers) == 2 else ["101#0", "101#1"]
    return [
        f"  indoor monitors:     {names[0]} {first}, {names[1]} {second} "
        "(user admin, same password)",
        f"  answer a call:       openpss device vth answer --device {first} {login}",
        f"  monitor the door:    openpss device vth monitor gate --device {first} {login}",
    ]


# how a device ends on Ctrl-C (the terminal interrupts the demo and its devices alike) or SIGTERM
_INTERRUPTED = frozenset({130, -signal.SIGINT, -signal.SIGTERM})


class _child:
    """A device process that is terminated when the demo stops. A device that stops on its own
    (a port in use, a crash) is logged as an error the moment it does; its own error is above."""

    def __init__(self, command: list[str], name: str) -> None:
        self.command = command
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self._reported = threading.Lock()  # held once its end is reported

    def __enter__(self) -> _child:
        logger.info("starting %s: %s", self.name, " ".join(self.command))
        self.process = subprocess.Popen(self.command, env=os.environ.copy())
        threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()
        return self

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        process.wait()
        self.report_end()

    def report_end(self) -> None:
        """Log, once, that the device ended on its own (not stopped by the demo, Ctrl-C or
        SIGTERM)."""
        assert self.process is not None
        code = self.process.returncode
        if self.stopping or code in _INTERRUPTED or not self._reported.acquire(blocking=False):
            return
        logger.error("the %s stopped (exit status %s); see its error above", self.name, code)

    def __exit__(self, *exc: object) -> None:
        self.stopping = True
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wait_http(child: _child, url: str, timeout: float = 30.0) -> None:
    """Wait until a device answers HTTP (any status) or fail with a clear message, at once when
    the device's process ends first (a port in use: its own error says which)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.process is not None
        if child.process.poll() is not None:
            child.report_end()
            typer.echo(f"the demo cannot start without the {child.name}", err=True)
            raise typer.Exit(1)
        try:
            httpx.get(url + "/cgi-bin/magicBox.cgi?action=getDeviceType", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    typer.echo(f"the virtual device at {url} did not start within {timeout:.0f} s", err=True)
    raise typer.Exit(1)
