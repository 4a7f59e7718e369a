"""`openpss device attendance`: command-line front-end of the virtual attendance device.

openpss device attendance --listen 127.0.0.1:8081 --data-dir DIR --admin-password PWD
openpss device attendance present --device http://127.0.0.1:8081 --card 12345678
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path

import typer

from openpss.devices.common.cli import (
    PASSWORD,
    USERNAME,
    control_request,
    device_option,
    parse_host_port,
)

logger = logging.getLogger(__name__)

attendance_app = typer.Typer(
    help="The virtual attendance terminal (Dahua HTTP API).", invoke_without_command=True
)


DEVICE = device_option("http://127.0.0.1:8081", "device")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); port 0 takes a free one."""
    return parse_host_port(text, "--listen", lowest=0)


@attendance_app.callback()
def run(
    ctx: typer.Context,
    listen: str = typer.Option("127.0.0.1:8081", help="HOST:PORT of the HTTP API."),
    data_dir: Path = typer.Option(Path("attendance-data"), help="The device's flash."),
    admin_password: str | None = typer.Option(
        None,
        envvar="OPENPSS_DEVICE_ADMIN_PASSWORD",
        help="Password of HTTP user 'admin'; without it a new device stays uninitialized.",
    ),
    keypad: bool = typer.Option(False, help="Also open the keypad (terminal UI)."),
    usb_dir: Path | None = typer.Option(None, help="Directory standing for the USB drive."),
    fingerprint_dir: Path | None = typer.Option(
        None,
        help="Fingerprint templates the keypad's sensor offers (default DATA_DIR/fingerprints).",
    ),
) -> None:
    """Run the virtual attendance terminal."""
    if ctx.invoked_subcommand is not None:
        return
    host, port = parse_listen(listen)
    usb = usb_dir or data_dir / "usb"
    fingers = fingerprint_dir or data_dir / "fingerprints"
    asyncio.run(
        serve_device(
            host,
            port,
            data_dir,
            admin_password,
            keypad=keypad,
            usb_dir=usb,
            fingerprint_dir=fingers,
        )
    )


async def serve_device(
    host: str,
    port: int,
    data_dir: Path,
    admin_password: str | None,
    *,
    keypad: bool = False,
    usb_dir: Path | None = None,
    fingerprint_dir: Path | None = None,
) -> None:
    """Open the device state in `data_dir` and serve it until interrupted."""
    import uvicorn

    from openpss.devices.attendance.http import AttendanceHttp
    from openpss.devices.attendance.model import TerminalError
    from openpss.devices.attendance.store import open_terminal
    from openpss.protocols.dahua_http.server import DEVICE_LIMITS
    from openpss.protocols.http_guard import uvicorn_options

    terminal, store = open_terminal(data_dir)
    if usb_dir is not None:
        usb_dir.mkdir(parents=True, exist_ok=True)
    front = AttendanceHttp(terminal, store, usb_dir)
    if admin_password is not None:
        try:
            front.set_admin_password(admin_password)
        except TerminalError as exc:
            raise typer.BadParameter(str(exc), param_hint="--admin-password") from exc
    logger.info(
        "attendance terminal %s on http://%s:%d (%s)",
        terminal.serial,
        host,
        port,
        "initialized" if front.initialized else "uninitialized",
    )
    config = uvicorn.Config(
        front.app(), host=host, port=port, log_level="warning", **uvicorn_options(DEVICE_LIMITS)
    )
    server = uvicorn.Server(config)
    try:
        if keypad:
            from openpss.devices.attendance.keypad import KeypadApp

            task = asyncio.create_task(server.serve())
            keys = KeypadApp(terminal, usb_dir=usb_dir, fingerprint_dir=fingerprint_dir)
            await keys.run_async()
            server.should_exit = True
            await task
        else:
            await server.serve()
    finally:
        store.close()


@attendance_app.command()
def present(
    device: str = DEVICE,
    card: str | None = typer.Option(None, help="Card number to swipe."),
    user_id: int | None = typer.Option(None, help="User ID (with --password)."),
    password: str | None = typer.Option(None, help="The user's password (with --user-id)."),
    fingerprint: Path | None = typer.Option(None, help="File holding a fingerprint template."),
    state: str | None = typer.Option(None, help="Attendance state, e.g. CheckIn, CheckOut."),
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Present a card, fingerprint or ID + password to a running device."""
    body: dict[str, object] = {}
    if card is not None:
        body["card"] = card
    elif fingerprint is not None:
        body["fingerprint"] = base64.b64encode(fingerprint.read_bytes()).decode()
    elif user_id is not None and password is not None:
        body.update(user_id=user_id, password=password)
    else:
        raise typer.BadParameter("give --card, --fingerprint, or --user-id and --password")
    if state:
        body["state"] = state
    result = control_request(
        "POST", device, "present", username, http_password, body=body, refused_code=2
    )
    typer.echo(json.dumps(result))
    raise typer.Exit(0 if result["accepted"] else 1)


@attendance_app.command("usb")
def usb_command(
    operation: str = typer.Argument(..., help="e.g. export_users, import_users, export_report"),
    device: str = DEVICE,
    year: int = typer.Option(0, help="Year (export_records / export_report)."),
    month: int = typer.Option(0, help="Month (export_records / export_report)."),
    username: str = USERNAME,
    http_password: str | None = PASSWORD,
) -> None:
    """Run a USB menu item (import/export with the device's USB directory)."""
    body = {"operation": operation, "year": year, "month": month}
    answer = control_request("POST", device, "usb", username, http_password, body=body, timeout=60)
    typer.echo(json.dumps(answer))


def register(app: typer.Typer) -> None:
    """Add the `attendance` command group to `openpss device`."""
    app.add_typer(attendance_app, name="attendance")
