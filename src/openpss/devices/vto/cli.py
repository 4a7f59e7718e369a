"""`openpss device vto`: the virtual modular door station and the control standing for its
hardware.

openpss device vto --data-dir DIR --admin-password PW --listen 127.0.0.1 --http-port 8082 \\
    --dhip-port 5000 --rtsp-port 8554 --sip-port 5060 [--vto-number 8001] \\
    [--sip-server HOST:PORT --sip-user U --sip-password PW] [--facade]
openpss device vto press 1 --device http://127.0.0.1:8082
openpss device vto status --json --device http://127.0.0.1:8082
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import typer

logger = logging.getLogger(__name__)

vto_app = typer.Typer(
    help="The virtual modular door station (Dahua CGI, DHIP, RTSP, SIP).",
    invoke_without_command=True,
)

DEVICE = typer.Option(..., help="URL of the device's HTTP API, e.g. http://127.0.0.1:8082")
USERNAME = typer.Option("admin", help="HTTP user of the device.")
PASSWORD = typer.Option(
    None, envvar="OPENPSS_DEVICE_ADMIN_PASSWORD", help="HTTP password of the device."
)


def parse_host_port(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise typer.BadParameter(f"{option} must be HOST:PORT, not {text!r}")
    return host, int(port)


@vto_app.callback()
def run(
    ctx: typer.Context,
    data_dir: Path = typer.Option(Path("vto-data"), help="The device's flash."),
    admin_password: str | None = typer.Option(
        None,
        envvar="OPENPSS_DEVICE_ADMIN_PASSWORD",
        help="Password of user 'admin'; without it a new unit stays uninitialized.",
    ),
    email: str = typer.Option("", help="E-mail for password reset (Device Init)."),
    listen: str = typer.Option("127.0.0.1", help="Address every server binds."),
    http_port: int = typer.Option(80, help="Dahua CGI API and control endpoint."),
    dhip_port: int = typer.Option(5000, help="DHIP (binary JSON-RPC)."),
    rtsp_port: int = typer.Option(554, help="RTSP monitor streams."),
    sip_port: int = typer.Option(5060, help="SIP (as SIP server, or local UA port)."),
    vto_number: str | None = typer.Option(None, help="VTO No. (1-5 digits)."),
    sip_server: str | None = typer.Option(
        None, help="HOST:PORT of the SIP server; without it this unit is the SIP server."
    ),
    sip_user: str | None = typer.Option(None, help="SIP login user (default: VTO No.)."),
    sip_password: str | None = typer.Option(None, help="SIP login password."),
    model: str | None = typer.Option(None, help="Model, e.g. VTO4202F-MB5 (facade rules)."),
    system_type: str = typer.Option("TCP/IP", help="TCP/IP or Analog (calls fail on Analog)."),
    fps: int = typer.Option(25, help="Frame rate of the monitor streams."),
    audio_file: Path | None = typer.Option(None, help="Audio to send instead of a tone."),
    facade: bool = typer.Option(False, help="Also open the Textual facade."),
) -> None:
    """Run the virtual door station."""
    if ctx.invoked_subcommand is not None:
        return
    from openpss.devices.vto.runtime import Ports

    options = {
        "admin_password": admin_password,
        "email": email,
        "vto_number": vto_number,
        "sip_server": parse_host_port(sip_server, "--sip-server") if sip_server else None,
        "sip_user": sip_user,
        "sip_password": sip_password,
        "model": model,
        "system_type": system_type,
    }
    ports = Ports(listen, http_port, dhip_port, rtsp_port, sip_port)
    asyncio.run(serve(data_dir, ports, options, fps=fps, audio_file=audio_file, facade=facade))


def configure(station: Any, options: dict[str, Any]) -> None:
    """Apply the start options to the unit's settings (as its web pages would)."""
    from openpss.devices.vto.entities import SystemType, VtoError

    try:
        password = options.get("admin_password")
        if password and not station.initialized:
            station.initialize(password, options.get("email") or "")
        elif password:
            station.set_admin_password(password)
        station.set_system_type(SystemType(options.get("system_type") or "TCP/IP"))
        number = options.get("vto_number")
        if number and number != station.settings.vto_number:
            if station.is_sip_server:
                station.set_sip_server(enabled=False, address="127.0.0.1")
            station.set_vto_number(number)
        server = options.get("sip_server")
        if server:
            station.set_sip_server(
                enabled=False,
                address=server[0],
                port=server[1],
                domain="",
                login_user=options.get("sip_user") or station.settings.vto_number,
                login_password=options.get("sip_password") or "",
            )
        else:
            station.set_sip_server(enabled=True)
        if options.get("model"):
            station.set_facade([m.to_json() for m in station.facade.modules], options["model"])
    except (VtoError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc


async def serve(
    data_dir: Path,
    ports: Any,
    options: dict[str, Any],
    *,
    fps: int = 25,
    audio_file: Path | None = None,
    facade: bool = False,
) -> None:
    """Open the unit in ``data_dir`` and serve it until interrupted."""
    from openpss.devices.vto.runtime import VtoRuntime
    from openpss.devices.vto.sip import attach_sip
    from openpss.devices.vto.store import open_station

    station, store = open_station(data_dir)
    try:
        configure(station, options)
        try:
            runtime = VtoRuntime(station, ports, fps=fps, audio_file=audio_file)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--audio-file") from exc
        runtime.extra_services.append(attach_sip)
        if not facade:
            try:
                await runtime.run()
            except OSError as exc:  # a port in use, an address not on this host
                typer.echo(f"the door station cannot listen: {exc.strerror or exc}", err=True)
                raise typer.Exit(1) from exc
            return
        from openpss.devices.vto.facade_ui import FacadeApp

        task = asyncio.create_task(runtime.run())
        await FacadeApp(station).run_async()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        store.close()


# --- the control (hardware stand-in) -------------------------------------------------------


def _post(device: str, action: str, body: dict[str, Any], user: str, pw: str | None) -> Any:
    auth = httpx.DigestAuth(user, pw) if pw else None
    try:
        response = httpx.post(
            f"{device.rstrip('/')}/openpss/control/{action}", json=body, auth=auth, timeout=10
        )
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {device}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if response.status_code != 200:
        detail = response.text.strip()
        with contextlib.suppress(ValueError):
            detail = response.json().get("detail", detail)
        typer.echo(f"device refused ({response.status_code}): {detail}", err=True)
        raise typer.Exit(1)
    answer = response.json()
    typer.echo(json.dumps(answer["result"]))
    return answer["result"]


@vto_app.command()
def press(
    button: int = typer.Argument(..., help="Call key number (1 = camera module's key)."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Press call button N (pressing during a call hangs up)."""
    _post(device, "press", {"button": button}, username, http_password)


@vto_app.command()
def dial(
    number: str = typer.Argument(..., help="Room number, VTO number or 888888."),
    emergency: bool = typer.Option(False, help="Emergency call to the centre."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Dial a number on the keyboard module and press call."""
    _post(device, "dial", {"number": number, "emergency": emergency}, username, http_password)


@vto_app.command()
def keypad(
    keys: str = typer.Argument(..., help="Keys, e.g. '#123456#' or '101{call}'."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Type keys on the keyboard module ({call} and {centre} are the call keys)."""
    _post(device, "keypad", {"keys": keys}, username, http_password)


@vto_app.command()
def swipe(
    card: str = typer.Argument(..., help="Card number."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Swipe a card at the card swiping module (exit code 1 when refused)."""
    result = _post(device, "swipe", {"card": card}, username, http_password)
    raise typer.Exit(0 if result["opened"] else 1)


@vto_app.command()
def finger(
    template: Path = typer.Argument(..., help="File holding a fingerprint template."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Present a finger at the fingerprint module (exit code 1 when refused)."""
    from openpss.devices.vto.facade_ui import template_b64

    body = {"fingerprint": template_b64(template)}
    result = _post(device, "finger", body, username, http_password)
    raise typer.Exit(0 if result["opened"] else 1)


@vto_app.command()
def tamper(
    attach: bool = typer.Option(False, help="Mount the unit back instead of detaching it."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Detach the unit from the wall (tamper alarm, 15 s of alarm sound)."""
    _post(device, "tamper", {"detached": not attach}, username, http_password)


@vto_app.command()
def door(
    state: str = typer.Argument(..., help="open or closed"),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """The door sensor reports the door open or closed."""
    if state not in ("open", "closed"):
        raise typer.BadParameter("state must be open or closed")
    _post(device, "door", {"open": state == "open"}, username, http_password)


@vto_app.command("exit-button")
def exit_button(
    device: str = DEVICE, username: str = USERNAME, http_password: str | None = PASSWORD
) -> None:
    """Press the exit button."""
    _post(device, "exit-button", {}, username, http_password)


@vto_app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """The unit's state: registration, call, RTP counters, door."""
    auth = httpx.DigestAuth(username, http_password) if http_password else None
    try:
        response = httpx.get(f"{device.rstrip('/')}/openpss/control/status", auth=auth, timeout=10)
    except httpx.HTTPError as exc:
        typer.echo(f"cannot reach {device}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if response.status_code != 200:
        typer.echo(f"device refused ({response.status_code})", err=True)
        raise typer.Exit(1)
    state = response.json()
    if as_json:
        typer.echo(json.dumps(state))
        return
    call = state["call"]
    typer.echo(
        f"VTO {state['vto_number']}: {'registered' if state['registered'] else 'not registered'}"
        f", call {call['state']} {call['peer']}, door {state['door']}, lock {state['lock']}"
    )


@vto_app.command()
def rooms(
    add: list[str] = typer.Option([], help="Room number to add (repeat the option)."),
    batch: str | None = typer.Option(
        None, help="LAYERS,ROOMS_PER_LAYER,FIRST_FLOOR,SECOND_FLOOR, e.g. 3,2,101,201."
    ),
    clear: bool = typer.Option(False, help="Delete every room number."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Room No. Management of a unit that is the SIP server (no option: list with status)."""
    if not (add or batch or clear):
        auth = httpx.DigestAuth(username, http_password) if http_password else None
        response = httpx.get(f"{device.rstrip('/')}/openpss/control/rooms", auth=auth, timeout=10)
        if response.status_code != 200:
            typer.echo(f"device refused ({response.status_code})", err=True)
            raise typer.Exit(1)
        typer.echo(json.dumps(response.json()))
        return
    body: dict[str, Any] = {"add": [{"number": number} for number in add]}
    if clear:
        body = {"clear": True}
    elif batch:
        parts = batch.split(",")
        if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
            raise typer.BadParameter("--batch is LAYERS,ROOMS_PER_LAYER,FIRST_FLOOR,SECOND_FLOOR")
        names = ("layers", "rooms_per_layer", "first_floor", "second_floor")
        body = {"batch": dict(zip(names, map(int, parts), strict=True))}
    _post(device, "rooms", body, username, http_password)


@vto_app.command()
def vtos(
    add: list[str] = typer.Option(
        [], help="VTO_NO[:REGISTER_PASSWORD[:IP]] to add (repeat the option)."
    ),
    remove: list[str] = typer.Option([], help="VTO number to delete (repeat the option)."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """VTO No. Management of a unit that is the SIP server."""
    entries = []
    for item in add:
        rec_no, _, rest = item.partition(":")
        password, _, address = rest.partition(":")
        entry = {"rec_no": rec_no, "ip_address": address}
        if password:
            entry["register_password"] = password
        entries.append(entry)
    _post(device, "vtos", {"add": entries, "remove": remove}, username, http_password)


@vto_app.command("facade")
def facade_layout(
    modules: str = typer.Argument(
        ..., help="Modules top to bottom, e.g. 'camera:101,button2:102:888888,keyboard,card'."
    ),
    model: str | None = typer.Option(None, help="Model, e.g. VTO4202F-MB5."),
    device: str = DEVICE,
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Façade Layout: modules and the room number behind each call key."""
    layout = []
    for item in modules.split(","):
        kind, *keys = item.strip().split(":")
        layout.append({"type": kind, "keys": keys})
    body: dict[str, Any] = {"modules": layout}
    if model:
        body["model"] = model
    _post(device, "facade", body, username, http_password)


def register(app: typer.Typer) -> None:
    """Add the `vto` command group to `openpss device`."""
    app.add_typer(vto_app, name="vto")
