"""`openpss device vth`: the virtual indoor monitor and its scriptable control.

openpss device vth --data-dir DIR --admin-password PW --listen 127.0.0.1 --http-port 8090 \\
    --sip-port 5070 --room 101#0 --sip-server 127.0.0.1:5060 [--realm VDP] [--sip-password PW] \\
    [--door NAME=HOST:HTTP_PORT:RTSP_PORT] [--door-password PW] [--screen]
openpss device vth answer --device http://127.0.0.1:8090
openpss device vth status --json --device http://127.0.0.1:8090
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer

from openpss.devices.common.cli import (
    control_commands,
    device_option,
    parse_host_port,
    serve_beside,
    serve_unit,
    status_command,
)

vth_app = typer.Typer(
    help="The virtual indoor monitor (VTH): SIP, RTP, RTSP monitor, Dahua CGI.",
    invoke_without_command=True,
)

DEVICE = device_option("http://127.0.0.1:8090", "VTH's HTTP API")
control = control_commands(vth_app, DEVICE)


def parse_door(text: str, password: str) -> dict[str, Any]:
    """``NAME=HOST:HTTP_PORT:RTSP_PORT`` -> a Door's fields."""
    name, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
        raise typer.BadParameter(f"--door must be NAME=HOST:HTTP_PORT:RTSP_PORT, not {text!r}")
    return {
        "name": name,
        "host": parts[0],
        "http_port": int(parts[1]),
        "rtsp_port": int(parts[2]),
        "password": password,
    }


@vth_app.callback()
def run(
    ctx: typer.Context,
    data_dir: Path = typer.Option(Path("vth-data"), help="The device's flash."),
    admin_password: str | None = typer.Option(
        None, envvar="OPENPSS_DEVICE_ADMIN_PASSWORD", help="Password of user 'admin'."
    ),
    listen: str = typer.Option("127.0.0.1", help="Address every server binds."),
    http_port: int = typer.Option(80, help="Dahua CGI API and control endpoint."),
    sip_port: int = typer.Option(5060, help="Local SIP port of the user agent."),
    room: str | None = typer.Option(None, help="Room number: 101, 101#0, 101#1, 11#01#11#5."),
    sip_server: str | None = typer.Option(None, help="HOST:PORT of the SIP server."),
    realm: str | None = typer.Option(
        None, help="SIP domain (VDP for a door station as server; default the server address)."
    ),
    sip_password: str | None = typer.Option(None, help="Register password (default 123456)."),
    door: list[str] = typer.Option([], help="Door station NAME=HOST:HTTP_PORT:RTSP_PORT."),
    door_password: str = typer.Option("", help="Admin password of the --door stations."),
    auto_answer: bool | None = typer.Option(None, help="Answer every call at once."),
    audio_file: Path | None = typer.Option(None, help="Audio to send instead of a tone."),
    screen: bool = typer.Option(False, help="Also open the Textual screen."),
) -> None:
    """Run the virtual indoor monitor."""
    if ctx.invoked_subcommand is not None:
        return
    from openpss.devices.vth.runtime import Ports

    options = {
        "admin_password": admin_password,
        "room": room,
        "sip_server": parse_host_port(sip_server, "--sip-server") if sip_server else None,
        "realm": realm,
        "sip_password": sip_password,
        "doors": [parse_door(d, door_password) for d in door],
        "auto_answer": auto_answer,
    }
    ports = Ports(listen, http_port, sip_port)
    asyncio.run(serve(data_dir, ports, options, audio_file=audio_file, screen=screen))


def configure(unit: Any, options: dict[str, Any]) -> None:
    """Apply the start options to the unit's settings."""
    from openpss.devices.vth.entities import VthError
    from openpss.devices.vth.settings import Door

    try:
        if options.get("admin_password"):
            unit.set_admin_password(options["admin_password"])
        server = options.get("sip_server")
        if server:
            s = unit.settings
            unit.set_sip_server(
                server[0],
                server[1],
                realm=options["realm"] if options.get("realm") is not None else s.realm,
                password=options.get("sip_password") or s.sip_password,
            )
        if options.get("room"):
            unit.set_room(options["room"])
        for door in options.get("doors", []):
            unit.put_door(Door(**door))
        if options.get("auto_answer") is not None:
            unit.set_option("auto_answer", options["auto_answer"])
    except VthError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not unit.initialized:
        raise typer.BadParameter("set --admin-password (the HTTP API and control need it)")


async def serve(
    data_dir: Path,
    ports: Any,
    options: dict[str, Any],
    *,
    audio_file: Path | None = None,
    screen: bool = False,
) -> None:
    """Open the unit in ``data_dir`` and serve it until interrupted."""
    from openpss.devices.vth.runtime import VthRuntime
    from openpss.devices.vth.store import open_monitor

    unit, store = open_monitor(data_dir)
    try:
        configure(unit, options)
        runtime = VthRuntime(unit, ports, audio_file=audio_file)
        if not screen:
            await serve_unit(runtime, "indoor monitor")
            return
        from openpss.devices.vth.screen import VthScreen

        await serve_beside(runtime.run(), VthScreen(unit))
    finally:
        store.close()


# --- the control -----------------------------------------------------------------------------


@control()
def answer() -> dict[str, Any]:
    """Answer the ringing call."""
    return {}


@control()
def reject() -> dict[str, Any]:
    """Refuse the ringing call (the caller hears busy)."""
    return {}


@control()
def hangup() -> dict[str, Any]:
    """End the call or the monitor."""
    return {}


@control()
def unlock(
    door: str = typer.Option("", help="Door station name (default: the caller or monitored)."),
) -> dict[str, Any]:
    """Open the door of the calling, monitored or named door station."""
    return {"door": door}


@control()
def monitor(
    door: str = typer.Argument("", help="Door station name (default: the only one)."),
) -> dict[str, Any]:
    """Watch a door station's video without a call (hangup stops)."""
    return {"door": door}


@control()
def call(
    number: str = typer.Argument(..., help="888888 (centre), a room (102, 101#1), a VTO No."),
) -> dict[str, Any]:
    """Call a number."""
    return {"number": number}


@control()
def dnd(
    off: bool = typer.Option(False, "--off", help="Turn do-not-disturb off."),
) -> dict[str, Any]:
    """Do not disturb: calls are refused busy and recorded as missed."""
    return {"on": not off}


@control()
def mute(
    off: bool = typer.Option(False, "--off", help="Unmute."),
) -> dict[str, Any]:
    """Mute our microphone during a call."""
    return {"on": not off}


@control()
def snapshot(
    path: Path = typer.Argument(..., help="JPEG file to write (on the device's host)."),
) -> dict[str, Any]:
    """Save the last picture of the call or monitor."""
    return {"path": str(path.resolve())}


@status_command(vth_app, DEVICE)
def status(state: dict[str, Any]) -> str:
    """Registration, call and RTP counters."""
    c, rtp = state["call"], state["rtp"]
    return (
        f"VTH {state['room']}: {'online' if state['registered'] else 'offline'}, call "
        f"{c['state']} {c['peer']}, audio in {rtp['audio_in']} out {rtp['audio_out']}, "
        f"video in {rtp['video_in']} ({rtp['video_frames']} frames)"
    )


def register(app: typer.Typer) -> None:
    """Add the `vth` command group to `openpss device`."""
    app.add_typer(vth_app, name="vth")
