"""`openpss device camera`: command-line front-end of the virtual camera device."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import Any

import typer

from openpss.devices.camera.acquisition import LINE_TIME_NS
from openpss.protocols.aio import within
from openpss.protocols.gige_vision.gvcp import GVCP_PORT

logger = logging.getLogger(__name__)

io_app = typer.Typer(help="Drive the virtual camera's input lines and read its outputs.")


def register(app: typer.Typer) -> None:
    """Add `camera` (run the device) and `camera-io` (its control channel) to `openpss device`."""
    app.command("camera")(camera)
    app.add_typer(io_app, name="camera-io")


def camera(
    interface: str = typer.Option("127.0.0.1", help="IPv4 address (or interface name) to serve"),
    data_dir: Path | None = typer.Option(None, help="where user sets and the user name persist"),
    serial: str = typer.Option("OPSS0001", help="device serial number"),
    width: int = typer.Option(2448, help="sensor width in pixels"),
    height: int = typer.Option(2048, help="sensor height in pixels"),
    mono: bool = typer.Option(False, help="monochrome sensor (default: Bayer colour)"),
    lost_ratio: float = typer.Option(0.0, help="drop this fraction of stream packets (0-0.5)"),
    control_port: int = typer.Option(0, help="loopback UDP port of the control channel (0: off)"),
    gvcp_port: int = typer.Option(GVCP_PORT, help="GVCP port (3956 for real clients)"),
    duration: float = typer.Option(0.0, help="stop after this many seconds (0: run until Ctrl-C)"),
    line_time_ns: int = typer.Option(
        LINE_TIME_NS, help="sensor row readout time in ns (caps ResultingFrameRateAbs)"
    ),
) -> None:
    """Run a virtual GigE Vision camera (GVCP on UDP 3956 of the interface)."""
    if not 0.0 <= lost_ratio <= 0.5:
        raise typer.BadParameter(f"--lost-ratio {lost_ratio} must be within 0-0.5")
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise typer.BadParameter("--width/--height must be within 16-8192 pixels")
    if not 100 <= line_time_ns <= 1_000_000:
        raise typer.BadParameter(f"--line-time-ns {line_time_ns} must be within 100-1000000")
    options = {
        "interface": interface,
        "data_dir": data_dir,
        "serial": serial,
        "width": width,
        "height": height,
        "color": not mono,
        "lost_ratio": lost_ratio,
        "control_port": control_port,
        "gvcp_port": gvcp_port,
        "duration": duration,
        "line_time_ns": line_time_ns,
    }
    asyncio.run(_serve(**options))


def _resolve(interface: str) -> str:
    if interface.count(".") == 3:
        return interface
    from openpss.protocols.gige_vision.client import interface_addresses

    return interface_addresses(interface)[0]


async def _serve(**opts: Any) -> None:
    from openpss.devices.camera.control import ControlChannel
    from openpss.devices.camera.model import CameraModel
    from openpss.devices.camera.server import CameraFrontEnd, broadcast_address

    host = _resolve(opts["interface"])
    model = CameraModel(
        data_dir=opts["data_dir"],
        serial=opts["serial"],
        width=opts["width"],
        height=opts["height"],
        color=opts["color"],
        line_time_ns=opts["line_time_ns"],
    )
    front = CameraFrontEnd(
        model,
        host=host,
        gvcp_port=opts["gvcp_port"],
        lost_ratio=opts["lost_ratio"],
        data_dir=opts["data_dir"],
        broadcast=broadcast_address(host),
    )
    try:
        await front.start()
        channel = None
        if opts["control_port"]:
            channel = await ControlChannel.open(front, "127.0.0.1", opts["control_port"])
            logger.info("control channel on 127.0.0.1:%d", channel.port)
    except OSError as exc:
        await front.close()
        typer.echo(f"error: cannot bind on {host}: {exc} (is another camera running?)", err=True)
        raise typer.Exit(1) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    typer.echo(f"camera {model.serial} ({model.model_name}) on {host}:{front.gvcp_port}", err=True)
    try:
        if opts["duration"]:
            with contextlib.suppress(asyncio.TimeoutError):
                await within(stop.wait(), opts["duration"])
        else:
            await stop.wait()
    finally:
        if channel is not None and channel.transport is not None:
            channel.transport.close()
        await front.close()


def _send(port: int, message: dict[str, Any]) -> dict[str, Any]:
    from openpss.devices.camera.control import request

    try:
        reply = request(port, message)
    except TimeoutError:
        raise typer.BadParameter(f"no camera control channel answers on 127.0.0.1:{port}") from None
    if not reply.get("ok"):
        typer.echo(f"error: {reply.get('error')}", err=True)
        raise typer.Exit(1)
    return reply


PORT = typer.Option(..., "--port", help="the camera's --control-port")


@io_app.command("set")
def io_set(
    line: str = typer.Argument(..., help="input line, e.g. Line1"),
    level: str = typer.Argument(..., help="high or low"),
    port: int = PORT,
    delay_us: float = typer.Option(0.0, help="apply after this delay"),
) -> None:
    """Set an input line high or low."""
    if level not in ("high", "low"):
        raise typer.BadParameter("level must be high or low")
    reply = _send(port, {"op": "set", "line": line, "level": level == "high", "delay_us": delay_us})
    typer.echo(json.dumps(reply))


@io_app.command("pulses")
def io_pulses(
    line: str = typer.Argument(..., help="input line, e.g. Line1"),
    port: int = PORT,
    count: int = typer.Option(1, help="number of pulses"),
    high_us: float = typer.Option(1000.0, help="active time of each pulse (us)"),
    low_us: float = typer.Option(1000.0, help="inactive time between pulses (us)"),
    delay_us: float = typer.Option(0.0, help="time before the first pulse (us)"),
    active_low: bool = typer.Option(False, help="pulses go low instead of high"),
) -> None:
    """Send a timed pulse train into an input line."""
    message = {
        "op": "pulses",
        "line": line,
        "count": count,
        "high_us": high_us,
        "low_us": low_us,
        "delay_us": delay_us,
        "active_high": not active_low,
    }
    typer.echo(json.dumps(_send(port, message)))


@io_app.command("outputs")
def io_outputs(
    port: int = PORT,
    duration_ms: float = typer.Option(0.0, help="watch the outputs this long (ms)"),
    interval_ms: float = typer.Option(1.0, help="sampling interval while watching (ms)"),
) -> None:
    """Print the output line levels (now, or their changes over a period)."""
    if duration_ms <= 0:
        typer.echo(json.dumps(_send(port, {"op": "outputs"})))
        return
    reply = _send(port, {"op": "sample", "duration_ms": duration_ms, "interval_ms": interval_ms})
    for t_ns, levels in reply["samples"]:
        typer.echo(f"{t_ns} {json.dumps(levels)}")


@io_app.command("scene")
def io_scene(
    view: str = typer.Argument(..., help="scene (test scene), flat (even white target), dark"),
    port: int = PORT,
    illumination: float = typer.Option(1.0, help="light level 0-10 (1: normal)"),
) -> None:
    """Choose what the virtual camera's lens sees (for flat-field calibration)."""
    if view not in ("scene", "flat", "dark"):
        raise typer.BadParameter("view must be scene, flat or dark")
    message = {"op": "scene", "view": view, "illumination": illumination}
    typer.echo(json.dumps(_send(port, message)))
