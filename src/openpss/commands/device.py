"""`openpss device ...`: the virtual devices."""

from __future__ import annotations

import typer

from openpss.devices.attendance.cli import register as register_attendance
from openpss.devices.camera.cli import register as register_camera
from openpss.devices.vth.cli import register as register_vth
from openpss.devices.vto.cli import register as register_vto

app = typer.Typer(help="Run virtual devices.", no_args_is_help=True)
register_attendance(app)
register_camera(app)
register_vto(app)
register_vth(app)
