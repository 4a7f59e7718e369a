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
import json
import logging
from pathlib import Path
from typing import Any

import typer

from openpss.devices.common.cli import (
    PASSWORD,
    USERNAME,
    control_commands,
    control_request,
    device_option,
    parse_host_port,
    post_action,
    serve_beside,
    serve_unit,
    status_command,
)

logger = logging.getLogger(__name__)

vto_app = typer.Typer(
    help="The virtual modular door station (Dahua CGI, DHIP, RTSP, SIP).",
    invoke_without_command=True,
)

DEVICE = device_option("http://127.0.0.1:8082")
control = control_commands(vto_app, DEVICE)


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
            await serve_unit(runtime, "door station")
            return
        from openpss.devices.vto.facade_ui import FacadeApp

        await serve_beside(runtime.run(), FacadeApp(station))
    finally:
        store.close()


# --- the control (hardware stand-in) -------------------------------------------------------


@control()
def press(
    button: int = typer.Argument(..., help="Call key number (1 = camera module's key)."),
) -> dict[str, Any]:
    """Press call button N (pressing during a call hangs up)."""
    return {"button": button}


@control()
def dial(
    number: str = typer.Argument(..., help="Room number, VTO number or 888888."),
    emergency: bool = typer.Option(False, help="Emergency call to the centre."),
) -> dict[str, Any]:
    """Dial a number on the keyboard module and press call."""
    return {"number": number, "emergency": emergency}


@control()
def keypad(
    keys: str = typer.Argument(..., help="Keys, e.g. '#123456#' or '101{call}'."),
) -> dict[str, Any]:
    """Type keys on the keyboard module ({call} and {centre} are the call keys)."""
    return {"keys": keys}


@control(success="opened")
def swipe(
    card: str = typer.Argument(..., help="Card number."),
) -> dict[str, Any]:
    """Swipe a card at the card swiping module (exit code 1 when refused)."""
    return {"card": card}


@control(success="opened")
def finger(
    template: Path = typer.Argument(..., help="File holding a fingerprint template."),
) -> dict[str, Any]:
    """Present a finger at the fingerprint module (exit code 1 when refused)."""
    from openpss.devices.vto.facade_ui import template_b64

    return {"fingerprint": template_b64(template)}


@control()
def tamper(
    attach: bool = typer.Option(False, help="Mount the unit back instead of detaching it."),
) -> dict[str, Any]:
    """Detach the unit from the wall (tamper alarm, 15 s of alarm sound)."""
    return {"detached": not attach}


@control()
def door(
    state: str = typer.Argument(..., help="open or closed"),
) -> dict[str, Any]:
    """The door sensor reports the door open or closed."""
    if state not in ("open", "closed"):
        raise typer.BadParameter("state must be open or closed")
    return {"open": state == "open"}


@control("exit-button")
def exit_button() -> dict[str, Any]:
    """Press the exit button."""
    return {}


@status_command(vto_app, DEVICE)
def status(state: dict[str, Any]) -> str:
    """The unit's state: registration, call, RTP counters, door."""
    call = state["call"]
    return (
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
        listed = control_request("GET", device, "rooms", username, http_password)
        typer.echo(json.dumps(listed))
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
    post_action(device, "rooms", body, username, http_password)


@control()
def vtos(
    add: list[str] = typer.Option(
        [], help="VTO_NO[:REGISTER_PASSWORD[:IP]] to add (repeat the option)."
    ),
    remove: list[str] = typer.Option([], help="VTO number to delete (repeat the option)."),
) -> dict[str, Any]:
    """VTO No. Management of a unit that is the SIP server."""
    entries = []
    for item in add:
        rec_no, _, rest = item.partition(":")
        password, _, address = rest.partition(":")
        entry = {"rec_no": rec_no, "ip_address": address}
        if password:
            entry["register_password"] = password
        entries.append(entry)
    return {"add": entries, "remove": remove}


@control("facade")
def facade_layout(
    modules: str = typer.Argument(
        ..., help="Modules top to bottom, e.g. 'camera:101,button2:102:888888,keyboard,card'."
    ),
    model: str | None = typer.Option(None, help="Model, e.g. VTO4202F-MB5."),
) -> dict[str, Any]:
    """Façade Layout: modules and the room number behind each call key."""
    layout = []
    for item in modules.split(","):
        kind, *keys = item.strip().split(":")
        layout.append({"type": kind, "keys": keys})
    body: dict[str, Any] = {"modules": layout}
    if model:
        body["model"] = model
    return body


def register(app: typer.Typer) -> None:
    """Add the `vto` command group to `openpss device`."""
    app.add_typer(vto_app, name="vto")
