"""The `openpss` command: platform server, virtual devices, camera client, attendance tools."""

from __future__ import annotations

import logging

import typer

from openpss.commands import account, attendance, camera, demo, device, platform, sip

app = typer.Typer(
    help="openpss: open, self-hosted security platform and virtual devices.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
platform.register(app)
account.register(app)
demo.register(app)
app.add_typer(attendance.app, name="attendance")
app.add_typer(device.app, name="device")
app.add_typer(camera.app, name="camera")
app.add_typer(sip.app, name="sip")


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()


if __name__ == "__main__":
    main()
